// Random clusters for the index's property tests: pods on two nodes in three
// namespaces, host endpoints, a network set, the API server, a Calico-like tier, and
// policies of every shape the IR has (Kubernetes documents compiled, Calico-like
// tiered rules with Pass/Deny/Log, selectors, nets, notPorts, named ports, entities,
// Cilium-like deny policies in the deny-precedence tier).

import fc from 'fast-check';

import {
  compileNetworkPolicy,
  DENY_PRECEDENCE_TIER,
  parseNetworkPolicy,
  PROTOCOL,
  type Endpoint,
  type Namespace,
  type NetworkSet,
  type PeerMatch,
  type Policy,
  type Rule,
  type Selector,
  type SideMatch,
  type Tier,
} from '@twill/policy-engine';

/** The values an arbitrary generates. */
export type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

export const NAMESPACES = ['x', 'y', 'z'] as const;
const KEYS = ['app', 'tier'];
const VALUES = ['a', 'b', 'c'];

const labelSet = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 2 });

const leafSelector: fc.Arbitrary<Selector> = fc.oneof(
  fc.constant<Selector>({ kind: 'all' }),
  fc.record({ kind: fc.constant('in' as const), key: fc.constantFrom(...KEYS), values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }) }),
  fc.record({ kind: fc.constant('exists' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ kind: fc.constant('in-namespace' as const), namespace: fc.constantFrom(...NAMESPACES) }),
  fc.record({ kind: fc.constant('subject-type' as const), types: fc.uniqueArray(fc.constantFrom('workload' as const, 'host' as const, 'network-set' as const), { minLength: 1 }) }),
);
const selector: fc.Arbitrary<Selector> = fc.oneof(
  { weight: 3, arbitrary: leafSelector },
  fc.record({ kind: fc.constant('not' as const), of: leafSelector }),
  fc.record({ kind: fc.constant('and' as const), of: fc.array(leafSelector, { minLength: 1, maxLength: 2 }) }),
);

const cidrs = ['10.9.0.0/16', '10.9.1.0/24', '10.9.2.0/23', '203.0.113.0/24', '192.168.0.0/24', '0.0.0.0/0'];
const leafPeer: fc.Arbitrary<PeerMatch> = fc.oneof(
  fc.record({ kind: fc.constant('selector' as const), selector }),
  fc.record({ kind: fc.constant('cidr' as const), cidrs: fc.uniqueArray(fc.constantFrom(...cidrs), { minLength: 1, maxLength: 2 }), except: fc.constantFrom(undefined, ['10.9.1.0/25'], ['10.9.2.3/32', '192.168.0.1/32']) })
    .map((p) => (p.except === undefined ? { kind: p.kind, cidrs: p.cidrs } : p)),
  fc.record({ kind: fc.constant('entity' as const), entities: fc.uniqueArray(fc.constantFrom('all', 'world', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'health') as fc.Arbitrary<'all'>, { minLength: 1, maxLength: 2 }) }),
);
const peer: fc.Arbitrary<PeerMatch> = fc.oneof(
  { weight: 4, arbitrary: leafPeer },
  fc.record({ kind: fc.constant('not' as const), of: leafPeer }),
  fc.record({ kind: fc.constant('and' as const), of: fc.array(fc.oneof(leafPeer, fc.record({ kind: fc.constant('not' as const), of: leafPeer })), { minLength: 2, maxLength: 2 }) }),
  fc.record({ kind: fc.constant('or' as const), of: fc.array(leafPeer, { minLength: 2, maxLength: 2 }) }),
);

const portSpec = fc.oneof(
  fc.record({ kind: fc.constant('range' as const), first: fc.constantFrom(80, 81), last: fc.constantFrom(81, 443) }).map((r) => ({ ...r, last: Math.max(r.first, r.last) })),
  fc.record({ kind: fc.constant('named' as const), name: fc.constantFrom('http', 'metrics') }),
);

const side: fc.Arbitrary<SideMatch> = fc.record({
  peer,
  ports: fc.array(portSpec, { minLength: 1, maxLength: 2 }),
  notPorts: fc.array(portSpec, { minLength: 1, maxLength: 1 }),
}, { requiredKeys: [] });

const l7 = fc.constantFrom(undefined, { kind: 'http' as const, rules: [{ method: 'GET' }] }, { kind: 'http' as const, rules: [{ method: 'POST' }] });

const irRule = (direction: 'ingress' | 'egress', index: number, actions: readonly Rule['action'][]): fc.Arbitrary<Rule> => fc.record({
  action: fc.constantFrom(...actions),
  protocol: fc.constantFrom(undefined, PROTOCOL.TCP, PROTOCOL.UDP, PROTOCOL.ICMP),
  notProtocol: fc.constantFrom(undefined, undefined, PROTOCOL.UDP),
  source: fc.option(side, { nil: undefined }),
  destination: fc.option(side, { nil: undefined }),
  l7,
}).map((r) => JSON.parse(JSON.stringify({ ...r, l7: r.action === 'allow' ? r.l7 : undefined, origin: { path: `spec.${direction}[${index}]` } })) as Rule);

const rules = (direction: 'ingress' | 'egress', actions: readonly Rule['action'][]) =>
  fc.integer({ min: 0, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => irRule(direction, i, actions))));

const calicoPolicy = (index: number): fc.Arbitrary<Policy> => fc.record({
  tier: fc.constantFrom('default', 'security'),
  order: fc.constantFrom(undefined, 100, 1000),
  subject: selector,
  ingress: fc.option(fc.record({ rules: rules('ingress', ['allow', 'deny', 'pass', 'log']), isolates: fc.boolean() }), { nil: undefined }),
  egress: fc.option(fc.record({ rules: rules('egress', ['allow', 'deny', 'pass', 'log']), isolates: fc.boolean() }), { nil: undefined }),
}).map((p) => JSON.parse(JSON.stringify({ ref: { dialect: 'calico', kind: 'GlobalNetworkPolicy', name: `gnp${index}` }, ...p })) as Policy);

const ciliumDeny = (index: number): fc.Arbitrary<Policy> => fc.record({
  subject: selector,
  ingress: fc.option(fc.record({ rules: rules('ingress', ['deny']), isolates: fc.constant(false) }), { nil: undefined }),
  egress: fc.option(fc.record({ rules: rules('egress', ['deny']), isolates: fc.constant(false) }), { nil: undefined }),
}).map((p) => JSON.parse(JSON.stringify({ ref: { dialect: 'cilium', kind: 'CiliumClusterwideNetworkPolicy', name: `deny${index}` }, tier: DENY_PRECEDENCE_TIER.name, order: 1000, ...p })) as Policy);

const k8sSelector = fc.record({ matchLabels: fc.option(labelSet, { nil: undefined }) }, { requiredKeys: [] });
const k8sPeer = fc.oneof(
  fc.record({ podSelector: k8sSelector }),
  fc.record({ namespaceSelector: k8sSelector }),
  fc.constantFrom({ ipBlock: { cidr: '10.9.0.0/16', except: ['10.9.1.0/24'] } }),
);
const k8sPort = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom(80, 81, 'http') }),
  fc.record({ port: fc.constant(80), endPort: fc.constant(443) }),
);
const k8sPolicy = (index: number): fc.Arbitrary<Policy> => fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  podSelector: k8sSelector,
  ingress: fc.option(fc.array(fc.record({ from: fc.array(k8sPeer, { maxLength: 2 }), ports: fc.array(k8sPort, { maxLength: 2 }) }, { requiredKeys: [] }), { maxLength: 2 }), { nil: undefined }),
  egress: fc.option(fc.array(fc.record({ to: fc.array(k8sPeer, { maxLength: 2 }), ports: fc.array(k8sPort, { maxLength: 2 }) }, { requiredKeys: [] }), { maxLength: 2 }), { nil: undefined }),
  policyTypes: fc.option(fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']), { nil: undefined }),
}).map((p) => compileNetworkPolicy(parseNetworkPolicy(JSON.parse(JSON.stringify({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: `np${index}`, namespace: p.namespace },
  spec: { podSelector: p.podSelector, ingress: p.ingress, egress: p.egress, policyTypes: p.policyTypes },
})))));

/** A random cluster: the objects a snapshot and an index are both built from. */
export interface Scenario {
  readonly namespaces: Namespace[];
  readonly endpoints: Endpoint[];
  readonly networkSets: NetworkSet[];
  readonly tiers: Tier[];
  readonly policies: Policy[];
}

const pod = fc.record({ namespace: fc.constantFrom(...NAMESPACES), labels: labelSet, httpPort: fc.constantFrom(80, 8080), metricsProtocol: fc.constantFrom(PROTOCOL.TCP, PROTOCOL.UDP), node: fc.constantFrom('n1', 'n2'), health: fc.boolean() });

/** Pods `p0...`, at 10.9.(i%3+1).(i+1). */
export function podEndpoint(p: ValueOf<typeof pod>, i: number): Endpoint {
  return {
    kind: 'workload',
    namespace: p.namespace,
    name: `p${i}`,
    labels: p.health && i === 0 ? { ...p.labels, 'reserved:health': '' } : p.labels,
    ips: [`10.9.${(i % 3) + 1}.${i + 1}`],
    node: p.node,
    namedPorts: [{ name: 'http', protocol: PROTOCOL.TCP, port: p.httpPort }, { name: 'metrics', protocol: p.metricsProtocol, port: 81 }],
  };
}

/** The random pod's shape, for tests that relabel pods. */
export const podArbitrary = pod;

/** Namespace labels. */
export const namespaceLabels = labelSet;

/** A policy of any dialect, named after `index`. */
export const anyPolicy = (index: number): fc.Arbitrary<Policy> => fc.oneof(k8sPolicy(index), calicoPolicy(index), ciliumDeny(index));

/** A whole random cluster. */
export const scenario: fc.Arbitrary<Scenario> = fc.record({
  namespaceLabels: fc.tuple(labelSet, labelSet, labelSet),
  pods: fc.array(pod, { minLength: 2, maxLength: 6 }),
  tierAction: fc.constantFrom('deny' as const, 'pass' as const),
  policyCount: fc.integer({ min: 0, max: 5 }),
}).chain((w) => fc.tuple(...Array.from({ length: w.policyCount }, (_, i) => anyPolicy(i))).map((policies) => ({
  namespaces: NAMESPACES.map((name, i) => ({ name, labels: { 'kubernetes.io/metadata.name': name, ...w.namespaceLabels[i] } })),
  endpoints: [
    ...w.pods.map(podEndpoint),
    { kind: 'host' as const, name: 'n1', labels: { 'node-role': 'worker' }, ips: ['192.168.0.1'], node: 'n1' },
    { kind: 'host' as const, name: 'n2', labels: { app: 'a' }, ips: ['192.168.0.2'], node: 'n2' },
  ],
  networkSets: [{ name: 'partners', namespace: 'x', labels: { app: 'b' }, nets: ['203.0.113.0/25'] }],
  tiers: [{ name: 'security', order: 100, defaultAction: w.tierAction }],
  policies: [...policies],
})));

/** Sides a flow can have in a scenario: every endpoint, plus outside addresses. */
export const OUTSIDE = ['203.0.113.7', '198.51.100.1', '172.16.0.1', '10.9.1.200'];

/** The API server's address in every scenario. */
export const KUBE_API_SERVER = ['172.16.0.1'];
