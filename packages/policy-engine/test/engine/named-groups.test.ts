// Remote named ports kept up to date by delta: pods relabelled, renumbered or removed one
// at a time (mostly between label sets that already exist, where the index moves only
// that pod between named-port groups) end with the rules a fresh index of the same
// pods gives, and each diff reports exactly the endpoints whose rules moved.

import { isDeepStrictEqual } from 'node:util';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { labelEquals, PROTOCOL, type Endpoint, type Policy } from '@twill/policy-engine';

import { PolicyIndex } from '../../src/engine/policy-index.js';
import { type EndpointPolicy } from '../../src/engine/types.js';

const PODS = 12;
const APPS = ['a', 'b', 'c'] as const;

interface PodShape {
  readonly app: (typeof APPS)[number];
  readonly metrics: number | undefined;
  readonly namespace: 'x' | 'y';
}

const shape = fc.record({
  app: fc.constantFrom(...APPS),
  metrics: fc.constantFrom(9090, 9091, undefined),
  namespace: fc.constantFrom('x' as const, 'y' as const),
});

function pod(i: number, s: PodShape): Endpoint {
  return {
    kind: 'workload',
    namespace: s.namespace,
    name: `p${i}`,
    labels: { app: s.app },
    ips: [`10.0.0.${i + 1}`],
    node: 'n1',
    namedPorts: [{ name: 'http', protocol: PROTOCOL.TCP, port: 8080 }, ...(s.metrics === undefined ? [] : [{ name: 'metrics', protocol: PROTOCOL.TCP, port: s.metrics }])],
  };
}

const egressTo = (name: string, destination: NonNullable<Policy['egress']>['rules'][number]['destination']): Policy => ({
  ref: { dialect: 'calico', kind: 'GlobalNetworkPolicy', name },
  tier: 'default',
  order: 100,
  subject: labelEquals('app', 'a'),
  egress: { rules: [{ action: 'allow', protocol: PROTOCOL.TCP, destination, origin: { path: 'spec.egress[0]' } }], isolates: true },
});

// Several policies share each remote side, written as separate objects (as front ends compile them).
const POLICIES: Policy[] = [
  egressTo('any-metrics-1', { ports: [{ kind: 'named', name: 'metrics' }, { kind: 'range', first: 443, last: 443 }] }),
  egressTo('any-metrics-2', { ports: [{ kind: 'named', name: 'metrics' }, { kind: 'range', first: 443, last: 443 }] }),
  egressTo('b-metrics', { peer: { kind: 'selector', selector: labelEquals('app', 'b') }, ports: [{ kind: 'named', name: 'metrics' }] }),
  egressTo('not-b-http', { peer: { kind: 'not', of: { kind: 'selector', selector: labelEquals('app', 'b') } }, notPorts: [{ kind: 'named', name: 'metrics' }] }),
];

function build(pods: readonly Endpoint[]): PolicyIndex {
  const index = new PolicyIndex();
  index.apply([...pods.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), ...POLICIES.map((policy) => ({ kind: 'upsert-policy' as const, policy }))]);
  return index;
}

const rulesOf = (rules: readonly EndpointPolicy[]) => new Map(rules.map((e) => [e.key, { ingress: e.ingress, egress: e.egress }]));

describe('remote named ports after pod changes', () => {
  it('end where a fresh index of the same pods is, reporting exactly the endpoints that moved', () => {
    const change = fc.record({ pod: fc.nat(PODS - 1), shape, remove: fc.boolean() });
    fc.assert(fc.property(fc.array(shape, { minLength: PODS, maxLength: PODS }), fc.array(change, { minLength: 1, maxLength: 12 }), (initial, changes) => {
      let pods: (Endpoint | undefined)[] = initial.map((s, i) => pod(i, s));
      const index = build(pods.filter((p) => p !== undefined));
      for (const c of changes) {
        const before = rulesOf(index.allEffectiveRules());
        const old = pods[c.pod];
        const removing = c.remove && old !== undefined && pods.filter((p) => p !== undefined).length > 1;
        const next = removing ? undefined : { ...pod(c.pod, c.shape), namespace: old?.namespace ?? c.shape.namespace };
        pods = pods.map((p, i) => (i === c.pod ? next : p));
        const diff = next === undefined ? index.deleteEndpoint({ namespace: old?.namespace ?? '', name: old?.name ?? '' }) : index.upsertEndpoint(next);
        const after = rulesOf(index.allEffectiveRules());
        const fresh = rulesOf(build(pods.filter((p) => p !== undefined)).allEffectiveRules());
        expect(after).toEqual(fresh);
        const moved = [...after].filter(([key, rules]) => !isDeepStrictEqual(before.get(key), rules)).map(([key]) => key);
        expect(diff.changed.map((e) => e.key).sort()).toEqual(moved.sort());
      }
    }), { numRuns: 150 });
  });
});
