// L7 flows: the proxy's request records through FlowObserver.recordL7, over a real policy
// controller (a PolicyIndex fed from a memory datastore), with the rule labels and deny
// reasons made by @twill/policy-engine's own HTTP matcher (so a change of their wording
// shows here). What a user sees: the flows' verdicts, l7.http fields, endpoints, traffic
// direction and deciding policy; the budget's lost events; the Prometheus text.
import { decodeFlow, encodeFlow, type Flow, isLazyFlow, type LazyFlow } from '@twill/flows';
import { MemoryStore } from '@twill/ipam';
import { compileHttpMatcher, type HttpMatcher } from '@twill/policy-engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PolicyController } from '../../src/agent/controllers/policy.js';
import { resourceDatastoreOver, type ClosableResourceDatastore } from '../../src/agent/datastore/index.js';
import { FlowObserver, type FlowSink } from '../../src/agent/flows/observer.js';
import { parseDenyReason, parseRuleLabel } from '../../src/agent/flows/l7-flow.js';
import { type FlowPolicyView } from '../../src/agent/flows/policy-view.js';
import { type L7FlowRecord } from '../../src/agent/l7/ports.js';
import { PrometheusAgentMetrics } from '../../src/agent/metrics.js';
import { type AgentResource } from '../../src/agent/ports.js';
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
  get flows(): Flow[] {
    return this.items.flatMap((item) => ('flow' in item ? [isLazyFlow(item.flow) ? item.flow.flow() : item.flow] : []));
  }
}

const endpoint = (containerId: string, pod: string, address: string, node: string): EndpointRecord => ({
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

const L7_POLICY: AgentResource = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'l7-api', namespace: 'x' },
  spec: {
    endpointSelector: { matchLabels: { app: 'api' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/api/v1/.*' }] } }] }],
  },
};

const A = '10.0.0.1'; // x/a, app=web, on node-a
const B = '10.0.0.2'; // x/b, app=api, on node-a
const D = '10.0.1.4'; // x/d, on node-b
const WORLD = '203.0.113.9';

// The matcher the proxy would hold for A -> B:8080: the policy's HTTP rules, named as the agent's policy source names them.
const MATCHER: HttpMatcher = compileHttpMatcher([
  {
    rules: { kind: 'http', rules: [{ method: 'GET', path: { kind: 'regex', value: '/api/v1/.*' } }] },
    direction: 'ingress',
    policy: { dialect: 'cilium', kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'l7-api' },
    origin: { path: 'spec.ingress[0]', detail: 'toPorts[0]' },
  },
]);

/** A record as the proxy makes it, its rules or reason from the real matcher. */
function request(method: string, path: string, overrides: Partial<L7FlowRecord> = {}): L7FlowRecord {
  const decision = MATCHER.match({ method, path, host: 'b.x:8080', headers: {} });
  return {
    time: 1_700_000_000_123,
    client: { address: A, port: 40000 },
    destination: { address: B, port: 8080 },
    protocol: 'HTTP/1.1',
    method,
    path,
    host: 'b.x:8080',
    status: decision.allowed ? 200 : 403,
    latencyNs: 1_234_567,
    verdict: decision.allowed ? 'forwarded' : 'denied',
    rules: decision.allowed ? decision.by.map((hit) => hit.label) : [],
    ...(decision.allowed ? {} : { why: decision.why }),
    ...overrides,
  };
}

/** The agent's Prometheus metrics. */
class Metrics {
  readonly prometheus = new PrometheusAgentMetrics({ processMetrics: false });
}

describe('FlowObserver.recordL7', () => {
  let datastore: ClosableResourceDatastore;
  let controller: PolicyController;
  let view: FlowPolicyView;
  let sink: ArraySink;
  let metrics: Metrics;
  let clock: number;

  const observer = (budgetPerSecond = 1000, onError?: (e: unknown) => void): FlowObserver =>
    new FlowObserver({ sink, nodeName: 'node-a', policy: view, budgetPerSecond, metrics: metrics.prometheus, now: () => clock, random: () => 0.5, ...(onError === undefined ? {} : { onError }) });

  beforeEach(async () => {
    const store = new MemoryStore();
    datastore = resourceDatastoreOver(store, { pollMs: 5 });
    for (const resource of [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }, pod('a', { app: 'web' }), pod('b', { app: 'api' }), pod('d', { app: 'd' }), L7_POLICY]) {
      await datastore.apply(resource);
    }
    const registry = new StoreEndpointRegistry(store);
    await registry.register(endpoint('ca', 'a', A, 'node-a'));
    await registry.register(endpoint('cb', 'b', B, 'node-a'));
    await registry.register(endpoint('cd', 'd', D, 'node-b'));
    controller = new PolicyController({ datastore, dataplane: undefined, nodeName: 'node-a', network: 'k8s-pod-network' });
    await controller.start();
    expect(controller.status().problems).toEqual([]);
    view = controller.flowView();
    sink = new ArraySink();
    metrics = new Metrics();
    clock = 0;
  });

  afterEach(async () => {
    await controller?.stop();
    await datastore?.close();
  });

  it('turns a forwarded request into a FORWARDED L7 flow: l7.http, latency, endpoints, INGRESS at the local destination, the HTTP rule that allowed it', () => {
    observer().recordL7(request('GET', '/api/v1/users?limit=1'));
    const [flow] = sink.flows;
    expect(flow).toMatchObject({
      time: { seconds: 1_700_000_000, nanos: 123_000_000 },
      verdict: 'FORWARDED',
      Type: 'L7',
      IP: { source: A, destination: B, ipVersion: 'IPv4' },
      l4: { TCP: { sourcePort: 40000, destinationPort: 8080 } },
      l7: { type: 'RESPONSE', latencyNs: 1_234_567, http: { code: 200, method: 'GET', url: 'http://b.x:8080/api/v1/users?limit=1', protocol: 'HTTP/1.1', headers: [] } },
      source: { namespace: 'x', podName: 'a', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=x'] },
      destination: { namespace: 'x', podName: 'b' },
      nodeName: 'node-a',
      isReply: false,
      trafficDirection: 'INGRESS',
      ingressAllowedBy: [{ kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'l7-api', revision: expect.any(Number) as number }],
      egressAllowedBy: [],
      Summary: 'HTTP/1.1 200 1.2 ms (GET http://b.x:8080/api/v1/users?limit=1)',
      decidedBy: {
        reason: 'rule',
        direction: 'ingress',
        policy: { kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'l7-api' },
        rulePath: 'spec.ingress[0].toPorts[0].rules.http[0]',
        action: 'allow',
        attribution: 'evaluated',
        message: 'CiliumNetworkPolicy x/l7-api HTTP rule spec.ingress[0].toPorts[0].rules.http[0] allows GET /api/v1/users?limit=1 (ingress)',
      },
    });
    expect(flow?.dropReasonDesc).toBeUndefined();
    // What the observer API serves: the flow crosses the wire as it is.
    expect(decodeFlow(encodeFlow(flow as Flow))).toStrictEqual(structuredClone(flow));
  });

  it('names each request in the deciding rule\'s message, and the policy\'s new revision once it changes', async () => {
    const o = observer();
    // One labels array for every request, as the proxy gives all the requests one rule allows (the observer keeps its decision by it).
    const rules = request('GET', '/api/v1/a').rules;
    o.recordL7(request('GET', '/api/v1/a', { rules }));
    o.recordL7(request('GET', '/api/v1/b', { rules }));
    const [first, second] = sink.flows;
    expect(first?.decidedBy?.message).toMatch(/ allows GET \/api\/v1\/a \(ingress\)$/);
    expect(second?.decidedBy?.message).toMatch(/ allows GET \/api\/v1\/b \(ingress\)$/);
    const before = first?.ingressAllowedBy[0]?.revision;
    expect(second?.ingressAllowedBy[0]?.revision).toBe(before);

    // The policy changes (same rules, new revision): the flows after it name the new one.
    const generation = view.generation;
    await datastore.apply({ ...L7_POLICY, metadata: { ...L7_POLICY.metadata, labels: { changed: 'yes' } } } as AgentResource);
    for (let i = 0; i < 400 && view.generation === generation; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    o.recordL7(request('GET', '/api/v1/c', { rules }));
    const third = sink.flows[2];
    expect(third?.ingressAllowedBy[0]?.revision).toBeDefined();
    expect(third?.ingressAllowedBy[0]?.revision).not.toBe(before);
    expect(third?.decidedBy?.message).toMatch(/ allows GET \/api\/v1\/c \(ingress\)$/);
  });

  it("turns a denied request into a DROPPED flow (POLICY_DENIED) with its 403, naming the policy whose HTTP rules refused it and the proxy's reason", async () => {
    observer().recordL7(request('POST', '/api/v1/users'));
    const [flow] = sink.flows;
    expect(flow).toMatchObject({
      verdict: 'DROPPED',
      dropReasonDesc: 'POLICY_DENIED',
      l7: { type: 'RESPONSE', http: { code: 403, method: 'POST', url: 'http://b.x:8080/api/v1/users' } },
      trafficDirection: 'INGRESS',
      ingressDeniedBy: [{ kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'l7-api', revision: expect.any(Number) as number }],
      ingressAllowedBy: [],
      decidedBy: {
        reason: 'isolated',
        direction: 'ingress',
        isolatedBy: [{ kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'l7-api' }],
        attribution: 'evaluated',
        message: 'the L7 proxy denied POST /api/v1/users: no HTTP rule of CiliumNetworkPolicy x/l7-api (ingress) allows POST /api/v1/users',
      },
      Summary: 'HTTP/1.1 403 1.2 ms (POST http://b.x:8080/api/v1/users): no HTTP rule of CiliumNetworkPolicy x/l7-api (ingress) allows POST /api/v1/users',
    });
    const text = await metrics.prometheus.exposition();
    expect(text).toContain('twill_flows_total{verdict="DROPPED"} 1\n');
    expect(text).toContain('twill_policy_drops_total{reason="POLICY_DENIED",policy=""} 1\n');
    expect(decodeFlow(encodeFlow(flow as Flow))).toStrictEqual(structuredClone(flow));
  });

  it('shows an invalid request as ERROR and an upstream failure as FORWARDED with its 502, each with the reason, and no deciding rule for the invalid one', () => {
    const o = observer();
    o.recordL7({ ...request('GET', '/api/v1/x'), status: 400, verdict: 'invalid', rules: [], why: 'a malformed request line' });
    o.recordL7({ ...request('GET', '/api/v1/x'), status: 502, verdict: 'upstream-error', why: 'connect ECONNREFUSED 10.0.0.2:8080' });
    o.recordL7({ ...request('GET', '', { method: '', host: '' }), status: 0, latencyNs: 300, verdict: 'invalid', rules: [], why: 'closed before the headers ended' });
    const [invalid, upstream, closed] = sink.flows;
    expect(invalid).toMatchObject({ verdict: 'ERROR', l7: { http: { code: 400 } }, Summary: 'HTTP/1.1 400 1.2 ms (GET http://b.x:8080/api/v1/x): a malformed request line' });
    expect(invalid?.decidedBy).toBeUndefined();
    expect(invalid?.dropReasonDesc).toBeUndefined();
    expect(upstream).toMatchObject({ verdict: 'FORWARDED', l7: { http: { code: 502 } }, decidedBy: { reason: 'rule', action: 'allow' }, Summary: 'HTTP/1.1 502 1.2 ms (GET http://b.x:8080/api/v1/x): connect ECONNREFUSED 10.0.0.2:8080' });
    // No status sent: Hubble's REQUEST record (no response), with neither host nor path known.
    expect(closed).toMatchObject({ verdict: 'ERROR', l7: { type: 'REQUEST', latencyNs: 300, http: { code: 0, method: '', url: '' } }, Summary: 'HTTP/1.1 no status 0 µs ( ): closed before the headers ended' });
  });

  it('is EGRESS when only the client is on this node, unknown when neither is, and shows a remote address as reserved:world', () => {
    const o = observer();
    o.recordL7(request('GET', '/api/v1/x', { destination: { address: D, port: 80 }, host: 'd.x', rules: [] }));
    o.recordL7(request('GET', '/api/v1/y', { client: { address: D, port: 5555 }, destination: { address: WORLD, port: 80 }, host: 'example.com', rules: [] }));
    const [egress, neither] = sink.flows;
    expect(egress).toMatchObject({ trafficDirection: 'EGRESS', source: { podName: 'a' }, destination: { podName: 'd' }, l7: { http: { url: 'http://d.x/api/v1/x' } } });
    // No L7 rule applied: forwarded, with no deciding rule to name.
    expect(egress?.decidedBy).toBeUndefined();
    expect(neither).toMatchObject({ trafficDirection: 'TRAFFIC_DIRECTION_UNKNOWN', source: { podName: 'd' }, destination: { ID: 0, identity: 2, labels: ['reserved:world'] } });
  });

  it('names the policy of an egress HTTP rule under egressAllowedBy, and a rule set without a policy by its path alone', () => {
    const o = observer();
    o.recordL7(request('GET', '/api/v1/a', { rules: ['CiliumClusterwideNetworkPolicy out-http spec.egress[1].toPorts[0] http[2]'] }));
    o.recordL7(request('GET', '/api/v1/b', { rules: ['l7[0] http[0]'] }));
    const [egressRule, bare] = sink.flows;
    expect(egressRule).toMatchObject({
      egressAllowedBy: [{ kind: 'CiliumClusterwideNetworkPolicy', name: 'out-http' }],
      ingressAllowedBy: [],
      decidedBy: { direction: 'egress', rulePath: 'spec.egress[1].toPorts[0].rules.http[2]', policy: { name: 'out-http' } },
    });
    expect(egressRule?.decidedBy?.policy?.namespace).toBeUndefined();
    expect(bare).toMatchObject({ ingressAllowedBy: [], decidedBy: { reason: 'rule', rulePath: 'l7[0].rules.http[0]', message: 'an HTTP rule l7[0].rules.http[0] allows GET /api/v1/b (ingress)' } });
    expect(bare?.decidedBy?.policy).toBeUndefined();
  });

  it('counts every request in twill_l7_requests_total and the kept ones in twill_flows_total; above the budget the rest are lost (observer)', async () => {
    const o = observer(2);
    for (let i = 0; i < 3; i += 1) o.recordL7(request('GET', `/api/v1/${i}`));
    o.recordL7(request('DELETE', '/api/v1/0'));
    o.recordL7({ ...request('GET', '/'), verdict: 'invalid', status: 400, rules: [] });
    expect(sink.flows.map((f) => f.l7?.http?.url)).toEqual(['http://b.x:8080/api/v1/0', 'http://b.x:8080/api/v1/1']);
    expect(sink.items.filter((i) => 'lost' in i)).toEqual([{ lost: 'observer', count: 1 }, { lost: 'observer', count: 1 }, { lost: 'observer', count: 1 }]);
    const text = await metrics.prometheus.exposition();
    for (const [verdict, count] of [['forwarded', 3], ['denied', 1], ['invalid', 1]] as const) expect(text).toContain(`twill_l7_requests_total{verdict="${verdict}"} ${count}\n`);
    expect(text).toContain('twill_flows_total{verdict="FORWARDED"} 2\n');
    expect(text).toContain('twill_flow_events_lost_total{source="observer"} 3\n');
    expect(o.stats()).toEqual({ events: 5, flows: 2, lost: 3 });
    // A new second: the budget again.
    clock = 1500;
    o.recordL7(request('GET', '/api/v1/9'));
    expect(sink.flows).toHaveLength(3);
  });

  it('never throws into the proxy: a failing sink goes to onError, and l7Sink() is recordL7 as an L7FlowSink', () => {
    const errors: unknown[] = [];
    const failing: FlowSink = {
      push: () => {
        throw new Error('ring gone');
      },
      lost: () => undefined,
    };
    const o = new FlowObserver({ sink: failing, nodeName: 'node-a', policy: view, budgetPerSecond: 10, now: () => clock, onError: (e) => errors.push(e) });
    expect(() => o.l7Sink()(request('GET', '/api/v1/users'))).not.toThrow();
    expect(errors).toEqual([new Error('ring gone')]);
  });

  it('without policy state shows addresses only, direction unknown, and still names the rule the record gives', () => {
    new FlowObserver({ sink, nodeName: 'node-a', budgetPerSecond: 10, now: () => clock }).recordL7(request('GET', '/api/v1/users'));
    expect(sink.flows[0]).toMatchObject({
      trafficDirection: 'TRAFFIC_DIRECTION_UNKNOWN',
      source: { ID: 0, labels: ['reserved:world'] },
      decidedBy: { policy: { name: 'l7-api', revision: 0 }, direction: 'ingress' },
    });
  });
});

describe('reading the HTTP matcher’s words', () => {
  const cilium = { dialect: 'cilium' as const, kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'api' };
  const clusterwide = { dialect: 'cilium' as const, kind: 'CiliumClusterwideNetworkPolicy', name: 'all-get' };
  const calico = { dialect: 'calico' as const, kind: 'GlobalNetworkPolicy', name: 'gets' };

  it('names every policy whose HTTP rules refused a request, namespaced or cluster-wide, with the enforcement point', () => {
    const matcher = compileHttpMatcher([
      { rules: { kind: 'http', rules: [{ method: 'GET' }] }, direction: 'egress', policy: cilium, origin: { path: 'spec.egress[0]', detail: 'toPorts[0]' } },
      { rules: { kind: 'http', rules: [{ method: 'HEAD' }] }, direction: 'egress', policy: clusterwide, origin: { path: 'spec.egress[2]' } },
    ]);
    const denied = matcher.match({ method: 'POST', path: '/', headers: {} });
    expect(denied.allowed).toBe(false);
    const why = denied.allowed ? '' : denied.why;
    expect(parseDenyReason(why)).toEqual({ policies: [cilium, clusterwide], direction: 'egress' });
    expect(parseDenyReason('closed before the headers ended')).toEqual({ policies: [] });
  });

  it("reads a rule label whose origin has a part with spaces, and Calico's kinds", () => {
    const matcher = compileHttpMatcher([{ rules: { kind: 'http', rules: [{ method: 'GET' }, { method: 'PUT' }] }, direction: 'ingress', policy: calico, origin: { path: 'spec.ingress[3]', detail: 'from[1], ports[0]' } }]);
    const allowed = matcher.match({ method: 'PUT', path: '/', headers: {} });
    const label = allowed.allowed ? (allowed.by[0]?.label ?? '') : '';
    expect(parseRuleLabel(label)).toEqual({ policy: calico, path: 'spec.ingress[3].from[1], ports[0].rules.http[1]', direction: 'ingress' });
    expect(parseRuleLabel('SomeOtherKind x/y spec.ingress[0] http[0]')).toEqual({ path: 'SomeOtherKind x/y spec.ingress[0].rules.http[0]' });
    expect(parseRuleLabel('not a label')).toBeUndefined();
  });
});
