// Property: on random clusters and policies (every dialect's shapes: tiers, order, Pass,
// Deny, Log, isolation, CIDRs with exceptions, named ports, ICMP), a lookup in the
// policy map entries the generator gives, done the way the tc program does it, gives the
// verdict and the deciding rule that PolicyIndex.evaluate gives, for both directions.
// The maps are built incrementally (one diff per change, applied to a replica of the
// kernel's maps), so the diffs are checked too.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  BpfMapCompiler,
  bpfEntryKey,
  IdentityAllocator,
  lookupBpfVerdict,
  PolicyIndex,
  PROTOCOL,
  type BpfMapDiff,
  type BpfPolicyEntry,
  type Flow,
  type IndexDirectionVerdict,
  type PolicyIndexDiff,
} from '@twill/policy-engine';

import { KUBE_API_SERVER, OUTSIDE, scenario, type Scenario, type ValueOf } from '../../engine/scenario.js';

/** The kernel's maps as the driver would hold them after applying every diff. */
class Replica {
  readonly policy = new Map<string, Map<string, BpfPolicyEntry>>();
  readonly ipcache = new Map<string, number>();

  apply(diff: BpfMapDiff): void {
    for (const key of diff.removedEndpoints) this.policy.delete(key);
    for (const change of diff.endpoints) {
      const entries = this.policy.get(change.key) ?? new Map<string, BpfPolicyEntry>();
      for (const e of change.removed) entries.delete(bpfEntryKey(e));
      for (const e of change.set) entries.set(bpfEntryKey(e), e);
      this.policy.set(change.key, entries);
    }
    for (const prefix of diff.ipcache.removed) this.ipcache.delete(prefix);
    for (const e of diff.ipcache.set) this.ipcache.set(e.prefix, e.class);
  }
}

const flowArbitrary = fc.record({
  from: fc.nat(), to: fc.nat(), outside: fc.constantFrom(undefined, ...OUTSIDE), outsideIsSource: fc.boolean(),
  protocol: fc.constantFrom(PROTOCOL.TCP, PROTOCOL.UDP, PROTOCOL.SCTP, PROTOCOL.ICMP, 47),
  port: fc.constantFrom(53, 80, 81, 443, 8080, 65535),
  icmp: fc.record({ type: fc.constantFrom(0, 3, 8), code: fc.constantFrom(0, 1) }),
});

function check(s: Scenario, index: PolicyIndex, compiler: BpfMapCompiler, replica: Replica, f: ValueOf<typeof flowArbitrary>): void {
  const pods = s.endpoints.filter((e) => e.kind === 'workload');
  const at = (n: number) => pods[n % pods.length];
  let source: { key?: string; ip: string } = { key: `${at(f.from)?.namespace}/${at(f.from)?.name}`, ip: at(f.from)?.ips[0] ?? '' };
  let destination: { key?: string; ip: string } = { key: `${at(f.to)?.namespace}/${at(f.to)?.name}`, ip: at(f.to)?.ips[0] ?? '' };
  if (f.outside !== undefined) {
    if (f.outsideIsSource) source = { ip: f.outside };
    else destination = { ip: f.outside };
  }
  const icmp = f.protocol === PROTOCOL.ICMP;
  const ported = !icmp && f.protocol !== 47;
  const flow: Flow = {
    source: { ip: source.ip }, destination: { ip: destination.ip }, protocol: f.protocol,
    ...(icmp ? { icmp: f.icmp } : ported ? { destinationPort: f.port } : {}),
  };
  const verdict = index.evaluate(flow);
  const ipcache = [...replica.ipcache].map(([prefix, c]) => ({ prefix, class: c }));
  const packet = { protocol: f.protocol, ...(icmp ? { icmp: f.icmp } : ported ? { port: f.port } : {}) };
  const sides: [IndexDirectionVerdict | undefined, string | undefined, 'ingress' | 'egress', string][] = [
    [verdict.egress, source.key, 'egress', destination.ip],
    [verdict.ingress, destination.key, 'ingress', source.ip],
  ];
  for (const [expected, key, direction, remote] of sides) {
    if (expected === undefined || key === undefined) continue;
    const entries = [...(replica.policy.get(key)?.values() ?? [])];
    expect(entries, 'the replica holds what the generator says').toEqual(expect.arrayContaining([...(compiler.entries(key) ?? [])]));
    const found = lookupBpfVerdict(entries, ipcache, { direction, remote, ...packet });
    const rule = found.entry === undefined ? undefined : compiler.rule(found.entry.rule);
    const what = `${direction} of ${key}, ${JSON.stringify(flow)}: evaluate says ${expected.allowed ? 'allow' : 'deny'} (${expected.reason}), the maps say ${found.entry?.verdict ?? 'nothing'} by ${found.entry === undefined ? '-' : compiler.describeRule(found.entry.rule)}`;
    expect(found.entry?.verdict, what).toBe(expected.allowed ? 'allow' : 'deny');
    if (expected.reason === 'rule') {
      expect(rule?.kind === 'rule' ? { policy: rule.policy, ruleIndex: rule.ruleIndex } : rule, what)
        .toEqual({ policy: expected.decidedBy?.policy, ruleIndex: expected.decidedBy?.ruleIndex });
    } else {
      expect(rule?.kind, what).toBe(expected.reason === 'isolated' ? 'isolated' : 'default');
    }
  }
}

describe('eBPF policy map entries versus PolicyIndex.evaluate', () => {
  it('agree on random clusters, policies and packets, built change by change', () => {
    fc.assert(fc.property(scenario, fc.array(flowArbitrary, { minLength: 1, maxLength: 30 }), fc.boolean(), fc.nat(), fc.constantFrom(undefined, ['10.9.1.0/24'], []), (s, flows, dropFirst, relabel, nets) => {
      const index = new PolicyIndex({ kubeApiServer: KUBE_API_SERVER, identities: new IdentityAllocator() });
      const compiler = new BpfMapCompiler();
      const replica = new Replica();
      const feed = (diff: PolicyIndexDiff): void => replica.apply(compiler.apply(diff));
      feed({ changed: [], removed: [], ipcache: { set: index.ipIdentities(), removed: [] } });
      feed(index.apply([
        ...s.namespaces.map((namespace) => ({ kind: 'upsert-namespace' as const, namespace })),
        ...s.tiers.map((tier) => ({ kind: 'upsert-tier' as const, tier })),
        ...s.endpoints.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })),
        ...s.networkSets.map((networkSet) => ({ kind: 'upsert-network-set' as const, networkSet })),
      ]));
      for (const policy of s.policies) feed(index.upsertPolicy(policy));
      let final = s;
      const first = s.policies[0];
      if (dropFirst && first !== undefined) {
        feed(index.deletePolicy(first.ref));
        final = { ...s, policies: s.policies.slice(1) };
      }
      // A pod takes another's labels and one more (a new identity: peer classes move) and
      // the network set changes: entries of endpoints whose rules did not change move too.
      const pods = final.endpoints.filter((e) => e.kind === 'workload');
      const moved = pods[relabel % pods.length];
      const model = pods[(relabel + 1) % pods.length];
      if (moved !== undefined && model !== undefined) {
        const updated = { ...moved, labels: { ...model.labels, moved: 'yes' } };
        feed(index.upsertEndpoint(updated));
        final = { ...final, endpoints: final.endpoints.map((e) => (e === moved ? updated : e)) };
      }
      if (nets !== undefined) {
        const set = { name: 'partners', namespace: 'x', labels: { app: 'b' }, nets };
        feed(index.upsertNetworkSet(set));
        final = { ...final, networkSets: [set] };
      }
      for (const f of flows) check(final, index, compiler, replica, f);
      // The replica is exactly the generator's state: no stale entries left behind.
      for (const [key, entries] of replica.policy) {
        expect(new Set(entries.keys())).toEqual(new Set((compiler.entries(key) ?? []).map(bpfEntryKey)));
      }
    }), { numRuns: 200 });
    // 200 random clusters take 10-20 s alone; a machine shared with other jobs needs more.
  }, 180_000);
});
