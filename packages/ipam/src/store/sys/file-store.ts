// The file adapter: host-local's own data directory (backend/disk/backend.go). A key
// `<network>/<name>` is the file `<root>/<network>/<name>`, and the range allocator's
// values are exactly what host-local writes, so twill can take over a host-local data
// directory and host-local can take over twill's. Commits run under the directory's lock
// (file-lock.ts); reservations are created with O_EXCL, as host-local creates them.
//
// Revisions are derived from a file's content (a SHA-256 prefix): a file rewritten with
// the same bytes keeps its revision. That is the right meaning here, since host-local's
// files carry no version: a condition asks "is it still what I read?".
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { StoreFailureError } from '../../errors.js';
import { conditionHolds } from '../memory-store.js';
import {
  checkStoreKey,
  checkStorePrefix,
  type CommitOutcome,
  type ExclusiveOutcome,
  type Store,
  type StoreEntry,
  type StoreOp,
} from '../store.js';
import {
  acquireExclusive,
  acquireFlock,
  EXCLUSIVE_LOCK_FILE,
  type FileLockMode,
  findFlock,
  HOST_LOCAL_LOCK_FILE,
  LockTimeoutError,
  type ReleaseLock,
} from './file-lock.js';

export { type FileLockMode } from './file-lock.js';

/** Options of {@link FileStore.open}. */
export interface FileStoreOptions {
  /** The data directory (host-local's `dataDir`, default there `/var/lib/cni/networks`). */
  readonly root: string;
  /**
   * How commits lock a directory: `flock` (host-local's own lock, needs util-linux's
   * flock(1)) or `exclusive` (a portable O_EXCL lock file host-local does not see).
   * Default: `flock` when flock(1) is installed.
   */
  readonly lock?: FileLockMode;
  /** How long a commit waits for the lock before reporting a conflict (default 2000 ms). */
  readonly lockTimeoutMs?: number;
}

// Names in a network directory that are not entries: the locks, and our temporary files.
function isEntryName(name: string): boolean {
  return name !== HOST_LOCAL_LOCK_FILE && name !== EXCLUSIVE_LOCK_FILE && !name.startsWith('.') && !name.startsWith(`${EXCLUSIVE_LOCK_FILE}.`);
}

function revisionOf(content: string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 24);
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** A {@link Store} over host-local's data directory layout. */
export class FileStore implements Store {
  readonly #root: string;
  readonly #lock: (dir: string) => Promise<ReleaseLock>;
  // Directories whose lock the caller already holds (inside an exclusive session).
  readonly #held: ReadonlySet<string>;

  private constructor(root: string, lock: (dir: string) => Promise<ReleaseLock>, held: ReadonlySet<string> = new Set()) {
    this.#root = root;
    this.#lock = lock;
    this.#held = held;
  }

  /**
   * Opens a data directory (created on first write).
   * @throws StoreFailureError when `flock` mode is asked for and flock(1) is missing.
   */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const timeoutMs = options.lockTimeoutMs ?? 2000;
    const flock = await findFlock();
    const mode = options.lock ?? (flock !== undefined ? 'flock' : 'exclusive');
    if (mode === 'flock') {
      if (flock === undefined) throw new StoreFailureError('flock(1) from util-linux is not installed: use lock "exclusive"');
      return new FileStore(options.root, (dir) => acquireFlock(flock, dir, timeoutMs));
    }
    return new FileStore(options.root, (dir) => acquireExclusive(dir, { timeoutMs }));
  }

  #path(key: string): string {
    return join(this.#root, ...key.split('/'));
  }

  async #read(key: string): Promise<StoreEntry | undefined> {
    try {
      const value = await readFile(this.#path(key), 'utf8');
      return { key, value, revision: revisionOf(value) };
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'EISDIR') return undefined;
      throw new StoreFailureError(`cannot read ${this.#path(key)}`, { cause: error });
    }
  }

  /** {@inheritDoc Store.get} */
  async get(key: string): Promise<StoreEntry | undefined> {
    checkStoreKey(key);
    const name = key.slice(key.lastIndexOf('/') + 1);
    return isEntryName(name) ? this.#read(key) : undefined;
  }

  /** {@inheritDoc Store.list} */
  async list(prefix: string): Promise<readonly StoreEntry[]> {
    checkStorePrefix(prefix);
    const dir = prefix === '' ? this.#root : this.#path(prefix.slice(0, -1));
    let names: string[];
    try {
      const dirents = await readdir(dir, { withFileTypes: true });
      names = dirents.filter((d) => d.isFile() && isEntryName(d.name)).map((d) => d.name);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw new StoreFailureError(`cannot list ${dir}`, { cause: error });
    }
    names.sort();
    const entries = await Promise.all(names.map((name) => this.#read(`${prefix}${name}`)));
    return entries.filter((entry): entry is StoreEntry => entry !== undefined);
  }

  /**
   * As {@link Store.commit}: every op or none. A lock held past the timeout is reported
   * as a conflict.
   */
  async commit(ops: readonly StoreOp[]): Promise<CommitOutcome> {
    for (const op of ops) checkStoreKey(op.key);
    const dirs = [...new Set(ops.map((op) => dirname(this.#path(op.key))))].filter((dir) => !this.#held.has(dir)).sort();
    const releases: ReleaseLock[] = [];
    try {
      for (const dir of dirs) {
        await mkdir(dir, { recursive: true, mode: 0o755 });
        releases.push(await this.#lock(dir));
      }
      return await this.#commitLocked(ops);
    } catch (error) {
      if (error instanceof LockTimeoutError) return { ok: false, conflicts: ops.map((op) => op.key) };
      if (error instanceof StoreFailureError) throw error;
      throw new StoreFailureError('file store commit failed', { cause: error });
    } finally {
      for (const release of releases.reverse()) await release();
    }
  }

  async #commitLocked(ops: readonly StoreOp[]): Promise<CommitOutcome> {
    const current = await Promise.all(ops.map((op) => this.#read(op.key)));
    const conflicts = ops.filter((op, i) => !conditionHolds(current[i], op)).map((op) => op.key);
    if (conflicts.length > 0) return { ok: false, conflicts };
    const undo: (() => Promise<void>)[] = [];
    try {
      for (const [i, op] of ops.entries()) {
        const path = this.#path(op.key);
        const before = current[i];
        if (op.type === 'delete') {
          await unlink(path).catch((error: unknown) => {
            if (errno(error) !== 'ENOENT') throw error;
          });
          if (before !== undefined) undo.push(() => writeFile(path, before.value, { mode: 0o644 }));
        } else if (op.expect !== undefined && 'absent' in op.expect) {
          // O_EXCL, as host-local reserves: the one step that is atomic even against a
          // writer that does not take our lock.
          const handle = await open(path, 'wx', 0o644);
          undo.push(() => unlink(path));
          await handle.writeFile(op.value);
          await handle.close();
        } else {
          // Replace by rename, so a reader never sees a half-written file.
          const temp = join(dirname(path), `.twill-${randomBytes(6).toString('hex')}`);
          await writeFile(temp, op.value, { mode: 0o644 });
          await rename(temp, path);
          undo.push(() => (before === undefined ? unlink(path) : writeFile(path, before.value, { mode: 0o644 })));
        }
      }
      return { ok: true };
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      if (errno(error) === 'EEXIST') return { ok: false, conflicts: ops.map((op) => op.key) };
      throw error;
    }
  }

  /**
   * As {@link Store.exclusive}: holds the directory's lock (host-local's `lock` file in
   * `flock` mode) while `fn` runs, exactly as host-local holds it around an allocation.
   */
  async exclusive<T>(prefix: string, fn: (scoped: Store) => Promise<T>): Promise<ExclusiveOutcome<T>> {
    checkStorePrefix(prefix);
    const dir = prefix === '' ? this.#root : this.#path(prefix.slice(0, -1));
    let release: ReleaseLock;
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      release = await this.#lock(dir);
    } catch (error) {
      if (error instanceof LockTimeoutError) return { ok: false, busy: true };
      throw new StoreFailureError(`cannot lock ${dir}`, { cause: error });
    }
    try {
      const value = await fn(new FileStore(this.#root, this.#lock, new Set([...this.#held, dir])));
      return { ok: true, value };
    } finally {
      await release();
    }
  }

  /**
   * As {@link Store.close}. Nothing to release: every commit locks and unlocks.
   */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
