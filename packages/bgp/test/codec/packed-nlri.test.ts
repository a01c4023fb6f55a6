// The packed UPDATE decoder gives what decodeUpdate gives, with the IPv4 NLRI fields
// walked by a cursor instead of built as objects; and it rejects what decodeUpdate rejects.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type BgpPrefix, type PackedNlri, Ipv4NlriCursor, decodeUpdate, decodeUpdatePacked, encodeUpdate, prefixToText, unpackNlri } from '@twill/bgp';

import { STATES, updateOf } from './arbitraries.js';
import { BASE_ATTRIBUTES_4, FOUR_OCTET, expectNotification, update } from './helpers.js';

function walk(field: PackedNlri): string[] {
  const out: string[] = [];
  const cursor = new Ipv4NlriCursor(field);
  while (cursor.next()) {
    const prefix: BgpPrefix = cursor.prefix();
    out.push(`${prefixToText(prefix)}${field.addPath ? `#${cursor.pathId}` : ''}`);
  }
  return out;
}

describe.each(STATES)('decodeUpdatePacked with %s', (_name, state) => {
  it('agrees with decodeUpdate, through the cursor and through unpackNlri', () => {
    fc.assert(
      fc.property(updateOf(state), (u) => {
        const bytes = encodeUpdate(u, state);
        const full = decodeUpdate(bytes, state);
        const packed = decodeUpdatePacked(bytes, state);
        expect(packed.attributes).toEqual(full.attributes);
        expect(packed.error).toEqual(full.error);
        expect(unpackNlri(packed.nlri)).toEqual(full.nlri);
        expect(unpackNlri(packed.withdrawn)).toEqual(full.withdrawn);
        const text = (list: typeof full.nlri): string[] => list.map((n) => `${prefixToText(n.prefix)}${packed.nlri.addPath ? `#${n.pathId}` : ''}`);
        expect(walk(packed.nlri)).toEqual(text(full.nlri));
        expect(walk(packed.withdrawn)).toEqual(text(full.withdrawn));
      }),
      { numRuns: 150 },
    );
  });
});

describe('Ipv4NlriCursor', () => {
  it('clears the bits after the prefix length (RFC 4271 §4.3) and reads /0 and /32', () => {
    const bytes = update({ attributes: BASE_ATTRIBUTES_4, nlri: [0, 20, 10, 1, 0xff, 32, 192, 0, 2, 1, 9, 0xff, 0xff] });
    expect(walk(decodeUpdatePacked(bytes, FOUR_OCTET).nlri)).toEqual(['0.0.0.0/0', '10.1.240.0/20', '192.0.2.1/32', '255.128.0.0/9']);
  });

  it('rejects the NLRI field decodeUpdate rejects, with the same NOTIFICATION', () => {
    const corpus: number[][] = [
      [33, 10, 0, 0, 0, 0], // /33 for IPv4
      [24, 10, 0], // prefix runs past the end
      [8], // length octet alone
    ];
    for (const nlri of corpus) {
      const bytes = update({ attributes: BASE_ATTRIBUTES_4, nlri });
      const full = expectNotification(() => decodeUpdate(bytes, FOUR_OCTET));
      const packed = expectNotification(() => decodeUpdatePacked(bytes, FOUR_OCTET));
      expect([packed.errorCode, packed.errorSubcode, packed.reason]).toEqual([full.errorCode, full.errorSubcode, full.reason]);
      expect([packed.errorCode, packed.errorSubcode]).toEqual([3, 10]);
    }
  });
});
