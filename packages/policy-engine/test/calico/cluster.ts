// A small cluster shared by the Calico and Cilium compile tests: the seed tutorial's
// frontend / api / database pods in `production` and `default`, a `dev` namespace, two
// nodes, Cilium's health endpoint, and helpers to turn YAML into IR policies and flows.

import { parseAllDocuments } from 'yaml';

import {
  compileCalicoDocuments,
  compileCiliumPolicy,
  compileNetworkPolicy,
  createSnapshot,
  evaluate,
  parseCalicoDocument,
  parseCiliumPolicy,
  parseNetworkPolicy,
  PROTOCOL,
  type Endpoint,
  type Flow,
  type Namespace,
  type NetworkSet,
  type Policy,
  type Tier,
  type Verdict,
} from '@twill/policy-engine';

/** Namespaces with labels. */
export const NAMESPACES: readonly Namespace[] = [
  { name: 'production', labels: { 'kubernetes.io/metadata.name': 'production', env: 'prod' } },
  { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } },
  { name: 'dev', labels: { 'kubernetes.io/metadata.name': 'dev', env: 'dev' } },
  { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } },
];

const pod = (namespace: string, name: string, labels: Record<string, string>, ip: string, extra: Partial<Endpoint> = {}): Endpoint =>
  ({ kind: 'workload', namespace, name, labels, ips: [ip], node: 'n1', ...extra });

/** Pods and hosts. */
export const ENDPOINTS: readonly Endpoint[] = [
  pod('production', 'frontend', { app: 'frontend' }, '10.0.0.1', { serviceAccount: 'web' }),
  pod('production', 'api-server', { app: 'api-server' }, '10.0.0.2', { serviceAccount: 'api', namedPorts: [{ name: 'http', protocol: PROTOCOL.TCP, port: 8080 }] }),
  pod('production', 'database', { app: 'database' }, '10.0.0.3', { node: 'n2', serviceAccount: 'db' }),
  pod('default', 'frontend', { app: 'frontend' }, '10.0.1.1'),
  pod('default', 'api', { app: 'api' }, '10.0.1.2', { namedPorts: [{ name: 'http', protocol: PROTOCOL.TCP, port: 8080 }] }),
  pod('dev', 'tool', { app: 'tool' }, '10.0.2.1', { node: 'n2' }),
  pod('kube-system', 'cilium-health', { 'reserved:health': '' }, '10.0.9.9'),
  { kind: 'host', name: 'n1', labels: { 'node-role': 'worker' }, ips: ['192.168.0.1'], node: 'n1' },
  { kind: 'host', name: 'n2', labels: { 'node-role': 'control-plane' }, ips: ['192.168.0.2'], node: 'n2' },
];

/** Service accounts' labels (Calico `serviceAccounts.selector`). */
export const SERVICE_ACCOUNTS = [
  { namespace: 'production', name: 'web', labels: { role: 'web' } },
  { namespace: 'production', name: 'api', labels: { role: 'backend' } },
  { namespace: 'production', name: 'db', labels: { role: 'backend' } },
];

/** What a YAML stream compiles to, in any dialect (chosen by each document's apiVersion). */
export interface Compiled {
  readonly policies: Policy[];
  readonly tiers: Tier[];
  readonly networkSets: NetworkSet[];
}

/** Parses and compiles every document of a YAML stream (Kubernetes, Calico or Cilium). */
export function compileYaml(text: string): Compiled {
  const compiled: Compiled = { policies: [], tiers: [], networkSets: [] };
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(document.errors.map((e) => e.message).join('; '));
    const json = document.toJS() as { apiVersion?: string } | null;
    if (json === null) continue;
    if (json.apiVersion === 'cilium.io/v2') {
      compiled.policies.push(...compileCiliumPolicy(parseCiliumPolicy(json)));
    } else if (json.apiVersion === 'networking.k8s.io/v1') {
      compiled.policies.push(compileNetworkPolicy(parseNetworkPolicy(json)));
    } else {
      const { policies, tiers, networkSets } = compileCalicoDocuments([parseCalicoDocument(json)]);
      compiled.policies.push(...policies);
      compiled.tiers.push(...tiers);
      compiled.networkSets.push(...networkSets);
    }
  }
  return compiled;
}

/** A function that evaluates flows against the cluster and the policies of `yaml`. */
export function clusterWith(yaml: string, extra: { readonly networkSets?: readonly NetworkSet[] } = {}): (flow: Flow) => Verdict {
  const { policies, tiers, networkSets } = compileYaml(yaml);
  const snapshot = createSnapshot({
    namespaces: NAMESPACES,
    endpoints: ENDPOINTS,
    serviceAccounts: SERVICE_ACCOUNTS,
    networkSets: [...networkSets, ...(extra.networkSets ?? [])],
    policies,
    tiers,
    kubeApiServer: ['172.16.0.1'],
  });
  return (flow) => evaluate(flow, snapshot);
}

type Side = string;

// `ns/name`, `host:n1`, or an address.
function peer(side: Side): Flow['source'] {
  if (side.startsWith('host:')) return { endpoint: { name: side.slice(5) } };
  const slash = side.indexOf('/');
  if (slash > 0 && !/^[\d.:a-f]+\/\d+$/.test(side)) return { endpoint: { namespace: side.slice(0, slash), name: side.slice(slash + 1) } };
  return { ip: side };
}

/** A TCP flow (or another protocol) from `from` to `to` on `port`. */
export function flow(from: Side, to: Side, port?: number, protocol: string = 'TCP', extra: Partial<Flow> = {}): Flow {
  return { source: peer(from), destination: peer(to), protocol, ...(port === undefined ? {} : { destinationPort: port }), ...extra };
}

/** An ICMP flow. */
export function icmpFlow(from: Side, to: Side, type: number, protocol = 'ICMP'): Flow {
  return { source: peer(from), destination: peer(to), protocol, icmp: { type } };
}
