// Locking host-local's data directory. host-local serializes on flock(2) over
// `<dataDir>/<network>/lock` (backend/disk/lock.go, via go-filemutex). Node has no
// flock, better-sqlite3 exposes none, and no installed package provides one, so:
//
// - `flock` mode (the default when util-linux's flock(1) is installed) takes the very
//   same lock by running `flock(1)` on that file as a child that holds it until its
//   stdin closes. Twill and host-local then exclude each other exactly as two
//   host-local processes do. If this process dies, the pipe closes and the child exits,
//   so a crash never leaves the lock held. Cost: one short-lived child per commit.
// - `exclusive` mode, the portable fallback, is a lock file created with O_EXCL
//   (`twill.lock`, holding the owner's pid and start time) with stale-lock breaking when
//   its owner is dead or it is older than `staleMs`. host-local does not see this lock.
//
// Either way, duplicates are impossible: an address is reserved by creating its file
// with O_EXCL, which host-local also does, so two allocators can never both create it.
// What the lock adds is atomicity of a whole commit (several addresses, the round-robin
// cursor) with respect to other lockers.
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Releases a held lock. */
export type ReleaseLock = () => Promise<void>;

/** How a data directory is locked: see the file's header. */
export type FileLockMode = 'flock' | 'exclusive';

/** host-local's lock file name inside a network's directory. */
export const HOST_LOCAL_LOCK_FILE = 'lock';

/** Twill's own lock file name in `exclusive` mode. */
export const EXCLUSIVE_LOCK_FILE = 'twill.lock';

/** Where flock(1) is looked for. */
const FLOCK_PATHS = ['/usr/bin/flock', '/bin/flock', '/usr/local/bin/flock'];

/** The path of util-linux's flock(1) when installed, else `undefined`. */
export async function findFlock(): Promise<string | undefined> {
  for (const path of FLOCK_PATHS) {
    try {
      await access(path, fsConstants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A lock that could not be taken in time: the caller reports contention (code 11). */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
}

// The exit code flock(1) uses (-E) when it gave up waiting: distinct from the shell's.
const FLOCK_TIMEOUT_EXIT = 75;

/**
 * Takes flock(2) on `dir/lock` through flock(1), waiting at most `timeoutMs`.
 * @throws LockTimeoutError when the lock stayed held; Error when flock(1) fails.
 */
export function acquireFlock(flockPath: string, dir: string, timeoutMs: number): Promise<ReleaseLock> {
  const lockPath = join(dir, HOST_LOCAL_LOCK_FILE);
  const seconds = Math.max(0.01, timeoutMs / 1000).toFixed(2);
  // The child prints a line once it holds the lock, then waits for its stdin to close.
  const child = spawn(flockPath, ['-x', '-w', seconds, '-E', String(FLOCK_TIMEOUT_EXIT), lockPath, '-c', 'echo locked; read _'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return new Promise<ReleaseLock>((resolve, reject) => {
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.stdout.setEncoding('utf8').once('data', () => {
      resolve(async () => {
        child.stdin.end();
        await exited;
      });
    });
    void exited.then((code) => {
      if (code === FLOCK_TIMEOUT_EXIT) reject(new LockTimeoutError(`${lockPath} stayed locked for ${timeoutMs} ms`));
      else reject(new Error(`flock ${lockPath} exited ${String(code)}: ${stderr.trim()}`));
    });
  });
}

/** Options of {@link acquireExclusive}. */
export interface ExclusiveLockOptions {
  readonly timeoutMs: number;
  /** A lock file older than this is stale even if its owner seems alive (default 30 000). */
  readonly staleMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

function ownerAlive(content: string): boolean {
  const pid = Number(content.split(' ', 1)[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the portable lock: creates `dir/twill.lock` with O_EXCL, polling while another
 * owner holds it, and breaking it when stale (owner dead, or older than `staleMs`).
 * Breaking renames the file aside first, so of several breakers only one removes it.
 * @throws LockTimeoutError after `timeoutMs`.
 */
export async function acquireExclusive(dir: string, options: ExclusiveLockOptions): Promise<ReleaseLock> {
  const lockPath = join(dir, EXCLUSIVE_LOCK_FILE);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + options.timeoutMs;
  const token = `${process.pid} ${Date.now()} ${Math.random().toString(36).slice(2)}`;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      const handle = await open(lockPath, 'wx', 0o644);
      await handle.writeFile(token);
      await handle.close();
      return async () => {
        // Only remove the lock if it is still ours (it may have been broken as stale).
        const content = await readFile(lockPath, 'utf8').catch(() => '');
        if (content === token) await unlink(lockPath).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    try {
      const [content, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
      const old = Date.now() - info.mtimeMs > staleMs;
      // An empty file is a locker between create and write; only age makes it stale.
      if (old || (content !== '' && !ownerAlive(content))) {
        const aside = `${lockPath}.stale.${process.pid}`;
        await rename(lockPath, aside);
        await unlink(aside).catch(() => undefined);
        continue;
      }
    } catch {
      // The lock vanished or was broken by someone else meanwhile: try again at once.
      continue;
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(`${lockPath} stayed locked for ${options.timeoutMs} ms`);
    await sleep(wait * (0.5 + Math.random()));
  }
}
