// The flow readers' NETLINK_NETFILTER sockets, in the driver's network namespace.
//
// NFLOG (unicast to our port, no group to join): a plain socket from @twill/sys, written
// and read with write(2)/read(2) and watched on the event loop. When the kernel could
// not queue a message it sets ENOBUFS on the socket, which epoll reports as an error;
// libuv then stops watching, so the watch is started again after the read that clears it.
//
// Conntrack events (multicast: the socket must join NFNLGRP_CONNTRACK_NEW, which needs
// setsockopt, which only the `netlink` package's RawNetlinkSocket offers here) are read
// in a child process. In netlink 0.3.0 an overrun (the same ENOBUFS error state) ends the
// process that holds the socket: its poll error callback builds an error with a null
// syscall name, which throws inside the addon and aborts. In a child that costs the
// events of the overrun (reported as lost) and a restart, not the agent.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';

import { NETLINK, openNetlinkSocket, watchFd, type FdWatcher } from '@twill/sys';

import { type NetfilterSocket, type NetfilterSocketEvents, type OpenNetfilterSocket } from '../flows/reader.js';

/** The largest datagram read: NFLOG batches up to its nlbufsiz (at most 128 KiB). */
const READ_BUFFER = 256 * 1024;

function openPlainSocket(netns: string | undefined, events: NetfilterSocketEvents): NetfilterSocket {
  const fd = openNetlinkSocket({ protocol: NETLINK.NETFILTER, ...(netns === undefined ? {} : { netns }) });
  const buffer = new Uint8Array(READ_BUFFER);
  let watcher: FdWatcher | undefined;
  let open = true;
  // Reads until the socket is empty; false when reading must stop (closed, or a real error).
  const drain = (): boolean => {
    while (open) {
      let length: number;
      try {
        length = readSync(fd, buffer);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return true;
        if (code === 'EINTR') continue;
        events.error({ code, message: `read NFLOG socket: ${(error as Error).message}` });
        if (code === 'ENOBUFS') continue;
        return false;
      }
      // A copy: the handler may keep it past the next read.
      events.datagram(buffer.slice(0, length));
    }
    return false;
  };
  const watch = (): void => {
    watcher = watchFd(fd, { readable: true }, (error) => {
      if (!open) return;
      // An error state (ENOBUFS) stopped the watch: the read clears it, then watch again.
      if (drain() && error !== undefined) watch();
    });
    watcher.unref();
  };
  watch();
  return {
    send(message) {
      if (!open) return;
      try {
        writeSync(fd, message);
      } catch (error) {
        events.error({ code: (error as NodeJS.ErrnoException).code, message: `write NFLOG socket: ${(error as Error).message}` });
      }
    },
    close() {
      if (!open) return;
      open = false;
      watcher?.close();
      closeSync(fd);
    },
  };
}

// The child: joins the groups, and writes each datagram to stdout as a 4-byte
// little-endian length and the bytes; 0xffffffff then an errno for a reported error,
// 0xfffffffe once subscribed. It ends when its stdin closes (the agent went away).
const CHILD = `
const [netlinkPath, groupsJson, rcvbuf] = process.argv.slice(1);
const { RawNetlinkSocket } = require(netlinkPath);
const socket = new RawNetlinkSocket(12, Number(rcvbuf) > 0 ? { recvBufferSize: Number(rcvbuf) } : undefined);
for (const group of JSON.parse(groupsJson)) socket.addMembership(group);
const frame = (head, body) => { const h = Buffer.alloc(head.length * 4); head.forEach((v, i) => h.writeUInt32LE(v >>> 0, i * 4)); process.stdout.write(body === undefined ? h : Buffer.concat([h, body])); };
socket.on('message', (bytes) => frame([bytes.length], bytes));
socket.on('error', (error) => frame([0xffffffff, error.errno ?? 0]));
frame([0xfffffffe]);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

const ERRNO_NAMES: Readonly<Record<number, string>> = { 105: 'ENOBUFS', 90: 'EMSGSIZE', 1: 'EPERM' };

function openChildSocket(netns: string | undefined, options: { readonly groups: readonly number[]; readonly recvBufferSize?: number }, events: NetfilterSocketEvents): NetfilterSocket {
  const netlinkPath = createRequire(import.meta.url).resolve('netlink');
  const argv = ['-e', CHILD, netlinkPath, JSON.stringify(options.groups), String(options.recvBufferSize ?? 0)];
  let child: ChildProcess | undefined;
  let open = true;
  let started = 0;
  let restart: NodeJS.Timeout | undefined;
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  const start = (): void => {
    started = Date.now();
    let subscribed = false;
    let pending: Buffer = Buffer.alloc(0);
    let stderr = '';
    const proc = netns === undefined ? spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] }) : spawn('ip', ['netns', 'exec', netns, process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    child = proc;
    proc.stdin.on('error', () => undefined);
    proc.stderr.on('data', (b: Buffer) => {
      stderr = `${stderr}${b.toString()}`.slice(-2000);
    });
    proc.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 4) {
        const head = pending.readUInt32LE(at);
        if (head === 0xfffffffe) {
          at += 4;
          subscribed = true;
          resolveReady();
        } else if (head === 0xffffffff) {
          if (pending.length - at < 8) break;
          const errno = pending.readInt32LE(at + 4);
          at += 8;
          events.error({ code: ERRNO_NAMES[errno] ?? `errno ${errno}`, message: `conntrack socket: errno ${errno}` });
        } else {
          if (pending.length - at < 4 + head) break;
          events.datagram(pending.subarray(at + 4, at + 4 + head));
          at += 4 + head;
        }
      }
      pending = pending.subarray(at);
    });
    proc.on('error', (error) => events.error({ message: `cannot run the conntrack event reader: ${error.message}` }));
    proc.on('exit', (code, signal) => {
      if (child === proc) child = undefined;
      if (!open) return;
      if (subscribed) {
        // Most likely an overrun (see above): whatever the kernel dropped is lost, at least one event.
        events.error({ code: 'ENOBUFS', message: `the conntrack event reader ended (${signal ?? `code ${code}`}) and is restarted` });
      } else {
        events.error({ message: `the conntrack event reader ended before subscribing (${signal ?? `code ${code}`}): ${stderr.trim().slice(-500)}` });
      }
      // Restarted at once, but not more than once a second when it keeps failing.
      restart = setTimeout(start, Date.now() - started < 1000 ? 1000 : 0);
      restart.unref();
    });
    for (const stream of [proc.stdout, proc.stderr, proc.stdin]) (stream as unknown as { unref?: () => void }).unref?.();
    proc.unref();
  };
  start();
  return {
    ready,
    send() {
      // Nothing to configure: membership is all a conntrack event socket needs.
    },
    close() {
      if (!open) return;
      open = false;
      if (restart !== undefined) clearTimeout(restart);
      child?.stdin?.end();
      child?.kill('SIGKILL');
    },
  };
}

/**
 * Opens NETLINK_NETFILTER sockets in `netns` (named as `ip netns`; the caller's namespace
 * when absent): a socket without groups in this process (NFLOG), one with groups in a
 * child process (conntrack events). Needs CAP_NET_ADMIN there (CAP_SYS_ADMIN to enter it).
 * `recvBufferSize` applies to the child's socket; this process's keeps the system default
 * (net.core.rmem_default), @twill/sys having no SO_RCVBUF.
 * @throws {SysError} when the in-process socket cannot be made (`EPERM` ...).
 */
export function netfilterSocketOpener(netns?: string): OpenNetfilterSocket {
  return (options, events) => (options.groups.length === 0 ? openPlainSocket(netns, events) : openChildSocket(netns, options, events));
}
