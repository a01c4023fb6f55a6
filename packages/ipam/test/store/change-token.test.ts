import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { SqliteStore } from '@twill/ipam';

// Store.changeToken: watchers re-list a store only when its token moved.
const dirs: string[] = [];
function databasePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twill-ipam-token-'));
  dirs.push(dir);
  return join(dir, 'twill.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('SqliteStore.changeToken', () => {
  it('stays the same while nothing is committed, reads included', async () => {
    const store = SqliteStore.open({ path: databasePath() });
    await store.commit([{ type: 'put', key: 'n/a', value: '1' }]);
    const token = await store.changeToken();
    await store.get('n/a');
    await store.list('n/');
    expect(await store.changeToken()).toBe(token);
    await store.close();
  });

  it('moves with this connection\'s commits, but not with a refused one', async () => {
    const store = SqliteStore.open({ path: databasePath() });
    const before = await store.changeToken();
    await store.commit([{ type: 'put', key: 'n/a', value: '1' }]);
    const afterPut = await store.changeToken();
    expect(afterPut).not.toBe(before);
    expect(await store.commit([{ type: 'put', key: 'n/a', value: '2', expect: { absent: true } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    expect(await store.changeToken()).toBe(afterPut);
    await store.commit([{ type: 'delete', key: 'n/a' }]);
    expect(await store.changeToken()).not.toBe(afterPut);
    await store.close();
  });

  it('moves with another connection\'s commits to the same file', async () => {
    const path = databasePath();
    const watcher = SqliteStore.open({ path });
    const writer = SqliteStore.open({ path });
    const seen = new Set([await watcher.changeToken()]);
    for (let i = 0; i < 5; i++) {
      await writer.commit([{ type: 'put', key: `n/k${i}`, value: String(i) }]);
      const token = await watcher.changeToken();
      // Never a token seen before: a watcher comparing with its last one cannot miss a commit.
      expect(seen.has(token)).toBe(false);
      seen.add(token);
      expect(await watcher.changeToken()).toBe(token);
    }
    await writer.close();
    await watcher.close();
  });

  it('moves when an exclusive session commits', async () => {
    const store = SqliteStore.open({ path: databasePath() });
    const before = await store.changeToken();
    const outcome = await store.exclusive('n/', async (scoped) => scoped.commit([{ type: 'put', key: 'n/a', value: '1' }]));
    expect(outcome).toEqual({ ok: true, value: { ok: true } });
    expect(await store.changeToken()).not.toBe(before);
    await store.close();
  });
});
