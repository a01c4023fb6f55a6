// Cilium entities the small cluster of compile.test.ts has no endpoint for: `all`,
// `init` and `unmanaged` (endpoints labelled `reserved:init` / `reserved:unmanaged`, as
// Cilium labels an endpoint before its identity is known and a pod it does not manage),
// evaluated on a snapshot of their own.

import { describe, expect, it } from 'vitest';

import { compileCiliumPolicy, createSnapshot, evaluate, parseCiliumPolicy, type Endpoint, type Flow } from '@twill/policy-engine';

const pod = (name: string, labels: Record<string, string>, ip: string): Endpoint => ({ kind: 'workload', namespace: 'shop', name, labels, ips: [ip], node: 'n1' });

const ENDPOINTS: Endpoint[] = [
  pod('db', { app: 'db' }, '10.0.0.1'),
  pod('booting', { 'reserved:init': '' }, '10.0.0.2'),
  pod('legacy', { 'reserved:unmanaged': '' }, '10.0.0.3'),
  pod('web', { app: 'web' }, '10.0.0.4'),
  { kind: 'host', name: 'n1', labels: {}, ips: ['192.168.0.1'], node: 'n1' },
];

function check(fromEntities: string[]): (from: string) => boolean {
  const policies = compileCiliumPolicy(parseCiliumPolicy({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'db', namespace: 'shop' },
    spec: { endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromEntities }] },
  }));
  const snapshot = createSnapshot({ namespaces: [{ name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop' } }], endpoints: ENDPOINTS, policies });
  return (from) => {
    const source = from.includes('.') ? { ip: from } : from.startsWith('host:') ? { endpoint: { name: from.slice(5) } } : { endpoint: { namespace: 'shop', name: from } };
    const flow: Flow = { source, destination: { endpoint: { namespace: 'shop', name: 'db' } }, protocol: 'TCP', destinationPort: 5432 };
    return evaluate(flow, snapshot).allowed;
  };
}

describe('Cilium entities all, init and unmanaged', () => {
  it('all: every peer, in the cluster or outside it', () => {
    const allowed = check(['all']);
    for (const from of ['web', 'booting', 'legacy', 'host:n1', '8.8.8.8']) expect(allowed(from), from).toBe(true);
  });

  it('init: only endpoints still labelled reserved:init', () => {
    const allowed = check(['init']);
    expect(allowed('booting')).toBe(true);
    for (const from of ['web', 'legacy', 'host:n1', '8.8.8.8']) expect(allowed(from), from).toBe(false);
  });

  it('unmanaged: only endpoints labelled reserved:unmanaged', () => {
    const allowed = check(['unmanaged']);
    expect(allowed('legacy')).toBe(true);
    for (const from of ['web', 'booting', 'host:n1', '8.8.8.8']) expect(allowed(from), from).toBe(false);
  });
});
