import { describe, expect, it } from 'vitest';

import { compileNetworkPolicy, effectivePolicyTypes, formatSelector, parseNetworkPolicy } from '@twill/policy-engine';

const doc = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p', namespace: 'x' }) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata,
  spec,
});

describe('parseNetworkPolicy', () => {
  it('defaults the namespace to the caller’s, then to default', () => {
    expect(parseNetworkPolicy(doc({ podSelector: {} }, { name: 'p' }), { namespace: 'team' }).metadata.namespace).toBe('team');
    expect(parseNetworkPolicy(doc({ podSelector: {} }, { name: 'p' })).metadata.namespace).toBe('default');
  });

  it('keeps exported ObjectMeta fields out of the way', () => {
    const policy = parseNetworkPolicy(doc({ podSelector: {} }, { name: 'p', namespace: 'x', uid: 'u', resourceVersion: '7', labels: { a: 'b' } }));
    expect(policy.metadata).toEqual({ name: 'p', namespace: 'x', labels: { a: 'b' } });
  });

  it('reads null as absent, as Go’s decoder does', () => {
    expect(parseNetworkPolicy(doc({ podSelector: {}, ingress: null, policyTypes: null })).spec).toEqual({ podSelector: {} });
  });

  it('accepts IPv6 blocks and host bits in a CIDR', () => {
    const policy = parseNetworkPolicy(doc({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: 'fd00::1/48', except: ['fd00:0:0:1::/64'] } }] }] }));
    expect(policy.spec.egress?.[0]?.to?.[0]?.ipBlock).toEqual({ cidr: 'fd00::1/48', except: ['fd00:0:0:1::/64'] });
  });
});

describe('policyTypes defaulting', () => {
  it('is Ingress alone when there are no egress rules', () => {
    expect(effectivePolicyTypes({ podSelector: {} })).toEqual(['Ingress']);
  });

  it('adds Egress when there is an egress rule', () => {
    expect(effectivePolicyTypes({ podSelector: {}, egress: [{}] })).toEqual(['Ingress', 'Egress']);
  });

  it('does not add Egress for an empty egress list', () => {
    expect(effectivePolicyTypes({ podSelector: {}, egress: [] })).toEqual(['Ingress']);
  });

  it('keeps what is written', () => {
    expect(effectivePolicyTypes({ podSelector: {}, egress: [{}], policyTypes: ['Egress'] })).toEqual(['Egress']);
  });
});

describe('compileNetworkPolicy', () => {
  it('selects pods of the policy’s namespace by podSelector', () => {
    const policy = compileNetworkPolicy(parseNetworkPolicy(doc({
      podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a', 'b'] }, { key: 'canary', operator: 'DoesNotExist' }] },
    })));
    expect(formatSelector(policy.subject)).toBe('type in {workload} && namespace == "x" && app == "web" && tier not in {"a", "b"} && !has(canary)');
    expect(policy).toMatchObject({ ref: { dialect: 'kubernetes', kind: 'NetworkPolicy', namespace: 'x', name: 'p' }, tier: 'default', order: 1000 });
    expect(policy.ingress).toEqual({ rules: [], isolates: true });
    expect(policy.egress).toBeUndefined();
  });

  it('ignores ingress rules when policyTypes leaves Ingress out', () => {
    const policy = compileNetworkPolicy(parseNetworkPolicy(doc({ podSelector: {}, ingress: [{}], egress: [{}], policyTypes: ['Egress'] })));
    expect(policy.ingress).toBeUndefined();
    expect(policy.egress?.rules).toHaveLength(1);
  });

  it('splits a rule per peer and port, keeping where each came from', () => {
    const policy = compileNetworkPolicy(parseNetworkPolicy(doc({
      podSelector: {},
      ingress: [{ from: [{ podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80 }, { protocol: 'UDP', port: 'dns' }] }],
    })));
    const rules = policy.ingress?.rules ?? [];
    expect(rules.map((r) => r.origin)).toEqual([
      { path: 'spec.ingress[0]', detail: 'from[0], ports[0]' },
      { path: 'spec.ingress[0]', detail: 'from[0], ports[1]' },
      { path: 'spec.ingress[0]', detail: 'from[1], ports[0]' },
      { path: 'spec.ingress[0]', detail: 'from[1], ports[1]' },
    ]);
    expect(rules[3]).toEqual({
      action: 'allow',
      protocol: 17,
      source: { peer: { kind: 'cidr', cidrs: ['10.0.0.0/8'], except: ['10.1.0.0/16'] } },
      destination: { ports: [{ kind: 'named', name: 'dns' }] },
      origin: { path: 'spec.ingress[0]', detail: 'from[1], ports[1]' },
    });
  });

  it('reads an empty rule as allow-everything, and an empty from as any source', () => {
    const policy = compileNetworkPolicy(parseNetworkPolicy(doc({ podSelector: {}, ingress: [{}, { from: [], ports: [{ port: 443, endPort: 445 }] }] })));
    expect(policy.ingress?.rules).toEqual([
      { action: 'allow', origin: { path: 'spec.ingress[0]' } },
      { action: 'allow', protocol: 6, destination: { ports: [{ kind: 'range', first: 443, last: 445 }] }, origin: { path: 'spec.ingress[1]', detail: 'ports[0]' } },
    ]);
  });
});
