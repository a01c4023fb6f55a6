// The snapshot of a datastore's listed objects (what `twill policy explain` and the
// agent's dashboard evaluate): endpoints from the newest record of each pod, every
// refused object left out and named by its stored object, a conflict naming the object
// concerned, and the probe JSON naming where the deciding policy is stored.

import { describe, expect, it } from 'vitest';

import {
  buildLiveSnapshot,
  compilePolicyObjects,
  evaluateProbe,
  formatPolicyRef,
  objectText,
  snapshotErrorPlace,
  SnapshotError,
  type EndpointRecordInput,
  type LiveObjects,
  type LiveSnapshot,
  type StoredObjectLike,
} from '@twill/policy-engine';

const stored = (kind: string, name: string, namespace: string | undefined, rv: string, rest: Record<string, unknown> = {}): StoredObjectLike => ({
  apiVersion: kind === 'Pod' || kind === 'Namespace' ? 'v1' : 'networking.k8s.io/v1',
  kind,
  metadata: { name, ...(namespace === undefined ? {} : { namespace }), resourceVersion: rv },
  ...rest,
}) as StoredObjectLike;

const pod = (namespace: string, name: string, rv: string, labels: Record<string, unknown> = {}): StoredObjectLike =>
  stored('Pod', name, namespace, rv, { metadata: { name, namespace, resourceVersion: rv, labels }, spec: { containers: [] } });

const record = (containerId: string, address: string, ref: { namespace?: string; pod?: string } = {}): EndpointRecordInput =>
  ({ containerId, addresses: [`${address}/32`], since: 1, ...ref });

const NETPOL = 'networkpolicies.networking.k8s.io';

function built(live: Omit<LiveObjects, 'node'>): LiveSnapshot {
  const result = buildLiveSnapshot({ ...live, node: 'n1' });
  if (!result.ok) throw new Error(`unexpected conflict: ${result.conflict.text}`);
  return result.live;
}

describe('objectText', () => {
  it('names a stored object by kind id, namespace, name and resourceVersion', () => {
    expect(objectText(NETPOL, stored('NetworkPolicy', 'deny', 'x', '42'))).toBe('networkpolicies.networking.k8s.io/x/deny@42');
    expect(objectText('namespaces', stored('Namespace', 'x', undefined, '3'))).toBe('namespaces/x@3');
  });
});

describe('buildLiveSnapshot', () => {
  it('leaves out a Pod whose labels the engine refuses, enforcing its endpoint without labels, and says so', () => {
    const live = built({ namespaces: [], pods: [pod('x', 'a', '4', { app: 7 })], policies: [], records: [record('c', '10.0.0.1', { namespace: 'x', pod: 'a' })] });
    expect(live.pods).toEqual([{ namespace: 'x', name: 'a' }]);
    expect(live.input.endpoints[0]).toMatchObject({ name: 'a', labels: {}, ips: ['10.0.0.1'] });
    expect(live.leftOut).toHaveLength(1);
    expect(live.leftOut[0]).toMatch(/^pods\/x\/a@4: .*labels.*\(its endpoint is enforced without labels, as the agent does\)$/);
  });

  it('a pod with no record is unenforced; a refused policy is left out, named by its stored object', () => {
    const bad = stored('NetworkPolicy', 'broken', 'x', '9', { spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] } });
    const live = built({ namespaces: [], pods: [pod('x', 'a', '1'), pod('x', 'idle', '2')], policies: [{ kindId: NETPOL, resource: bad }], records: [record('c', '10.0.0.1', { namespace: 'x', pod: 'a' })] });
    expect(live.unenforced).toEqual([{ namespace: 'x', name: 'idle' }]);
    expect(live.leftOut).toHaveLength(1);
    expect(live.leftOut[0]).toMatch(/^networkpolicies\.networking\.k8s\.io\/x\/broken@9: .*10\.0\.0\.0\/33/);
  });

  it('two pods with one address: a conflict naming the stored pod and the field', () => {
    const result = buildLiveSnapshot({
      namespaces: [],
      pods: [pod('x', 'a', '1'), pod('x', 'b', '2')],
      policies: [],
      node: 'n1',
      records: [record('ca', '10.0.0.1', { namespace: 'x', pod: 'a' }), record('cb', '10.0.0.1', { namespace: 'x', pod: 'b' })],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.conflict.object).toBe('pods/x/b@2');
    expect(result.conflict.text).toBe("ips: 10.0.0.1 is also x/a's");
    expect(result.conflict.error).toBeInstanceOf(SnapshotError);
  });

  it('probe JSON names the deciding rule where it is stored', () => {
    const deny = stored('NetworkPolicy', 'allow-b', 'x', '7', {
      spec: { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }] },
    });
    const live = built({
      namespaces: [],
      pods: [pod('x', 'a', '1', { app: 'a' }), pod('x', 'b', '2', { app: 'b' }), pod('x', 'c', '3', { app: 'c' })],
      policies: [{ kindId: NETPOL, resource: deny }],
      records: [record('ca', '10.0.0.1', { namespace: 'x', pod: 'a' }), record('cb', '10.0.0.2', { namespace: 'x', pod: 'b' }), record('cc', '10.0.0.3', { namespace: 'x', pod: 'c' })],
    });
    const allowed = evaluateProbe(live.snapshot, live.locator, { from: { namespace: 'x', name: 'a' }, to: { namespace: 'x', name: 'b' }, port: 80, protocol: 'TCP' });
    expect(allowed).toMatchObject({
      from: 'x/a',
      to: 'x/b',
      verdict: 'allow',
      decidedBy: {
        direction: 'ingress',
        endpoint: 'x/b',
        reason: 'rule',
        policy: { dialect: 'kubernetes', kind: 'NetworkPolicy', namespace: 'x', name: 'allow-b', source: 'networkpolicies.networking.k8s.io/x/allow-b@7' },
        rule: 'spec.ingress[0] (from[0])',
        ruleSource: 'networkpolicies.networking.k8s.io/x/allow-b@7 spec.ingress[0]',
        action: 'allow',
      },
    });
    const denied = evaluateProbe(live.snapshot, live.locator, { from: { namespace: 'x', name: 'c' }, to: { namespace: 'x', name: 'b' }, port: 80, protocol: 'TCP' });
    expect(denied.verdict).toBe('deny');
    expect(denied.decidedBy).toMatchObject({ direction: 'ingress', reason: 'isolated', isolatedBy: [{ name: 'allow-b', source: 'networkpolicies.networking.k8s.io/x/allow-b@7' }] });
  });
});

describe('compilePolicyObjects and snapshotErrorPlace', () => {
  it('keeps the origin of each policy and collects what the engine refuses', () => {
    const good = stored('NetworkPolicy', 'p', 'x', '1', { spec: { podSelector: {} } });
    const bad = stored('NetworkPolicy', 'q', 'x', '2', { spec: { podSelector: { matchLabels: { app: 7 } } } });
    const compiled = compilePolicyObjects([good, bad], (o) => o);
    expect(compiled.policies.map((p) => p.ref.name)).toEqual(['p']);
    const ref = compiled.policies[0]!.ref;
    expect(compiled.sources.get(ref)).toBe(good);
    expect(compiled.sources.get(formatPolicyRef(ref))).toBe(good);
    expect(compiled.refused.map((r) => r.origin)).toEqual([bad]);
  });

  it('reads the input collection, index and field of a createSnapshot error', () => {
    expect(snapshotErrorPlace(new SnapshotError('endpoints[3].ips[0]', 'r'))).toEqual({ collection: 'endpoints', index: 3, field: 'ips[0]' });
    expect(snapshotErrorPlace(new SnapshotError('policies[2]', 'r'))).toEqual({ collection: 'policies', index: 2, field: '' });
    expect(snapshotErrorPlace(new SnapshotError('tiers[0]', 'r'))).toBeUndefined();
  });
});
