// Network sysctls of one namespace. A file under /proc/sys/net belongs to the network
// namespace of the thread that opens it (fs/proc/proc_sysctl.c looks the table up in
// current->nsproxy->net_ns), so the file is opened, written and closed inside
// runInNetns, synchronously.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

import { type NetnsHandle, runInNetns } from '@twill/sys';

import { NetError } from './errors.js';

/**
 * The path under /proc/sys of a network sysctl key, given as `sysctl(8)` does: dotted
 * (`net.ipv4.ip_forward`) or, when it contains `/`, slashed
 * (`net/ipv4/conf/eth0.100/proxy_arp`, the form to use when an interface name has a dot).
 * Only `net` keys are accepted: other sysctls are not per namespace and would change
 * the whole host.
 *
 * @throws {NetError} `EINVAL` for a key outside `net` or with empty, `.` or `..` parts.
 */
export function sysctlPath(key: string): string {
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  if (parts[0] !== 'net' || parts.length < 2 || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw NetError.invalid(`sysctl ${key}`, 'only keys under net (net.ipv4..., net.ipv6..., net.core...) are per network namespace');
  }
  return `/proc/sys/${parts.join('/')}`;
}

/** The slashed key of a per-interface setting, safe for names with dots (`eth0.100`). */
export function interfaceSysctlKey(family: 'ipv4' | 'ipv6', linkName: string, setting: string): string {
  return `net/${family}/conf/${linkName}/${setting}`;
}

/** Runs `fn` in `netns`, or in the caller's namespace when it is undefined. */
function inNetns<T>(netns: NetnsHandle | undefined, fn: () => T): T {
  return netns === undefined ? fn() : runInNetns(netns, fn);
}

/**
 * Writes a network sysctl in a namespace.
 * @throws {NetError} `ENOENT` for an unknown key or interface, `EINVAL` for a value the
 *   kernel refuses, `EACCES`/`EPERM` without root; {@link SysError} from `setns`.
 */
export function writeSysctl(netns: NetnsHandle | undefined, key: string, value: string | number): void {
  const path = sysctlPath(key);
  const operation = `setSysctl ${key}=${value}`;
  const bytes = Buffer.from(`${value}\n`);
  inNetns(netns, () => {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (error) {
      throw NetError.fromNode(error, operation);
    }
    try {
      writeSync(fd, bytes);
    } catch (error) {
      throw NetError.fromNode(error, operation);
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * Reads a network sysctl in a namespace, without the trailing newline.
 * @throws {NetError} `ENOENT` for an unknown key or interface.
 */
export function readSysctl(netns: NetnsHandle | undefined, key: string): string {
  const path = sysctlPath(key);
  const operation = `getSysctl ${key}`;
  return inNetns(netns, () => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw NetError.fromNode(error, operation);
    }
    try {
      // Values are short, but read to the end rather than trust one read.
      const chunks: Buffer[] = [];
      for (;;) {
        const chunk = Buffer.alloc(4096);
        const length = readSync(fd, chunk, 0, chunk.length, null);
        if (length === 0) break;
        chunks.push(chunk.subarray(0, length));
      }
      return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
    } catch (error) {
      throw NetError.fromNode(error, operation);
    } finally {
      closeSync(fd);
    }
  });
}
