// The seed tutorial's three policies, written directly in the IR as the Calico and
// Cilium front ends are to produce them (the tutorial has no networking.k8s.io/v1
// policy). This pins down the contract: a front end is right when its output for these
// documents evaluates like this.

import { describe, expect, it } from 'vitest';

import { allOf, createSnapshot, evaluate, labelEquals, type Flow, type Policy } from '@twill/policy-engine';

// projectcalico.org/v3 NetworkPolicy production/allow-api-access.
const allowApiAccess: Policy = {
  ref: { dialect: 'calico', kind: 'NetworkPolicy', namespace: 'production', name: 'allow-api-access' },
  tier: 'default',
  subject: allOf({ kind: 'in-namespace', namespace: 'production' }, labelEquals('app', 'api-server')),
  ingress: {
    isolates: true,
    rules: [{
      action: 'allow',
      protocol: 6,
      // A namespaced policy's source selector picks endpoints of its own namespace.
      source: { peer: { kind: 'selector', selector: allOf({ kind: 'in-namespace', namespace: 'production' }, labelEquals('app', 'frontend')) } },
      destination: { ports: [{ kind: 'range', first: 8080, last: 8080 }] },
      origin: { path: 'spec.ingress[0]' },
    }],
  },
  egress: {
    isolates: true,
    rules: [{
      action: 'allow',
      protocol: 6,
      destination: { peer: { kind: 'selector', selector: allOf({ kind: 'in-namespace', namespace: 'production' }, labelEquals('app', 'database')) }, ports: [{ kind: 'range', first: 5432, last: 5432 }] },
      origin: { path: 'spec.egress[0]' },
    }],
  },
};

// projectcalico.org/v3 GlobalNetworkPolicy default-deny: all(), Ingress and Egress, no rules.
const defaultDeny: Policy = {
  ref: { dialect: 'calico', kind: 'GlobalNetworkPolicy', name: 'default-deny' },
  tier: 'default',
  subject: { kind: 'all' },
  ingress: { isolates: true, rules: [] },
  egress: { isolates: true, rules: [] },
};

// cilium.io/v2 CiliumNetworkPolicy default/l7-api-policy.
const l7ApiPolicy: Policy = {
  ref: { dialect: 'cilium', kind: 'CiliumNetworkPolicy', namespace: 'default', name: 'l7-api-policy' },
  tier: 'default',
  order: 1000,
  subject: allOf({ kind: 'in-namespace', namespace: 'default' }, labelEquals('app', 'api')),
  ingress: {
    isolates: true,
    rules: [{
      action: 'allow',
      protocol: 6,
      source: { peer: { kind: 'selector', selector: allOf({ kind: 'in-namespace', namespace: 'default' }, labelEquals('app', 'frontend')) } },
      destination: { ports: [{ kind: 'range', first: 8080, last: 8080 }] },
      l7: { kind: 'http', rules: [{ method: 'GET', path: { kind: 'regex', value: '/api/v1/.*' } }] },
      origin: { path: 'spec.ingress[0]', detail: 'toPorts[0]' },
    }],
  },
};

const pod = (namespace: string, name: string, app: string, ip: string) => ({ kind: 'workload' as const, namespace, name, labels: { app }, ips: [ip] });
const endpoints = [
  pod('production', 'frontend', 'frontend', '10.0.0.1'),
  pod('production', 'api-server', 'api-server', '10.0.0.2'),
  pod('production', 'database', 'database', '10.0.0.3'),
  pod('default', 'frontend', 'frontend', '10.0.1.1'),
  pod('default', 'api', 'api', '10.0.1.2'),
];
const tcp = (from: [string, string], to: [string, string], port: number): Flow => ({
  source: { endpoint: { namespace: from[0], name: from[1] } },
  destination: { endpoint: { namespace: to[0], name: to[1] } },
  protocol: 'TCP',
  destinationPort: port,
});

describe('the seed tutorial’s policies', () => {
  it('Calico allow-api-access: frontend → api-server:8080 and api-server → database:5432 only', () => {
    const snapshot = createSnapshot({ endpoints, policies: [allowApiAccess] });
    expect(evaluate(tcp(['production', 'frontend'], ['production', 'api-server'], 8080), snapshot).allowed).toBe(true);
    expect(evaluate(tcp(['production', 'frontend'], ['production', 'api-server'], 9090), snapshot).allowed).toBe(false);
    expect(evaluate(tcp(['default', 'frontend'], ['production', 'api-server'], 8080), snapshot).allowed).toBe(false);
    expect(evaluate(tcp(['production', 'api-server'], ['production', 'database'], 5432), snapshot).allowed).toBe(true);
    expect(evaluate(tcp(['production', 'api-server'], ['production', 'frontend'], 80), snapshot).egress?.message)
      .toBe('production/api-server is isolated for egress by NetworkPolicy production/allow-api-access; no rule allowed TCP/80 to production/frontend');
  });

  it('with the GlobalNetworkPolicy default-deny, only what allow-api-access allows passes', () => {
    const snapshot = createSnapshot({ endpoints, policies: [defaultDeny, allowApiAccess] });
    expect(evaluate(tcp(['production', 'frontend'], ['production', 'api-server'], 8080), snapshot).ingress?.allowed).toBe(true);
    // frontend's own egress is denied by default-deny: the flow is dropped at the source.
    const verdict = evaluate(tcp(['production', 'frontend'], ['production', 'api-server'], 8080), snapshot);
    expect(verdict.allowed).toBe(false);
    expect(verdict.egress?.message).toBe('production/frontend is isolated for egress by GlobalNetworkPolicy default-deny; no rule allowed TCP/8080 to production/api-server');
  });

  it('Cilium l7-api-policy: frontend → api:8080 allowed with its HTTP rules', () => {
    const snapshot = createSnapshot({ endpoints, policies: [l7ApiPolicy] });
    const verdict = evaluate(tcp(['default', 'frontend'], ['default', 'api'], 8080), snapshot);
    expect(verdict.allowed).toBe(true);
    expect(verdict.l7).toEqual([{ direction: 'ingress', rules: { kind: 'http', rules: [{ method: 'GET', path: { kind: 'regex', value: '/api/v1/.*' } }] } }]);
    expect(evaluate(tcp(['production', 'frontend'], ['default', 'api'], 8080), snapshot).allowed).toBe(false);
  });
});
