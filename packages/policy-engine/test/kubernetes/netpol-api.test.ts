// network_policy_api.go's "should support creating NetworkPolicy API with endport
// field", as the engine sees it: the API server's endPort validation is ours too, so the
// documents upstream expects the API server to refuse are refused by
// parseNetworkPolicy, with the field path, and the ones it accepts compile to a range.
// (The other API case, create/get/list/watch/patch/update/delete, is about storage and
// out of the engine's scope: see netpol/README.md.)

import { describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, validateNetworkPolicy } from '@twill/policy-engine';

const withEgressPort = (port: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'e2e-example-netpol-endport-validate', namespace: 'x' },
  spec: { podSelector: { matchLabels: { 'pod-name': 'test-pod' } }, egress: [{ ports: [port] }], policyTypes: ['Egress'] },
});

describe('NetworkPolicy API with the endPort field (network_policy_api.go)', () => {
  it('refuses endPort without port', () => {
    expect(validateNetworkPolicy(withEgressPort({ endPort: 20000 })).map((e) => e.message)).toEqual([
      'spec.egress[0].ports[0].endPort: may not be used without port',
    ]);
  });

  it('refuses endPort with a named port', () => {
    expect(validateNetworkPolicy(withEgressPort({ port: 'serve-80', endPort: 20000 })).map((e) => e.message)).toEqual([
      'spec.egress[0].ports[0].endPort: may not be used with a named port',
    ]);
  });

  it('refuses endPort below port', () => {
    expect(validateNetworkPolicy(withEgressPort({ port: 30000, endPort: 20000 })).map((e) => e.message)).toEqual([
      'spec.egress[0].ports[0].endPort: 20000 is less than port 30000',
    ]);
  });

  it('accepts endPort equal to port, and greater than port, as port ranges', () => {
    for (const [port, endPort] of [[20000, 20000], [10000, 20000]] as const) {
      const policy = compileNetworkPolicy(parseNetworkPolicy(withEgressPort({ port, endPort })));
      const ports = policy.egress?.rules.map((rule) => rule.destination?.ports);
      expect(ports).toEqual([[{ kind: 'range', first: port, last: endPort }]]);
    }
  });
});
