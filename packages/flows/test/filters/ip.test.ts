import { describe, expect, it } from 'vitest';

import { parseCidr, parseIp, prefixContains, sameIp } from '../../src/filters/ip.js';

const bytes = (text: string): number[] => [...(parseIp(text) ?? [])];

describe('parseIp', () => {
  it.each([
    ['10.0.0.1', [10, 0, 0, 1]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['::', new Array(16).fill(0)],
    ['::1', [...new Array(15).fill(0), 1]],
    ['fd00::1:2', [0xfd, 0, ...new Array(10).fill(0), 0, 1, 0, 2]],
    ['2001:db8:0:0:0:0:0:ff', [0x20, 0x01, 0x0d, 0xb8, ...new Array(10).fill(0), 0, 0xff]],
    ['::ffff:10.0.0.1', [...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]],
  ])('reads %s', (text, expected) => {
    expect(bytes(text)).toEqual(expected);
  });

  it.each(['', '10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1.2', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', 'fe80::1%eth0', '1.2.3.4::', ':1', 'abc', '10.1', '0x0a.0.0.1', '167772161'])(
    'refuses %j',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
    },
  );

  it('reads the same address written two ways as the same', () => {
    expect(sameIp(parseIp('fd00:0:0::1')!, parseIp('FD00::0001')!)).toBe(true);
    expect(sameIp(parseIp('10.0.0.1')!, parseIp('::ffff:10.0.0.1')!)).toBe(false);
  });
});

describe('CIDR prefixes', () => {
  it.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.1.2.3/8', '10.9.9.9', true],
    ['192.168.1.0/25', '192.168.1.127', true],
    ['192.168.1.0/25', '192.168.1.128', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['0.0.0.0/0', '::1', false],
    ['1.2.3.4/32', '1.2.3.4', true],
    ['1.2.3.4/32', '1.2.3.5', false],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', 'fe00::1', false],
    ['2001:db8::/33', '2001:db8:7fff::1', true],
    ['2001:db8::/33', '2001:db8:8000::1', false],
    ['::/0', '::1', true],
  ])('%s contains %s: %s', (prefix, address, expected) => {
    expect(prefixContains(parseCidr(prefix)!, parseIp(address)!)).toBe(expected);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/08', 'fd00::/129', '/8', '10.0.0.0/', 'x/8'])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});
