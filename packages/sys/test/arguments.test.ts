import { describe, expect, it } from 'vitest';

import {
  SysError,
  attachSocketFilter,
  createNetns,
  detachSocketFilter,
  joinNetlinkGroup,
  leaveNetlinkGroup,
  mmap,
  munmap,
  netnsPath,
  openTransparentListener,
  setNetlinkNoEnobufs,
  setReceiveBuffer,
  setTcpMd5,
  socketMemInfo,
  socketTransparent,
} from '../src/index.js';
import { native } from '../src/native.js';
import { decodeMemInfo } from '../src/socket-buffer.js';
import { TEST_PREFIX, rootSkipReason, testName } from '../src/testing/index.js';

const RET_ALL = { code: 0x06, jt: 0, jf: 0, k: 0xffffffff };

// These are refused before any system call, so they need no privileges.
describe('arguments refused before any call', () => {
  it.each(['', '.', '..', 'a/b', 'nul\0x', 'x'.repeat(256)])('refuses the namespace name %j', (name) => {
    expect(() => createNetns(name)).toThrowError(SysError);
    expect(() => createNetns(name)).toThrowError(expect.objectContaining({ code: 'EINVAL', syscall: 'createNetns' }));
  });

  it('resolves names under /run/netns and keeps absolute paths', () => {
    expect(netnsPath('pod1')).toBe('/run/netns/pod1');
    expect(netnsPath('pod1', { dir: '/tmp/ns' })).toBe('/tmp/ns/pod1');
    expect(netnsPath('/proc/1/ns/net')).toBe('/proc/1/ns/net');
  });

  it.each([
    [{ address: 'not-an-ip', key: 'k' }, /not an IP address/],
    [{ address: '10.0.0.1', prefixLength: 33, key: 'k' }, /prefix length 33 is not within 0..32/],
    [{ address: 'fd00::1', prefixLength: -1, key: 'k' }, /prefix length -1 is not within 0..128/],
    [{ address: '10.0.0.1', key: 'x'.repeat(81) }, /81 bytes; TCP MD5 allows at most 80/],
  ])('refuses TCP MD5 options %j', (options, message) => {
    expect(() => setTcpMd5(-1, options)).toThrowError(message);
  });

  it.each([
    [{ length: 0 }, /length 0/],
    [{ length: 1.5 }, /length 1.5/],
    [{ length: 4096, offset: -4096 }, /offset -4096/],
  ])('refuses mmap options %j', (options, message) => {
    expect(() => mmap(0, options)).toThrowError(message);
  });

  it.each([
    ['joinNetlinkGroup', () => joinNetlinkGroup(1.5, 1), 'joinNetlinkGroup: fd 1.5 is not a file descriptor'],
    ['joinNetlinkGroup', () => joinNetlinkGroup(3, 0), 'joinNetlinkGroup: group 0 is not an integer within 1..4294967295'],
    ['leaveNetlinkGroup', () => leaveNetlinkGroup(3, -2), 'leaveNetlinkGroup: group -2 is not an integer within 1..4294967295'],
    ['setNetlinkNoEnobufs', () => setNetlinkNoEnobufs(-1, true), 'setNetlinkNoEnobufs: fd -1 is not a file descriptor'],
    ['setNetlinkNoEnobufs', () => setNetlinkNoEnobufs(3, 1 as unknown as boolean), 'setNetlinkNoEnobufs: on 1 is not a boolean'],
    ['setReceiveBuffer', () => setReceiveBuffer(3, -1), 'setReceiveBuffer: size -1 is not an integer within 0..1073741823'],
    ['setReceiveBuffer', () => setReceiveBuffer(3, 4096, { force: 'yes' as never }), `setReceiveBuffer: force "yes" is not true, false or 'if-permitted'`],
    ['socketMemInfo', () => socketMemInfo(Number.NaN), 'socketMemInfo: fd NaN is not a file descriptor'],
    ['socketTransparent', () => socketTransparent(2 ** 31), 'socketTransparent: fd 2147483648 is not a file descriptor'],
    ['openTransparentListener', () => openTransparentListener({ address: 'localhost', port: 80 }), 'openTransparentListener: address "localhost" is not an IP address'],
    ['openTransparentListener', () => openTransparentListener({ address: '::', port: 65536 }), 'openTransparentListener: port 65536 is not an integer within 0..65535'],
    ['openTransparentListener', () => openTransparentListener({ address: 'fe80::1%lo', port: 80 }), 'openTransparentListener: address "fe80::1%lo": scoped IPv6 addresses (with a zone) are not supported'],
    ['attachSocketFilter', () => attachSocketFilter(-1, [RET_ALL]), 'attachSocketFilter: fd -1 is not a file descriptor'],
    ['attachSocketFilter', () => attachSocketFilter(3, []), 'attachSocketFilter: program must hold 1..4096 instructions, got 0'],
    ['attachSocketFilter', () => attachSocketFilter(3, Array.from({ length: 4097 }, () => RET_ALL)), 'attachSocketFilter: program must hold 1..4096 instructions, got 4097'],
    ['attachSocketFilter', () => attachSocketFilter(3, [{ ...RET_ALL, code: 0x10000 }]), 'attachSocketFilter: instruction 0: code 65536 is not an integer within 0..65535'],
    ['attachSocketFilter', () => attachSocketFilter(3, [RET_ALL, { ...RET_ALL, jt: 256 }]), 'attachSocketFilter: instruction 1: jt 256 is not an integer within 0..255'],
    ['attachSocketFilter', () => attachSocketFilter(3, [{ ...RET_ALL, k: -1 }]), 'attachSocketFilter: instruction 0: k -1 is not an integer within 0..4294967295'],
    // jeq #0 with jf 1 from the next-to-last instruction lands past the end.
    ['attachSocketFilter', () => attachSocketFilter(3, [{ code: 0x15, jt: 0, jf: 1, k: 0 }, RET_ALL]), 'attachSocketFilter: instruction 0: jumps past the end of the program (2 instructions)'],
    ['attachSocketFilter', () => attachSocketFilter(3, [{ code: 0x05, jt: 0, jf: 0, k: 1 }, RET_ALL]), 'attachSocketFilter: instruction 0: jumps past the end of the program (2 instructions)'],
    ['detachSocketFilter', () => detachSocketFilter(1.5), 'detachSocketFilter: fd 1.5 is not a file descriptor'],
  ])('%s refuses a bad argument, naming it', (syscall, call, message) => {
    expect(call).toThrowError(SysError);
    expect(call).toThrowError(expect.objectContaining({ code: 'EINVAL', syscall, message }));
  });

  // The addon checks again what reaches it: a double outside the C type must not be cast (undefined behaviour).
  it.each([
    ['NaN', () => native.getMemInfo(Number.NaN), 'fd must be a 32-bit integer'],
    ['2^31', () => native.getMemInfo(2 ** 31), 'fd must be a 32-bit integer'],
    ['-2^31 - 1', () => native.getMemInfo(-(2 ** 31) - 1), 'fd must be a 32-bit integer'],
    ['1e300', () => native.getMemInfo(1e300), 'fd must be a 32-bit integer'],
    ['1.5', () => native.getMemInfo(1.5), 'fd must be a 32-bit integer'],
    ['a group of NaN', () => native.setNetlinkMembership(3, Number.NaN, true), 'group must be an unsigned 32-bit integer'],
    ['a group of 2^32', () => native.setNetlinkMembership(3, 2 ** 32, true), 'group must be an unsigned 32-bit integer'],
    ['a group of -1', () => native.setNetlinkMembership(3, -1, true), 'group must be an unsigned 32-bit integer'],
    ['a negative buffer size', () => native.setReceiveBuffer(3, -1, 0), 'bytes must not be negative'],
    ['a receive buffer mode of 3', () => native.setReceiveBuffer(3, 4096, 3), 'mode must be 0 (SO_RCVBUF), 1 (SO_RCVBUFFORCE) or 2 (forced if permitted)'],
    ['a filter of 7 bytes', () => native.attachSocketFilter(3, new Uint8Array(7)), 'program must be 1..4096 sock_filter records of 8 bytes'],
  ])('the addon refuses %s with a TypeError before any call', (_what, call, message) => {
    expect(call).toThrowError(TypeError);
    expect(call).toThrowError(message);
  });

  it('refuses to unmap a buffer it did not map', () => {
    expect(() => munmap(new ArrayBuffer(8))).toThrowError(TypeError);
  });
});

describe('SO_MEMINFO entries', () => {
  it('names the nine entries of Linux 4.14 and later', () => {
    expect(decodeMemInfo([1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual({ rmemAlloc: 1, rcvbuf: 2, wmemAlloc: 3, sndbuf: 4, fwdAlloc: 5, wmemQueued: 6, optmem: 7, backlog: 8, drops: 9 });
  });

  it('has no drop count when the kernel fills eight (Linux 4.12, 4.13), rather than a zero', () => {
    const info = decodeMemInfo([4096, 8192, 0, 0, 0, 0, 0, 0]);
    expect(info.drops).toBeUndefined();
    expect(info).toMatchObject({ rmemAlloc: 4096, rcvbuf: 8192, backlog: 0 });
  });
});

describe('test names', () => {
  it('are unique, prefixed and short enough for an interface name', () => {
    const names = Array.from({ length: 50 }, testName);
    expect(new Set(names).size).toBe(50);
    for (const name of names) {
      expect(name.startsWith(TEST_PREFIX)).toBe(true);
      expect(name.length).toBeLessThanOrEqual(15);
    }
  });

  it('says in one line why root tests are skipped', () => {
    const reason = rootSkipReason('loads eBPF');
    if (process.getuid?.() === 0) expect(reason).toBeUndefined();
    else expect(reason).toMatch(/^needs root \(loads eBPF\); running as uid \d+$/);
  });
});
