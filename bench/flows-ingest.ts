// The agent's flow ingest alone, without the kernel: tw_flow_event records decoded from a
// buffer (FlowEventDecoder) and handed in batches of 4096 (the eBPF reader's batch) to a
// FlowObserver enriching from a PolicyController's flowView into a FlowRing of 4096,
// with Prometheus counters, as bench/flows.bench.ts wires it. Prints this process's CPU
// per 10k events. For profiling the ingest: run it under `node --cpu-prof`:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --conditions=@twill/source bench/flows-ingest.ts [events] [readers]
// `readers`: how many followers of the ring read everything meanwhile (default 0), and
// FLOWS_INGEST_FILTER=1 gives them a filter (verdict DROPPED: none match).
import { FlowRing } from '@twill/flows';
import { MemoryStore } from '@twill/ipam';

import { type AgentResource, FlowObserver, PolicyController, PrometheusAgentMetrics, resourceDatastoreOver, StoreEndpointRegistry } from '../apps/agent/src/index.js';
import { FLOW_EVENT_SIZE, FlowEventDecoder } from '../apps/agent/src/dataplane/ebpf/flow-event.js';
import { type DataplaneFlowEvent, type DataplaneRuleRef } from '../apps/agent/src/dataplane/port.js';

const EVENTS = Number(process.argv[2] ?? 2_000_000);
const READERS = Number(process.argv[3] ?? 0);
const BATCH = 4096;
const NODE = 'bench-node';
const NETWORK = 'k8s-pod-network';
const CLIENT = { ip: '10.9.2.1', ifindex: 11 };
const SERVER = { ip: '10.9.2.2', ifindex: 12 };

const store = new MemoryStore();
const datastore = resourceDatastoreOver(store, { pollMs: 50 });
const pod = (name: string, role: string): AgentResource => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'bench', labels: { role } }, spec: { containers: [{ name: 'c', image: 'img' }] } });
const policy: AgentResource = {
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'server-from-client', namespace: 'bench' },
  spec: { podSelector: { matchLabels: { role: 'server' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ protocol: 'UDP', port: 10_000, endPort: 10_999 }] }] },
};
for (const resource of [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }, pod('client', 'client'), pod('server', 'server'), policy]) await datastore.apply(resource);
const registry = new StoreEndpointRegistry(store);
for (const [name, spec] of [['client', CLIENT], ['server', SERVER]] as const) {
  await registry.register({ network: NETWORK, containerId: name, ifName: 'eth0', hostInterface: `tw${name}`, addresses: [`${spec.ip}/32`], netns: `/run/netns/${name}`, namespace: 'bench', pod: name, since: Date.now(), node: NODE });
}
const controller = new PolicyController({ datastore, dataplane: undefined, nodeName: NODE, network: NETWORK });
await controller.start();
const view = controller.flowView();
const hit = view.evaluate({ source: { ip: CLIENT.ip }, destination: { ip: SERVER.ip }, protocol: 17, destinationPort: 10_000, direction: 'ingress' }).ingress?.decidedBy;
if (hit === undefined) throw new Error('the bench policy does not allow the client');
const rules = new Map<number, DataplaneRuleRef>([
  [0, { id: 0, kind: 'default' }],
  [7, { id: 7, kind: 'rule', direction: 'ingress', policy: hit.policy, ruleIndex: hit.ruleIndex, tier: hit.tier }],
]);

// The udp source's events: per datagram, the client's egress (default rule) and the server's ingress (rule 7).
const RECORDS = 8192;
const data = new Uint8Array(RECORDS * FLOW_EVENT_SIZE);
const view8 = new DataView(data.buffer);
for (let i = 0; i < RECORDS; i += 1) {
  const o = i * FLOW_EVENT_SIZE;
  const ingress = i % 2 === 1;
  view8.setUint32(o, 1_000_000 + i * 10_000, true);
  view8.setUint32(o + 8, ingress ? SERVER.ifindex : CLIENT.ifindex, true);
  view8.setUint32(o + 12, 300, true);
  view8.setUint32(o + 16, ingress ? 7 : 0, true);
  data.set([ingress ? 0 : 1, 1, 17, 4, 0, 0], o + 20);
  view8.setUint16(o + 26, 1024 + (i >> 1));
  view8.setUint16(o + 28, 10_000 + ((i >> 1) % 1000));
  data.set(CLIENT.ip.split('.').map(Number), o + 32);
  data.set(SERVER.ip.split('.').map(Number), o + 48);
}
const decoder = new FlowEventDecoder({ endpoints: new Map([[CLIENT.ifindex, 'bench/client'], [SERVER.ifindex, 'bench/server']]), rule: (id) => rules.get(id) });

const ring = new FlowRing({ capacity: 4096, nodeName: NODE });
const metrics = new PrometheusAgentMetrics({ processMetrics: false });
const observer = new FlowObserver({ sink: ring, nodeName: NODE, policy: view, budgetPerSecond: 1_000_000_000, metrics, onError: (e) => { throw e; } });

const abort = new AbortController();
let read = 0;
const whitelist = process.env.FLOWS_INGEST_FILTER === '1' ? [{ verdict: ['DROPPED' as const] }] : undefined;
for (let r = 0; r < READERS; r += 1) {
  void (async () => {
    for await (const response of ring.getFlows({ follow: true, number: 0, ...(whitelist === undefined ? {} : { whitelist }) }, abort.signal)) if ('flow' in response) read += 1;
  })();
}

function batch(start: number): DataplaneFlowEvent[] {
  const out: DataplaneFlowEvent[] = [];
  for (let i = 0; i < BATCH; i += 1) out.push(decoder.decode(data, view8, ((start + i) % RECORDS) * FLOW_EVENT_SIZE, 1_700_000_000_000));
  return out;
}

// Warm up, then measure; each batch on its own event loop turn so that followers read in between.
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
for (let i = 0; i < 50; i += 1) {
  observer.events(batch(i * BATCH));
  await turn();
}
const before = process.cpuUsage();
const started = performance.now();
let sent = 0;
for (let i = 0; sent < EVENTS; i += 1) {
  observer.events(batch(i * BATCH));
  sent += BATCH;
  await turn();
}
const cpu = process.cpuUsage(before);
const ms = (cpu.user + cpu.system) / 1000;
console.log(`${sent} events, ${READERS} reader(s)${whitelist === undefined ? '' : ' (filtered)'}: ${((ms * 10_000) / sent).toFixed(2)} ms CPU per 10k events, ${Math.round(sent / ((performance.now() - started) / 1000))} events/s wall, followers read ${read}`);
abort.abort();
await controller.stop();
await datastore.close();
