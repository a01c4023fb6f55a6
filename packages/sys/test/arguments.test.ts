import { describe, expect, it } from 'vitest';

import {
  SysError,
  createNetns,
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
import { TEST_PREFIX, rootSkipReason, testName } from '../src/testing/index.js';

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
  ])('%s refuses a bad argument, naming it', (syscall, call, message) => {
    expect(call).toThrowError(SysError);
    expect(call).toThrowError(expect.objectContaining({ code: 'EINVAL', syscall, message }));
  });

  it('refuses to unmap a buffer it did not map', () => {
    expect(() => munmap(new ArrayBuffer(8))).toThrowError(TypeError);
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
