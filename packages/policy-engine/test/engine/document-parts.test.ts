// A document that compiles to several IR policies (a Cilium policy with allow and deny
// halves, or with several `specs`) keeps every part in the index: upserting one part
// leaves the others, deleting the document removes them all, and replacing a document
// drops the parts its new version no longer has.

import { describe, expect, it } from 'vitest';

import { compileCiliumPolicy, DEFAULT_TIER, DENY_PRECEDENCE_TIER, parseCiliumPolicy, type Endpoint, type Flow } from '@twill/policy-engine';

import { PolicyIndex } from '../../src/engine/policy-index.js';

const pod = (name: string, labels: Record<string, string>, ip: string): Endpoint => ({ kind: 'workload', namespace: 'x', name, labels, ips: [ip], node: 'n1' });

/** db: ingress from app=web allowed on 5432 and 9090 (two specs); web on 9090 denied (deny half). */
const DOCUMENT = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { namespace: 'x', name: 'db' },
  specs: [
    {
      endpointSelector: { matchLabels: { app: 'db' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] }],
      ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '9090', protocol: 'TCP' }] }] }],
    },
    {
      endpointSelector: { matchLabels: { app: 'db' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '9090', protocol: 'TCP' }, { port: '8080', protocol: 'TCP' }] }] }],
    },
  ],
};

const webToDb = (port: number): Flow => ({
  source: { endpoint: { namespace: 'x', name: 'web' } },
  destination: { endpoint: { namespace: 'x', name: 'db' } },
  protocol: 'TCP',
  destinationPort: port,
});

function cluster(): PolicyIndex {
  const index = new PolicyIndex();
  index.apply([
    { kind: 'upsert-endpoint', endpoint: pod('db', { app: 'db' }, '10.0.0.3') },
    { kind: 'upsert-endpoint', endpoint: pod('web', { app: 'web' }, '10.0.0.2') },
  ]);
  return index;
}

const allowed = (index: PolicyIndex, port: number): boolean => index.evaluate(webToDb(port)).allowed;

describe('PolicyIndex with documents of several parts', () => {
  const parts = compileCiliumPolicy(parseCiliumPolicy(DOCUMENT));

  it('compiles the Cilium document to three numbered parts of one reference', () => {
    expect(parts.map((p) => [p.tier, p.part ?? 0])).toEqual([[DEFAULT_TIER.name, 0], [DENY_PRECEDENCE_TIER.name, 1], [DEFAULT_TIER.name, 2]]);
    expect(new Set(parts.map((p) => JSON.stringify(p.ref))).size).toBe(1);
  });

  it('keeps every part: the first spec allows 5432, the second 8080, the deny half wins on 9090', () => {
    const index = cluster();
    for (const policy of parts) index.upsertPolicy(policy);
    expect(index.size.policies).toBe(3);
    expect([5432, 8080, 9090, 22].map((port) => allowed(index, port))).toEqual([true, true, false, false]);
  });

  it('removes every part when the document is deleted', () => {
    const index = cluster();
    index.replacePolicies(parts[0]!.ref, parts);
    const diff = index.deletePolicy(parts[0]!.ref);
    expect(index.size.policies).toBe(0);
    expect(diff.changed.map((c) => c.key)).toEqual(['x/db']);
    expect(allowed(index, 9090)).toBe(true);
  });

  it('drops the parts a new version of the document no longer has', () => {
    const index = cluster();
    index.replacePolicies(parts[0]!.ref, parts);
    const withoutDeny = compileCiliumPolicy(parseCiliumPolicy({ ...DOCUMENT, specs: [{ ...DOCUMENT.specs[0]!, ingressDeny: undefined }, DOCUMENT.specs[1]!] }));
    index.replacePolicies(parts[0]!.ref, withoutDeny);
    expect(index.size.policies).toBe(2);
    expect(allowed(index, 9090)).toBe(true);
  });

  it('refuses to replace a document with another document’s policies, naming the part', () => {
    const index = cluster();
    const stranger = { ...parts[1]!, ref: { ...parts[1]!.ref, name: 'other' } };
    expect(() => index.replacePolicies(parts[0]!.ref, [parts[0]!, stranger])).toThrow(/policies\[1\]\.ref.*CiliumNetworkPolicy x\/db/u);
  });
});
