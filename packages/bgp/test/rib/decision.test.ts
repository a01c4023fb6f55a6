// The decision process of RFC 4271 §9.1.2.2 / RFC 4456 §9, one tie-breaker per row:
// two routes that differ only in that step; the expected winner is named.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type RibPeerConfig, type RouteAttributes, parsePrefix, routerId } from '@twill/bgp';

import { announce, id, makeRib, path, peer } from './helpers.js';

interface Row {
  readonly step: string;
  readonly a: { peer: RibPeerConfig; attrs: Partial<RouteAttributes> & { nextHop: string } };
  readonly b: { peer: RibPeerConfig; attrs: Partial<RouteAttributes> & { nextHop: string } };
  readonly winner: 'a' | 'b';
  readonly options?: { alwaysCompareMed?: boolean; igpCost?: (nh: string) => number | undefined };
}

const ebgp1 = peer('192.0.2.1', 65001);
const ebgp2 = peer('192.0.2.2', 65002);
const ebgp1b = peer('192.0.2.3', 65001);
const ibgp1 = peer('10.0.0.2', 65000);
const ibgp2 = peer('10.0.0.3', 65000);

const rows: Row[] = [
  { step: 'a. higher LOCAL_PREF', a: { peer: ibgp1, attrs: { nextHop: '10.0.0.2', localPref: 200, asPath: path(1, 2, 3) } }, b: { peer: ibgp2, attrs: { nextHop: '10.0.0.3', localPref: 100, asPath: path(1) } }, winner: 'a' },
  { step: 'a. missing LOCAL_PREF counts 100', a: { peer: ibgp1, attrs: { nextHop: '10.0.0.2', localPref: 99 } }, b: { peer: ibgp2, attrs: { nextHop: '10.0.0.3' } }, winner: 'b' },
  { step: 'b. shorter AS_PATH', a: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: path(65001, 7, 8) } }, b: { peer: ebgp2, attrs: { nextHop: '192.0.2.2', asPath: path(65002, 7) } }, winner: 'b' },
  {
    step: 'b. an AS_SET counts 1',
    a: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: [...path(65001), { type: 1, asns: path(7, 8, 9)[0]!.asns }] } },
    b: { peer: ebgp2, attrs: { nextHop: '192.0.2.2', asPath: path(65002, 7, 8) } },
    winner: 'a',
  },
  { step: 'c. lower ORIGIN', a: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: path(65001), origin: 2 } }, b: { peer: ebgp2, attrs: { nextHop: '192.0.2.2', asPath: path(65002), origin: 1 } }, winner: 'b' },
  { step: 'd. lower MED, same neighbour AS', a: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: path(65001), med: 5 } }, b: { peer: ebgp1b, attrs: { nextHop: '192.0.2.3', asPath: path(65001), med: 10 } }, winner: 'a' },
  { step: 'd. missing MED is lowest', a: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: path(65001), med: 5 } }, b: { peer: ebgp1b, attrs: { nextHop: '192.0.2.3', asPath: path(65001) } }, winner: 'b' },
  {
    step: 'd. MED ignored across neighbour ASes (router id decides)',
    a: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: path(65001), med: 50 } },
    b: { peer: ebgp2, attrs: { nextHop: '192.0.2.2', asPath: path(65002), med: 10 } },
    winner: 'a',
  },
  {
    step: 'd. always-compare-med',
    a: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: path(65001), med: 50 } },
    b: { peer: ebgp2, attrs: { nextHop: '192.0.2.2', asPath: path(65002), med: 10 } },
    winner: 'b',
    options: { alwaysCompareMed: true },
  },
  { step: 'e. eBGP over iBGP', a: { peer: ibgp1, attrs: { nextHop: '10.0.0.2', asPath: path(65001) } }, b: { peer: ebgp1, attrs: { nextHop: '192.0.2.1', asPath: path(65001) } }, winner: 'b' },
  {
    step: 'f. lower IGP cost to the next hop',
    a: { peer: ibgp1, attrs: { nextHop: '10.9.9.1' } },
    b: { peer: ibgp2, attrs: { nextHop: '10.9.9.2' } },
    winner: 'b',
    options: { igpCost: (nh) => (nh === '10.9.9.1' ? 20 : 10) },
  },
  {
    step: 'f. an unresolvable next hop is not eligible',
    a: { peer: ibgp1, attrs: { nextHop: '10.9.9.1', localPref: 500 } },
    b: { peer: ibgp2, attrs: { nextHop: '10.9.9.2' } },
    winner: 'b',
    options: { igpCost: (nh) => (nh === '10.9.9.1' ? undefined : 1) },
  },
  { step: 'g. lower router id', a: { peer: ibgp2, attrs: { nextHop: '10.0.0.3' } }, b: { peer: ibgp1, attrs: { nextHop: '10.0.0.2' } }, winner: 'b' },
  {
    step: 'g. ORIGINATOR_ID stands for the router id of a reflected route',
    a: { peer: ibgp1, attrs: { nextHop: '10.0.0.2', originatorId: '10.0.0.9', clusterList: ['10.0.0.50'] } },
    b: { peer: ibgp2, attrs: { nextHop: '10.0.0.3', originatorId: '10.0.0.8', clusterList: ['10.0.0.50'] } },
    winner: 'b',
  },
  {
    step: 'h. shorter CLUSTER_LIST',
    a: { peer: ibgp1, attrs: { nextHop: '10.0.0.2', originatorId: '10.0.0.8', clusterList: ['10.0.0.50', '10.0.0.51'] } },
    b: { peer: ibgp2, attrs: { nextHop: '10.0.0.3', originatorId: '10.0.0.8', clusterList: ['10.0.0.50'] } },
    winner: 'b',
  },
  {
    step: 'i. lower peer address',
    a: { peer: peer('10.0.0.7', 65000, { routerId: routerId('10.0.0.8') }), attrs: { nextHop: '10.0.0.7', originatorId: '10.0.0.8' } },
    b: { peer: peer('10.0.0.6', 65000, { routerId: routerId('10.0.0.9') }), attrs: { nextHop: '10.0.0.6', originatorId: '10.0.0.8' } },
    winner: 'b',
  },
];

describe('decision process (RFC 4271 §9.1.2.2)', () => {
  it.each(rows)('$step', ({ a, b, winner, options }) => {
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const { rib } = makeRib(options);
      for (const r of order) {
        rib.peerUp(r.peer);
        rib.receive(r.peer.id, announce(['10.1.0.0/16'], r.attrs));
      }
      expect(rib.best(parsePrefix('10.1.0.0/16'))?.peer).toBe((winner === 'a' ? a : b).peer.id);
    }
  });

  it('prefers a locally originated route', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(ebgp1);
    rib.receive(ebgp1.id, announce(['10.1.0.0/16'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.originate(parsePrefix('10.1.0.0/16'));
    rib.flush();
    expect(rib.best(parsePrefix('10.1.0.0/16'))?.peer).toBeUndefined();
    // The local route replaced the learned one: it leaves the FIB.
    expect(fib.batches.flatMap((b) => b.remove)).toHaveLength(0);
    expect(fib.batches.flatMap((b) => b.add)).toHaveLength(0);
  });

  it('the best path does not depend on the order routes arrive (property)', () => {
    const peers = [peer('192.0.2.1', 65001), peer('192.0.2.2', 65002), peer('192.0.2.3', 65001), peer('10.0.0.2', 65000), peer('10.0.0.3', 65000)];
    const route = fc.record({
      peer: fc.integer({ min: 0, max: peers.length - 1 }),
      localPref: fc.option(fc.constantFrom(100, 200), { nil: undefined }),
      med: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      origin: fc.constantFrom(0, 1, 2),
      extra: fc.integer({ min: 0, max: 2 }),
      firstAs: fc.constantFrom(65001, 65002, 65003),
    });
    fc.assert(
      fc.property(fc.uniqueArray(route, { selector: (r) => r.peer, minLength: 1, maxLength: 5 }), fc.func(fc.integer()), (routes, shuffleKey) => {
        const run = (list: typeof routes): string | undefined => {
          const { rib } = makeRib();
          for (const p of peers) rib.peerUp(p);
          for (const r of list) {
            const p = peers[r.peer]!;
            const firstAs = p.asn === 65000 ? r.firstAs : p.asn;
            rib.receive(p.id, announce(['10.1.0.0/16'], {
              nextHop: p.address,
              origin: r.origin as 0 | 1 | 2,
              asPath: path(firstAs, ...Array<number>(r.extra).fill(7)),
              ...(r.med === undefined ? {} : { med: r.med }),
              ...(r.localPref === undefined || p.asn !== 65000 ? {} : { localPref: r.localPref }),
            }));
          }
          return rib.best(parsePrefix('10.1.0.0/16'))?.peer;
        };
        const shuffled = [...routes].sort((x, y) => shuffleKey(x) - shuffleKey(y) || x.peer - y.peer);
        const reversed = [...routes].reverse();
        const expected = run(routes);
        expect(run(shuffled)).toBe(expected);
        expect(run(reversed)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps ADD-PATH paths from one peer apart and breaks the tie on the path id', () => {
    const { rib } = makeRib();
    rib.peerUp(ibgp1);
    rib.receive(id('10.0.0.2'), announce(['10.1.0.0/16'], { nextHop: '10.0.0.20' }, 7));
    rib.receive(id('10.0.0.2'), announce(['10.1.0.0/16'], { nextHop: '10.0.0.21' }, 3));
    expect(rib.paths(parsePrefix('10.1.0.0/16')).map((p) => [p.pathId, p.best])).toEqual([
      [3, true],
      [7, false],
    ]);
    rib.receive(id('10.0.0.2'), { type: 'update', withdrawn: [{ prefix: parsePrefix('10.1.0.0/16'), pathId: 3 }], attributes: {}, nlri: [] });
    expect(rib.best(parsePrefix('10.1.0.0/16'))?.attributes.nextHop).toBe('10.0.0.20');
  });
});
