import { describe, expect, it } from 'vitest';

import { MemoryStore } from '@twill/ipam';

import { resourceDatastoreOver } from '../../../src/agent/datastore/index.js';
import { type AgentResource, type EntryEvent, type ResourceEvent } from '../../../src/agent/ports.js';
import { Batches, countingStore, recordingLogger } from './watch-helpers.js';

const pod = (name: string, labels: Record<string, string> = { app: name }, namespace = 'shop'): AgentResource => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
});

function summary(events: readonly ResourceEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.kind} ${e.resource.metadata.namespace ?? '-'}/${e.resource.metadata.name} ${JSON.stringify(e.resource.metadata.labels ?? {})}`);
}

describe('watch over a store without a change token (memory: re-listed every poll)', () => {
  it('gives the current objects first, as one batch of upserts', async () => {
    const store = new MemoryStore();
    const datastore = resourceDatastoreOver(store, { pollMs: 5 });
    await datastore.apply(pod('a'));
    await datastore.apply(pod('b', { app: 'b' }, 'admin'));
    await datastore.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    const batches = new Batches<ResourceEvent>();
    const watch = await datastore.watch(['pods', 'ns'], batches.handler);
    // watch() resolves once the first batch was handed over.
    expect(batches.received).toHaveLength(1);
    expect(summary(batches.received[0] ?? [])).toEqual(['upsert namespaces -/shop {}', 'upsert pods admin/b {"app":"b"}', 'upsert pods shop/a {"app":"a"}']);
    await watch.close();
  });

  it('gives an empty first batch for an empty store', async () => {
    const datastore = resourceDatastoreOver(new MemoryStore(), { pollMs: 5 });
    const batches = new Batches<ResourceEvent>();
    const watch = await datastore.watch(['pods'], batches.handler);
    expect(batches.received).toEqual([[]]);
    await watch.close();
  });

  it('then each change: creates and updates as upserts, deletes carrying the last object', async () => {
    const store = new MemoryStore();
    const datastore = resourceDatastoreOver(store, { pollMs: 5 });
    // Another datastore over the same store: its writes do not wake the watch, a poll finds them.
    const writer = resourceDatastoreOver(store);
    const batches = new Batches<ResourceEvent>();
    const watch = await datastore.watch(['pods'], batches.handler);
    const created = await writer.apply(pod('a'));
    await batches.until((events) => events.length === 1);
    const updated = await writer.apply(pod('a', { app: 'a', v: '2' }));
    await batches.until((events) => events.length === 2);
    await writer.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } });
    expect(await writer.delete('pods', 'a', 'shop')).toBe(true);
    const all = await batches.until((events) => events.length === 3);
    expect(summary(all)).toEqual(['upsert pods shop/a {"app":"a"}', 'upsert pods shop/a {"app":"a","v":"2"}', 'delete pods shop/a {"app":"a","v":"2"}']);
    expect(all[0]?.resource).toEqual(created.resource);
    expect(all[1]?.resource).toEqual(updated.resource);
    // The delete carries the object as it last was, resourceVersion included.
    expect(all[2]?.resource).toEqual(updated.resource);
    await watch.close();
  });

  it('batches what changed between polls, in key order', async () => {
    const store = new MemoryStore();
    const datastore = resourceDatastoreOver(store, { pollMs: 5 });
    await datastore.apply(pod('gone'));
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const batches = new Batches<ResourceEvent>();
    const watch = await datastore.watch(['pods'], async (events) => {
      batches.handler(events);
      // Holds the second batch while more changes are made.
      if (batches.received.length === 2) await held;
    });
    await datastore.apply(pod('first'));
    await batches.nth(2);
    await datastore.apply(pod('b'));
    await datastore.apply(pod('a'));
    await datastore.delete('pods', 'gone', 'shop');
    release();
    expect(summary(await batches.nth(3))).toEqual(['upsert pods shop/a {"app":"a"}', 'upsert pods shop/b {"app":"b"}', 'delete pods shop/gone {"app":"gone"}']);
    await watch.close();
  });

  it('calls the handler one batch at a time', async () => {
    const datastore = resourceDatastoreOver(new MemoryStore(), { pollMs: 1 });
    let inside = 0;
    let most = 0;
    const batches = new Batches<ResourceEvent>();
    const watch = await datastore.watch(['pods'], async (events) => {
      inside++;
      most = Math.max(most, inside);
      await new Promise<void>((resolve) => setImmediate(resolve));
      batches.handler(events);
      inside--;
    });
    for (let i = 0; i < 20; i++) await datastore.apply(pod(`p${i}`));
    await batches.until((events) => events.length === 20);
    expect(most).toBe(1);
    await watch.close();
  });

  it('a handler that throws is logged and gets the same changes again', async () => {
    const logger = recordingLogger();
    const datastore = resourceDatastoreOver(new MemoryStore(), { pollMs: 2, logger });
    const batches = new Batches<ResourceEvent>();
    let failures = 0;
    const watch = await datastore.watch(['pods'], (events) => {
      if (events.length > 0 && failures < 2) {
        failures++;
        throw new Error('dataplane busy');
      }
      batches.handler(events);
    });
    await datastore.apply(pod('a'));
    const all = await batches.until((events) => events.length === 1);
    expect(summary(all)).toEqual(['upsert pods shop/a {"app":"a"}']);
    const errors = logger.lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]?.msg).toBe('watch: the handler failed; the changes come again next poll');
    expect((errors[0]?.obj as { err: Error }).err.message).toBe('dataplane busy');
    await watch.close();
  });

  it('close() waits for the handler call in flight, and no call starts after it', async () => {
    const store = new MemoryStore();
    const counting = countingStore(store);
    const datastore = resourceDatastoreOver(counting, { pollMs: 2 });
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const watch = await datastore.watch(['pods'], async (events) => {
      if (events.length === 0) return;
      calls.push('start');
      await held;
      calls.push('end');
    });
    await datastore.apply(pod('a'));
    while (calls.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    let closed = false;
    const closing = watch.close().then(() => (closed = true));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(calls).toEqual(['start', 'end']);
    // Another datastore's watch over the same store goes on polling; the closed one lists no more.
    const lists = countingStore(store);
    const second = await resourceDatastoreOver(lists, { pollMs: 2 }).watch(['pods'], () => undefined);
    const before = counting.calls.list;
    await resourceDatastoreOver(store).apply(pod('b'));
    await lists.atLeast('list', lists.calls.list + 5);
    expect(counting.calls.list).toBe(before);
    expect(calls).toEqual(['start', 'end']);
    await second.close();
  });

  it('datastore.close() stops every watch', async () => {
    const store = new MemoryStore();
    const counting = countingStore(store);
    const datastore = resourceDatastoreOver(counting, { pollMs: 1 });
    const batches = new Batches<ResourceEvent>();
    await datastore.watch(['pods'], batches.handler);
    await datastore.watchEntries('twill-endpoints/net1/', () => undefined);
    await datastore.close();
    const before = counting.calls.list;
    const lists = countingStore(store);
    const other = await resourceDatastoreOver(lists, { pollMs: 1 }).watch(['pods'], () => undefined);
    await datastore.apply(pod('a'));
    await lists.atLeast('list', lists.calls.list + 5);
    expect(counting.calls.list).toBe(before);
    expect(batches.received).toEqual([[]]);
    await other.close();
  });
});

describe('watchEntries: raw store entries directly under a prefix', () => {
  it('gives upserts and deletes with the last value, ignoring deeper keys and other prefixes', async () => {
    const store = new MemoryStore();
    const datastore = resourceDatastoreOver(store, { pollMs: 2 });
    await store.commit([{ type: 'put', key: 'twill-endpoints/net1/c1', value: '{"containerId":"c1"}' }]);
    const batches = new Batches<EntryEvent>();
    const watch = await datastore.watchEntries('twill-endpoints/net1/', batches.handler);
    expect(batches.received[0]).toEqual([{ type: 'upsert', key: 'twill-endpoints/net1/c1', value: '{"containerId":"c1"}' }]);
    await store.commit([
      { type: 'put', key: 'twill-endpoints/net2/c9', value: 'other network' },
      { type: 'put', key: 'twill-endpoints/net1/deeper/c9', value: 'deeper' },
      { type: 'put', key: 'twill-endpoints/net1/c2', value: '{"containerId":"c2"}' },
    ]);
    await batches.nth(2);
    await store.commit([{ type: 'delete', key: 'twill-endpoints/net1/c1' }]);
    const all = await batches.until((events) => events.length === 3);
    expect(all).toEqual([
      { type: 'upsert', key: 'twill-endpoints/net1/c1', value: '{"containerId":"c1"}' },
      { type: 'upsert', key: 'twill-endpoints/net1/c2', value: '{"containerId":"c2"}' },
      { type: 'delete', key: 'twill-endpoints/net1/c1', value: '{"containerId":"c1"}' },
    ]);
    await watch.close();
  });
});

describe('entries that are not resources', () => {
  it('are left out of watches with a warning, and reads name the key', async () => {
    const store = new MemoryStore();
    const logger = recordingLogger();
    const datastore = resourceDatastoreOver(store, { pollMs: 2, logger });
    await store.commit([
      { type: 'put', key: 'twill-resources/pods/shop/broken', value: '{"metadata": ' },
      { type: 'put', key: 'twill-resource-namespaces/pods/shop', value: 'shop' },
    ]);
    const batches = new Batches<ResourceEvent>();
    const watch = await datastore.watch(['pods'], batches.handler);
    await datastore.apply(pod('fine'));
    expect(summary(await batches.until((events) => events.length === 1))).toEqual(['upsert pods shop/fine {"app":"fine"}']);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.obj)).toContainEqual({ key: 'twill-resources/pods/shop/broken', revision: '1' });
    await expect(datastore.get('pods', 'broken', 'shop')).rejects.toThrow(/^twill-resources\/pods\/shop\/broken \(revision 1\) is not a stored resource: /);
    await watch.close();
  });
});
