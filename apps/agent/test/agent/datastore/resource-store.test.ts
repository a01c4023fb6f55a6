import { describe, expect, it } from 'vitest';

import { MemoryStore } from '@twill/ipam';

import { ResourceConflictError, resourceDatastoreOver, ResourceValidationError } from '../../../src/agent/datastore/index.js';

function datastore(): ReturnType<typeof resourceDatastoreOver> {
  let uid = 0;
  return resourceDatastoreOver(new MemoryStore(), { now: () => new Date('2026-01-02T03:04:05.000Z'), newUid: () => `uid-${++uid}` });
}

const policy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
};

describe('resource datastore: apply, get, list, delete', () => {
  it('creates with uid and creationTimestamp, reads back with the store revision as resourceVersion', async () => {
    const ds = datastore();
    const created = await ds.apply(policy);
    expect(created.action).toBe('created');
    expect(created.resource.metadata).toMatchObject({ name: 'web', namespace: 'shop', uid: 'uid-1', creationTimestamp: '2026-01-02T03:04:05.000Z' });
    const read = await ds.get('networkpolicies.networking.k8s.io', 'web', 'shop');
    expect(read).toEqual(created.resource);
    expect(read?.metadata.resourceVersion).toBe(created.resource.metadata.resourceVersion);
    // The value stored has no resourceVersion: the revision is the store's.
    const entry = await ds.store.get('twill-resources/networkpolicies.networking.k8s.io/shop/web');
    expect(JSON.parse(entry?.value ?? '{}').metadata.resourceVersion).toBeUndefined();
  });

  it('is idempotent: the same object again is unchanged and writes nothing', async () => {
    const ds = datastore();
    const first = await ds.apply(policy);
    const revision = (await ds.store.get('twill-resources/networkpolicies.networking.k8s.io/shop/web'))?.revision;
    // Key order and the server's own fields do not make an object different.
    const again = await ds.apply({ ...first.resource, spec: { ingress: policy.spec.ingress, policyTypes: ['Ingress'], podSelector: policy.spec.podSelector } });
    expect(again.action).toBe('unchanged');
    expect(again.resource).toEqual(first.resource);
    expect((await ds.store.get('twill-resources/networkpolicies.networking.k8s.io/shop/web'))?.revision).toBe(revision);
  });

  it('updates keep uid and creationTimestamp and move the resourceVersion', async () => {
    let clock = 0;
    const ds = resourceDatastoreOver(new MemoryStore(), { now: () => new Date(1_000_000 * ++clock), newUid: () => `uid-${clock}` });
    const first = await ds.apply(policy);
    const second = await ds.apply({ ...policy, metadata: { ...policy.metadata, labels: { app: 'web', tier: 'front' } } });
    expect(second.action).toBe('configured');
    expect(second.resource.metadata.uid).toBe(first.resource.metadata.uid);
    expect(second.resource.metadata.creationTimestamp).toBe(first.resource.metadata.creationTimestamp);
    expect(second.resource.metadata.resourceVersion).not.toBe(first.resource.metadata.resourceVersion);
    expect(second.resource.metadata.labels).toEqual({ app: 'web', tier: 'front' });
  });

  it('writes with a stale resourceVersion fail with ResourceConflictError and change nothing', async () => {
    const ds = datastore();
    const first = await ds.apply(policy);
    const second = await ds.apply({ ...policy, metadata: { ...policy.metadata, labels: { app: 'v2' } } });
    const stale = { ...first.resource, metadata: { ...first.resource.metadata, labels: { app: 'v3' } } };
    const error = await ds.apply(stale).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceConflictError);
    expect((error as ResourceConflictError).message).toBe(
      `networkpolicies.networking.k8s.io shop/web: the object has been modified (resourceVersion ${second.resource.metadata.resourceVersion}, not ${first.resource.metadata.resourceVersion}): read it again and reapply`,
    );
    expect((await ds.get('netpol', 'web', 'shop'))?.metadata.labels).toEqual({ app: 'v2' });
    // With the current resourceVersion the write goes through.
    const current = { ...second.resource, metadata: { ...second.resource.metadata, labels: { app: 'v3' } } };
    expect((await ds.apply(current)).action).toBe('configured');
  });

  it('a resourceVersion for an object that does not exist is a conflict', async () => {
    const ds = datastore();
    await expect(ds.apply({ ...policy, metadata: { ...policy.metadata, resourceVersion: '7' } })).rejects.toThrow(
      'networkpolicies.networking.k8s.io shop/web: resourceVersion 7 was given but the object does not exist',
    );
    expect(await ds.list('netpol')).toEqual([]);
  });

  it('lists by namespace then name, across namespaces and in one', async () => {
    const ds = datastore();
    for (const [namespace, name] of [['b', 'y'], ['a', 'z'], ['b', 'x'], ['a', 'w']] as const) {
      await ds.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { n: name } } });
    }
    await ds.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'd' } });
    const all = await ds.list('pods');
    expect(all.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['a/w', 'a/z', 'b/x', 'b/y', 'default/d']);
    expect((await ds.list('po', 'b')).map((p) => p.metadata.name)).toEqual(['x', 'y']);
    expect(await ds.delete('pods', 'x', 'b')).toBe(true);
    expect(await ds.delete('pods', 'y', 'b')).toBe(true);
    expect(await ds.delete('pods', 'y', 'b')).toBe(false);
    expect((await ds.list('pods')).map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['a/w', 'a/z', 'default/d']);
    // The namespace emptied is gone from the namespaces-in-use index too.
    expect((await ds.store.list('twill-resource-namespaces/pods/')).map((e) => e.value)).toEqual(['a', 'default']);
  });

  it('cluster-wide kinds are stored under "-", and a deleted one can be created again with a new uid', async () => {
    const ds = datastore();
    const pool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: '10.244.0.0/16', blockSize: 26 } };
    const first = await ds.apply(pool);
    expect(await ds.store.get('twill-resources/ippools.projectcalico.org/-/pool-a')).toBeDefined();
    expect(await ds.delete('ippool', 'pool-a')).toBe(true);
    const again = await ds.apply(pool);
    expect(again.action).toBe('created');
    expect(again.resource.metadata.uid).not.toBe(first.resource.metadata.uid);
  });

  it('writes nothing for an invalid resource', async () => {
    const ds = datastore();
    await expect(ds.apply({ ...policy, spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{}] }] } })).rejects.toBeInstanceOf(ResourceValidationError);
    expect(await ds.store.list('twill-resources/networkpolicies.networking.k8s.io/shop/')).toEqual([]);
    expect(await ds.store.list('twill-resource-namespaces/networkpolicies.networking.k8s.io/')).toEqual([]);
  });
});
