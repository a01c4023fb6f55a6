// Property: on random clusters, PolicyIndex.evaluate (precomputed effective rules)
// agrees with evaluate(flow, snapshot) on every flow: verdict, reason, deciding rule,
// isolating policies and L7 rules. And an index built change by change, with diffs
// applied to a replica, ends where a fresh index of the final objects is.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createSnapshot, evaluate, IdentityAllocator, type Flow, type FlowPeer } from '@twill/policy-engine';

import { PolicyIndex } from '../../src/engine/policy-index.js';
import { type EndpointPolicy, type PolicyIndexDiff } from '../../src/engine/types.js';
import { anyPolicy, KUBE_API_SERVER, namespaceLabels, OUTSIDE, podArbitrary, podEndpoint, scenario, type Scenario, type ValueOf } from './scenario.js';

function buildIndex(s: Scenario, identities: IdentityAllocator): PolicyIndex {
  const index = new PolicyIndex({ kubeApiServer: KUBE_API_SERVER, identities });
  index.apply([
    ...s.namespaces.map((namespace) => ({ kind: 'upsert-namespace' as const, namespace })),
    ...s.tiers.map((tier) => ({ kind: 'upsert-tier' as const, tier })),
    ...s.endpoints.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })),
    ...s.networkSets.map((networkSet) => ({ kind: 'upsert-network-set' as const, networkSet })),
    ...s.policies.map((policy) => ({ kind: 'upsert-policy' as const, policy })),
  ]);
  return index;
}

const flowArbitrary = fc.record({
  from: fc.nat(), to: fc.nat(), outside: fc.constantFrom(undefined, ...OUTSIDE), outsideIsSource: fc.boolean(),
  protocol: fc.constantFrom('TCP', 'UDP', 'ICMP'), port: fc.constantFrom(80, 81, 443, 8080), sourcePort: fc.constantFrom(undefined, 80, 40000),
  direction: fc.constantFrom(undefined, 'ingress' as const, 'egress' as const),
});

function toFlow(s: Scenario, f: ValueOf<typeof flowArbitrary>): Flow {
  const at = (n: number): FlowPeer => {
    const e = s.endpoints[n % s.endpoints.length];
    return e?.namespace === undefined ? { ip: e?.ips[0] ?? '1.1.1.1' } : { endpoint: { namespace: e.namespace, name: e.name } };
  };
  let source = at(f.from);
  let destination = at(f.to);
  if (f.outside !== undefined) {
    if (f.outsideIsSource) source = { ip: f.outside };
    else destination = { ip: f.outside };
  }
  return {
    source, destination, protocol: f.protocol,
    ...(f.protocol === 'ICMP' ? { icmp: { type: 8 } } : { destinationPort: f.port, ...(f.sourcePort === undefined ? {} : { sourcePort: f.sourcePort }) }),
    ...(f.direction === undefined ? {} : { direction: f.direction }),
  };
}

function expectAgreement(s: Scenario, index: PolicyIndex, flows: readonly ValueOf<typeof flowArbitrary>[], identities: IdentityAllocator): void {
  const snapshot = createSnapshot({ ...s, kubeApiServer: KUBE_API_SERVER, identities });
  for (const f of flows) {
    const flow = toFlow(s, f);
    const expected = evaluate(flow, snapshot);
    const actual = index.evaluate(flow);
    const pick = (v: typeof expected.ingress | typeof actual.ingress) => v && {
      allowed: v.allowed, reason: v.reason, decidedBy: v.decidedBy, isolatedBy: v.isolatedBy, l7: v.l7,
    };
    expect({ allowed: actual.allowed, ingress: pick(actual.ingress), egress: pick(actual.egress) }, expected.explanation)
      .toEqual({ allowed: expected.allowed, ingress: pick(expected.ingress), egress: pick(expected.egress) });
    expect([actual.sourceIdentity, actual.destinationIdentity]).toEqual([expected.source.identity, expected.destination.identity]);
  }
}

// Each property runs a few hundred random clusters: 13-15 s per test on a 2-core
// machine at load average 45, half the 30 s default deadline, which a busier CI machine
// can pass with nothing wrong. The runs stay as they are (they are the coverage); the
// deadline is 120 s.
const PROPERTY_TIMEOUT_MS = 120_000;

describe('PolicyIndex.evaluate versus evaluate(flow, snapshot)', () => {
  it('agrees on random clusters and flows', () => {
    fc.assert(fc.property(scenario, fc.array(flowArbitrary, { minLength: 1, maxLength: 25 }), (s, flows) => {
      const identities = new IdentityAllocator();
      expectAgreement(s, buildIndex(s, identities), flows, identities);
    }), { numRuns: 400 });
  }, PROPERTY_TIMEOUT_MS);

  it('still agrees after random changes, and the diffs rebuild the same rules', () => {
    const change = fc.oneof(
      fc.record({ kind: fc.constant('relabel' as const), pod: fc.nat(), shape: podArbitrary }),
      fc.record({ kind: fc.constant('remove-pod' as const), pod: fc.nat() }),
      fc.record({ kind: fc.constant('namespace' as const), which: fc.nat(2), labels: namespaceLabels }),
      fc.record({ kind: fc.constant('policy' as const), index: fc.nat(6) }).chain((c) => anyPolicy(c.index).map((policy) => ({ ...c, policy }))),
      fc.record({ kind: fc.constant('remove-policy' as const), index: fc.nat(6) }),
      fc.record({ kind: fc.constant('tier' as const), action: fc.constantFrom('deny' as const, 'pass' as const), order: fc.constantFrom(100, 2_000_000) }),
      fc.record({ kind: fc.constant('network-set' as const), nets: fc.constantFrom(['203.0.113.0/25'], ['10.9.1.0/24'], []) }),
    );
    fc.assert(fc.property(scenario, fc.array(change, { maxLength: 6 }), fc.array(flowArbitrary, { minLength: 1, maxLength: 15 }), (initial, changes, flows) => {
      const identities = new IdentityAllocator();
      const index = buildIndex(initial, identities);
      const replica = new Map<string, EndpointPolicy>(index.allEffectiveRules().map((e) => [e.key, e]));
      const applyDiff = (diff: PolicyIndexDiff): void => {
        for (const ref of diff.removed) replica.delete(ref.namespace === undefined ? `host:${ref.name}` : `${ref.namespace}/${ref.name}`);
        for (const c of diff.changed) {
          const before = replica.get(c.key);
          // Exact: a reported direction really differs.
          for (const d of c.changed) if (before !== undefined) expect(c[d]).not.toEqual(before[d]);
          const { changed: _, ...rules } = c;
          replica.set(c.key, rules);
        }
      };
      let s: Scenario = { ...initial, endpoints: [...initial.endpoints], policies: [...initial.policies], namespaces: [...initial.namespaces] };
      for (const c of changes) {
        const pods = s.endpoints.filter((e) => e.kind === 'workload');
        if (c.kind === 'relabel' && pods.length > 0) {
          const i = c.pod % pods.length;
          const old = pods[i];
          const updated = { ...podEndpoint(c.shape, Number(old?.name.slice(1))), namespace: old?.namespace ?? 'x' };
          s = { ...s, endpoints: s.endpoints.map((e) => (e === old ? updated : e)) };
          applyDiff(index.upsertEndpoint(updated));
        } else if (c.kind === 'remove-pod' && pods.length > 1) {
          const old = pods[c.pod % pods.length];
          s = { ...s, endpoints: s.endpoints.filter((e) => e !== old) };
          applyDiff(index.deleteEndpoint({ namespace: old?.namespace ?? '', name: old?.name ?? '' }));
        } else if (c.kind === 'namespace') {
          const ns = { name: s.namespaces[c.which]?.name ?? 'x', labels: { 'kubernetes.io/metadata.name': s.namespaces[c.which]?.name ?? 'x', ...c.labels } };
          s = { ...s, namespaces: s.namespaces.map((n) => (n.name === ns.name ? ns : n)) };
          applyDiff(index.upsertNamespace(ns));
        } else if (c.kind === 'policy') {
          const same = (p: typeof c.policy) => p.ref.name === c.policy.ref.name && p.ref.kind === c.policy.ref.kind && p.ref.dialect === c.policy.ref.dialect && p.ref.namespace === c.policy.ref.namespace;
          s = { ...s, policies: [...s.policies.filter((p) => !same(p)), c.policy] };
          applyDiff(index.upsertPolicy(c.policy));
        } else if (c.kind === 'remove-policy' && s.policies.length > 0) {
          const old = s.policies[c.index % s.policies.length];
          s = { ...s, policies: s.policies.filter((p) => p !== old) };
          if (old !== undefined) applyDiff(index.deletePolicy(old.ref));
        } else if (c.kind === 'tier') {
          const tier = { name: 'security', order: c.order, defaultAction: c.action };
          s = { ...s, tiers: [tier] };
          applyDiff(index.upsertTier(tier));
        } else if (c.kind === 'network-set') {
          const set = { name: 'partners', namespace: 'x', labels: { app: 'b' }, nets: c.nets };
          s = { ...s, networkSets: [set] };
          applyDiff(index.upsertNetworkSet(set));
        }
      }
      expectAgreement(s, index, flows, identities);
      const fresh = buildIndex(s, identities);
      // Identity and address moves travel in the ipcache part; the rules must match.
      const rulesOf = (e: EndpointPolicy) => ({ ingress: e.ingress, egress: e.egress });
      expect(new Map([...replica].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, e]) => [k, rulesOf(e)])))
        .toEqual(new Map(fresh.allEffectiveRules().map((e) => [e.key, rulesOf(e)])));
    }), { numRuns: 300 });
  }, PROPERTY_TIMEOUT_MS);
});
