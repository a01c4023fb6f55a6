// The Twill side of the L7 benchmark (bench/l7.bench.ts), run as a child process inside
// the node namespace (`ip netns exec`) so that the harness's own work does not share the
// proxy's event loop: the agent's L7Proxy on a transparent listener (what an nftables
// `tproxy` rule delivers to), deciding with the agent's own policy source
// (IndexL7PolicySource over a PolicyController's index, fed the pods and the policy YAML
// through a memory datastore as the agent's datastore feeds it), each request's record
// going to the agent's FlowObserver (Hubble flows into its ring, Prometheus counters) as
// in the agent. Commands come over the
// IPC channel; each gets one reply. With `mode: 'node'` it is instead the baseline: Node's
// own HTTP server and client forwarding every request to the original destination (keep-alive
// pool, bodies piped), with no policy, no header rules and no flow records: what any proxy
// written on node:http pays, so the L7Proxy's own cost is the difference.
//   (start)              -> { ready: true, port } once listening
//   { cmd: 'counts' }    -> { forwarded, denied, other, deniedConnections } since the start
//   { cmd: 'stop' }      -> closes the proxy and exits
// argv[2]: JSON L7ChildArgs.
import http from 'node:http';
import net from 'node:net';

import { openTransparentListener } from '@twill/sys';
import { parseAllDocuments } from 'yaml';

import { FlowRing } from '@twill/flows';

import { type AgentResource, FlowObserver } from '../apps/agent/src/index.js';
import { PrometheusAgentMetrics } from '../apps/agent/src/agent/metrics.js';
import { L7_VERDICT, L7Proxy } from '../apps/agent/src/agent/l7/index.js';
import { IndexL7PolicySource } from '../apps/agent/src/agent/l7/policy-source.js';
import { type BenchPolicyController, startBenchPolicyController } from './lib/policy-controller.js';

/** A pod of the benchmark, in namespace `default`: its name (also its `app` label) and address. */
export interface L7BenchPod {
  readonly app: string;
  readonly ip: string;
}

/** What the child is started with (argv[2], JSON). */
export interface L7ChildArgs {
  /** `twill`: the agent's L7Proxy and policy source; `node`: the bare node:http baseline. */
  readonly mode: 'twill' | 'node';
  /** The node namespace's name (the listener is opened there; the child runs in it). */
  readonly netns: string;
  /** The port the tproxy rule redirects to. */
  readonly port: number;
  /** The policy's YAML (CiliumNetworkPolicy documents, as a user applies them). */
  readonly policy: string;
  /** The pods, all in namespace `default` on this node. */
  readonly pods: readonly L7BenchPod[];
}

/** The child's replies. */
export type L7ChildReply =
  | { readonly ready: true; readonly port: number }
  | { readonly forwarded: number; readonly denied: number; readonly other: number; readonly deniedConnections: number }
  | { readonly error: string };

const NODE = 'bench-node';
const NETWORK = 'k8s-pod-network';

/** A PolicyController (no dataplane: the index alone) holding the pods, their endpoints and the policy. */
function startPolicy(args: L7ChildArgs): Promise<BenchPolicyController> {
  const pod = (app: string): AgentResource => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: app, namespace: 'default', labels: { app } }, spec: { containers: [{ name: 'c', image: 'img' }] } });
  return startBenchPolicyController({
    resources: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
      ...args.pods.map((p) => pod(p.app)),
      ...parseAllDocuments(args.policy).map((document) => document.toJS() as AgentResource),
    ],
    endpoints: args.pods.map((p) => ({ pod: p.app, namespace: 'default', ip: p.ip, hostInterface: `tw${p.app}`, netns: p.app })),
    node: NODE,
    network: NETWORK,
    // Nothing changes after the start: a slow poll keeps the datastore's timer off the proxy's loop.
    pollMs: 5_000,
  });
}

const send = (reply: L7ChildReply): void => void process.send?.(reply);

/** The baseline: node:http server and client, each request to the connection's original destination. */
async function nodeBaseline(args: L7ChildArgs): Promise<void> {
  const counts = { forwarded: 0, denied: 0, other: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo' });
  const server = http.createServer((req, res) => {
    const socket = req.socket;
    const upstream = http.request({ host: socket.localAddress, port: socket.localPort, method: req.method, path: req.url, headers: req.headers, agent });
    upstream.on('response', (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
      upstreamRes.on('end', () => void (counts.forwarded += 1));
    });
    upstream.on('error', () => {
      counts.other += 1;
      res.destroy();
    });
    req.pipe(upstream);
  });
  const listener = net.createServer({ noDelay: true }, (socket) => server.emit('connection', socket));
  const fd = openTransparentListener({ address: '0.0.0.0', port: args.port, netns: args.netns });
  await new Promise<void>((resolve) => listener.listen({ fd }, resolve));
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'counts') send({ ...counts, deniedConnections: 0 });
    else if (message.cmd === 'stop') {
      agent.destroy();
      server.closeAllConnections();
      listener.close(() => process.exit(0));
    }
  });
  send({ ready: true, port: args.port });
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as L7ChildArgs;
  if (args.mode === 'node') return nodeBaseline(args);
  const counts = { forwarded: 0, denied: 0, other: 0 };
  const policy = await startPolicy(args);
  // What the agent gives its proxy's records to, with the agent's defaults (a ring of 4096 flows, 200,000 a second).
  const observer = new FlowObserver({ sink: new FlowRing({ capacity: 4096, nodeName: NODE }), nodeName: NODE, policy: policy.controller.flowView(), budgetPerSecond: 200_000, metrics: new PrometheusAgentMetrics() });
  const proxy = new L7Proxy({
    policy: new IndexL7PolicySource({ view: policy.controller.l7View() }),
    onFlow: (record) => {
      observer.recordL7(record);
      if (record.verdict === L7_VERDICT.FORWARDED) counts.forwarded += 1;
      else if (record.verdict === L7_VERDICT.DENIED) counts.denied += 1;
      else counts.other += 1;
    },
  });
  const fd = openTransparentListener({ address: '0.0.0.0', port: args.port, netns: args.netns });
  const { port } = await proxy.listen({ fd });
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'counts') send({ ...counts, deniedConnections: proxy.stats.deniedConnections });
    else if (message.cmd === 'stop') void proxy.close().then(() => policy.stop()).then(() => process.exit(0));
  });
  send({ ready: true, port });
}

main().catch((error: unknown) => {
  send({ error: String(error) });
  process.exit(1);
});
