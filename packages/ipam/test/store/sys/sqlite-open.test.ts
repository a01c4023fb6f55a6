// Opening the SQLite store beside a writer: many processes (one per CNI call) open the
// same database at once, so opening one that is set up must not need the write lock,
// and a lock held past the busy timeout while setting one up is contention (code 11).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { SqliteStore, StoreContendedError } from '@twill/ipam';

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

  it('reports a write lock held past the busy timeout while creating the schema as contention (code 11)', () => {
    const path = databasePath();
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.exec('BEGIN IMMEDIATE');
    try {
      let error: unknown;
      try {
        SqliteStore.open({ path, busyTimeoutMs: 50 }).close();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(StoreContendedError);
      expect((error as StoreContendedError).code).toBe(11);
      expect((error as StoreContendedError).msg).toBe(`IPAM store contended: open ${path} gave up after 1 attempt`);
      expect((error as StoreContendedError).details).toContain('write lock');
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });
});
