// What the FibSink is given when several changes to one prefix fall between two flushes:
// only the difference between the FIB state before the first change and after the
// last one, whatever order the paths came and went in.
import fc from 'fast-check';
import { type FibBatch, type Rib, fibBatch, parsePrefix, prefixFromKey, prefixToText } from '@twill/bgp';
import { describe, expect, it } from 'vitest';

import { announce, makeRib, path, peer, withdraw } from './helpers.js';

function summary(batches: readonly FibBatch[]): string[] {
  return batches.flatMap((b) => [...b.remove.map((p) => `-${prefixToText(p)}`), ...b.add.map((r) => `+${prefixToText(r.prefix)} via ${r.nextHops.join(',')}`)]);
}

/** A batch read as RIB keys (forEachRemove, forEachAdd, the counts), in words. */
function keyed(batch: FibBatch): string[] {
  const out: string[] = [`${batch.removeCount} removed, ${batch.addCount} added`];
  batch.forEachRemove((key) => out.push(`-${prefixToText(prefixFromKey(key))}`));
  batch.forEachAdd((key, nextHops) => out.push(`+${prefixToText(prefixFromKey(key))} via ${nextHops.join(',')}`));
  return out;
}

/** The same batch read as objects (remove, add). */
function objects(batch: FibBatch): string[] {
  return [`${batch.remove.length} removed, ${batch.add.length} added`, ...summary([batch])];
}

describe('Rib.flush FIB batches', () => {
  const a = peer('192.0.2.1', 65001);
  const b = peer('192.0.2.2', 65002);

  function twoPeers(): ReturnType<typeof makeRib> {
    const made = makeRib();
    made.rib.peerUp(a);
    made.rib.peerUp(b);
    return made;
  }

  it('pushes nothing for a prefix announced and withdrawn within one batch', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    expect(rib.flush()).toMatchObject({ fibAdded: 0, fibRemoved: 0 });
    expect(fib.batches).toEqual([]);
  });

  it('pushes nothing for a route withdrawn and announced again unchanged within one batch', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    expect(rib.flush()).toMatchObject({ fibAdded: 0, fibRemoved: 0 });
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.1']);
  });

  it('replaces the route once when the best path goes and another takes over', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(b.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002, 65009) }));
    rib.flush();
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    rib.receive(b.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002) }));
    rib.flush();
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.1', '+10.1.0.0/24 via 192.0.2.2']);
  });

  it('removes the route when the last path goes after a better one arrived in the same batch', () => {
    const { rib, fib } = twoPeers();
    rib.receive(b.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002, 65009) }));
    rib.flush();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(b.id, withdraw(['10.1.0.0/24']));
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    rib.flush();
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.2', '-10.1.0.0/24']);
    expect(rib.size).toBe(0);
  });

  it('pushes the last next hop of a route whose attributes changed twice between flushes', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    // Each UPDATE brings new attributes; the first ones are no longer used by any route.
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.11', asPath: path(65001) }));
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.12', asPath: path(65001) }));
    rib.flush();
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.1', '+10.1.0.0/24 via 192.0.2.12']);
  });

  it('keeps each prefix its own route when a withdrawn path is followed by new routes before the flush', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(b.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002, 65009) }));
    rib.flush();
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    rib.receive(a.id, announce(['10.2.0.0/24', '10.3.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.1', '+10.1.0.0/24 via 192.0.2.2', '+10.2.0.0/24 via 192.0.2.1', '+10.3.0.0/24 via 192.0.2.1']);
    expect(rib.best(parsePrefix('10.1.0.0/24'))?.attributes.nextHop).toBe('192.0.2.2');
  });

  it('shows no best path for a prefix withdrawn and not yet flushed', () => {
    const { rib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    expect(rib.best(parsePrefix('10.1.0.0/24'))).toBeUndefined();
    expect(rib.paths(parsePrefix('10.1.0.0/24'))).toEqual([]);
  });

  it('gives the same batch read as keys as read as objects, next hops changing from route to route', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24', '10.2.0.0/24', '10.5.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(b.id, announce(['10.3.0.0/24', '10.4.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002) }));
    rib.receive(a.id, announce(['2001:db8:1::/48'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    rib.receive(a.id, withdraw(['10.1.0.0/24', '10.5.0.0/24']));
    rib.receive(b.id, withdraw(['10.4.0.0/24']));
    rib.receive(a.id, announce(['10.6.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    const [first, second] = fib.batches as [FibBatch, FibBatch];
    expect(keyed(first)).toEqual(['0 removed, 6 added', ...summary([first])]);
    expect(keyed(first).slice(1).sort()).toEqual(
      ['+10.1.0.0/24 via 192.0.2.1', '+10.2.0.0/24 via 192.0.2.1', '+10.5.0.0/24 via 192.0.2.1', '+10.3.0.0/24 via 192.0.2.2', '+10.4.0.0/24 via 192.0.2.2', '+2001:db8:1::/48 via 192.0.2.1'].sort(),
    );
    expect(keyed(second).slice(1).sort()).toEqual(['-10.1.0.0/24', '-10.5.0.0/24', '-10.4.0.0/24', '+10.6.0.0/24 via 192.0.2.1'].sort());
    expect(keyed(second)).toEqual(objects(second));
    // Read again: the same objects, kept.
    expect(second.add[0]).toBe(second.add[0]);
    expect(second.remove).toBe(second.remove);
  });

  it('builds a batch from route objects for other producers (fibBatch), readable both ways', () => {
    const batch = fibBatch([{ prefix: parsePrefix('10.9.0.0/24'), nextHops: ['192.0.2.7'] }, { prefix: parsePrefix('fd00:9::/64'), nextHops: ['fd00::7', 'fe80::7'] }], [parsePrefix('10.8.0.0/16')]);
    expect(keyed(batch)).toEqual(['1 removed, 2 added', '-10.8.0.0/16', '+10.9.0.0/24 via 192.0.2.7', '+fd00:9::/64 via fd00::7,fe80::7']);
    expect(keyed(batch)).toEqual(objects(batch));
    expect(keyed(fibBatch([]))).toEqual(['0 removed, 0 added']);
  });

  it('splits a large change into batches of fibBatchSize routes', () => {
    const { rib, fib } = makeRib({});
    rib.peerUp(a);
    const prefixes = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 8}.${i & 0xff}.0/24`);
    rib.receive(a.id, announce(prefixes, { nextHop: '192.0.2.1', asPath: path(65001) }));
    expect(rib.flush().fibAdded).toBe(20_000);
    expect(fib.batches.map((x) => x.addCount)).toEqual([8192, 8192, 3616]);
    expect(fib.batches.map((x) => x.add.length)).toEqual([8192, 8192, 3616]);
  });

  describe('in slices (maxChanges)', () => {
    const out = peer('192.0.2.3', 65003);
    const prefixes = Array.from({ length: 12 }, (_, i) => `10.0.${i}.0/24`);
    type Op = { kind: 'announce' | 'withdraw'; from: 0 | 1; prefixes: number[]; hops: number } | { kind: 'slice' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('announce' as const, 'withdraw' as const), from: fc.constantFrom(0 as const, 1 as const), prefixes: fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 6 }), hops: fc.integer({ min: 1, max: 3 }) }),
      fc.constant({ kind: 'slice' as const }),
    );

    function apply(rib: Rib, o: Exclude<Op, { kind: 'slice' }>): void {
      const from = o.from === 0 ? a : b;
      const list = o.prefixes.map((i) => prefixes[i] as string);
      const asns = Array.from({ length: o.hops }, (_, i) => (o.from === 0 ? 65001 : 65002) + i * 10);
      rib.receive(from.id, o.kind === 'announce' ? announce(list, { nextHop: from.address, asPath: path(...asns) }) : withdraw(list));
    }

    /** The FIB a sink's batches build, failing on an add over an installed route with the same next hop or a removal of nothing. */
    function replay(batches: readonly FibBatch[]): Map<string, string> {
      const table = new Map<string, string>();
      for (const batch of batches) {
        expect(keyed(batch)).toEqual(objects(batch));
        for (const p of batch.remove) {
          expect(table.delete(prefixToText(p)), `removal of ${prefixToText(p)}, not installed`).toBe(true);
        }
        for (const r of batch.add) {
          const hops = r.nextHops.join(',');
          expect(table.get(prefixToText(r.prefix)), `add of ${prefixToText(r.prefix)} via ${hops}, already installed`).not.toBe(hops);
          table.set(prefixToText(r.prefix), hops);
        }
      }
      return table;
    }

    it('ends where flushing everything at once ends, with changes arriving between slices', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (ops, slice) => {
          const whole = makeRib();
          const sliced = makeRib();
          for (const { rib } of [whole, sliced]) for (const p of [a, b, out]) rib.peerUp(p);
          for (const o of ops) {
            if (o.kind === 'slice') {
              sliced.rib.flush({ maxChanges: slice });
              whole.rib.flush();
            } else {
              apply(whole.rib, o);
              apply(sliced.rib, o);
            }
          }
          whole.rib.flush();
          while (sliced.rib.flush({ maxChanges: slice }).more || sliced.rib.pendingChanges > 0);
          expect(sliced.rib.pendingChanges).toBe(0);
          expect(replay(sliced.fib.batches)).toEqual(replay(whole.fib.batches));
          const advertised = (rib: Rib): string[] => [...rib.adjRibOut(out.id)].map((r) => `${prefixToText(r.prefix)} ${(r.attributes.asPath ?? []).flatMap((x) => x.asns).join(' ')}`).sort();
          expect(advertised(sliced.rib)).toEqual(advertised(whole.rib));
        }),
        { numRuns: 300 },
      );
    });

    it('after every flush holds what the Loc-RIB holds, as attribute sets and paths come and go (property)', () => {
      // Next hops vary too, so that attribute sets leave the table and new ones take their place between flushes.
      type Step = { kind: 'announce' | 'withdraw'; from: 0 | 1; prefixes: number[]; hop: number; hops: number } | { kind: 'flush'; slice: number };
      const step: fc.Arbitrary<Step> = fc.oneof(
        fc.record({
          kind: fc.constantFrom('announce' as const, 'withdraw' as const),
          from: fc.constantFrom(0 as const, 1 as const),
          prefixes: fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 6 }),
          hop: fc.integer({ min: 0, max: 3 }),
          hops: fc.integer({ min: 1, max: 3 }),
        }),
        fc.record({ kind: fc.constant('flush' as const), slice: fc.integer({ min: 0, max: 4 }) }),
      );
      fc.assert(
        fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
          const { rib, fib } = makeRib();
          for (const p of [a, b, out]) rib.peerUp(p);
          const check = (): void => {
            const held = new Map<string, string>();
            for (const text of prefixes) {
              const best = rib.best(parsePrefix(text));
              if (best?.peer !== undefined) held.set(text, best.attributes.nextHop);
            }
            expect(replay(fib.batches)).toEqual(held);
          };
          for (const s of steps) {
            if (s.kind === 'flush') {
              // 0: all at once; otherwise slices, each flushed to the end before the check.
              if (s.slice === 0) rib.flush();
              else while (rib.flush({ maxChanges: s.slice }).more);
              check();
              continue;
            }
            const from = s.from === 0 ? a : b;
            const list = s.prefixes.map((i) => prefixes[i] as string);
            const asns = Array.from({ length: s.hops }, (_, i) => (s.from === 0 ? 65001 : 65002) + i * 10);
            rib.receive(from.id, s.kind === 'announce' ? announce(list, { nextHop: `${from.address.slice(0, -1)}${s.hop + 1}${s.from + 1}`, asPath: path(...asns) }) : withdraw(list));
          }
          rib.flush();
          check();
        }),
        { numRuns: 300 },
      );
    });

    it('reports more until the last slice, and exports a new peer\'s whole table only then', () => {
      const { rib } = makeRib();
      rib.peerUp(a);
      rib.receive(a.id, announce(prefixes, { nextHop: a.address, asPath: path(65001) }));
      rib.peerUp(out);
      const first = rib.flush({ maxChanges: 5 });
      expect(first).toMatchObject({ fibAdded: 5, more: true });
      expect(first.updates.has(out.id)).toBe(false);
      expect(rib.flush({ maxChanges: 5 })).toMatchObject({ fibAdded: 5, more: true });
      const last = rib.flush({ maxChanges: 5 });
      expect(last).toMatchObject({ fibAdded: 2, more: false });
      expect(last.updates.get(out.id)?.announced.flatMap((g) => g.nlri).length).toBe(12);
    });
  });
});
