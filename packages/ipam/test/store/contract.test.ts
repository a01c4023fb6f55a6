import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { FileStore, MemoryStore, SqliteStore, type Store } from '@twill/ipam';

// The contract every Store adapter follows, run against each of them.
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twill-ipam-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const adapters: readonly (readonly [string, () => Promise<Store>])[] = [
  ['memory', () => Promise.resolve(new MemoryStore())],
  ['sqlite', () => Promise.resolve(SqliteStore.open({ path: join(tempDir(), 'ipam.db') }))],
  ['files (flock)', () => FileStore.open({ root: tempDir(), lock: 'flock' })],
  ['files (exclusive)', () => FileStore.open({ root: tempDir(), lock: 'exclusive' })],
];

describe.each(adapters)('Store contract: %s', (_name, open) => {
  it('puts, gets and lists directly under a prefix, in key order', async () => {
    const store = await open();
    expect(await store.commit([
      { type: 'put', key: 'n/b', value: '2' },
      { type: 'put', key: 'n/a', value: '1' },
      { type: 'put', key: 'm/c', value: '3' },
    ])).toEqual({ ok: true });
    expect((await store.get('n/a'))?.value).toBe('1');
    expect(await store.get('n/zz')).toBeUndefined();
    expect((await store.list('n/')).map((e) => [e.key, e.value])).toEqual([['n/a', '1'], ['n/b', '2']]);
    expect(await store.list('empty/')).toEqual([]);
    await store.close();
  });

  it('creates only when absent', async () => {
    const store = await open();
    expect(await store.commit([{ type: 'put', key: 'n/a', value: '1', expect: { absent: true } }])).toEqual({ ok: true });
    expect(await store.commit([{ type: 'put', key: 'n/a', value: '2', expect: { absent: true } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    expect((await store.get('n/a'))?.value).toBe('1');
    await store.close();
  });

  it('writes only at the expected revision (compare-and-swap)', async () => {
    const store = await open();
    await store.commit([{ type: 'put', key: 'n/a', value: '1' }]);
    const read = await store.get('n/a');
    if (read === undefined) throw new Error('missing');
    await store.commit([{ type: 'put', key: 'n/a', value: '2' }]);
    expect(await store.commit([{ type: 'put', key: 'n/a', value: '3', expect: { revision: read.revision } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    const now = await store.get('n/a');
    expect(now?.revision).not.toBe(read.revision);
    expect(await store.commit([{ type: 'delete', key: 'n/a', expect: { revision: now?.revision ?? '' } }])).toEqual({ ok: true });
    expect(await store.get('n/a')).toBeUndefined();
    await store.close();
  });

  it('applies all of a commit or nothing', async () => {
    const store = await open();
    await store.commit([{ type: 'put', key: 'n/taken', value: 'x' }]);
    const outcome = await store.commit([
      { type: 'put', key: 'n/new', value: 'y', expect: { absent: true } },
      { type: 'put', key: 'n/taken', value: 'z', expect: { absent: true } },
    ]);
    expect(outcome).toEqual({ ok: false, conflicts: ['n/taken'] });
    expect(await store.get('n/new')).toBeUndefined();
    expect((await store.get('n/taken'))?.value).toBe('x');
    await store.close();
  });

  it('rejects malformed keys', async () => {
    const store = await open();
    await expect(store.get('../etc/passwd')).rejects.toThrow(TypeError);
    await expect(store.commit([{ type: 'put', key: 'n//a', value: '' }])).rejects.toThrow(TypeError);
    await store.close();
  });

  // Every way a key can be malformed, in every position, and names that look close but
  // are fine. (Names starting with "." are well formed too, but the file store keeps them
  // out of reads and listings: its temporary files and the plugin's status probe.)
  const malformed = ['', '/', '/a', 'a/', 'a//b', '.', '..', './a', 'a/.', 'a/./b', '../a', 'a/..', 'a/../b', 'a\0b', 'a/\0'];
  const wellFormed = ['a.', 'a..b', 'a...', 'n/a.', 'n/a..b', 'n/10.0.0.1', 'n/fd00::1'];

  it.each(malformed)('rejects the key %j, reading and writing', async (key) => {
    const store = await open();
    await expect(store.get(key)).rejects.toThrow(new TypeError(`invalid store key ${JSON.stringify(key)}`));
    await expect(store.commit([{ type: 'put', key, value: 'x', expect: { absent: true } }])).rejects.toThrow(TypeError);
    await store.close();
  });

  it.each(wellFormed)('accepts the key %j', async (key) => {
    const store = await open();
    expect(await store.commit([{ type: 'put', key, value: 'x', expect: { absent: true } }])).toEqual({ ok: true });
    expect((await store.get(key))?.value).toBe('x');
    await store.close();
  });
});
