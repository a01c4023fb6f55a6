// A rule whose peer is a labelled entity (Cilium's `health`) and a CIDR holds the entity's
// identities whatever their addresses; when such an endpoint's identity moves (its
// namespace relabelled), the index's diff must carry the rules with the new identity.
import { describe, expect, it } from 'vitest';

import { IdentityAllocator, PolicyIndex, type EndpointPolicy, type Policy } from '@twill/policy-engine';

const POLICY: Policy = {
  ref: { dialect: 'cilium', kind: 'CiliumClusterwideNetworkPolicy', name: 'deny-health' },
  tier: 'twill:deny-precedence',
  order: 1000,
  subject: { kind: 'in-namespace', namespace: 'x' },
  ingress: {
    rules: [{ action: 'deny', source: { peer: { kind: 'and', of: [{ kind: 'entity', entities: ['health'] }, { kind: 'cidr', cidrs: ['10.9.2.0/23'] }] } }, origin: { path: 'spec.ingressDeny[0]' } }],
    isolates: false,
  },
} as unknown as Policy;

function build(namespaceLabels: Record<string, string>, identities: IdentityAllocator): PolicyIndex {
  const index = new PolicyIndex({ identities });
  index.apply([
    { kind: 'upsert-namespace', namespace: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x', ...namespaceLabels } } },
    // The health endpoint's address is outside the rule's CIDR: only its identity is named.
    { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'x', name: 'health', labels: { 'reserved:health': '' }, ips: ['10.9.1.1'] } },
    { kind: 'upsert-endpoint', endpoint: { kind: 'workload', namespace: 'x', name: 'web', labels: { app: 'web' }, ips: ['10.9.3.3'] } },
    { kind: 'upsert-policy', policy: POLICY },
  ]);
  return index;
}

const rulesOf = (e: EndpointPolicy) => ({ ingress: e.ingress, egress: e.egress });

describe('a labelled entity in a rule, when its endpoint changes identity', () => {
  it('the diff of a namespace relabel brings the rules to what a fresh index builds', () => {
    const identities = new IdentityAllocator();
    const index = build({ tier: 'b' }, identities);
    const replica = new Map(index.allEffectiveRules().map((e) => [e.key, rulesOf(e)]));
    const diff = index.upsertNamespace({ name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } });
    for (const changed of diff.changed) replica.set(changed.key, rulesOf(changed));
    const fresh = build({}, identities);
    expect(replica).toEqual(new Map(fresh.allEffectiveRules().map((e) => [e.key, rulesOf(e)])));
  });
});
