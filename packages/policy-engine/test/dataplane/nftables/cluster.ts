// Small clusters for the nftables generator's tests: a PolicyIndex loaded with YAML
// policies of any dialect, and the full-sync script of some endpoints as attached.

import { parseAllDocuments } from 'yaml';

import {
  buildTableModel,
  compileCalicoDocuments,
  compileCiliumPolicy,
  compileEndpointNft,
  compileNetworkPolicy,
  DENY_PRECEDENCE_TIER,
  identityAddresses,
  parseCalicoDocument,
  parseCiliumPolicy,
  parseNetworkPolicy,
  PolicyIndex,
  renderFullSync,
  type Endpoint,
  type NftTableModel,
  type PolicyIndexChange,
} from '@twill/policy-engine';

const pod = (namespace: string, name: string, ip: string, labels: Record<string, string>): Endpoint => ({ kind: 'workload', namespace, name, labels, ips: [ip] });

/** Pods of the tests: a web tier and a database in `prod`, a tool in `dev`. */
export const PODS: readonly Endpoint[] = [
  pod('prod', 'web', '10.0.0.1', { app: 'web' }),
  pod('prod', 'web2', '10.0.0.2', { app: 'web' }),
  pod('prod', 'db', '10.0.0.3', { app: 'db' }),
  pod('dev', 'tool', '10.0.1.1', { app: 'tool' }),
];

/** The index changes of a YAML stream of Kubernetes, Calico and Cilium documents. */
export function changesOf(yaml: string): PolicyIndexChange[] {
  const changes: PolicyIndexChange[] = [];
  for (const document of parseAllDocuments(yaml)) {
    const json = document.toJS() as { apiVersion?: string } | null;
    if (json === null) continue;
    if (json.apiVersion === 'cilium.io/v2') {
      // PolicyIndex keys policies by reference alone: the allow and deny halves of one
      // Cilium policy would collide, so the deny half gets a name of its own.
      for (const policy of compileCiliumPolicy(parseCiliumPolicy(json))) {
        const renamed = policy.tier === DENY_PRECEDENCE_TIER.name ? { ...policy, ref: { ...policy.ref, name: `${policy.ref.name}~deny` } } : policy;
        changes.push({ kind: 'upsert-policy', policy: renamed });
      }
    } else if (json.apiVersion === 'networking.k8s.io/v1') {
      changes.push({ kind: 'upsert-policy', policy: compileNetworkPolicy(parseNetworkPolicy(json)) });
    } else {
      const compiled = compileCalicoDocuments([parseCalicoDocument(json)]);
      for (const tier of compiled.tiers) changes.push({ kind: 'upsert-tier', tier });
      for (const networkSet of compiled.networkSets) changes.push({ kind: 'upsert-network-set', networkSet });
      for (const policy of compiled.policies) changes.push({ kind: 'upsert-policy', policy });
    }
  }
  return changes;
}

/** An index holding the pods, their namespaces and the policies of `yaml`. */
export function indexWith(yaml: string): PolicyIndex {
  const index = new PolicyIndex();
  index.apply([
    ...['prod', 'dev'].map((name) => ({ kind: 'upsert-namespace' as const, namespace: { name, labels: { 'kubernetes.io/metadata.name': name } } })),
    ...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })),
  ]);
  // Tiers first: a policy may come before its tier in the stream.
  const changes = changesOf(yaml);
  index.apply([...changes.filter((c) => c.kind === 'upsert-tier'), ...changes.filter((c) => c.kind !== 'upsert-tier')]);
  return index;
}

/** The table model of `keys` attached to `tw0`, `tw1`, ... (with `dropLogGroup`, drops log to that group). */
export function modelOf(index: PolicyIndex, keys: readonly string[], dropLogGroup?: number): NftTableModel {
  const ipcache = new Map(index.ipIdentities().map((e) => [e.prefix, e.identity]));
  const identities = identityAddresses(ipcache, []);
  const rules = new Map(index.allEffectiveRules().map((e) => [e.key, e]));
  return buildTableModel(keys.map((key, i) => {
    const policy = rules.get(key);
    if (policy === undefined) throw new Error(`no endpoint ${key}`);
    return { hostInterface: `tw${i}`, nft: compileEndpointNft(policy, { identities, logGroup: 7, ...(dropLogGroup === undefined ? {} : { dropLogGroup }) }) };
  }), [...ipcache.keys()]);
}

/** The script that creates the table for `keys` from nothing. */
export function scriptOf(yaml: string, keys: readonly string[], dropLogGroup?: number): string {
  return renderFullSync(modelOf(indexWith(yaml), keys, dropLogGroup), { chains: new Set(), sets: new Map() });
}
