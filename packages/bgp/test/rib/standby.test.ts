// Standby memory: a table withdrawn whole leaves its path arrays and hash slots for the
// next one (the same peer's, after a session flap), until `releaseStandby` (the speaker
// calls it after `standbyReleaseMs` without a flush). The RIB must hold and push exactly
// the same routes whether it fills fresh storage, standby storage, or storage released.
import { describe, expect, it, vi } from 'vitest';

import { BgpSpeaker, CollectingFibSink, asn, parsePrefix, routerId } from '@twill/bgp';

import { PathPool } from '../../src/rib/path.js';
import { ManualClock, MemoryNetwork } from '../speaker/helpers.js';

import { announce, id, makeRib, peer, withdraw } from './helpers.js';

/** `n` /24s from 11.0.0.0. */
function prefixes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${11 + (i >>> 16)}.${(i >>> 8) & 0xff}.${i & 0xff}.0/24`);
}

/** The routes in the FIB after every batch so far: prefix → next hop. */
function installed(fib: CollectingFibSink): Map<string, string> {
  const held = new Map<string, string>();
  for (const batch of fib.batches) {
    for (const p of batch.remove) held.delete(`${p.bytes.join('.')}/${p.length}`);
    for (const r of batch.add) held.set(`${r.prefix.bytes.join('.')}/${r.prefix.length}`, r.nextHops[0] ?? '');
  }
  return held;
}

describe('PathPool standby', () => {
  it('keeps its arrays when the last path is freed, fills them again from index 0, and gives them back on release', () => {
    const pool = new PathPool();
    const n = 70_000;
    for (let i = 0; i < n; i += 1) expect(pool.add(1, 0, 2, 3, -1, 0)).toBe(i);
    const capacity = pool.capacity;
    expect(capacity).toBeGreaterThanOrEqual(n);
    // Freed in a scattered order: the next table still gets indices in order, not the free list's.
    for (let i = 0; i < n; i += 1) pool.free((i * 7919) % n);
    expect(pool.capacity).toBe(capacity);
    expect([pool.add(4, 5, 6, 7, -1, 2), pool.add(4, 5, 6, 7, 0, 2)]).toEqual([0, 1]);
    expect([pool.peerOf(1), pool.pathIdOf(1), pool.attrsOf(1), pool.receivedOf(1), pool.nextOf(1), pool.flagsOf(1)]).toEqual([4, 5, 6, 7, 0, 2]);
    // Not while a path lives.
    expect(pool.releaseStandby()).toBe(false);
    pool.free(0);
    pool.free(1);
    expect(pool.releaseStandby()).toBe(true);
    expect(pool.capacity).toBe(1024);
    expect(pool.releaseStandby()).toBe(false);
    expect(pool.add(1, 0, 2, 3, -1, 0)).toBe(0);
  });
});

describe('Rib standby', () => {
  it('holds the same table through a full withdrawal, a refill into standby storage, and a release', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(peer('192.0.2.1', 65001));
    const table = prefixes(70_000);
    const fill = (nextHop: string): void => {
      for (let i = 0; i < table.length; i += 1000) rib.receive(id('192.0.2.1'), announce(table.slice(i, i + 1000), { nextHop, asPath: [{ type: 2, asns: [asn(65001)] }] }));
      rib.flush();
    };
    const empty = (): void => {
      for (let i = 0; i < table.length; i += 1000) rib.receive(id('192.0.2.1'), withdraw(table.slice(i, i + 1000)));
      rib.flush();
    };
    fill('192.0.2.1');
    expect(rib.size).toBe(table.length);
    empty();
    expect(rib.size).toBe(0);
    expect(installed(fib).size).toBe(0);
    // Into the standby storage, with another next hop: every route pushed, none twice.
    const before = fib.batches.length;
    fill('192.0.2.9');
    expect(fib.batches.slice(before).reduce((n, b) => n + b.add.length, 0)).toBe(table.length);
    expect(installed(fib)).toEqual(new Map(table.map((p) => [p, '192.0.2.9'])));
    expect(rib.best(parsePrefix(table[777] as string))?.attributes.nextHop).toBe('192.0.2.9');
    // Nothing to release while the table is full; then emptied, released, and filled once more.
    empty();
    expect(rib.releaseStandby()).toBe(true);
    expect(rib.releaseStandby()).toBe(false);
    fill('192.0.2.1');
    expect(installed(fib)).toEqual(new Map(table.map((p) => [p, '192.0.2.1'])));
    expect(rib.size).toBe(table.length);
  });
});

describe('Rib tombstones', () => {
  // The route table's hash slots, read for the test (the table is private to the RIB).
  const slots = (rib: unknown): number => (rib as { table: { heads: { capacity: number } } }).table.heads.capacity;

  it('sweeps the tombstones of a partly withdrawn table before new prefixes would make its slots grow', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(peer('192.0.2.1', 65001));
    const fromA = { nextHop: '192.0.2.1', asPath: [{ type: 2 as const, asns: [asn(65001)] }] };
    const all = prefixes(60_000);
    const send = (list: string[], make: (chunk: string[]) => ReturnType<typeof withdraw>): void => {
      for (let i = 0; i < list.length; i += 1000) rib.receive(id('192.0.2.1'), make(list.slice(i, i + 1000)));
      rib.flush();
    };
    // 40,000 in 65,536 slots (5/8 is 40,960), then 30,000 of them withdrawn: tombstones.
    send(all.slice(0, 40_000), (chunk) => announce(chunk, fromA));
    const full = slots(rib);
    expect(full).toBe(65_536);
    send(all.slice(0, 30_000), (chunk) => withdraw(chunk));
    expect(slots(rib)).toBe(full);
    // 20,000 new ones: 60,000 heads with the tombstones, far past 5/8; 30,000 without.
    send(all.slice(40_000), (chunk) => announce(chunk, fromA));
    expect(slots(rib)).toBe(full);
    expect(rib.size).toBe(30_000);
    const expected = new Map(all.slice(30_000).map((p) => [p, '192.0.2.1']));
    expect(installed(fib)).toEqual(expected);
    // Every prefix answers as the FIB says, the withdrawn ones with nothing.
    const wrong = all.filter((p, i) => (rib.best(parsePrefix(p))?.attributes.nextHop ?? 'none') !== (i < 30_000 ? 'none' : '192.0.2.1'));
    expect(wrong).toEqual([]);
    // And withdrawn again whole, then refilled: the same slots, every route back.
    send(all.slice(30_000), (chunk) => withdraw(chunk));
    expect(rib.size).toBe(0);
    send(all, (chunk) => announce(chunk, fromA));
    expect(rib.size).toBe(60_000);
    expect(installed(fib)).toEqual(new Map(all.map((p) => [p, '192.0.2.1'])));
  });
});

describe('Rib.adjRibIn while routes change', () => {
  it('yields each route once when a route to a prefix held changes during the iteration, tombstones or not', () => {
    const { rib } = makeRib();
    rib.peerUp(peer('192.0.2.1', 65001));
    const fromA = (nextHop: string): { nextHop: string; asPath: [{ type: 2; asns: ReturnType<typeof asn>[] }] } => ({ nextHop, asPath: [{ type: 2, asns: [asn(65001)] }] });
    // 40 prefixes in 64 slots, one more would make them grow; 11 withdrawn: tombstones.
    const list = Array.from({ length: 40 }, (_, i) => `10.${(i * 37) & 255}.${i}.0/24`);
    rib.receive(id('192.0.2.1'), announce(list, fromA('192.0.2.1')));
    rib.flush();
    rib.receive(id('192.0.2.1'), withdraw(list.slice(0, 11)));
    rib.flush();
    const seen: string[] = [];
    for (const route of rib.adjRibIn(id('192.0.2.1'))) {
      if (seen.length === 0) rib.receive(id('192.0.2.1'), announce([list[20] as string], fromA('192.0.2.99')));
      seen.push(`${route.prefix.bytes.join('.')}/${route.prefix.length}`);
    }
    expect(seen.length).toBe(29);
    expect(new Set(seen).size).toBe(29);
  });
});

describe('Rib peers', () => {
  it('holds 65,535 peers, refuses one more by name, and takes one in the place of a removed peer', () => {
    const { rib } = makeRib();
    const name = (i: number): string => `10.${i >>> 16}.${(i >>> 8) & 255}.${i & 255}`;
    for (let i = 1; i <= 65_535; i += 1) rib.peerUp(peer(name(i), 65001));
    expect(() => rib.peerUp(peer('172.16.0.1', 65001))).toThrow(/at most 65535 peers/);
    rib.removePeer(id(name(7)));
    rib.peerUp(peer('172.16.0.1', 65001));
    expect(() => rib.peerUp(peer('172.16.0.2', 65001))).toThrow(/at most 65535 peers/);
  });

  it('exports the same UPDATE contents when a peer\'s index is past 8191 (after 8192 peers came and went)', () => {
    const advertised = (churn: number): string[] => {
      const { rib } = makeRib();
      const name = (i: number): string => `10.${i >>> 16}.${(i >>> 8) & 255}.${i & 255}`;
      for (let i = 1; i <= churn; i += 1) rib.peerUp(peer(name(i), 65001));
      for (let i = 1; i <= churn; i += 1) rib.removePeer(id(name(i)));
      rib.peerUp(peer('192.0.2.9', 64999));
      rib.peerUp(peer('192.0.2.1', 64998));
      rib.flush();
      // A route from S and a local one with a MED, exported to T in one flush.
      rib.receive(id('192.0.2.9'), announce(['10.200.0.0/24'], { nextHop: '192.0.2.9', asPath: [{ type: 2, asns: [asn(64999)] }] }));
      rib.originate(parsePrefix('10.100.0.0/24'), { med: 7 });
      rib.flush();
      return [...rib.adjRibOut(id('192.0.2.1'))].map((r) => `${r.prefix.bytes.join('.')}/${r.prefix.length} ${JSON.stringify(r.attributes.asPath)} med ${String(r.attributes.med)}`).sort();
    };
    expect(advertised(8192)).toEqual(advertised(0));
  });

  it('gives a peer added after a removal routes of its own, not the removed peer\'s or another\'s', () => {
    const { rib } = makeRib();
    for (const name of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) rib.peerUp(peer(name, 65001));
    const from = (name: string): Parameters<typeof announce>[1] => ({ nextHop: name, asPath: [{ type: 2, asns: [asn(65001)] }] });
    rib.receive(id('192.0.2.2'), announce(['10.2.0.0/24'], from('192.0.2.2')));
    rib.receive(id('192.0.2.3'), announce(['10.3.0.0/24'], from('192.0.2.3')));
    rib.flush();
    rib.removePeer(id('192.0.2.2'));
    rib.peerUp(peer('192.0.2.4', 65001));
    rib.receive(id('192.0.2.4'), announce(['10.4.0.0/24'], from('192.0.2.4')));
    rib.flush();
    const routes = (name: string): string[] => [...rib.adjRibIn(id(name))].map((r) => `${r.prefix.bytes.join('.')}/${r.prefix.length}`);
    expect([routes('192.0.2.3'), routes('192.0.2.4')]).toEqual([['10.3.0.0/24'], ['10.4.0.0/24']]);
    expect(rib.best(parsePrefix('10.2.0.0/24'))).toBeUndefined();
  });
});

describe('Rib.releaseStandby during a sliced flush', () => {
  it('releases nothing while a sliced flush has slices left, and the FIB stays right', () => {
    const { rib, fib } = makeRib();
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    rib.peerUp(a);
    rib.peerUp(b);
    const fromA = { nextHop: '192.0.2.1', asPath: [{ type: 2 as const, asns: [asn(65001)] }] };
    rib.receive(a.id, announce(['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24', '10.5.0.0/24'], fromA));
    rib.flush();
    rib.receive(a.id, withdraw(['10.5.0.0/24']));
    rib.flush();
    rib.receive(a.id, announce(['10.6.0.0/24', '10.9.0.0/24'], fromA));
    rib.receive(b.id, announce(['10.9.0.0/24'], { nextHop: '192.0.2.2', asPath: [{ type: 2, asns: [asn(65002), asn(65009)] }] }));
    expect(rib.flush({ maxChanges: 1 }).more).toBe(true);
    rib.receive(a.id, withdraw(['10.9.0.0/24']));
    expect(rib.releaseStandby()).toBe(false);
    rib.receive(a.id, announce(['10.7.0.0/24', '10.8.0.0/24'], { ...fromA, nextHop: '198.51.100.7' }));
    while (rib.flush({ maxChanges: 1 }).more || rib.pendingChanges > 0);
    const held = installed(fib);
    expect(held.get('10.9.0.0/24')).toBe('192.0.2.2');
    expect(held.get('10.7.0.0/24')).toBe('198.51.100.7');
    expect(held.get('10.6.0.0/24')).toBe('192.0.2.1');
    rib.receive(b.id, withdraw(['10.9.0.0/24']));
    expect(rib.flush().fibRemoved).toBe(1);
    expect(installed(fib).has('10.9.0.0/24')).toBe(false);
  });
});

describe('BgpSpeaker standby release', () => {
  it('releases the RIB standby memory once no flush came for standbyReleaseMs', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork();
    const options = { fib: new CollectingFibSink(), clock, standbyReleaseMs: 5_000 };
    const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), transport: net.transport('10.0.0.1'), ...options });
    const b = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.0.0.2'), transport: net.transport('10.0.0.2'), ...options, fib: new CollectingFibSink() });
    a.addPeer({ address: '10.0.0.2', asn: asn(65002), idleHold: { initial: 1, max: 2 } });
    b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true, idleHold: { initial: 1, max: 2 } });
    const release = vi.spyOn(b.rib, 'releaseStandby');
    await b.start();
    await a.start();
    await clock.advance(100);
    a.originate('10.244.1.0/26');
    await clock.advance(100);
    expect(b.routes().map((r) => r.prefix)).toEqual(['10.244.1.0/26']);
    await clock.advance(4_000);
    // Another change 4.2 s after the first flush: the release waits 5 s from this one.
    a.originate('10.244.2.0/26');
    await clock.advance(2_000);
    expect(release).not.toHaveBeenCalled();
    await clock.advance(3_500);
    expect(release).toHaveBeenCalledTimes(1);
    expect(b.routes().map((r) => r.prefix)).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
    await a.stop();
    await b.stop();
  });
});
