import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { SqliteStore } from '@twill/ipam';

import { openResourceDatastore, ResourceConflictError, resourceDatastoreOver } from '../../../src/agent/datastore/index.js';
import { type AgentResource, type EntryEvent, type ResourceEvent } from '../../../src/agent/ports.js';
import { Batches, countingStore } from './watch-helpers.js';

// The agent's datastore on a SQLite file, written by another process through its own
// connection (fixtures/writer.ts), as the plugin, the CLI or a second agent would. Each
// writer compiles the sources with tsx (seconds on a loaded machine): hence few of them.
const run = promisify(execFile);
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const WRITER = join(import.meta.dirname, 'fixtures', 'writer.ts');

async function inAnotherProcess(path: string, steps: readonly unknown[]): Promise<unknown[]> {
  const { stdout } = await run(process.execPath, ['--conditions=@twill/source', '--import', TSX, WRITER, path, JSON.stringify(steps)], { timeout: 60_000 });
  return JSON.parse(stdout) as unknown[];
}

const dirs: string[] = [];
function databasePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twill-datastore-'));
  dirs.push(dir);
  return join(dir, 'twill.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const pod = (labels: Record<string, string>): AgentResource => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop', labels } });

describe('the datastore on SQLite, shared between processes', () => {
  it('a watch sees another process create, update and delete; the delete carries the last object', async () => {
    const path = databasePath();
    const datastore = await openResourceDatastore({ path, pollMs: 10 });
    const resources = new Batches<ResourceEvent>();
    const entries = new Batches<EntryEvent>();
    await datastore.watch(['pods', 'ippools.projectcalico.org'], resources.handler);
    await datastore.watchEntries('twill-endpoints/net1/', entries.handler);
    expect(resources.received).toEqual([[]]);

    const results = await inAnotherProcess(path, [
      { apply: pod({ app: 'web' }) },
      { apply: { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: '10.244.0.0/16' } } },
      { put: ['twill-endpoints/net1/c1', '{"containerId":"c1"}'] },
    ]);
    expect(results.slice(0, 2)).toMatchObject([{ action: 'created' }, { action: 'created' }]);
    const seen = await resources.until((events) => events.length === 2);
    expect(seen.map((e) => `${e.type} ${e.kind} ${e.resource.metadata.name}`).sort()).toEqual(['upsert ippools.projectcalico.org pool-a', 'upsert pods web-0']);
    expect((await entries.until((events) => events.length === 1))[0]).toEqual({ type: 'upsert', key: 'twill-endpoints/net1/c1', value: '{"containerId":"c1"}' });

    const created = seen.find((e) => e.kind === 'pods')?.resource;
    expect(created?.metadata.resourceVersion).toBe((results[0] as { resourceVersion: string }).resourceVersion);
    await inAnotherProcess(path, [{ apply: pod({ app: 'web', version: '2' }) }, { delete: ['pods', 'web-0', 'shop'] }]);
    const all = await resources.until((events) => events.some((e) => e.type === 'delete'));
    const last = all.at(-1);
    expect(last?.type).toBe('delete');
    // The watch may have seen the update or only the delete, but the delete carries what it last saw.
    const lastSeen = all.filter((e) => e.kind === 'pods' && e.type === 'upsert').at(-1)?.resource;
    expect(last?.resource).toEqual(lastSeen);
    expect(last?.resource.metadata.uid).toBe(created?.metadata.uid);
    expect(await datastore.get('pods', 'web-0', 'shop')).toBeUndefined();
    await datastore.close();
  }, 120_000);

  it('an apply with the resourceVersion another process has moved past is a conflict', async () => {
    const path = databasePath();
    const datastore = await openResourceDatastore({ path });
    const mine = await datastore.apply(pod({ app: 'web' }));
    await inAnotherProcess(path, [{ apply: pod({ app: 'web', owner: 'them' }) }]);
    const stale = { ...mine.resource, metadata: { ...mine.resource.metadata, labels: { app: 'web', owner: 'me' } } };
    await expect(datastore.apply(stale)).rejects.toBeInstanceOf(ResourceConflictError);
    expect((await datastore.get('pods', 'web-0', 'shop'))?.metadata.labels).toEqual({ app: 'web', owner: 'them' });
    // The same object applied again by the other process writes nothing. That process
    // leaves its watch running and exits all the same (the watch's timer is unref'd).
    expect(await inAnotherProcess(path, [{ watch: ['pods'] }, { apply: pod({ app: 'web', owner: 'them' }) }, { leaveOpen: true }])).toEqual([
      { watching: ['pods'], events: 1 },
      { action: 'unchanged', resourceVersion: (await datastore.get('pods', 'web-0', 'shop'))?.metadata.resourceVersion },
    ]);
    await datastore.close();
  }, 120_000);

  it('re-lists only when the change token moved', async () => {
    const path = databasePath();
    const sqlite = SqliteStore.open({ path });
    const store = countingStore(sqlite);
    const datastore = resourceDatastoreOver(store, { pollMs: 2 });
    const batches = new Batches<ResourceEvent>();
    const watch = await datastore.watch(['ippools'], batches.handler);
    const listsAfterFirst = store.calls.list;
    // Many polls, nothing committed: the token is read every time, the store never listed.
    await store.atLeast('changeToken', store.calls.changeToken + 10);
    expect(store.calls.list).toBe(listsAfterFirst);
    // Another connection commits: the next poll lists and finds it.
    const other = SqliteStore.open({ path });
    await resourceDatastoreOver(other).apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } });
    const events = await batches.until((all) => all.length === 1);
    expect(events[0]?.resource.metadata.name).toBe('p');
    expect(store.calls.list).toBeGreaterThan(listsAfterFirst);
    await watch.close();
    await other.close();
    await sqlite.close();
  });
});
