// Policy edits applied in place (same subject, tier and order): the diff names only the
// directions whose rules changed, and the rules are those of a fresh index.

import { describe, expect, it } from 'vitest';

import { labelEquals, PROTOCOL, type Endpoint, type Policy } from '@twill/policy-engine';

import { PolicyIndex } from '../../src/engine/policy-index.js';
import { type EndpointPolicy } from '../../src/engine/types.js';

const pod = (name: string, app: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels: { app }, ips: [ip], node: 'n1' });

const PODS = [pod('a1', 'a', '10.0.0.1'), pod('a2', 'a', '10.0.0.2'), pod('b1', 'b', '10.0.0.3')];

function policy(ingressPort: number, egressPort: number): Policy {
  const rule = (path: string, port: number) => ({ action: 'allow' as const, protocol: PROTOCOL.TCP, origin: { path }, destination: { ports: [{ kind: 'range' as const, first: port, last: port }] } });
  return {
    ref: { dialect: 'calico', kind: 'NetworkPolicy', namespace: 'x', name: 'edit-me' },
    tier: 'default',
    order: 10,
    subject: labelEquals('app', 'a'),
    ingress: { rules: [rule('spec.ingress[0]', ingressPort)], isolates: true },
    egress: { rules: [rule('spec.egress[0]', egressPort)], isolates: true },
  };
}

function build(p: Policy): PolicyIndex {
  const index = new PolicyIndex();
  index.apply([...PODS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), { kind: 'upsert-policy', policy: p }]);
  return index;
}

const rulesOf = (rules: readonly EndpointPolicy[]) => rules.map((e) => ({ key: e.key, ingress: e.ingress, egress: e.egress }));

describe('policy edits in place', () => {
  it.each([
    ['an egress port', policy(80, 5353), ['x/a1 egress', 'x/a2 egress']],
    ['an ingress port', policy(8080, 53), ['x/a1 ingress', 'x/a2 ingress']],
    ['both ports', policy(8080, 5353), ['x/a1 ingress+egress', 'x/a2 ingress+egress']],
    ['nothing', policy(80, 53), []],
  ])('changing %s reports those directions of the selected pods only', (_, edited, expected) => {
    const index = build(policy(80, 53));
    const diff = index.upsertPolicy(edited);
    expect(diff.changed.map((c) => `${c.key} ${c.changed.join('+')}`)).toEqual(expected);
    expect(rulesOf(index.allEffectiveRules())).toEqual(rulesOf(build(edited).allEffectiveRules()));
    expect(index.evaluate({ source: { endpoint: { namespace: 'x', name: 'b1' } }, destination: { endpoint: { namespace: 'x', name: 'a1' } }, protocol: 'TCP', destinationPort: 8080 }).allowed)
      .toBe(edited.ingress?.rules[0]?.destination?.ports?.[0]?.kind === 'range' && edited.ingress.rules[0].destination.ports[0].first === 8080);
  });
});
