import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { FileStore, networkPrefix, SqliteStore, type Store, StoreContendedError } from '@twill/ipam';

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

  it('SQLite: a fresh database opens once another process lets go of the write lock it held past several busy timeouts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-ipam-sqlite-'));
    dirs.push(dir);
    const path = join(dir, 'twill.db');
    const holder = await holdWriteLock(path, 300);
    try {
      // 300 ms is six 50 ms busy timeouts: one attempt gives up; the retries outlast it.
      const store = SqliteStore.open({ path, busyTimeoutMs: 50, openRetry: { maxAttempts: 200 } });
      await store.commit([{ type: 'put', key: 'net1/10.0.0.5', value: 'c1' }]);
      expect((await store.get('net1/10.0.0.5'))?.value).toBe('c1');
      await store.close();
      // The holder let go by itself and ended cleanly.
      expect(await holder.exited).toBe(0);
    } finally {
      await holder.stop();
    }
  }, 60_000);

  it('SQLite: a write lock held by another process through every attempt is code 11, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-ipam-sqlite-'));
    dirs.push(dir);
    const path = join(dir, 'twill.db');
    const holder = await holdWriteLock(path, 60_000);
    try {
      let error: unknown;
      try {
        SqliteStore.open({ path, busyTimeoutMs: 20, openRetry: { maxAttempts: 4 } });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(StoreContendedError);
      expect((error as StoreContendedError).code).toBe(11);
      expect((error as StoreContendedError).msg).toBe(`IPAM store contended: open ${path} gave up after 4 attempts`);
    } finally {
      await holder.stop();
    }
  }, 60_000);
});

interface LockHolder {
  /** The process's exit code (null when killed). */
  readonly exited: Promise<number | null>;
  /** Kills the process if it still runs, and waits for it to end. */
  stop(): Promise<void>;
}

// Starts a process that creates `path`, takes its write lock (BEGIN IMMEDIATE, as the
// store's commits do) and holds it for `ms` milliseconds; resolves once the lock is held.
async function holdWriteLock(path: string, ms: number): Promise<LockHolder> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, Number(process.argv[2]));
  `;
  const child = spawn(process.execPath, ['-e', script, path, String(ms)], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  };
  const [chunk] = (await Promise.race([once(child.stdout, 'data'), exited.then(() => [Buffer.from('exited')])])) as [Buffer];
  if (chunk.toString() !== 'locked\n') {
    await stop();
    throw new Error(`the lock holder did not take the lock on ${path}: ${chunk.toString()}`);
  }
  return { exited, stop };
}
