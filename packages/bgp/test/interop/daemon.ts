// What every routing daemon adapter gives the interop tests: start the daemon inside a
// scratch namespace with a generated configuration, ask it (through its own CLI) which
// routes it holds and whether a session is up, change what it announces, and stop it
// by PID. The adapters (bird.ts, frr.ts, gobgp.ts) are small; the tests are tables over them.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { type ScratchNetns } from '@twill/sys/testing';

/** One BGP neighbour in a daemon's configuration. */
export interface DaemonNeighbor {
  /** The neighbour's address (twill's), IPv4 or IPv6; the session carries that family. */
  readonly address: string;
  /** This daemon's address on the session. */
  readonly localAddress: string;
  readonly asn: number;
  /** TCP MD5 password (RFC 2385). */
  readonly password?: string;
  /** Hold time proposed, s (default 9). */
  readonly holdTime?: number;
  /** Keep the neighbour's routes when it restarts (RFC 4724): the daemon's graceful restart configuration. */
  readonly gracefulRestart?: boolean;
  /** The restart time the daemon announces, s (default 30). */
  readonly restartTime?: number;
  /** RFC 5082 GTSM: send with TTL 255, accept only TTL 255 (directly connected). */
  readonly ttlSecurity?: boolean;
  /** Wait for the neighbour to connect (default true: twill connects). */
  readonly passive?: boolean;
}

/** A daemon's configuration, as the tests see it. */
export interface DaemonSpec {
  readonly ns: ScratchNetns;
  /** A private folder for configuration, sockets and PID files. */
  readonly dir: string;
  readonly routerId: string;
  readonly asn: number;
  readonly neighbors: readonly DaemonNeighbor[];
  /** Prefixes announced from the start (IPv4 and IPv6). */
  readonly announce: readonly string[];
}

/** A route as a daemon holds it. */
export interface DaemonRoute {
  readonly nextHop: string;
  /** The daemon's own description of the route's attributes, for `toContain` checks. */
  readonly detail: string;
}

/** A daemon started by a test. */
export interface RunningDaemon {
  /** Whether the session with `neighbor` is Established, by the daemon's CLI. */
  established(neighbor: string): boolean;
  /** Whether the daemon says it keeps `neighbor`'s routes, stale, for a graceful restart (RFC 4724). */
  keepsStaleRoutes(neighbor: string): boolean;
  /** BGP routes the daemon holds, by prefix text. */
  routes(family: 4 | 6): Map<string, DaemonRoute>;
  /** Starts announcing a prefix. */
  announce(prefix: string): void;
  /** Stops announcing a prefix. */
  withdraw(prefix: string): void;
  /** Kills the daemon by PID and waits until it is gone. */
  stop(): Promise<void>;
}

/** A routing daemon the interop matrix runs against. */
export interface DaemonAdapter {
  readonly name: string;
  start(spec: DaemonSpec): Promise<RunningDaemon>;
}

/** Polls `check` every 50 ms until it holds, or fails naming `what`. */
export async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    let last: unknown;
    try {
      if (check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs a program inside the namespace and gives its standard output. */
export function runIn(ns: ScratchNetns, file: string, args: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Starts a long-running program inside the namespace, its output to `logFile`; gives its PID. */
export function spawnIn(ns: ScratchNetns, file: string, args: readonly string[], logFile: string): number {
  // `ip netns exec` execs the program, so the PID is the daemon's own.
  const child = spawn('sh', ['-c', 'exec "$@" >>"$0" 2>&1', logFile, 'ip', 'netns', 'exec', ns.name, file, ...args], { detached: true, stdio: 'ignore' });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  return child.pid;
}

/** Reads a PID file the daemon writes, waiting for it to appear. */
export async function readPidFile(path: string, what: string): Promise<number> {
  let pid = 0;
  await until(`${what} to write ${path}`, () => {
    if (!existsSync(path)) return false;
    pid = Number(readFileSync(path, 'utf8').trim());
    return pid > 0;
  }, 10_000);
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends SIGTERM (then SIGKILL after 5 s) to a process this test started, and waits until
 * it is gone; `wakeFirst` sends SIGCONT first, for a process the test stopped.
 */
export async function killPid(pid: number, options: { wakeFirst?: boolean } = {}): Promise<void> {
  if (!alive(pid)) return;
  try {
    if (options.wakeFirst) process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // it exited in between
  }
  const end = Date.now() + 5000;
  while (alive(pid) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** `2001:db8::/48` → 6, `10.0.0.0/8` → 4. */
export function familyOf(prefixOrAddress: string): 4 | 6 {
  return prefixOrAddress.includes(':') ? 6 : 4;
}
