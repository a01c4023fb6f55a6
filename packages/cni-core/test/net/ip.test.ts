import { describe, expect, it } from 'vitest';

import { NetError } from '../../src/net/errors.js';
import { formatIp, formatMac, isNetworkPrefix, parseIp, parseMac, parsePrefix } from '../../src/net/ip.js';

const invalid = (fn: () => unknown, message: RegExp): void => {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NetError);
  expect(caught).toMatchObject({ code: 'EINVAL', errno: 22, operation: 'op' });
  expect((caught as Error).message).toMatch(message);
};

describe('IP text and bytes', () => {
  it('parses IPv4 and IPv6 prefixes to network-order bytes', () => {
    expect(parsePrefix('10.244.1.5/32', 'op')).toEqual({ family: 4, bytes: Uint8Array.of(10, 244, 1, 5), prefixLength: 32 });
    const v6 = parsePrefix('fd00::5/64', 'op');
    expect(v6.family).toBe(6);
    expect(v6.prefixLength).toBe(64);
    expect(Array.from(v6.bytes)).toEqual([0xfd, 0, ...Array(13).fill(0), 5]);
  });

  it('gives a bare address its full length', () => {
    expect(parsePrefix('169.254.1.1', 'op').prefixLength).toBe(32);
    expect(parsePrefix('::1', 'op').prefixLength).toBe(128);
  });

  it('refuses what Go and the kernel would not take, naming the operation', () => {
    invalid(() => parsePrefix('10.1/8', 'op'), /^op: EINVAL: "10.1" is not an IP address$/);
    invalid(() => parsePrefix('10.0.0.1/33', 'op'), /prefix length must be within 0..32/);
    invalid(() => parsePrefix('fd00::/129', 'op'), /within 0..128/);
    invalid(() => parsePrefix('10.0.0.1/', 'op'), /prefix length/);
    invalid(() => parsePrefix('10.0.0.1/-1', 'op'), /prefix length/);
    invalid(() => parseIp('fe80::1%eth0', 'op'), /not an IP address/);
    invalid(() => parseIp('', 'op'), /not an IP address/);
  });

  it('tells a network prefix from an address with host bits', () => {
    expect(isNetworkPrefix(parsePrefix('10.0.0.0/8', 'op'))).toBe(true);
    expect(isNetworkPrefix(parsePrefix('10.0.0.1/8', 'op'))).toBe(false);
    expect(isNetworkPrefix(parsePrefix('10.0.0.1/32', 'op'))).toBe(true);
    expect(isNetworkPrefix(parsePrefix('0.0.0.0/0', 'op'))).toBe(true);
    expect(isNetworkPrefix(parsePrefix('fd00::1/127', 'op'))).toBe(false);
  });

  it('prints addresses canonically (RFC 5952 for IPv6)', () => {
    expect(formatIp(Uint8Array.of(169, 254, 1, 1))).toBe('169.254.1.1');
    expect(formatIp(parseIp('FD00:0:0:0:0:0:0:5', 'op').bytes)).toBe('fd00::5');
    expect(() => formatIp(new Uint8Array(5))).toThrow(RangeError);
  });

  it('parses and prints MAC addresses', () => {
    expect(Array.from(parseMac('EE:EE:ee:ee:ee:01', 'op'))).toEqual([0xee, 0xee, 0xee, 0xee, 0xee, 1]);
    expect(Array.from(parseMac('02-00-00-00-00-0a', 'op'))).toEqual([2, 0, 0, 0, 0, 10]);
    expect(formatMac(Uint8Array.of(2, 0, 0, 0, 0, 10))).toBe('02:00:00:00:00:0a');
    invalid(() => parseMac('02:00:00:00:00', 'op'), /not a MAC address/);
    invalid(() => parseMac('02:00:00:00:00:0g', 'op'), /not a MAC address/);
  });
});

describe('NetError', () => {
  it('names the errno of a netlink answer and what was being done', () => {
    const error = NetError.fromErrno(-101, 'addRoute 0.0.0.0/0 via 169.254.1.1 dev eth0');
    expect(error).toMatchObject({ name: 'NetError', code: 'ENETUNREACH', errno: 101 });
    expect(error.message).toBe('addRoute 0.0.0.0/0 via 169.254.1.1 dev eth0: ENETUNREACH');
    expect(NetError.fromErrno(19, 'getLink eth9').code).toBe('ENODEV');
  });

  it('keeps a Node errno error as its cause', () => {
    const cause = Object.assign(new Error('open'), { code: 'ENOENT', errno: -2 });
    const error = NetError.fromNode(cause, 'setSysctl net.ipv4.x=1');
    expect(error).toMatchObject({ code: 'ENOENT', errno: 2, cause });
  });
});
