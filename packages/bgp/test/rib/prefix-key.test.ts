// Compact RIB keys: unique per prefix, reversible, small integers for IPv4 up to /29.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ipv4Key, makePrefix, parsePrefix, prefixFromKey, prefixKey } from '@twill/bgp';

describe('prefixKey', () => {
  it.each([
    ['0.0.0.0/0', 1],
    ['10.0.0.0/8', 256 + 10],
    ['11.0.0.0/24', 2 ** 24 + 11 * 65536],
    ['128.0.0.0/1', 2 + 1],
    ['255.255.255.252/30', 2 ** 31 - 1],
    ['255.255.255.254/31', 2 ** 32 - 1],
    ['0.0.0.0/31', 2 ** 31],
    ['255.255.255.255/32', 2 ** 33 - 1],
    ['2001:db8::/32', '32/20010db8'],
  ])('%s → %s', (text, key) => {
    expect(prefixKey(parsePrefix(text))).toBe(key);
    expect(prefixFromKey(key)).toEqual(parsePrefix(text));
  });

  it('round-trips every IPv4 and IPv6 prefix (property)', () => {
    const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, l]) => makePrefix(4, b, l));
    const v6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, l]) => makePrefix(6, b, l));
    fc.assert(fc.property(fc.oneof(v4, v6), (p) => {
        expect(prefixFromKey(prefixKey(p))).toEqual(p);
      }));
  });

  it('is the same from a 32-bit address and a length, host bits set or not (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), (address, length) => {
        const network = length === 0 ? 0 : Math.floor(address / 2 ** (32 - length));
        expect(ipv4Key(address, length)).toBe(2 ** length + network);
        const bytes = Uint8Array.of(address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff);
        expect(ipv4Key(address, length)).toBe(prefixKey(makePrefix(4, bytes, length)));
      }),
    );
  });
});
