import { execFileSync } from 'node:child_process';

import { SysError } from '../errors.js';
import { NETNS_RUN_DIR, type NetnsHandle, createNetns, deleteNetns, listNetns, openNetns } from '../netns.js';

/** Every name a test makes starts with this, so leftovers are recognisable. */
export const TEST_PREFIX = 'twt-';

let counter = 0;

/**
 * A name unique on this host for this process: `twt-<pid>-<n>` in base 36, at most 15
 * characters, so it also fits an interface name (IFNAMSIZ).
 */
export function testName(): string {
  counter += 1;
  return `${TEST_PREFIX}${process.pid.toString(36)}-${counter.toString(36)}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes test namespaces (`twt-<pid>-<n>`) left by test processes that have died,
 * for example after a crash. Namespaces of live processes are left alone.
 *
 * @returns the names deleted.
 */
export function sweepStaleTestNamespaces(dir = NETNS_RUN_DIR): string[] {
  const removed: string[] = [];
  for (const name of listNetns({ dir })) {
    const match = /^twt-([0-9a-z]+)-[0-9a-z]+$/.exec(name);
    if (!match?.[1]) continue;
    if (pidAlive(Number.parseInt(match[1], 36))) continue;
    deleteNetns(name, { dir });
    removed.push(name);
  }
  return removed;
}

/** A scratch namespace: its name, path and an open handle. */
export interface ScratchNetns {
  /** Its name (`twt-<pid>-<n>`), as `ip netns` lists it. */
  readonly name: string;
  /** Its bind mount, `/run/netns/<name>`. */
  readonly path: string;
  /** An open handle, closed by {@link NetworkScratch.cleanup}. */
  readonly handle: NetnsHandle;
}

/**
 * Creates namespaces and links for one test and removes all of them in
 * {@link NetworkScratch.cleanup} (call it from `afterEach`), even when the test failed.
 * Links live inside the scratch namespaces, so the host's own are never touched.
 */
export class NetworkScratch {
  readonly #namespaces: ScratchNetns[] = [];

  /** A new empty namespace with its loopback link up (unless `loopbackUp: false`). */
  netns(options: { loopbackUp?: boolean } = {}): ScratchNetns {
    const name = testName();
    const path = createNetns(name);
    let handle: NetnsHandle;
    try {
      handle = openNetns(path);
    } catch (error) {
      deleteNetns(name);
      throw error;
    }
    const ns = { name, path, handle };
    this.#namespaces.push(ns);
    if (options.loopbackUp !== false) this.ip(ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /**
   * A veth pair with one end in each namespace (both may be the same), created
   * directly in them. Names default to unique test names. Both ends are up.
   */
  veth(
    a: ScratchNetns,
    b: ScratchNetns,
    names: { a?: string; b?: string } = {},
  ): {
    /** The name of the end in namespace `a`. */
    a: string;
    /** The name of the end in namespace `b`. */
    b: string;
  } {
    const nameA = names.a ?? testName();
    const nameB = names.b ?? testName();
    this.ip(a, 'link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', b.name);
    this.ip(a, 'link', 'set', nameA, 'up');
    this.ip(b, 'link', 'set', nameB, 'up');
    return { a: nameA, b: nameB };
  }

  /** Runs `ip -n NS ARGS...` and gives its standard output. */
  ip(ns: ScratchNetns, ...args: string[]): string {
    return execFileSync('ip', ['-n', ns.name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Runs a program inside the namespace (`ip netns exec`) and gives its standard output. */
  exec(ns: ScratchNetns, file: string, args: string[] = []): string {
    return execFileSync('ip', ['netns', 'exec', ns.name, file, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /**
   * Removes everything this scratch made, newest first. Every removal is attempted;
   * if some fail, one error lists them all.
   */
  cleanup(): void {
    const failures: string[] = [];
    for (const ns of this.#namespaces.splice(0).reverse()) {
      ns.handle.close();
      try {
        deleteNetns(ns.name);
      } catch (error) {
        if (!(error instanceof SysError && error.code === 'ENOENT')) failures.push(`${ns.name}: ${String(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`scratch cleanup failed: ${failures.join('; ')}`);
  }
}
