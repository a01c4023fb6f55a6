// The flow observer over a real policy controller (a real PolicyIndex fed from a memory
// datastore) with policies of the three dialects, and hand-made dataplane events of both
// kinds: nftables' (no rule: the agent evaluates) and eBPF's (the kernel's rule). What a
// user sees: the flows' verdicts, endpoints and deciding rules, the budget's lost events,
// and the Prometheus text.
import { type Flow, isLazyFlow, type LazyFlow } from '@twill/flows';
import { MemoryStore } from '@twill/ipam';
import { type RuleHit } from '@twill/policy-engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PolicyController } from '../../src/agent/controllers/policy.js';
import { revisionNumber } from '../../src/agent/controllers/policy-state.js';
import { resourceDatastoreOver, type ClosableResourceDatastore } from '../../src/agent/datastore/index.js';
import { FlowObserver, type FlowSink } from '../../src/agent/flows/observer.js';
import { type FlowPolicyView } from '../../src/agent/flows/policy-view.js';
import { PrometheusAgentMetrics } from '../../src/agent/metrics.js';
import { type AgentResource } from '../../src/agent/ports.js';
import { type DataplaneFlowEvent, type DataplaneRuleRef } from '../../src/dataplane/port.js';
import { StoreEndpointRegistry } from '../../src/plugin/endpoints.js';
import { type EndpointRecord } from '../../src/plugin/ports.js';

class ArraySink implements FlowSink {
  readonly items: ({ flow: Flow | LazyFlow } | { lost: string; count: number })[] = [];
  push(flow: Flow | LazyFlow): void {
    this.items.push({ flow });
  }
  lost(source: string, count: number): void {
    this.items.push({ lost: source, count });
  }
  /** The flows, built as a reader of the ring would. */
  get flows(): Flow[] {
    return this.items.flatMap((item) => ('flow' in item ? [isLazyFlow(item.flow) ? item.flow.flow() : item.flow] : []));
  }
}

const record = (containerId: string, pod: string, address: string, node = 'node-a'): EndpointRecord => ({
  network: 'k8s-pod-network',
  containerId,
  ifName: 'eth0',
  hostInterface: `tw${containerId}`,
  addresses: [`${address}/32`],
  netns: `/run/netns/${containerId}`,
  namespace: 'x',
  pod,
  since: 1_000,
  node,
});

const pod = (name: string, labels: Record<string, string>): AgentResource => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'x', labels }, spec: { containers: [{ name: 'c', image: 'img' }] } });

const POLICIES: AgentResource[] = [
  // Kubernetes: x/b takes TCP 8080 from app=web only.
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'only-web', namespace: 'x' },
    spec: { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] },
  },
  // Calico: app=web may not reach TCP 9000; everything else is allowed.
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name: 'no-9000', namespace: 'x' },
    spec: { selector: "app == 'web'", types: ['Egress'], egress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9000] } }, { action: 'Allow' }] },
  },
  // Cilium: x/c takes TCP 80 from app=web.
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'c-from-web', namespace: 'x' },
    spec: { endpointSelector: { matchLabels: { app: 'c' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
  },
];

const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '10.0.0.3';
const D = '10.0.1.4';
const NODE = '192.0.2.1';
const SYN = 0x02;

function event(overrides: Partial<DataplaneFlowEvent> & Pick<DataplaneFlowEvent, 'direction' | 'verdict' | 'source' | 'destination'>): DataplaneFlowEvent {
  return { timeMs: 1_700_000_000_123.456, ifindex: 7, reason: 'policy', protocol: 6, sourcePort: 40000, destinationPort: 8080, tcpFlags: SYN, ...overrides };
}

describe('FlowObserver', () => {
  let datastore: ClosableResourceDatastore;
  let controller: PolicyController;
  let view: FlowPolicyView;
  let sink: ArraySink;
  let metrics: PrometheusAgentMetrics;
  let clock: number;

  const observer = (budgetPerSecond = 200_000): FlowObserver =>
    new FlowObserver({ sink, nodeName: 'node-a', policy: view, budgetPerSecond, metrics, hostAddresses: [NODE], now: () => clock, random: () => 0.5 });

  beforeEach(async () => {
    const store = new MemoryStore();
    datastore = resourceDatastoreOver(store, { pollMs: 5 });
    for (const resource of [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }, pod('a', { app: 'web' }), pod('b', { app: 'b' }), pod('c', { app: 'c' }), pod('d', { app: 'd' }), ...POLICIES]) {
      await datastore.apply(resource);
    }
    const registry = new StoreEndpointRegistry(store);
    await registry.register(record('ca', 'a', A));
    await registry.register(record('cb', 'b', B));
    await registry.register(record('cc', 'c', C));
    await registry.register(record('cd', 'd', D, 'node-b'));
    controller = new PolicyController({ datastore, dataplane: undefined, nodeName: 'node-a', network: 'k8s-pod-network' });
    await controller.start();
    expect(controller.status().problems).toEqual([]);
    view = controller.flowView();
    sink = new ArraySink();
    metrics = new PrometheusAgentMetrics({ processMetrics: false });
    clock = 0;
  });

  afterEach(async () => {
    await controller.stop();
    await datastore.close();
  });

  // The rule the index finds, as the eBPF compiler would hand it to the kernel.
  const kernelRule = (id: number, hit: RuleHit, direction: 'ingress' | 'egress'): DataplaneRuleRef => ({ id, kind: 'rule', direction, policy: hit.policy, ruleIndex: hit.ruleIndex, tier: hit.tier });

  it('turns an allowed nftables connection into a FORWARDED flow with both endpoints and the rule the agent evaluated', () => {
    observer().events([event({ endpoint: 'x/a', direction: 'egress', verdict: 'allow', source: A, destination: B })]);
    const [flow] = sink.flows;
    expect(flow).toMatchObject({
      time: { seconds: 1_700_000_000, nanos: 123_456_000 },
      verdict: 'FORWARDED',
      IP: { source: A, destination: B, ipVersion: 'IPv4' },
      l4: { TCP: { sourcePort: 40000, destinationPort: 8080, flags: { SYN: true } } },
      source: { namespace: 'x', podName: 'a', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=x'] },
      destination: { namespace: 'x', podName: 'b', labels: ['k8s:app=b', 'k8s:io.kubernetes.pod.namespace=x'] },
      Type: 'L3_L4',
      nodeName: 'node-a',
      isReply: false,
      trafficDirection: 'EGRESS',
      interface: { index: 7, name: 'twca' },
      Summary: 'TCP Flags: SYN',
      egressAllowedBy: [{ name: 'no-9000', namespace: 'x', kind: 'NetworkPolicy' }],
      ingressDeniedBy: [],
      decidedBy: { reason: 'rule', direction: 'egress', rulePath: 'spec.egress[1]', action: 'allow', attribution: 'evaluated', policy: { name: 'no-9000', namespace: 'x' } },
    });
    expect(flow!.dropReasonDesc).toBeUndefined();
    expect(flow!.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u);
    expect(flow!.source.identity).toBeGreaterThanOrEqual(256);
    expect(flow!.source.identity).not.toBe(flow!.destination.identity);
    expect(flow!.decidedBy!.message).toBe('NetworkPolicy x/no-9000 rule spec.egress[1] allows egress traffic from x/a');
  });

  it('attributes nftables drops: a Deny rule is POLICY_DENY, isolation POLICY_DENIED, each naming the policy and its rule path', () => {
    const o = observer();
    o.events([
      // Calico's Deny rule, to a pod of another node.
      event({ endpoint: 'x/a', direction: 'egress', verdict: 'deny', dropKind: 'deny', source: A, destination: D, destinationPort: 9000 }),
      // x/b is isolated by the Kubernetes policy: x/c is not app=web.
      event({ endpoint: 'x/b', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: C, destination: B }),
      // The Kubernetes policy's rule allows app=web.
      event({ endpoint: 'x/b', direction: 'ingress', verdict: 'allow', source: A, destination: B }),
    ]);
    const [deny, isolated, allowed] = sink.flows;
    expect(deny).toMatchObject({
      verdict: 'DROPPED',
      dropReasonDesc: 'POLICY_DENY',
      destination: { namespace: 'x', podName: 'd', labels: ['k8s:app=d', 'k8s:io.kubernetes.pod.namespace=x'] },
      egressDeniedBy: [{ name: 'no-9000', kind: 'NetworkPolicy' }],
      decidedBy: { reason: 'rule', rulePath: 'spec.egress[0]', action: 'deny', attribution: 'evaluated' },
    });
    expect(isolated).toMatchObject({
      verdict: 'DROPPED',
      dropReasonDesc: 'POLICY_DENIED',
      trafficDirection: 'INGRESS',
      source: { podName: 'c' },
      destination: { podName: 'b' },
      interface: { index: 7, name: 'twcb' },
      ingressDeniedBy: [{ name: 'only-web', namespace: 'x', kind: 'NetworkPolicy' }],
      decidedBy: { reason: 'isolated', direction: 'ingress', isolatedBy: [{ name: 'only-web' }], attribution: 'evaluated' },
    });
    expect(isolated!.decidedBy!.message).toBe('x/b is isolated for ingress by NetworkPolicy x/only-web; no rule allowed the traffic');
    expect(allowed).toMatchObject({ verdict: 'FORWARDED', ingressAllowedBy: [{ name: 'only-web' }], decidedBy: { reason: 'rule', rulePath: expect.stringMatching(/^spec\.ingress\[0\]/u) } });
  });

  it('keeps the kernel\'s verdict when the evaluation disagrees, and says so', () => {
    observer().events([event({ endpoint: 'x/a', direction: 'egress', verdict: 'allow', source: A, destination: B, destinationPort: 9000 })]);
    const [flow] = sink.flows;
    expect(flow).toMatchObject({ verdict: 'FORWARDED', egressAllowedBy: [], egressDeniedBy: [], decidedBy: { reason: 'rule', action: 'deny', attribution: 'evaluated' } });
    expect(flow!.decidedBy!.message).toBe(
      "NetworkPolicy x/no-9000 rule spec.egress[0] denies egress traffic from x/a; but the kernel allowed it: the agent's policy and the kernel's differ (a change not programmed yet, or drift)",
    );
  });

  it('shows addresses of no endpoint as reserved:world or reserved:host, and fail-closed drops as no-entry', () => {
    observer().events([
      event({ endpoint: 'x/c', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: '203.0.113.9', destination: C, destinationPort: 80 }),
      event({ endpoint: 'x/c', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: NODE, destination: C, destinationPort: 80 }),
      event({ endpoint: 'x/new', direction: 'egress', verdict: 'deny', reason: 'no-entry', dropKind: 'no-entry', source: '10.0.0.9', destination: A, protocol: 17, tcpFlags: undefined }),
    ]);
    const [world, host, noEntry] = sink.flows;
    expect(world!.source).toEqual({ ID: 0, identity: 2, labels: ['reserved:world'] });
    expect(world!.decidedBy).toMatchObject({ reason: 'isolated', isolatedBy: [{ name: 'c-from-web', kind: 'CiliumNetworkPolicy' }] });
    expect(host!.source).toEqual({ ID: 0, identity: 1, labels: ['reserved:host'] });
    expect(noEntry).toMatchObject({ verdict: 'DROPPED', dropReasonDesc: 'POLICY_DENIED', l4: { UDP: { sourcePort: 40000, destinationPort: 8080 } }, Summary: 'UDP', decidedBy: { reason: 'no-entry', direction: 'egress' } });
    expect(noEntry!.source).toEqual({ ID: 0, identity: 2, labels: ['reserved:world'] });
    expect(noEntry!.destination).toMatchObject({ podName: 'a' });
  });

  it('resolves the rule the eBPF kernel reported to its path in the source document (attribution kernel)', () => {
    const hit = view.evaluate({ source: { ip: A }, destination: { ip: C }, protocol: 6, destinationPort: 80, direction: 'ingress' }).ingress!.decidedBy!;
    const isolating = view.evaluate({ source: { ip: B }, destination: { ip: C }, protocol: 6, destinationPort: 80, direction: 'ingress' }).ingress!;
    observer().events([
      event({ endpoint: 'x/c', direction: 'ingress', verdict: 'allow', source: A, destination: C, destinationPort: 80, rule: kernelRule(3, hit, 'ingress') }),
      event({ endpoint: 'x/c', direction: 'ingress', verdict: 'deny', source: B, destination: C, destinationPort: 80, rule: { id: 4, kind: 'isolated', direction: 'ingress', tier: 'default', isolatedBy: isolating.isolatedBy! } }),
      // No policy selects x/a for ingress: the default rule.
      event({ endpoint: 'x/a', direction: 'ingress', verdict: 'allow', source: B, destination: A, rule: { id: 0, kind: 'default' } }),
    ]);
    const [allowed, isolated, unselected] = sink.flows;
    expect(allowed).toMatchObject({
      verdict: 'FORWARDED',
      ingressAllowedBy: [{ name: 'c-from-web', namespace: 'x', kind: 'CiliumNetworkPolicy' }],
      decidedBy: { reason: 'rule', attribution: 'kernel', action: 'allow', ruleIndex: hit.ruleIndex, rulePath: expect.stringMatching(/^spec\.ingress\[0\]/u), policy: { name: 'c-from-web' } },
    });
    expect(isolated).toMatchObject({ verdict: 'DROPPED', dropReasonDesc: 'POLICY_DENIED', ingressDeniedBy: [{ name: 'c-from-web' }], decidedBy: { reason: 'isolated', attribution: 'kernel' } });
    expect(unselected).toMatchObject({ verdict: 'FORWARDED', decidedBy: { reason: 'not-selected', attribution: 'kernel', message: 'no policy selects x/a for ingress; the traffic is allowed by default' } });
  });

  it('shows the eBPF kernel\'s reply as a reply of its connection: the packet\'s addresses, the connection\'s direction and the rule that allowed it', () => {
    const hit = view.evaluate({ source: { ip: A }, destination: { ip: C }, protocol: 6, destinationPort: 80, direction: 'ingress' }).ingress!.decidedBy!;
    const rule = kernelRule(3, hit, 'ingress');
    observer().events([
      event({ endpoint: 'x/c', direction: 'ingress', verdict: 'allow', source: A, destination: C, destinationPort: 80, rule }),
      // x/c's SYN-ACK leaves it: its egress, a reply of the ingress connection the rule allowed.
      event({ endpoint: 'x/c', direction: 'egress', verdict: 'allow', source: C, destination: A, sourcePort: 80, destinationPort: 40000, tcpFlags: 0x12, rule, isReply: true }),
    ]);
    const [request, reply] = sink.flows;
    expect(request).toMatchObject({ isReply: false, trafficDirection: 'INGRESS' });
    expect(reply).toMatchObject({
      verdict: 'FORWARDED',
      isReply: true,
      trafficDirection: 'INGRESS',
      IP: { source: C, destination: A },
      l4: { TCP: { sourcePort: 80, destinationPort: 40000, flags: { SYN: true, ACK: true } } },
      source: { podName: 'c' },
      destination: { podName: 'a' },
      ingressAllowedBy: [{ name: 'c-from-web', kind: 'CiliumNetworkPolicy' }],
      egressAllowedBy: [],
      decidedBy: request!.decidedBy,
    });
  });

  it('attributes a drop whose packet address is none of its endpoint\'s (IPv6 neighbour discovery into an isolated pod) to the endpoint\'s rules, and says so', () => {
    const errors: unknown[] = [];
    const o = new FlowObserver({ sink, nodeName: 'node-a', policy: view, budgetPerSecond: 1000, onError: (e) => errors.push(e), now: () => clock });
    o.events([
      // The node's neighbour solicitation to x/b's solicited-node multicast address (seen in a real nftables lab run without decidedBy).
      event({ endpoint: 'x/b', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', protocol: 58, icmp: { type: 135, code: 0 }, tcpFlags: undefined, source: 'fe80::1', destination: 'ff02::1:ff00:2' }),
      // x/a's packet from an address it does not have.
      event({ endpoint: 'x/a', direction: 'egress', verdict: 'deny', dropKind: 'deny', source: '10.0.0.77', destination: B, destinationPort: 9000 }),
    ]);
    const [ndp, stray] = sink.flows;
    expect(ndp).toMatchObject({
      verdict: 'DROPPED',
      dropReasonDesc: 'POLICY_DENIED',
      destination: { podName: 'b' },
      ingressDeniedBy: [{ name: 'only-web', namespace: 'x', kind: 'NetworkPolicy' }],
      decidedBy: { reason: 'isolated', direction: 'ingress', isolatedBy: [{ name: 'only-web' }], attribution: 'evaluated' },
    });
    expect(ndp!.decidedBy!.message).toBe(
      "x/b is isolated for ingress by NetworkPolicy x/only-web; no rule allowed the traffic; the packet's destination ff02::1:ff00:2 is not an address of x/b (IPv6 link-local or multicast, as in neighbour discovery, or an address it no longer has): evaluated with x/b's own address",
    );
    expect(stray).toMatchObject({ verdict: 'DROPPED', dropReasonDesc: 'POLICY_DENY', source: { podName: 'a' }, egressDeniedBy: [{ name: 'no-9000' }], decidedBy: { reason: 'rule', action: 'deny', rulePath: 'spec.egress[0]' } });
    expect(stray!.decidedBy!.message).toContain("the packet's source 10.0.0.77 is not an address of x/a");
    expect(errors).toEqual([]);
  });

  it('says why when a drop cannot be attributed: what the kernel\'s drop rule says, and what the agent lacks', async () => {
    observer().events([
      // A drop rule of an endpoint the dataplane did not name, for an address no endpoint has.
      event({ direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: A, destination: '10.0.9.9' }),
      event({ direction: 'egress', verdict: 'deny', dropKind: 'deny', source: '10.0.9.9', destination: B }),
    ]);
    new FlowObserver({ sink, nodeName: 'node-a', budgetPerSecond: 1000, now: () => clock }).events([
      event({ endpoint: 'x/a', direction: 'egress', verdict: 'deny', dropKind: 'isolated', source: A, destination: B }),
      event({ endpoint: 'x/a', direction: 'egress', verdict: 'allow', source: A, destination: B }),
    ]);
    const [isolated, denied, noPolicy, allowed] = sink.flows;
    expect(isolated).toMatchObject({ verdict: 'DROPPED', dropReasonDesc: 'POLICY_DENIED', ingressDeniedBy: [], decidedBy: { reason: 'isolated', direction: 'ingress', attribution: 'evaluated' } });
    expect(isolated!.decidedBy!.message).toBe(
      "10.0.9.9 is isolated for ingress (the kernel's drop rule says so: no rule allowed the traffic); the agent cannot tell by which policy: 10.0.9.9 is no endpoint of the agent's policy index (gone, not indexed yet, or the dataplane did not name it)",
    );
    expect(denied).toMatchObject({ dropReasonDesc: 'POLICY_DENY', egressDeniedBy: [], decidedBy: { reason: 'rule', action: 'deny', direction: 'egress' } });
    expect(denied!.decidedBy!.policy).toBeUndefined();
    expect(denied!.decidedBy!.message).toMatch(/^a Deny rule of 10\.0\.9\.9's egress policy dropped it \(the kernel's drop rule says so\); the agent cannot tell which: /u);
    expect(noPolicy!.decidedBy!.message).toBe("x/a is isolated for egress (the kernel's drop rule says so: no rule allowed the traffic); the agent cannot tell by which policy: the agent has no policy state to evaluate it against");
    // An allow without policy state has nothing to say.
    expect(allowed!.decidedBy).toBeUndefined();
    const text = await metrics.exposition();
    expect(text).toContain('twill_policy_drops_total{reason="POLICY_DENIED",policy=""} 1\n');
    expect(text).toContain('twill_policy_drops_total{reason="POLICY_DENY",policy=""} 1\n');
  });

  it('names each policy with its stored object\'s revision and Hubble-style labels of its dialect and identity, read again when the object changes', async () => {
    const o = observer();
    const drops = () => [
      event({ endpoint: 'x/a', direction: 'egress', verdict: 'deny', dropKind: 'deny', source: A, destination: B, destinationPort: 9000 }),
      event({ endpoint: 'x/b', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: C, destination: B }),
      event({ endpoint: 'x/c', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: B, destination: C, destinationPort: 80 }),
    ];
    o.events(drops());
    const version = async (kind: string, name: string): Promise<{ revision: number; uid: string }> => {
      const stored = (await datastore.get(kind, name, 'x'))!;
      return { revision: Number(stored.metadata.resourceVersion), uid: stored.metadata.uid };
    };
    const calico = await version('networkpolicies.projectcalico.org', 'no-9000');
    const kubernetes = await version('networkpolicies.networking.k8s.io', 'only-web');
    const cilium = await version('ciliumnetworkpolicies.cilium.io', 'c-from-web');
    expect(calico.revision).toBeGreaterThan(0);
    const [deny, isolated, ciliumIsolated] = sink.flows;
    expect(deny!.decidedBy!.policy).toEqual({
      name: 'no-9000',
      namespace: 'x',
      kind: 'NetworkPolicy',
      revision: calico.revision,
      labels: [
        'k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy',
        'k8s:io.cilium.k8s.policy.name=no-9000',
        'k8s:io.cilium.k8s.policy.namespace=x',
        `k8s:io.cilium.k8s.policy.uid=${calico.uid}`,
        'k8s:io.twill.policy.dialect=calico',
        'k8s:io.twill.policy.kind=NetworkPolicy',
        'k8s:io.twill.policy.name=no-9000',
        'k8s:io.twill.policy.namespace=x',
      ],
    });
    expect(isolated!.ingressDeniedBy[0]).toMatchObject({ revision: kubernetes.revision, labels: expect.arrayContaining(['k8s:io.twill.policy.dialect=kubernetes', 'k8s:io.twill.policy.kind=NetworkPolicy']) });
    expect(ciliumIsolated!.decidedBy!.isolatedBy![0]).toMatchObject({ revision: cilium.revision, labels: expect.arrayContaining(['k8s:io.twill.policy.dialect=cilium', 'k8s:io.twill.policy.kind=CiliumNetworkPolicy']) });

    // The Calico policy is written again (its Deny rule now on 9001 too): flows since carry its new revision.
    const before = view.generation;
    const changed = POLICIES[1]!;
    await datastore.apply({ ...changed, spec: { ...(changed.spec as object), egress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9000, 9001] } }, { action: 'Allow' }] } });
    await expect.poll(() => view.generation).not.toBe(before);
    const now = await version('networkpolicies.projectcalico.org', 'no-9000');
    expect(now.revision).toBeGreaterThan(calico.revision);
    o.events(drops());
    expect(sink.flows[3]!.decidedBy!.policy!.revision).toBe(now.revision);
    expect(sink.flows[4]!.ingressDeniedBy[0]!.revision).toBe(kubernetes.revision);
  });

  it('follows policy changes: a new generation of the index is read again; a flow first read after the change shows what held when it was observed', async () => {
    const o = observer();
    o.events([event({ endpoint: 'x/b', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: C, destination: B })]);
    await datastore.delete('networkpolicies.networking.k8s.io', 'only-web', 'x');
    await datastore.delete('pods', 'c', 'x');
    const before = view.generation;
    await expect.poll(() => view.generation).not.toBe(before);
    o.events([event({ endpoint: 'x/b', direction: 'ingress', verdict: 'allow', source: C, destination: B })]);
    const [old, now] = sink.flows;
    // Built now (lazily), from what the observer resolved at ingest: the policy and pod x/c still there.
    expect(old).toMatchObject({ source: { podName: 'c' }, decidedBy: { reason: 'isolated', isolatedBy: [{ name: 'only-web' }] } });
    expect(sink.flows[0]).toBe(old);
    expect(now!.decidedBy).toMatchObject({ reason: 'not-selected', message: 'no policy selects x/b for ingress; the traffic is allowed by default' });
  });

  it('samples above the budget, counting the rest as lost (observer) in the stream and the metric, with N from the rate seen', async () => {
    const o = observer(1000);
    const batch = Array.from({ length: 500 }, () => event({ endpoint: 'x/a', direction: 'egress', verdict: 'allow', source: A, destination: B }));
    o.events(batch);
    o.events(batch);
    o.events(batch); // over the budget of the first second: all lost
    expect(sink.flows).toHaveLength(1000);
    expect(sink.items.at(-1)).toEqual({ lost: 'observer', count: 500 });
    clock = 1000; // 1,500 events/s were seen: keep one in 2
    o.events(batch);
    expect(sink.flows).toHaveLength(1250);
    expect(sink.items.at(-1)).toEqual({ lost: 'observer', count: 250 });
    o.lost(7, 'nflog');
    expect(sink.items.at(-1)).toEqual({ lost: 'nflog', count: 7 });
    expect(o.stats()).toEqual({ events: 2000, flows: 1250, lost: 757 });
    const text = await metrics.exposition();
    expect(text).toContain('twill_flows_total{verdict="FORWARDED"} 1250\n');
    expect(text).toContain('twill_flow_events_lost_total{source="observer"} 750\n');
    expect(text).toContain('twill_flow_events_lost_total{source="nflog"} 7\n');
    // Every flow has its own UUID.
    expect(new Set(sink.flows.map((f) => f.uuid)).size).toBe(1250);
  });

  it('counts drops by reason and deciding policy in Prometheus', async () => {
    observer().events([
      event({ endpoint: 'x/a', direction: 'egress', verdict: 'deny', dropKind: 'deny', source: A, destination: B, destinationPort: 9000 }),
      event({ endpoint: 'x/a', direction: 'egress', verdict: 'deny', dropKind: 'deny', source: A, destination: C, destinationPort: 9000 }),
      event({ endpoint: 'x/b', direction: 'ingress', verdict: 'deny', dropKind: 'isolated', source: C, destination: B }),
      event({ endpoint: 'x/new', direction: 'egress', verdict: 'deny', reason: 'no-entry', dropKind: 'no-entry', source: '10.0.0.9', destination: A }),
    ]);
    const text = await metrics.exposition();
    expect(text).toContain('twill_flows_total{verdict="DROPPED"} 4\n');
    expect(text).toContain('twill_policy_drops_total{reason="POLICY_DENY",policy="NetworkPolicy x/no-9000"} 2\n');
    expect(text).toContain('twill_policy_drops_total{reason="POLICY_DENIED",policy=""} 2\n');
  });

  it('takes a resourceVersion as a revision when it is a decimal integer, else 0 (no revision: an opaque Kubernetes resourceVersion)', () => {
    expect(revisionNumber('42')).toBe(42);
    expect(revisionNumber('9007199254740991')).toBe(9_007_199_254_740_991);
    for (const opaque of [undefined, '', 'abc', '12a', '-1', '1.5', '99999999999999999999']) expect(revisionNumber(opaque)).toBe(0);
  });
});
