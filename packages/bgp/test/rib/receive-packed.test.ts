// Rib.receive takes UPDATEs with packed IPv4 NLRI fields (as the speaker decodes them)
// and holds exactly what the decoded form gives, ADD-PATH path ids included.
import { type BgpUpdate, type NegotiatedState, INITIAL_NEGOTIATED_STATE, decodeUpdate, decodeUpdatePacked, encodeUpdate, prefixToText } from '@twill/bgp';
import { describe, expect, it } from 'vitest';

import { announce, makeRib, path, peer, withdraw } from './helpers.js';

const ADD_PATH: NegotiatedState = { ...INITIAL_NEGOTIATED_STATE, fourOctetAs: true, addPathReceive: [{ afi: 1, safi: 1 }], addPathSend: [{ afi: 1, safi: 1 }] };

function held(form: 'packed' | 'decoded', updates: readonly BgpUpdate[], state: NegotiatedState): string[] {
  const { rib } = makeRib();
  const a = peer('192.0.2.1', 65001);
  rib.peerUp(a);
  for (const u of updates) {
    const bytes = encodeUpdate(u, state);
    rib.receive(a.id, form === 'packed' ? decodeUpdatePacked(bytes, state) : decodeUpdate(bytes, state));
  }
  rib.flush();
  return Array.from(rib.adjRibIn(a.id), (r) => `${prefixToText(r.prefix)}#${r.pathId} via ${r.attributes.nextHop}`).sort();
}

describe('Rib.receive with packed NLRI', () => {
  const updates = (pathId?: number): BgpUpdate[] => [
    announce(['10.1.0.0/24', '10.2.0.0/16', '10.3.3.3/32', '0.0.0.0/0'], { nextHop: '192.0.2.1', asPath: path(65001) }, pathId),
    announce(['10.1.0.0/24'], { nextHop: '192.0.2.9', asPath: path(65001) }, pathId === undefined ? undefined : pathId + 1),
    withdraw(['10.2.0.0/16'], pathId),
  ];

  it('holds the same routes as from decoded UPDATEs', () => {
    const state = { ...INITIAL_NEGOTIATED_STATE, fourOctetAs: true };
    expect(held('packed', updates(), state)).toEqual(held('decoded', updates(), state));
    expect(held('packed', updates(), state)).toEqual(['0.0.0.0/0#0 via 192.0.2.1', '10.1.0.0/24#0 via 192.0.2.9', '10.3.3.3/32#0 via 192.0.2.1']);
  });

  it('keeps ADD-PATH path identifiers apart', () => {
    expect(held('packed', updates(7), ADD_PATH)).toEqual(held('decoded', updates(7), ADD_PATH));
    expect(held('packed', updates(7), ADD_PATH)).toContain('10.1.0.0/24#8 via 192.0.2.9');
  });

  it('withdraws every prefix of packed fields of any length (taken in groups of 16), and only those', () => {
    const state = { ...INITIAL_NEGOTIATED_STATE, fourOctetAs: true };
    const prefixes = Array.from({ length: 70 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const from = { nextHop: '192.0.2.1', asPath: path(65001) };
    for (const count of [1, 15, 16, 17, 32, 33, 69]) {
      // Withdrawn in a scattered order, with one prefix never announced among them.
      const gone = Array.from({ length: count }, (_, i) => prefixes[(i * 29) % 70] as string);
      const updates = [announce(prefixes, from), withdraw([...gone, '172.16.0.0/24'])];
      const kept = prefixes.filter((p) => !gone.includes(p));
      const expected = kept.map((p) => `${p}#0 via 192.0.2.1`).sort();
      expect(held('packed', updates, state)).toEqual(expected);
      expect(held('decoded', updates, state)).toEqual(expected);
    }
  });
});
