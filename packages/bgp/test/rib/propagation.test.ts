// What the RIB advertises and installs: FIB batches, per-peer UPDATE deltas grouped by
// attributes, eBGP rewrites, iBGP split horizon, route reflection with loop
// prevention, next-hop-self, AS-path loops, the prefix limit, graceful restart.
import { describe, expect, it } from 'vitest';

import { type FlushResult, type PeerId, type RouteAttributes, compilePolicy, parsePrefix, prefixToText } from '@twill/bgp';

import { announce, id, makeRib, path, peer, plainBatches, withdraw } from './helpers.js';

function groupOrder(a: RouteAttributes): string {
  // NUL separators: a path sorts before its extensions.
  return [(a.asPath ?? []).flatMap((s) => s.asns).join(' '), a.nextHop, a.med ?? '', a.localPref ?? ''].join('\u0000');
}

function sent(result: FlushResult, to: PeerId): { withdrawn: string[]; announced: { nextHop: string; asPath: string; nlri: string[]; originatorId?: string; clusterList?: readonly string[]; localPref?: number; med?: number }[] } {
  const d = result.updates.get(to);
  // The order of prefixes (and of groups) in what a flush sends carries no meaning: sorted.
  return {
    withdrawn: (d?.withdrawn ?? []).map((n) => prefixToText(n.prefix)).sort(),
    announced: [...(d?.announced ?? [])].sort((a, b) => (groupOrder(a.attributes) < groupOrder(b.attributes) ? -1 : 1)).map((g) => ({
      nextHop: g.attributes.nextHop,
      asPath: (g.attributes.asPath ?? []).flatMap((s) => s.asns).join(' '),
      nlri: g.nlri.map((n) => prefixToText(n.prefix)).sort(),
      ...(g.attributes.originatorId ? { originatorId: g.attributes.originatorId } : {}),
      ...(g.attributes.clusterList ? { clusterList: g.attributes.clusterList } : {}),
      ...(g.attributes.localPref !== undefined ? { localPref: g.attributes.localPref } : {}),
      ...(g.attributes.med !== undefined ? { med: g.attributes.med } : {}),
    })),
  };
}

const ext = peer('192.0.2.1', 65001);
const ext2 = peer('198.51.100.1', 65002);
const ib1 = peer('10.0.0.2', 65000);
const ib2 = peer('10.0.0.3', 65000);

describe('FIB and UPDATE batches', () => {
  it('one flush gives one FIB batch and one UPDATE group per attribute set', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(ext);
    rib.peerUp(ext2);
    rib.receive(ext.id, announce(['10.1.0.0/24', '10.1.1.0/24'], { nextHop: '192.0.2.1', asPath: path(65001), med: 7 }));
    rib.receive(ext.id, announce(['10.2.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001, 65010) }));
    const result = rib.flush();
    expect(plainBatches(fib)).toEqual([{ add: ['10.1.0.0/24', '10.1.1.0/24', '10.2.0.0/24'].map((p) => ({ prefix: parsePrefix(p), nextHops: ['192.0.2.1'] })), remove: [] }]);
    // eBGP: our AS prepended, our next hop, the neighbour AS's MED not passed on (RFC 4271 §5.1.4).
    expect(sent(result, ext2.id)).toEqual({
      withdrawn: [],
      announced: [
        { nextHop: '10.0.0.1', asPath: '65000 65001', nlri: ['10.1.0.0/24', '10.1.1.0/24'] },
        { nextHop: '10.0.0.1', asPath: '65000 65001 65010', nlri: ['10.2.0.0/24'] },
      ],
    });
    expect(result.updates.has(ext.id)).toBe(false); // nothing back to the source
    // Nothing changed: nothing to send or install.
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001), med: 7 }));
    expect(rib.flush().updates.size).toBe(0);
    expect(fib.batches).toHaveLength(1);
  });

  it('a withdrawal falls back to the next best path, or removes the route', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(ext);
    rib.peerUp(ext2);
    rib.peerUp(ib1);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(ext2.id, announce(['10.1.0.0/24'], { nextHop: '198.51.100.1', asPath: path(65002, 9) }));
    rib.flush();
    rib.receive(ext.id, withdraw(['10.1.0.0/24']));
    let result = rib.flush();
    expect(plainBatches(fib).at(-1)).toEqual({ add: [{ prefix: parsePrefix('10.1.0.0/24'), nextHops: ['198.51.100.1'] }], remove: [] });
    expect(sent(result, ib1.id).announced).toEqual([{ nextHop: '198.51.100.1', asPath: '65002 9', nlri: ['10.1.0.0/24'], localPref: 100 }]);
    rib.receive(ext2.id, withdraw(['10.1.0.0/24']));
    result = rib.flush();
    expect(plainBatches(fib).at(-1)).toEqual({ add: [], remove: [parsePrefix('10.1.0.0/24')] });
    expect(sent(result, ib1.id).withdrawn).toEqual(['10.1.0.0/24']);
  });

  it('a peer that comes up gets the whole table; a refresh sends it again', () => {
    const { rib } = makeRib();
    rib.peerUp(ext);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.originate(parsePrefix('10.9.0.0/26'));
    rib.flush();
    rib.peerUp(ext2);
    expect(sent(rib.flush(), ext2.id).announced.map((g) => g.nlri).flat().sort()).toEqual(['10.1.0.0/24', '10.9.0.0/26']);
    expect(rib.flush().updates.size).toBe(0);
    rib.refresh(ext2.id);
    expect(rib.flush().updates.size).toBe(0); // the Adj-RIB-Out already matches
    expect(rib.peerStats(ext2.id).advertised).toBe(2);
  });
});

describe('iBGP split horizon and route reflection (RFC 4456)', () => {
  it('does not pass iBGP routes to iBGP peers without reflection', () => {
    const { rib } = makeRib();
    for (const p of [ib1, ib2, ext]) rib.peerUp(p);
    rib.receive(ib1.id, announce(['10.1.0.0/24'], { nextHop: '10.0.0.2' }));
    const r = rib.flush();
    expect(r.updates.has(ib2.id)).toBe(false);
    expect(sent(r, ext.id).announced).toEqual([{ nextHop: '10.0.0.1', asPath: '65000', nlri: ['10.1.0.0/24'] }]);
  });

  it('reflects client routes to clients and non-clients, non-client routes to clients only', () => {
    const { rib } = makeRib({ clusterId: '10.0.0.100' });
    const c1 = peer('10.0.0.11', 65000, { routeReflectorClient: true });
    const c2 = peer('10.0.0.12', 65000, { routeReflectorClient: true });
    const nc = peer('10.0.0.13', 65000);
    for (const p of [c1, c2, nc]) rib.peerUp(p);
    rib.receive(c1.id, announce(['10.1.0.0/24'], { nextHop: '10.0.0.11' }));
    rib.receive(nc.id, announce(['10.2.0.0/24'], { nextHop: '10.0.0.13' }));
    const r = rib.flush();
    const reflected = (nlri: string, nh: string, originatorId: string) => ({ nextHop: nh, asPath: '', nlri: [nlri], originatorId, clusterList: ['10.0.0.100'], localPref: 100 });
    expect(sent(r, c2.id).announced).toEqual([reflected('10.1.0.0/24', '10.0.0.11', '10.0.0.11'), reflected('10.2.0.0/24', '10.0.0.13', '10.0.0.13')]);
    expect(sent(r, nc.id).announced).toEqual([reflected('10.1.0.0/24', '10.0.0.11', '10.0.0.11')]);
    expect(sent(r, c1.id).announced).toEqual([reflected('10.2.0.0/24', '10.0.0.13', '10.0.0.13')]);
  });

  it('drops reflected routes that carry our ORIGINATOR_ID or CLUSTER_ID (RFC 4456 §8)', () => {
    const { rib } = makeRib({ clusterId: '10.0.0.100' });
    rib.peerUp(ib1);
    let r = rib.receive(ib1.id, announce(['10.1.0.0/24'], { nextHop: '10.0.0.2', originatorId: '10.0.0.1' }));
    expect(r).toMatchObject({ accepted: 0, filtered: 1, problem: 'ORIGINATOR_ID 10.0.0.1 is our router id' });
    r = rib.receive(ib1.id, announce(['10.1.0.0/24'], { nextHop: '10.0.0.2', originatorId: '10.0.0.7', clusterList: ['10.0.0.200', '10.0.0.100'] }));
    expect(r).toMatchObject({ accepted: 0, filtered: 1, problem: 'CLUSTER_LIST 10.0.0.200 10.0.0.100 contains our cluster id 10.0.0.100' });
    expect(rib.size).toBe(0);
  });

  it('next-hop-self rewrites eBGP-learned routes towards iBGP peers', () => {
    const { rib } = makeRib();
    const nhs = peer('10.0.0.3', 65000, { nextHopSelf: true });
    for (const p of [ext, ib1, nhs]) rib.peerUp(p);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001), med: 5 }));
    const r = rib.flush();
    expect(sent(r, ib1.id).announced[0]).toMatchObject({ nextHop: '192.0.2.1', med: 5, localPref: 100 });
    expect(sent(r, nhs.id).announced[0]).toMatchObject({ nextHop: '10.0.0.1' });
  });

  it('honours NO_EXPORT and NO_ADVERTISE (RFC 1997)', () => {
    const { rib } = makeRib();
    for (const p of [ext, ext2, ib1]) rib.peerUp(p);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001), communities: [0xffffff01] }));
    rib.receive(ext.id, announce(['10.2.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001), communities: [0xffffff02] }));
    const r = rib.flush();
    expect(r.updates.has(ext2.id)).toBe(false);
    expect(sent(r, ib1.id).announced.map((g) => g.nlri)).toEqual([['10.1.0.0/24']]);
  });
});

describe('receipt checks', () => {
  it('ignores eBGP routes whose AS_PATH holds our AS, or does not start with the peer AS', () => {
    const { rib } = makeRib();
    rib.peerUp(ext);
    expect(rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001, 65000, 7) }))).toMatchObject({ filtered: 1, problem: 'AS_PATH 65001 65000 7 contains our AS 65000' });
    expect(rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65009) }))).toMatchObject({ filtered: 1, problem: 'AS_PATH "65009" does not start with the peer\'s AS 65001' });
    expect(rib.size).toBe(0);
  });

  it('ignores LOCAL_PREF from an eBGP peer (RFC 4271 §5.1.5) but keeps what it sent', () => {
    const { rib } = makeRib();
    rib.peerUp(ext);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001), localPref: 900 }));
    const best = rib.best(parsePrefix('10.1.0.0/24'));
    expect([best?.attributes.localPref, best?.received.localPref]).toEqual([undefined, 900]);
  });

  it('treat-as-withdraw (RFC 7606) withdraws what the UPDATE announced', () => {
    const { rib } = makeRib();
    rib.peerUp(ext);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    const bad = { ...announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }), error: { action: 'treat-as-withdraw' as const, problems: [] } };
    expect(rib.receive(ext.id, bad)).toMatchObject({ accepted: 0, withdrawn: 1 });
  });

  it('applies the import policy per prefix', () => {
    const { rib } = makeRib();
    const importPolicy = compilePolicy({
      terms: [{ match: { prefixList: [{ prefix: '10.1.0.0/16', le: 24 }] }, set: { localPref: 300, addCommunities: ['65000:1'] }, then: 'accept' }],
      default: 'reject',
    });
    rib.peerUp({ ...ext, importPolicy });
    const r = rib.receive(ext.id, announce(['10.1.2.0/24', '10.1.3.0/24', '10.7.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    expect(r).toMatchObject({ accepted: 2, filtered: 1 });
    expect(rib.best(parsePrefix('10.1.2.0/24'))?.attributes).toMatchObject({ localPref: 300, communities: [65000 * 65536 + 1] });
    expect(rib.attributeSetCount).toBe(2); // received + policed, shared by both routes
  });
});

describe('prefix limit (RFC 4486)', () => {
  it('reports Cease / Maximum Number of Prefixes Reached with AFI, SAFI and the limit', () => {
    const { rib } = makeRib();
    rib.peerUp({ ...ext, prefixLimit: 2 });
    const r = rib.receive(ext.id, announce(['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24', '10.1.3.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    expect(r.limitExceeded).toMatchObject({ errorCode: 6, errorSubcode: 1, data: Uint8Array.of(0, 1, 1, 0, 0, 0, 2) });
    expect(r.limitExceeded?.reason).toBe('peer 192.0.2.1 sent more than 2 prefixes (IPv4 unicast), the configured limit');
    // Further UPDATEs are ignored until the session goes down.
    expect(rib.receive(ext.id, announce(['10.2.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) })).accepted).toBe(0);
    rib.peerDown(ext.id);
    expect(rib.size).toBe(0);
  });
});

describe('graceful restart (RFC 4724)', () => {
  it('keeps a restarting peer\'s routes stale and sweeps what End-of-RIB did not refresh', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(ext);
    rib.receive(ext.id, announce(['10.1.0.0/24', '10.1.1.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    rib.peerDown(ext.id, { gracefulRestart: true });
    expect(rib.flush().fibRemoved).toBe(0);
    expect(rib.peerStats(ext.id)).toMatchObject({ received: 2, stale: 2 });
    expect(rib.best(parsePrefix('10.1.0.0/24'))?.stale).toBe(true);
    rib.peerUp(ext);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    expect(rib.peerStats(ext.id)).toMatchObject({ received: 2, stale: 1 });
    const eor = rib.receive(ext.id, { type: 'update', withdrawn: [], attributes: {}, nlri: [] });
    expect(eor).toMatchObject({ endOfRib: { afi: 1, safi: 1 }, withdrawn: 1 });
    rib.flush();
    expect(plainBatches(fib).at(-1)).toEqual({ add: [], remove: [parsePrefix('10.1.1.0/24')] });
    expect(rib.peerStats(ext.id)).toMatchObject({ received: 1, stale: 0 });
  });

  it('sweeps on the restart timer when no End-of-RIB comes', () => {
    const { rib } = makeRib();
    rib.peerUp(ext);
    rib.receive(ext.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.peerDown(ext.id, { gracefulRestart: true });
    expect(rib.sweepStale(id('192.0.2.1'))).toBe(1);
    expect(rib.size).toBe(0);
  });
});

describe('IPv6 through MP_REACH_NLRI', () => {
  it('installs the global and link-local next hops and keys prefixes apart from IPv4', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(ext);
    rib.receive(ext.id, {
      type: 'update',
      withdrawn: [],
      attributes: { origin: 0, asPath: path(65001), mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: [{ prefix: parsePrefix('2001:db8:1::/48') }] } },
      nlri: [],
    });
    rib.flush();
    expect(plainBatches(fib)[0]?.add).toEqual([{ prefix: parsePrefix('2001:db8:1::/48'), nextHops: ['2001:db8::1', 'fe80::1'] }]);
  });
});
