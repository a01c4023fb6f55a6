// What the speaker says it holds (`twill bgp routes`): every path per prefix, the best
// first, with its attributes in words, filtered by source peer and by an enclosing CIDR.
// The filtered queries (which look up the prefixes inside a long CIDR rather than walk the
// table) must give exactly what filtering the whole list gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type BgpUpdate, type HeldRoute, type PeerId, type Rib, type RouteQuery, BgpInvalidArgument, BgpSpeaker, CollectingFibSink, asn, parsePrefix, peerId, queryRoutes, routerId } from '@twill/bgp';

import { announce, makeRib, path, peer } from '../rib/helpers.js';

import { ManualClock, MemoryNetwork } from './helpers.js';

/** Speaker A (10.0.0.1, AS 65001) and B (10.0.0.2, AS 65002, passive), graceful restart on both. */
async function pair(): Promise<{ clock: ManualClock; net: MemoryNetwork; a: BgpSpeaker; b: BgpSpeaker }> {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.1'), clock, gracefulRestart: { restartTime: 60 } });
  const b = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.0.0.2'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.2'), clock, gracefulRestart: { restartTime: 60 } });
  a.addPeer({ address: '10.0.0.2', asn: asn(65002), idleHold: { initial: 1, max: 2 } });
  b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true, idleHold: { initial: 1, max: 2 } });
  await b.start();
  await a.start();
  await clock.advance(100);
  return { clock, net, a, b };
}

describe('BgpSpeaker.routes', () => {
  it('lists the paths of each prefix, the best first, with attributes in words and numbers', async () => {
    const { clock, a, b } = await pair();
    a.originate('10.244.1.0/26', { med: 5, communities: [65001 * 65536 + 7], largeCommunities: [{ globalAdministrator: 65001, localData1: 1, localData2: 2 }] });
    b.originate('10.244.2.0/26');
    // The same prefix from both: B holds its own (local wins) and A's.
    a.originate('10.244.9.0/24');
    b.originate('10.244.9.0/24', { origin: 2 });
    await clock.advance(100);

    expect(b.routes()).toEqual<HeldRoute[]>([
      {
        prefix: '10.244.1.0/26',
        best: true,
        from: '10.0.0.1',
        nextHop: '10.0.0.1',
        asPath: [65001],
        origin: 'igp',
        med: 5,
        communities: ['65001:7'],
        largeCommunities: ['65001:1:2'],
        stale: false,
      },
      { prefix: '10.244.2.0/26', best: true, from: 'local', nextHop: '0.0.0.0', asPath: [], origin: 'igp', communities: [], largeCommunities: [], stale: false },
      { prefix: '10.244.9.0/24', best: true, from: 'local', nextHop: '0.0.0.0', asPath: [], origin: 'incomplete', communities: [], largeCommunities: [], stale: false },
      { prefix: '10.244.9.0/24', best: false, from: '10.0.0.1', nextHop: '10.0.0.1', asPath: [65001], origin: 'igp', communities: [], largeCommunities: [], stale: false },
    ]);
  });

  it('filters by the peer a path came from, "local" for originated ones', async () => {
    const { clock, a, b } = await pair();
    a.originate('10.244.1.0/26');
    a.originate('10.244.9.0/24');
    b.originate('10.244.9.0/24');
    await clock.advance(100);
    expect(b.routes({ peer: '10.0.0.1' }).map((r) => `${r.prefix} ${r.from} ${r.best}`)).toEqual(['10.244.1.0/26 10.0.0.1 true', '10.244.9.0/24 10.0.0.1 false']);
    expect(b.routes({ peer: 'local' }).map((r) => `${r.prefix} ${r.from}`)).toEqual(['10.244.9.0/24 local']);
    // An address no peer has: nothing, not an error.
    expect(b.routes({ peer: '10.0.0.77' })).toEqual([]);
    expect(b.routes({ peer: '10.0.0.1', prefix: '10.244.9.0/24' }).map((r) => r.from)).toEqual(['10.0.0.1']);
  });

  it('keeps the routes equal to or inside a CIDR, and says what is wrong with a bad filter', async () => {
    const { clock, a, b } = await pair();
    for (const p of ['10.244.0.0/16', '10.244.1.0/26', '10.244.1.64/26', '10.245.0.0/24', '10.0.0.0/8']) a.originate(p);
    await clock.advance(100);
    const prefixes = (cidr: string): string[] => b.routes({ prefix: cidr }).map((r) => r.prefix);
    expect(prefixes('10.244.0.0/16')).toEqual(['10.244.0.0/16', '10.244.1.0/26', '10.244.1.64/26']);
    expect(prefixes('10.244.1.0/24')).toEqual(['10.244.1.0/26', '10.244.1.64/26']);
    expect(prefixes('10.244.1.64/26')).toEqual(['10.244.1.64/26']);
    expect(prefixes('10.244.1.64/27')).toEqual([]);
    expect(prefixes('0.0.0.0/0')).toEqual(['10.0.0.0/8', '10.244.0.0/16', '10.244.1.0/26', '10.244.1.64/26', '10.245.0.0/24']);
    expect(prefixes('fd00::/8')).toEqual([]);

    expect(() => b.routes({ prefix: '10.244.1.0' })).toThrow(new BgpInvalidArgument('prefix filter "10.244.1.0" is not a CIDR: give the length too (10.244.0.0/16, fd00::/64)'));
    expect(() => b.routes({ prefix: '10.244.1.1/24' })).toThrow(/^prefix filter: .*10\.244\.1\.1\/24/);
    expect(() => b.routes({ peer: 'node-2' })).toThrow(new BgpInvalidArgument('peer filter "node-2" is not an IP address (nor "local", for the routes this node originates)'));
  });

  it('marks the routes of a restarting peer stale until it sends them again', async () => {
    const { clock, a, b } = await pair();
    a.originate('10.244.1.0/26');
    await clock.advance(100);
    await a.stopForRestart();
    await clock.advance(100);
    expect(b.routes({ peer: '10.0.0.1' })).toMatchObject([{ prefix: '10.244.1.0/26', stale: true, best: true }]);
  });

  it('holds nothing before any route', async () => {
    const { b } = await pair();
    expect(b.routes()).toEqual([]);
    expect(b.routes({ prefix: '10.0.0.0/8' })).toEqual([]);
  });
});

/** An IPv6 announcement through MP_REACH_NLRI (RFC 4760). */
function announce6(prefixes: string[], nextHop: string, asns: number[]): BgpUpdate {
  return { type: 'update', withdrawn: [], attributes: { origin: 0, asPath: path(...asns), mpReach: { afi: 2, safi: 1, nextHops: [nextHop], nlri: prefixes.map((p) => ({ prefix: parsePrefix(p) })) } }, nlri: [] };
}

/** Is `inner` equal to or inside `outer`, by their bits (the reference the query must agree with). */
function inside(inner: string, outer: string): boolean {
  const a = parsePrefix(inner);
  const b = parsePrefix(outer);
  if (a.family !== b.family || a.length < b.length) return false;
  for (let bit = 0; bit < b.length; bit += 1) {
    const mask = 0x80 >> (bit & 7);
    if (((a.bytes[bit >> 3] ?? 0) & mask) !== ((b.bytes[bit >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

function text(bytes: number[], length: number, family: 4 | 6): string {
  if (family === 4) return `${bytes.slice(0, 4).join('.')}/${length}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return `${groups.join(':')}/${length}`;
}

/** A prefix near a base (so that filters often contain several), host bits cleared. */
function nearPrefix(family: 4 | 6, base: number[], minLength: number): fc.Arbitrary<string> {
  const bits = family === 4 ? 32 : 128;
  return fc.tuple(fc.integer({ min: minLength, max: bits }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 255 })).map(([length, x, y]) => {
    const bytes = [...base];
    bytes[bits / 8 - 2] = x;
    bytes[bits / 8 - 1] = y;
    for (let bit = length; bit < bits; bit += 1) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) & ~(0x80 >> (bit & 7));
    return text(bytes, length, family);
  });
}

const V4_BASE = [10, 1, 0, 0];
const V6_BASE = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

describe('queryRoutes', () => {
  it('gives exactly the whole list filtered, for any CIDR and peer (lookups inside long CIDRs, a walk for short ones)', () => {
    const routes = fc.record({
      local: fc.array(fc.oneof(nearPrefix(4, V4_BASE, 16), nearPrefix(6, V6_BASE, 112)), { maxLength: 8 }),
      fromA: fc.array(nearPrefix(4, V4_BASE, 16), { maxLength: 30 }),
      fromB: fc.array(nearPrefix(4, V4_BASE, 16), { maxLength: 30 }),
      fromB6: fc.array(nearPrefix(6, V6_BASE, 112), { maxLength: 30 }),
      filter: fc.oneof(nearPrefix(4, V4_BASE, 0), nearPrefix(6, V6_BASE, 100)),
      peer: fc.constantFrom(undefined, '10.0.0.2', '10.0.0.3', 'local'),
    });
    fc.assert(
      fc.property(routes, ({ local, fromA, fromB, fromB6, filter, peer: source }) => {
        const { rib } = makeRib();
        rib.peerUp(peer('10.0.0.2', 65002));
        rib.peerUp(peer('10.0.0.3', 65003));
        for (const p of local) rib.originate(parsePrefix(p));
        if (fromA.length > 0) rib.receive(peerId('10.0.0.2'), announce(fromA, { nextHop: '10.0.0.2', asPath: path(65002) }));
        if (fromB.length > 0) rib.receive(peerId('10.0.0.3'), announce(fromB, { nextHop: '10.0.0.3', asPath: path(65003, 65010) }));
        if (fromB6.length > 0) rib.receive(peerId('10.0.0.3'), announce6(fromB6, 'fd00::3', [65003]));
        rib.flush();
        const peers: { address: string; id: PeerId }[] = [
          { address: '10.0.0.2', id: peerId('10.0.0.2') },
          { address: '10.0.0.3', id: peerId('10.0.0.3') },
        ];
        const all = queryRoutes(rib, peers);
        const expected = all.filter((r) => inside(r.prefix, filter) && (source === undefined || r.from === source));
        expect(queryRoutes(rib, peers, { prefix: filter, ...(source === undefined ? {} : { peer: source }) })).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('looks up the prefixes inside a /24 of a large table instead of walking it, and walks for a /16, both equal to filtering the list', () => {
    const { rib } = makeRib();
    rib.peerUp(peer('10.0.0.2', 65002));
    const prefixes: string[] = [];
    for (let i = 0; i < 6000; i += 1) prefixes.push(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
    prefixes.push('10.3.7.128/25', '10.3.0.0/16', '10.3.6.0/23');
    for (let i = 0; i < prefixes.length; i += 500) rib.receive(peerId('10.0.0.2'), announce(prefixes.slice(i, i + 500), { nextHop: '10.0.0.2', asPath: path(65002) }));
    rib.flush();
    // What the query asks of the RIB: the keys it looks up, or a walk.
    const asked: string[] = [];
    const spy = {
      size: rib.size,
      queryPaths: (query: RouteQuery) => {
        if (!query.keys) {
          asked.push('walk');
          return rib.queryPaths(query);
        }
        const keys = [...query.keys];
        asked.push(`${keys.length} lookups`);
        return rib.queryPaths({ ...query, keys });
      },
    } as unknown as Rib;
    const peers = [{ address: '10.0.0.2', id: peerId('10.0.0.2') }];
    const all = queryRoutes(rib, peers);
    expect(all).toHaveLength(6003);
    for (const cidr of ['10.3.7.0/24', '10.3.0.0/16', '10.3.6.0/23', '10.3.7.128/25']) {
      expect(queryRoutes(spy, peers, { prefix: cidr })).toEqual(all.filter((r) => inside(r.prefix, cidr)));
    }
    // A /24 holds 2^9 - 1 prefixes of lengths 24..32, well under the table's 6003 / 8; a /23
    // holds 1023, over that, and a /16 2^17 - 1, more than the table: both walk.
    expect(asked).toEqual(['511 lookups', 'walk', 'walk', '255 lookups']);
    expect(queryRoutes(rib, peers, { prefix: '10.3.7.0/24' }).map((r) => r.prefix)).toEqual(['10.3.7.0/24', '10.3.7.128/25']);
  });

  it('matches a peer however its IPv6 address is written', () => {
    const { rib } = makeRib();
    rib.peerUp({ id: peerId('fd00::2'), address: 'fd00::2', asn: asn(65002), routerId: routerId('10.0.0.2'), localAddress: 'fd00::1' });
    rib.receive(peerId('fd00::2'), announce6(['fd00:1::/64'], 'fd00::2', [65002]));
    rib.flush();
    const peers = [{ address: 'fd00::2', id: peerId('fd00::2') }];
    expect(queryRoutes(rib, peers, { peer: 'FD00:0:0::0002' }).map((r) => `${r.prefix} ${r.from} ${r.nextHop}`)).toEqual(['fd00:1::/64 fd00::2 fd00::2']);
  });
});
