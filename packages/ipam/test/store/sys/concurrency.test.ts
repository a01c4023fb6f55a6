import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { FileStore, networkPrefix, SqliteStore, type Store } from '@twill/ipam';

import { bundleScript } from '../../bundle.js';

// Real processes allocating at once from one SQLite file and one host-local data
// directory. Workers are bundled once (test/bundle.ts) and start as plain Node.
const run = promisify(execFile);
const packageRoot = join(import.meta.dirname, '..', '..', '..');
const worker = join(import.meta.dirname, '..', '..', 'fixtures', 'allocate-worker.ts');
const PROCESSES = 12;
const PER_PROCESS = 8;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function allocateEverywhere(kind: 'sqlite' | 'files', path: string): Promise<string[]> {
  const script = await bundleScript(worker);
  const outputs = await Promise.all(
    Array.from({ length: PROCESSES }, (_, i) =>
      run(process.execPath, [script, kind, path, String(i), String(PER_PROCESS)], {
        cwd: packageRoot,
        timeout: 90_000,
      }),
    ),
  );
  return outputs.flatMap(({ stdout }) => JSON.parse(stdout) as string[]);
}

async function stored(store: Store): Promise<string[]> {
  const entries = await store.list(networkPrefix('net1'));
  await store.close();
  return entries.filter((e) => !e.key.includes('last_reserved_ip')).map((e) => e.key.slice('net1/'.length));
}

describe('many processes, one store', () => {
  it(`SQLite: ${PROCESSES} processes x ${PER_PROCESS} dual-stack allocations, no duplicates`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-ipam-sqlite-'));
    dirs.push(dir);
    const path = join(dir, 'twill.db');
    const got = await allocateEverywhere('sqlite', path);
    expect(got).toHaveLength(PROCESSES * PER_PROCESS * 2);
    expect(new Set(got).size).toBe(got.length);
    expect((await stored(SqliteStore.open({ path }))).sort()).toEqual(got.map((a) => a.split('/')[0]).sort());
  }, 120_000);

  it(`files: ${PROCESSES} processes x ${PER_PROCESS} dual-stack allocations, no duplicates`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-ipam-files-'));
    dirs.push(dir);
    const got = await allocateEverywhere('files', dir);
    expect(got).toHaveLength(PROCESSES * PER_PROCESS * 2);
    expect(new Set(got).size).toBe(got.length);
    expect((await stored(await FileStore.open({ root: dir }))).sort()).toEqual(got.map((a) => a.split('/')[0]).sort());
    // Nothing but reservations, cursors and host-local's lock file is left behind.
    const strays = readdirSync(join(dir, 'net1')).filter((name) => name.startsWith('.') || name.startsWith('twill.lock'));
    expect(strays).toEqual([]);
  }, 120_000);
});
