// The SQLite adapter (better-sqlite3): the embedded default. Several processes on one
// host share one database file: WAL lets readers run beside the one writer, the busy
// timeout makes a writer wait for the lock instead of failing at once, and every commit
// is one `BEGIN IMMEDIATE` transaction (the write lock is taken before the conditions are
// checked, so check-then-write is atomic across processes).
import Database from 'better-sqlite3';

import { StoreContendedError, StoreFailureError } from '../../errors.js';
import { conditionHolds } from '../memory-store.js';
import { type AttemptOutcome, type BlockingRetryPolicy, retryOnConflictBlocking } from '../retry.js';
import {
  checkStoreKey,
  checkStorePrefix,
  isDirectlyUnder,
  type CommitOutcome,
  type ExclusiveOutcome,
  type Store,
  type StoreEntry,
  type StoreOp,
} from '../store.js';

/** Options of {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /** The database file (created when missing), or `:memory:`. */
  readonly path: string;
  /** How long a commit waits for another process's write lock, in milliseconds (default 5000). */
  readonly busyTimeoutMs?: number;
  /**
   * How setting up the database is retried when another process holds the write lock
   * past the busy timeout (many processes racing to set up a fresh file). Backoff as for
   * commits (jittered, 2 ms doubling to at most 100 ms); at most 6 attempts by default, so
   * with the default busy timeout `open` gives up after about 30 s.
   */
  readonly openRetry?: BlockingRetryPolicy;
}

// Each attempt may wait a whole busy timeout: 6 x 5 s keeps `open` plus the allocation's
// own retries within the CNI runtime's patience, while outlasting any set-up burst.
const OPEN_ATTEMPTS = 6;

interface Row {
  readonly key: string;
  readonly value: string;
  readonly revision: number | bigint;
}

// SQLite reports a lock it could not get within the busy timeout as SQLITE_BUSY: that is
// contention (retry), not failure.
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

// Whether the tables and the revision counter's row exist (reads: no write lock).
function hasSchema(db: Database.Database): boolean {
  const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('twill_kv', 'twill_kv_seq')").pluck().get();
  return tables === 2 && db.prepare('SELECT 1 FROM twill_kv_seq WHERE id = 0').pluck().get() !== undefined;
}

/**
 * A {@link Store} in a SQLite database: table `twill_kv(key, value, revision)`, where
 * revisions come from one counter (`twill_kv_seq`), so a key deleted and written again
 * never repeats a revision.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string], Row>;
  readonly #range: Database.Statement<[string, string], Row>;
  readonly #put: Database.Statement<[string, string, number]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #next: Database.Statement<[], { readonly seq: number }>;
  readonly #commit: (ops: readonly StoreOp[]) => CommitOutcome;
  readonly #dataVersion: Database.Statement<[], number>;
  // Commits through this connection: `PRAGMA data_version` moves only for other connections'.
  #commits = 0;
  // Set while an exclusive session holds the connection's transaction: everything else
  // in this process waits, or its statements would run inside that transaction.
  #session: Promise<void> | undefined;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#get = db.prepare('SELECT key, value, revision FROM twill_kv WHERE key = ?');
    this.#range = db.prepare('SELECT key, value, revision FROM twill_kv WHERE key >= ? AND key < ? ORDER BY key');
    this.#put = db.prepare(
      'INSERT INTO twill_kv (key, value, revision) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision',
    );
    this.#delete = db.prepare('DELETE FROM twill_kv WHERE key = ?');
    this.#next = db.prepare('UPDATE twill_kv_seq SET seq = seq + 1 WHERE id = 0 RETURNING seq');
    const transaction = db.transaction((ops: readonly StoreOp[]): CommitOutcome => {
      const conflicts = ops.filter((op) => !conditionHolds(this.#read(op.key), op)).map((op) => op.key);
      if (conflicts.length > 0) return { ok: false, conflicts };
      const next = this.#next.get();
      if (next === undefined) throw new Error('twill_kv_seq has no row');
      for (const op of ops) {
        if (op.type === 'put') this.#put.run(op.key, op.value, next.seq);
        else this.#delete.run(op.key);
      }
      return { ok: true };
    });
    this.#commit = (ops) => transaction.immediate(ops);
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /**
   * Opens (and creates when needed) the database at `options.path`, in WAL mode. Setting
   * up a fresh database takes the write lock; while another process holds it past the
   * busy timeout, the set-up is tried again ({@link SqliteStoreOptions.openRetry}),
   * blocking the thread between attempts.
   * @throws StoreFailureError when the file cannot be opened or set up; StoreContendedError (code
   *   11) when another process held the write lock through every attempt.
   */
  static open(options: SqliteStoreOptions): SqliteStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    const started = performance.now();
    try {
      return retryOnConflictBlocking(`open ${options.path}`, () => SqliteStore.#openOnce(options.path, busyTimeoutMs), {
        maxAttempts: OPEN_ATTEMPTS,
        ...options.openRetry,
      });
    } catch (error) {
      if (!(error instanceof StoreContendedError)) throw error;
      // Contention, not failure: the caller may try again (CNI code 11), unlike a file that
      // cannot be opened (code 5).
      const waitedMs = Math.round(performance.now() - started);
      throw new StoreContendedError(error.attempts, error.operation, {
        cause: error.cause,
        details: `another process held the database's write lock while it was being set up, through ${error.attempts} ${error.attempts === 1 ? 'attempt' : 'attempts'} over ${waitedMs} ms (busy timeout ${busyTimeoutMs} ms each); try again later`,
      });
    }
  }

  // One try at opening and setting up the database. A write lock held past the busy
  // timeout (SQLITE_BUSY) is a conflict to retry; anything else fails at once.
  static #openOnce(path: string, busyTimeoutMs: number): AttemptOutcome<SqliteStore> {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: busyTimeoutMs });
      // WAL: readers never block the writer; NORMAL sync is durable across process
      // crashes (only a power loss may lose the last commits), the usual WAL pairing.
      // Switching to WAL takes the write lock: only a process that finds the file not yet
      // in WAL does it, so many processes opening a set-up database at once never queue here.
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      if (!hasSchema(db)) {
        db.exec(`
          CREATE TABLE IF NOT EXISTS twill_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS twill_kv_seq (id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL);
          INSERT OR IGNORE INTO twill_kv_seq (id, seq) VALUES (0, 0);
        `);
      }
      return { done: true, value: new SqliteStore(db) };
    } catch (error) {
      db?.close();
      if (isBusy(error)) return { done: false, cause: error };
      throw new StoreFailureError(`cannot open the SQLite store ${path}`, { cause: error });
    }
  }

  #read(key: string): StoreEntry | undefined {
    const row = this.#get.get(key);
    return row === undefined ? undefined : { key: row.key, value: row.value, revision: String(row.revision) };
  }

  /** {@inheritDoc Store.get} */
  async get(key: string): Promise<StoreEntry | undefined> {
    checkStoreKey(key);
    // Checked and acted on in one synchronous step, so no session can start between.
    while (this.#session !== undefined) await this.#session;
    return this.#guard('read', () => this.#read(key));
  }

  /** {@inheritDoc Store.list} */
  async list(prefix: string): Promise<readonly StoreEntry[]> {
    checkStorePrefix(prefix);
    // Checked and acted on in one synchronous step, so no session can start between.
    while (this.#session !== undefined) await this.#session;
    return this.#list(prefix);
  }

  #list(prefix: string): Promise<readonly StoreEntry[]> {
    // Keys under a prefix are the range [prefix, prefix + U+FFFF): an index range scan.
    return this.#guard('list', () =>
      this.#range
        .all(prefix, `${prefix}\uffff`)
        .filter((row) => isDirectlyUnder(row.key, prefix))
        .map((row) => ({ key: row.key, value: row.value, revision: String(row.revision) })),
    );
  }

  /**
   * As {@link Store.commit}: every op or none. A write lock held past the busy timeout
   * is a conflict.
   */
  async commit(ops: readonly StoreOp[]): Promise<CommitOutcome> {
    for (const op of ops) checkStoreKey(op.key);
    // Checked and acted on in one synchronous step, so no session can start between.
    while (this.#session !== undefined) await this.#session;
    return this.#commitNow(ops);
  }

  async #commitNow(ops: readonly StoreOp[]): Promise<CommitOutcome> {
    for (const op of ops) checkStoreKey(op.key);
    try {
      const outcome = this.#commit(ops);
      if (outcome.ok) this.#commits++;
      return outcome;
    } catch (error) {
      if (isBusy(error)) return { ok: false, conflicts: ops.map((op) => op.key) };
      throw new StoreFailureError('SQLite store commit failed', { cause: error });
    }
  }

  /**
   * As {@link Store.exclusive}: one `BEGIN IMMEDIATE` transaction around `fn`: the
   * database's write lock is held throughout (other processes wait up to the busy
   * timeout), and `fn`'s commits are savepoints inside it. Rolled back if `fn` throws.
   */
  async exclusive<T>(_prefix: string, fn: (scoped: Store) => Promise<T>): Promise<ExclusiveOutcome<T>> {
    // Checked and acted on in one synchronous step, so no session can start between.
    while (this.#session !== undefined) await this.#session;
    let done = (): void => undefined;
    this.#session = new Promise<void>((resolve) => (done = resolve));
    try {
      try {
        this.#db.exec('BEGIN IMMEDIATE');
      } catch (error) {
        if (isBusy(error)) return { ok: false, busy: true };
        throw new StoreFailureError('SQLite store cannot begin a transaction', { cause: error });
      }
      const scoped: Store = {
        get: async (key) => (checkStoreKey(key), this.#guard('read', () => this.#read(key))),
        list: async (prefix) => (checkStorePrefix(prefix), this.#list(prefix)),
        commit: (ops) => this.#commitNow(ops),
        close: () => Promise.resolve(),
      };
      let value: T;
      try {
        value = await fn(scoped);
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
      this.#db.exec('COMMIT');
      this.#commits++;
      return { ok: true, value };
    } finally {
      this.#session = undefined;
      done();
    }
  }

  /**
   * As {@link Store.changeToken}: SQLite's `PRAGMA data_version` (it moves when another
   * connection, in this process or another, commits) and this connection's own commits.
   */
  async changeToken(): Promise<string> {
    // Checked and acted on in one synchronous step, so no session can start between.
    while (this.#session !== undefined) await this.#session;
    return this.#guard('read', () => `${this.#dataVersion.get() ?? 0}:${this.#commits}`);
  }

  /** {@inheritDoc Store.close} */
  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  #guard<T>(what: string, read: () => T): Promise<T> {
    try {
      return Promise.resolve(read());
    } catch (error) {
      return Promise.reject(new StoreFailureError(`SQLite store ${what} failed`, { cause: error }));
    }
  }
}
