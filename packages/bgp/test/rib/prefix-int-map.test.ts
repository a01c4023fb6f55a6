// PrefixIntMap (the route table's heads) against a plain Map: random sequences of sets,
// deletes and lookups over a small key space (so that probe runs collide, wrap around the
// end of the table, and the table grows and shrinks), IPv4 number keys, /32s among them
// (keys above 2^32), and IPv6 string keys mixed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type PrefixKey, ipv4Key } from '@twill/bgp';

import { PrefixIntMap } from '../../src/rib/prefix-int-map.js';

type Op = { op: 'set'; key: PrefixKey; value: number } | { op: 'getOrAdd'; key: PrefixKey; value: number } | { op: 'delete'; key: PrefixKey } | { op: 'get'; key: PrefixKey } | { op: 'sweep'; modulus: number } | { op: 'release' } | { op: 'clear' };

const key: fc.Arbitrary<PrefixKey> = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map((n) => ipv4Key(0x0b000000 + n * 256, 24)),
  fc.constant(ipv4Key(0, 0)),
  fc.integer({ min: 0, max: 40 }).map((n) => ipv4Key(0xc0000200 + n, 32)),
  fc.constant(ipv4Key(0xffffffff, 32)),
  fc.integer({ min: 0, max: 20 }).map((n) => `64/2001${n.toString(16).padStart(4, '0')}00000000`),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value: fc.integer({ min: 0, max: 2 ** 30 - 1 }) }),
  fc.record({ op: fc.constant('getOrAdd' as const), key, value: fc.integer({ min: 0, max: 2 ** 30 - 1 }) }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('get' as const), key }),
  // Drops the entries whose value is a multiple of `modulus`.
  fc.record({ op: fc.constant('sweep' as const), modulus: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('release' as const) }),
  fc.record({ op: fc.constant('clear' as const) }),
);

function sorted(entries: Iterable<[PrefixKey, number]>): [string, number][] {
  return Array.from(entries, ([k, v]): [string, number] => [String(k), v]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('PrefixIntMap', () => {
  it('behaves like a Map for any sequence of sets, additions, deletes, sweeps, releases, clears and lookups', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
        const map = new PrefixIntMap();
        const model = new Map<PrefixKey, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            map.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === 'getOrAdd') {
            // The value held, unchanged; or -1, and the key now holds the value given.
            expect(map.getOrAdd(o.key, o.value)).toBe(model.get(o.key) ?? -1);
            if (!model.has(o.key)) model.set(o.key, o.value);
          } else if (o.op === 'delete') {
            expect(map.delete(o.key)).toBe(model.delete(o.key));
          } else if (o.op === 'sweep') {
            map.sweep((v) => v % o.modulus === 0);
            for (const [k, v] of [...model]) if (v % o.modulus === 0) model.delete(k);
          } else if (o.op === 'release') {
            map.releaseStandby();
          } else if (o.op === 'clear') {
            map.clear();
            model.clear();
          } else {
            expect(map.get(o.key)).toBe(model.get(o.key) ?? -1);
          }
          expect(map.size).toBe(model.size);
        }
        expect(sorted(map.entries())).toEqual(sorted(model.entries()));
        const visited: [PrefixKey, number][] = [];
        map.forEach((v, k) => visited.push([k, v]));
        expect(sorted(visited)).toEqual(sorted(model.entries()));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps its probe runs short when filled in the slot order of a map of the same hash', () => {
    // Without its switch to a seeded hash the copy's longest probe passes 14,000 slots.
    const n = 100_000;
    const first = new PrefixIntMap();
    for (let i = 0; i < n; i += 1) first.set(ipv4Key(0x0b000000 + i * 256, 24), i);
    const copy = new PrefixIntMap();
    first.forEach((value, k) => copy.set(k, value));
    expect(copy.size).toBe(n);
    // It switches after the first insertion that walks past 1024 slots.
    expect(copy.longestProbe).toBeLessThan(1100);
    const wrong: number[] = [];
    for (let i = 0; i < n; i += 1) if (copy.get(ipv4Key(0x0b000000 + i * 256, 24)) !== i) wrong.push(i);
    for (let i = 0; i < n; i += 1) if (!copy.delete(ipv4Key(0x0b000000 + i * 256, 24))) wrong.push(i);
    expect(wrong).toEqual([]);
    expect(copy.size).toBe(0);
    expect([...copy.entries()]).toEqual([]);
  });

  it('keeps its slots through a sweep that empties it, until releaseStandby', () => {
    const map = new PrefixIntMap();
    for (let i = 0; i < 10_000; i += 1) map.set(ipv4Key(0x0b000000 + i * 256, 24), i);
    const full = map.capacity;
    expect(full).toBeGreaterThanOrEqual(16_384);
    map.sweep((v) => v < 5_000);
    expect(map.size).toBe(5_000);
    expect(map.capacity).toBe(full);
    map.sweep(() => true);
    expect(map.size).toBe(0);
    expect(map.capacity).toBe(full);
    // Filled again without growing; every key found.
    for (let i = 0; i < 10_000; i += 1) map.set(ipv4Key(0x0b000000 + i * 256, 24), i + 1);
    expect(map.capacity).toBe(full);
    expect(map.get(ipv4Key(0x0b000000 + 9_999 * 256, 24))).toBe(10_000);
    expect(map.releaseStandby()).toBe(false);
    map.sweep(() => true);
    expect(map.releaseStandby()).toBe(true);
    expect(map.capacity).toBe(16);
    expect(map.get(ipv4Key(0x0b000000, 24))).toBe(-1);
    map.set(ipv4Key(0x0b000000, 24), 7);
    expect(map.get(ipv4Key(0x0b000000, 24))).toBe(7);
  });

  it('finds every key left after a sweep, when a run of entries crossed the slots the sweep freed', () => {
    // 16 slots: homes 15, 15, 0, 0 and one more in the run; the sweep frees the first
    // and the fourth, and the entries behind them move back around the end of the table.
    const map = new PrefixIntMap();
    const entries: [number, number][] = [
      [799862, 1],
      [836483, 3],
      [33380, 7],
      [352581, 1],
      [836488, 9],
    ];
    for (const [k, v] of entries) map.set(k, v);
    map.sweep((v) => v === 1);
    expect(entries.filter(([, v]) => v !== 1).map(([k]) => map.get(k))).toEqual([3, 7, 9]);
    expect(map.size).toBe(3);
  });

  it('finds every key left after sweeps of large random tables (seeded)', () => {
    let state = 12345;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const lost: string[] = [];
    for (let round = 0; round < 40; round += 1) {
      const map = new PrefixIntMap();
      const model = new Map<number, number>();
      for (let i = 0; i < 10_000; i += 1) {
        const key = ipv4Key(Math.floor(random() * 2 ** 24) * 256, 24);
        const value = Math.floor(random() * 1000);
        map.set(key, value);
        model.set(key, value);
      }
      map.sweep((v) => v < 600);
      for (const [k, v] of model) if (v >= 600 && map.get(k) !== v) lost.push(`round ${round}: ${k}`);
      expect(map.size).toBe([...model.values()].filter((v) => v >= 600).length);
    }
    expect(lost).toEqual([]);
  });
});
