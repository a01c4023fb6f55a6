// What an L7 (HTTP) rule would decide for a request, from the policy engine's verdict:
// the HTTP rules a probe's allowed traffic must still satisfy. Twill's dataplanes
// enforce L3/L4 only (L7 is issue 14), so the demonstration shows this beside what the
// request really got.

import { parseAllDocuments } from 'yaml';

import {
  compileHttpMatcher,
  compileResourceDocument,
  createSnapshot,
  endpointFromPod,
  evaluate,
  formatPolicyRef,
  l7RuleSetsOf,
  namespaceFromResource,
  type HttpMatcher,
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
  /** The rules of both enforcement points, compiled once: each point must allow. */
  readonly rules: HttpMatcher;
  /** `CiliumNetworkPolicy default/l7-api-policy`. */
  readonly policies: readonly string[];
}

/**
 * The HTTP rules either enforcement point attaches to TCP traffic from `from` to `to`
 * on `port` (whether or not L3/L4 allows it), or undefined when none does.
 * @throws {FieldError} when a rule's pattern does not compile (naming its field).
 */
export function httpRulesOf(snapshot: Snapshot, from: { namespace: string; name: string }, to: { namespace: string; name: string }, port: number): HttpRulesOfProbe | undefined {
  const verdict = evaluate({ source: { endpoint: from }, destination: { endpoint: to }, protocol: 'TCP', destinationPort: port }, snapshot);
  // The verdict's own `l7` lists only the rules of a flow both points allow; the probe
  // also shows what a rule would decide when the other point refuses the flow.
  const l7 = (['egress', 'ingress'] as const).flatMap((direction) => (verdict[direction]?.l7 ?? []).map((rules) => ({ direction, rules })));
  if (!l7.some((entry) => entry.rules.kind === 'http')) return undefined;
  const policies = new Set<string>();
  for (const direction of [verdict.egress, verdict.ingress]) {
    if (direction !== undefined && direction.l7.length > 0 && direction.decidedBy !== undefined) policies.add(formatPolicyRef(direction.decidedBy.policy));
  }
  return { rules: compileHttpMatcher(l7RuleSetsOf({ ...verdict, l7 })), policies: [...policies] };
}

/** Whether an HTTP request without host or headers (what the probes send) passes `rules`. */
export function httpRequestAllowed(rules: HttpMatcher, request: { method: string; path: string }): boolean {
  return rules.match({ ...request, headers: {} }).allowed;
}
