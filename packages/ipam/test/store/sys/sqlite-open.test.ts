// Opening the SQLite store beside a writer: many processes (one per CNI call) open the
// same database at once, so opening one that is set up must not need the write lock,
// and a lock held past the busy timeout while setting one up is retried with backoff,
// then reported as contention (code 11).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { SqliteStore, type SqliteStoreOptions, StoreContendedError, StoreFailureError } from '@twill/ipam';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function databasePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twill-sqlite-open-'));
  dirs.push(dir);
  return join(dir, 'twill.db');
}

describe('SqliteStore.open beside a writer', () => {
  it('opens a set-up database while another connection holds the write lock, and reads it', async () => {
    const path = databasePath();
    const first = SqliteStore.open({ path });
    await first.commit([{ type: 'put', key: 'net/10.0.0.5', value: 'c1' }]);
    await first.close();

    const writer = new Database(path);
    writer.exec('BEGIN IMMEDIATE');
    try {
      const second = SqliteStore.open({ path, busyTimeoutMs: 50 });
      expect((await second.get('net/10.0.0.5'))?.value).toBe('c1');
      await second.close();
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('sets up a fresh database once another connection lets go of the write lock, after busy timeouts', async () => {
    const path = databasePath();
    const writer = new Database(path);
    writer.exec('BEGIN IMMEDIATE');
    const waits: number[] = [];
    try {
      // The lock outlasts two busy timeouts and is let go during the second backoff (the
      // wait is injected: no sleeping). One attempt, as before retries, would fail here.
      const release = (ms: number): void => {
        waits.push(ms);
        if (waits.length === 2) writer.exec('ROLLBACK');
      };
      const store = SqliteStore.open({ path, busyTimeoutMs: 20, openRetry: { maxAttempts: 5, sleep: release } });
      expect(waits).toHaveLength(2);
      await store.commit([{ type: 'put', key: 'net/10.0.0.5', value: 'c1' }]);
      expect((await store.get('net/10.0.0.5'))?.value).toBe('c1');
      await store.close();
    } finally {
      if (writer.inTransaction) writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('reports a write lock held through every attempt as contention (code 11), naming the file, attempts and time', () => {
    const path = databasePath();
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.exec('BEGIN IMMEDIATE');
    const waits: number[] = [];
    try {
      const error = openError({ path, busyTimeoutMs: 20, openRetry: { maxAttempts: 3, sleep: (ms) => waits.push(ms) } });
      expect(error).toBeInstanceOf(StoreContendedError);
      expect(error.code).toBe(11);
      expect(error.msg).toBe(`IPAM store contended: open ${path} gave up after 3 attempts`);
      expect(error.details).toMatch(/write lock .* through 3 attempts over \d+ ms \(busy timeout 20 ms each\); try again later$/);
      // A backoff between attempts, none after the last.
      expect(waits).toHaveLength(2);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('gives up after 6 attempts by default', () => {
    const path = databasePath();
    const writer = new Database(path);
    writer.exec('BEGIN IMMEDIATE');
    try {
      const error = openError({ path, busyTimeoutMs: 10 });
      expect(error.code).toBe(11);
      expect(error.msg).toBe(`IPAM store contended: open ${path} gave up after 6 attempts`);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('fails at once, without retrying, when the file cannot be opened (code 5)', () => {
    const path = join(databasePath(), 'missing-dir', 'twill.db');
    const waits: number[] = [];
    const error = openError({ path, openRetry: { sleep: (ms) => waits.push(ms) } });
    expect(error).toBeInstanceOf(StoreFailureError);
    expect(error.code).toBe(5);
    expect(error.msg).toBe(`cannot open the SQLite store ${path}`);
    expect(waits).toEqual([]);
  });
});

function openError(options: SqliteStoreOptions): StoreContendedError | StoreFailureError {
  try {
    SqliteStore.open(options).close();
  } catch (error) {
    if (error instanceof StoreContendedError || error instanceof StoreFailureError) return error;
    throw error;
  }
  throw new Error(`SqliteStore.open(${options.path}) succeeded`);
}
