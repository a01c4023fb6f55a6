// A deliberately naive evaluator of Kubernetes NetworkPolicy, written straight from
// the API documentation and sharing no code with the engine: no IR, no snapshot, no
// selector AST. It reads the policy documents as they are.

import ipaddr from 'ipaddr.js';

/** A pod as the reference sees it. */
export interface RefPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly ip: string;
  readonly namedPorts: readonly { name: string; protocol: string; port: number }[];
}

/** A flow as the reference sees it. */
export interface RefFlow {
  readonly from: RefPod;
  readonly to: RefPod;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
}

interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }
interface Peer { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: { cidr: string; except?: string[] } }
interface Port { protocol?: string; port?: number | string; endPort?: number }
interface Doc {
  metadata: { namespace: string };
  spec: { podSelector: Selector; ingress?: { from?: Peer[]; ports?: Port[] }[]; egress?: { to?: Peer[]; ports?: Port[] }[]; policyTypes?: string[] };
}

function selects(selector: Selector, labels: Record<string, string>): boolean {
  for (const key of Object.keys(selector.matchLabels ?? {})) {
    if (!(key in labels) || labels[key] !== selector.matchLabels?.[key]) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key] ?? ''))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key] ?? '')) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function inCidr(ip: string, cidr: string): boolean {
  return ipaddr.parse(ip).match(ipaddr.parseCIDR(cidr));
}

function peerMatches(peer: Peer, other: RefPod, policyNamespace: string, namespaceLabels: (ns: string) => Record<string, string>): boolean {
  if (peer.ipBlock) return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c));
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, namespaceLabels(other.namespace)) : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, other.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(port: Port, flow: RefFlow): boolean {
  if ((port.protocol ?? 'TCP') !== flow.protocol) return false;
  if (port.port === undefined) return true;
  if (typeof port.port === 'number') return flow.port >= port.port && flow.port <= (port.endPort ?? port.port);
  return flow.to.namedPorts.some((p) => p.name === port.port && p.protocol === flow.protocol && p.port === flow.port);
}

function types(doc: Doc): string[] {
  if (doc.spec.policyTypes && doc.spec.policyTypes.length > 0) return doc.spec.policyTypes;
  return doc.spec.egress && doc.spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Whether `flow` is allowed by `documents` (valid NetworkPolicy documents). */
export function naiveAllowed(flow: RefFlow, documents: readonly unknown[], namespaceLabels: (ns: string) => Record<string, string>): boolean {
  const docs = documents as Doc[];
  const egressPolicies = docs.filter((d) => d.metadata.namespace === flow.from.namespace && selects(d.spec.podSelector, flow.from.labels) && types(d).includes('Egress'));
  const egressOk = egressPolicies.length === 0 || egressPolicies.some((d) => (d.spec.egress ?? []).some((rule) =>
    (!rule.to || rule.to.length === 0 || rule.to.some((p) => peerMatches(p, flow.to, d.metadata.namespace, namespaceLabels)))
    && (!rule.ports || rule.ports.length === 0 || rule.ports.some((p) => portMatches(p, flow)))));
  const ingressPolicies = docs.filter((d) => d.metadata.namespace === flow.to.namespace && selects(d.spec.podSelector, flow.to.labels) && types(d).includes('Ingress'));
  const ingressOk = ingressPolicies.length === 0 || ingressPolicies.some((d) => (d.spec.ingress ?? []).some((rule) =>
    (!rule.from || rule.from.length === 0 || rule.from.some((p) => peerMatches(p, flow.from, d.metadata.namespace, namespaceLabels)))
    && (!rule.ports || rule.ports.length === 0 || rule.ports.some((p) => portMatches(p, flow)))));
  return egressOk && ingressOk;
}
