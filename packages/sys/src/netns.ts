import { closeSync, readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { SysError, callNative } from './errors.js';
import { native } from './native.js';

/** Where named network namespaces live, as with `ip netns`. */
export const NETNS_RUN_DIR = '/run/netns';

/** Options for the functions that manage named network namespaces. */
export interface NetnsDirOptions {
  /** The folder of named namespaces (default {@link NETNS_RUN_DIR}). */
  dir?: string;
}

/**
 * An open network namespace: a file descriptor that keeps it reachable. Close it when
 * done (`using` closes it at the end of the block).
 */
export class NetnsHandle {
  #fd: number;

  /** @internal Use {@link openNetns}. */
  constructor(
    fd: number,
    /** The path it was opened from. */
    readonly path: string,
  ) {
    this.#fd = fd;
  }

  /** The descriptor, for `setns(2)` and the functions of this package. */
  get fd(): number {
    if (this.#fd < 0) throw SysError.invalid('netns', `${this.path} is closed`);
    return this.#fd;
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Closes the descriptor; calling it again does nothing. */
  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  /** Closes the handle at the end of a `using` block; the same as {@link NetnsHandle.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A namespace given by an open handle, a name under {@link NETNS_RUN_DIR}, or an
 * absolute path (`/proc/PID/ns/net`, `/var/run/netns/x`, a CNI `CNI_NETNS`).
 */
export type NetnsRef = NetnsHandle | string;

/** Checks a namespace name the way `ip netns add` does: a single path component. */
function checkName(name: string, call: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || Buffer.byteLength(name) > 255) {
    throw SysError.invalid(call, `invalid network namespace name ${JSON.stringify(name)}`);
  }
}

/** The path of a named namespace (`/run/netns/NAME`), or the path itself when absolute. */
export function netnsPath(nameOrPath: string, options: NetnsDirOptions = {}): string {
  if (isAbsolute(nameOrPath)) return nameOrPath;
  checkName(nameOrPath, 'netnsPath');
  return join(options.dir ?? NETNS_RUN_DIR, nameOrPath);
}

/**
 * Opens a network namespace by name or path.
 *
 * @throws {SysError} `ENOENT` when it does not exist, `EINVAL` when the path is not a
 *   network namespace. Needs Linux 4.11 (`NS_GET_NSTYPE`).
 */
export function openNetns(nameOrPath: string, options: NetnsDirOptions = {}): NetnsHandle {
  const path = netnsPath(nameOrPath, options);
  return new NetnsHandle(callNative(() => native.openNetns(path)), path);
}

/**
 * Creates a named network namespace the way `ip netns add NAME` does: the folder is
 * made a shared mount, and the new namespace is bind-mounted on `DIR/NAME`. Its
 * loopback link is down, as with `ip netns add`.
 *
 * @returns the namespace's path.
 * @throws {SysError} `EEXIST` when the name is taken, `EPERM` without CAP_SYS_ADMIN.
 */
export function createNetns(name: string, options: NetnsDirOptions = {}): string {
  checkName(name, 'createNetns');
  const dir = options.dir ?? NETNS_RUN_DIR;
  const path = join(dir, name);
  callNative(() => native.createNetns(dir, path));
  return path;
}

/**
 * Deletes a named network namespace the way `ip netns del NAME` does: unmounts and
 * removes `DIR/NAME`. The namespace ends when no process or descriptor holds it.
 *
 * @throws {SysError} `ENOENT` when there is no such namespace.
 */
export function deleteNetns(name: string, options: NetnsDirOptions = {}): void {
  checkName(name, 'deleteNetns');
  const path = join(options.dir ?? NETNS_RUN_DIR, name);
  callNative(() => native.deleteNetns(path));
}

/** The names of the named network namespaces, sorted; none when the folder is missing. */
export function listNetns(options: NetnsDirOptions = {}): string[] {
  try {
    return readdirSync(options.dir ?? NETNS_RUN_DIR).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Runs `fn` with the calling thread inside a network namespace, then moves the thread
 * back, whether `fn` returns or throws. Sockets created synchronously inside `fn` stay in
 * that namespace for life, which is how another library's netlink socket (for example
 * the `netlink` package's `createRtNetlink()`) is opened inside a pod:
 *
 * ```ts
 * const rt = runInNetns('pod1', () => createRtNetlink());
 * ```
 *
 * `fn` must be synchronous: only what runs before it returns happens in the namespace.
 * A returned promise is refused with a TypeError (its rest would run outside).
 *
 * @throws {SysError} from `setns` (`EPERM` without CAP_SYS_ADMIN), or what `fn` throws.
 */
export function runInNetns<T>(ns: NetnsRef, fn: () => T): T {
  return withNetnsFd(ns, (fd) => {
    // Errors thrown by fn reach the caller unchanged, even ones that look like errno
    // errors (Node's own fs errors have code, errno and syscall too).
    let thrownByFn: { error: unknown } | undefined;
    const wrapped = (): T => {
      try {
        return fn();
      } catch (error) {
        thrownByFn = { error };
        throw error;
      }
    };
    let result: T;
    try {
      result = native.runInNetns(fd, wrapped) as T;
    } catch (error) {
      throw thrownByFn ? thrownByFn.error : SysError.fromNative(error);
    }
    if (result instanceof Promise) {
      result.catch(() => undefined); // its outcome is the caller's bug, reported below
      throw new TypeError('runInNetns: fn returned a promise; only its synchronous part ran in the namespace');
    }
    return result;
  });
}

/** Gives `use` a descriptor for `ns`, opening and closing one when `ns` is a name or path. */
export function withNetnsFd<T>(ns: NetnsRef, use: (fd: number) => T): T {
  if (ns instanceof NetnsHandle) return use(ns.fd);
  const handle = openNetns(ns);
  try {
    return use(handle.fd);
  } finally {
    handle.close();
  }
}
