// What an L7 (HTTP) rule would decide for a request, from the policy engine's verdict:
// the HTTP rules a probe's allowed traffic must still satisfy. Twill's dataplanes
// enforce L3/L4 only (L7 is issue 14), so the demonstration shows this beside what the
// request really got.

import { parseAllDocuments } from 'yaml';

import {
  ciliumHttpPattern,
  compileResourceDocument,
  createSnapshot,
  endpointFromPod,
  evaluate,
  formatPolicyRef,
  namespaceFromResource,
  type HttpRule,
  type Policy,
  type Snapshot,
  type Tier,
  type NetworkSet,
} from '@twill/policy-engine';

/** The engine's snapshot of a snapshot YAML (Namespace and Pod documents) and policy documents. */
export function engineSnapshot(clusterYaml: string, policyDocuments: readonly unknown[]): Snapshot {
  const namespaces = [];
  const endpoints = [];
  for (const doc of parseAllDocuments(clusterYaml)) {
    const value = doc.toJS() as { kind?: string };
    if (value.kind === 'Namespace') namespaces.push(namespaceFromResource(value));
    else if (value.kind === 'Pod') endpoints.push(endpointFromPod(value));
  }
  const policies: Policy[] = [];
  const tiers: Tier[] = [];
  const networkSets: NetworkSet[] = [];
  for (const document of policyDocuments) {
    const compiled = compileResourceDocument(document);
    policies.push(...compiled.policies);
    tiers.push(...compiled.tiers);
    networkSets.push(...compiled.networkSets);
  }
  return createSnapshot({ namespaces, endpoints, policies, tiers, networkSets });
}

/** The documents of a YAML file's text. */
export function yamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).map((doc) => doc.toJS() as unknown).filter((value) => value !== null && value !== undefined);
}

/** HTTP rules that apply to a probe, with the policies that carry them. */
export interface HttpRulesOfProbe {
  readonly rules: readonly HttpRule[];
  /** `CiliumNetworkPolicy default/l7-api-policy`. */
  readonly policies: readonly string[];
}

/**
 * The HTTP rules either enforcement point attaches to TCP traffic from `from` to `to`
 * on `port` (whether or not L3/L4 allows it), or undefined when none does.
 */
export function httpRulesOf(snapshot: Snapshot, from: { namespace: string; name: string }, to: { namespace: string; name: string }, port: number): HttpRulesOfProbe | undefined {
  const verdict = evaluate({ source: { endpoint: from }, destination: { endpoint: to }, protocol: 'TCP', destinationPort: port }, snapshot);
  const rules: HttpRule[] = [];
  const policies = new Set<string>();
  for (const direction of [verdict.egress, verdict.ingress]) {
    if (direction === undefined) continue;
    for (const l7 of direction.l7) if (l7.kind === 'http') rules.push(...l7.rules);
    if (direction.l7.length > 0 && direction.decidedBy !== undefined) policies.add(formatPolicyRef(direction.decidedBy.policy));
  }
  return rules.length === 0 ? undefined : { rules, policies: [...policies] };
}

/**
 * Whether an HTTP request passes `rules` (any rule whose every present field matches;
 * method, path and host as Cilium matches them: anchored regular expressions).
 * Calico's exact and prefix paths are matched as such.
 */
export function httpRequestAllowed(rules: readonly HttpRule[], request: { method: string; path: string }): boolean {
  return rules.some((rule) => {
    if (rule.method !== undefined && !ciliumHttpPattern(rule.method).test(request.method)) return false;
    if (rule.path !== undefined) {
      const { kind, value } = rule.path;
      if (kind === 'exact' && request.path !== value) return false;
      if (kind === 'prefix' && !request.path.startsWith(value)) return false;
      if (kind === 'regex' && !ciliumHttpPattern(value).test(request.path)) return false;
    }
    // The probes send no host or headers a rule could require.
    return rule.host === undefined && (rule.headers ?? []).length === 0;
  });
}

