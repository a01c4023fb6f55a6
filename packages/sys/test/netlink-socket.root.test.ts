// Netlink multicast groups, receive buffers and the drop counter, against the kernel in
// scratch namespaces: a socket on RTNLGRP_IPV4_IFADDR hears address changes until it
// leaves the group; a burst of them beyond a small receive buffer is either an ENOBUFS
// error (the default) or, with NETLINK_NO_ENOBUFS, nothing but the drop counter, and the
// messages read plus the drops are exactly the changes made. A conntrack event, which has
// no sender (port id 0), reaches a socket that joined without ever sending: the join
// bound it first. A socket filter decides what is queued, and what it discards is no drop.
import { execFileSync } from 'node:child_process';
import { closeSync, readFileSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

import { afterEach, describe, expect, it } from 'vitest';

import {
  AF,
  attachSocketFilter,
  detachSocketFilter,
  joinNetlinkGroup,
  leaveNetlinkGroup,
  NETLINK,
  openSocket,
  SOCK,
  setNetlinkNoEnobufs,
  setReceiveBuffer,
  socketMemInfo,
  SysError,
} from '../src/index.js';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '../src/testing/index.js';

const reason = rootSkipReason();

/** `RTNLGRP_IPV4_IFADDR` (include/uapi/linux/rtnetlink.h): IPv4 address added or removed. */
const RTNLGRP_IPV4_IFADDR = 5;
const RTM_NEWADDR = 20;
/** `NFNLGRP_CONNTRACK_NEW` and the type of its messages (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW). */
const NFNLGRP_CONNTRACK_NEW = 1;
const CT_NEW = 0x100;
/** `ret #k`: keep k bytes of the message, 0 discards it. */
const ret = (k: number) => ({ code: 0x06, jt: 0, jf: 0, k });

/** Reads every message queued on a non-blocking netlink socket: their types, in order. */
function readAll(fd: number): number[] {
  const buffer = Buffer.alloc(65536);
  const types: number[] = [];
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return types;
      throw error;
    }
    for (let off = 0; off + 16 <= n; off += (buffer.readUInt32LE(off) + 3) & ~3) types.push(buffer.readUInt16LE(off + 4));
  }
}

/** A netlink route socket in `ns`, non-blocking (reads give EAGAIN when empty). */
function routeSocket(ns: ScratchNetns): number {
  return openSocket({ domain: AF.NETLINK, type: SOCK.RAW | SOCK.NONBLOCK, protocol: NETLINK.ROUTE, netns: ns.handle });
}

describe.skipIf(reason)(`netlink groups, receive buffers and drops as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const fds: number[] = [];
  afterEach(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
    scratch.cleanup();
  });

  /** Adds `count` IPv4 addresses to the namespace's loopback in one `ip -batch`: one RTM_NEWADDR each. */
  const addAddresses = (ns: ScratchNetns, count: number, base = 0): void => {
    const lines = Array.from({ length: count }, (_, i) => `address add 10.77.${(base + i) >> 8}.${(base + i) & 0xff}/32 dev lo`);
    execFileSync('ip', ['-n', ns.name, '-batch', '-'], { input: `${lines.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  };

  it('hears the group it joined, and nothing after leaving it', () => {
    const ns = scratch.netns();
    const fd = routeSocket(ns);
    fds.push(fd);
    joinNetlinkGroup(fd, RTNLGRP_IPV4_IFADDR);
    addAddresses(ns, 3);
    expect(readAll(fd)).toEqual([RTM_NEWADDR, RTM_NEWADDR, RTM_NEWADDR]);
    leaveNetlinkGroup(fd, RTNLGRP_IPV4_IFADDR);
    addAddresses(ns, 2, 100);
    expect(readAll(fd)).toEqual([]);
    expect(socketMemInfo(fd)).toMatchObject({ rmemAlloc: 0, drops: 0 });
  });

  it('sets the receive buffer, doubled as the kernel does, forced past net.core.rmem_max', () => {
    const ns = scratch.netns();
    const fd = routeSocket(ns);
    fds.push(fd);
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    expect(setReceiveBuffer(fd, 65536)).toBe(131072);
    expect(socketMemInfo(fd).rcvbuf).toBe(131072);
    // Unforced, the size is capped at rmem_max (then doubled); forced, it is not.
    expect(setReceiveBuffer(fd, rmemMax + 4096)).toBe(2 * rmemMax);
    expect(setReceiveBuffer(fd, rmemMax + 4096, { force: true })).toBe(2 * (rmemMax + 4096));
    expect(setReceiveBuffer(fd, rmemMax + 8192, { force: 'if-permitted' })).toBe(2 * (rmemMax + 8192));
    // The kernel's minimum (SOCK_MIN_RCVBUF, a few KiB) applies to tiny sizes.
    const minimum = setReceiveBuffer(fd, 1, { force: true });
    expect(minimum).toBeGreaterThan(2);
    expect(minimum).toBeLessThan(16384);
  });

  it('puts an overrun socket into the ENOBUFS error state by default', () => {
    const ns = scratch.netns();
    const fd = routeSocket(ns);
    fds.push(fd);
    setReceiveBuffer(fd, 1, { force: true });
    joinNetlinkGroup(fd, RTNLGRP_IPV4_IFADDR);
    addAddresses(ns, 200);
    expect(socketMemInfo(fd).drops).toBeGreaterThan(0);
    expect(() => readAll(fd)).toThrowError(expect.objectContaining({ code: 'ENOBUFS' }));
  });

  it('with NETLINK_NO_ENOBUFS, counts every message it could not queue: read + dropped = sent', () => {
    const ns = scratch.netns();
    const fd = routeSocket(ns);
    fds.push(fd);
    const rcvbuf = setReceiveBuffer(fd, 1, { force: true });
    setNetlinkNoEnobufs(fd, true);
    joinNetlinkGroup(fd, RTNLGRP_IPV4_IFADDR);
    addAddresses(ns, 500);
    const queued = socketMemInfo(fd);
    expect(queued.rcvbuf).toBe(rcvbuf);
    expect(queued.rmemAlloc).toBeGreaterThan(0);
    expect(queued.drops).toBeGreaterThan(0);
    const read = readAll(fd);
    expect(read.every((t) => t === RTM_NEWADDR)).toBe(true);
    expect(read.length + (socketMemInfo(fd).drops ?? Number.NaN)).toBe(500);
    // The socket goes on: the next change is read, and the counter stays.
    addAddresses(ns, 1, 600);
    expect(readAll(fd)).toEqual([RTM_NEWADDR]);
    expect(socketMemInfo(fd)).toMatchObject({ rmemAlloc: 0, drops: queued.drops });
    setNetlinkNoEnobufs(fd, false);
  });

  it('delivers a notification without a sender (port id 0) to a socket that joined without ever sending', () => {
    const ns = scratch.netns();
    // A rule that uses conntrack makes the namespace track connections.
    scratch.exec(ns, 'nft', ['add table inet t; add chain inet t c { type filter hook output priority 0; ct state new accept; }']);
    const fd = openSocket({ domain: AF.NETLINK, type: SOCK.RAW | SOCK.NONBLOCK, protocol: NETLINK.NETFILTER, netns: ns.handle });
    fds.push(fd);
    // Unbound, the socket's port id is 0, the event's too: the kernel would skip it (af_netlink.c do_one_broadcast).
    joinNetlinkGroup(fd, NFNLGRP_CONNTRACK_NEW);
    // The event of a new UDP flow is sent from the packet's path, by nobody: port id 0.
    scratch.exec(ns, process.execPath, ['-e', "const s = require('node:dgram').createSocket('udp4'); s.send('x', 9, '127.0.0.1', () => s.close());"]);
    expect(readAll(fd)).toEqual([CT_NEW]);
  });

  it('queues only what its socket filter keeps, and does not count what it discards as drops', () => {
    const ns = scratch.netns();
    const fd = routeSocket(ns);
    fds.push(fd);
    setReceiveBuffer(fd, 1, { force: true });
    setNetlinkNoEnobufs(fd, true);
    attachSocketFilter(fd, [ret(0)]);
    joinNetlinkGroup(fd, RTNLGRP_IPV4_IFADDR);
    addAddresses(ns, 200);
    expect(readAll(fd)).toEqual([]);
    expect(socketMemInfo(fd)).toMatchObject({ rmemAlloc: 0, drops: 0 });
    // ldh [4] (the message type: the load is big-endian, the field host order), keep RTM_NEWADDR only.
    const type = endianness() === 'LE' ? ((RTM_NEWADDR & 0xff) << 8) | (RTM_NEWADDR >> 8) : RTM_NEWADDR;
    attachSocketFilter(fd, [{ code: 0x28, jt: 0, jf: 0, k: 4 }, { code: 0x15, jt: 0, jf: 1, k: type }, ret(0xffffffff), ret(0)]);
    addAddresses(ns, 2, 300);
    scratch.ip(ns, 'address', 'del', '10.77.1.44/32', 'dev', 'lo');
    expect(readAll(fd)).toEqual([RTM_NEWADDR, RTM_NEWADDR]);
    detachSocketFilter(fd);
    scratch.ip(ns, 'address', 'del', '10.77.1.45/32', 'dev', 'lo');
    expect(readAll(fd)).toEqual([21]);
    expect(() => detachSocketFilter(fd)).toThrowError(expect.objectContaining({ code: 'ENOENT', syscall: 'setsockopt SO_DETACH_FILTER' }));
    // The kernel checks the program as well: one that does not end in a return is refused.
    expect(() => attachSocketFilter(fd, [{ code: 0x20, jt: 0, jf: 0, k: 0 }])).toThrowError(expect.objectContaining({ code: 'EINVAL', syscall: 'setsockopt SO_ATTACH_FILTER' }));
  });

  it('refuses a group on a socket that is not a netlink socket: ENOTSUP to join, ENOPROTOOPT to leave', () => {
    const ns = scratch.netns();
    const fd = openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle });
    fds.push(fd);
    expect(() => joinNetlinkGroup(fd, 1)).toThrowError(expect.objectContaining({ code: 'ENOTSUP', syscall: 'getsockname (not a netlink socket)' }));
    expect(() => leaveNetlinkGroup(fd, 1)).toThrowError(expect.objectContaining({ code: 'ENOPROTOOPT', syscall: 'setsockopt NETLINK_DROP_MEMBERSHIP' }));
  });

  it('reports what the kernel refuses as a SysError naming the option', () => {
    const ns = scratch.netns();
    const fd = routeSocket(ns);
    fds.push(fd);
    // NETLINK_ROUTE has 30-odd groups, not 10,000.
    expect(() => joinNetlinkGroup(fd, 10_000)).toThrowError(expect.objectContaining({ code: 'EINVAL', syscall: 'setsockopt NETLINK_ADD_MEMBERSHIP' }));
    expect(() => socketMemInfo(2 ** 20)).toThrowError(expect.objectContaining({ code: 'EBADF', syscall: 'getsockopt SO_MEMINFO' }));
    expect(() => setNetlinkNoEnobufs(2 ** 20, true)).toThrowError(SysError);
  });
});
