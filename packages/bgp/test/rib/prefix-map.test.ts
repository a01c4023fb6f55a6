// PrefixMap against a plain Map: random sequences of sets, deletes and lookups over a
// small key space (so that probe runs collide, wrap around the end of the table, and
// the table grows and shrinks), IPv4 number keys and IPv6 string keys mixed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type PrefixKey, PrefixMap, ipv4Key } from '@twill/bgp';

import { PrefixIntMap } from '../../src/rib/prefix-int-map.js';

type Op =
  | { op: 'set'; key: PrefixKey; value: number }
  | { op: 'swap'; key: PrefixKey; value: number }
  | { op: 'delete'; key: PrefixKey }
  | { op: 'take'; key: PrefixKey }
  | { op: 'get'; key: PrefixKey };

const key: fc.Arbitrary<PrefixKey> = fc.oneof(
  // /24s in a few hundred addresses, the default route, /32s (keys above 2^32).
  fc.integer({ min: 0, max: 300 }).map((n) => ipv4Key(0x0b000000 + n * 256, 24)),
  fc.constant(ipv4Key(0, 0)),
  fc.integer({ min: 0, max: 40 }).map((n) => ipv4Key(0xc0000200 + n, 32)),
  fc.integer({ min: 0, max: 20 }).map((n) => `64/2001${n.toString(16).padStart(4, '0')}00000000`),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('swap' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('take' as const), key }),
  fc.record({ op: fc.constant('get' as const), key }),
);

function sorted(entries: Iterable<[PrefixKey, number]>): [string, number][] {
  return Array.from(entries, ([k, v]): [string, number] => [String(k), v]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('PrefixMap', () => {
  it('behaves like a Map for any sequence of sets, swaps, deletes, takes and lookups', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
        const map = new PrefixMap<number>();
        const model = new Map<PrefixKey, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            map.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === 'swap') {
            // The value it had, and the new one set.
            expect(map.swap(o.key, o.value)).toBe(model.get(o.key));
            model.set(o.key, o.value);
          } else if (o.op === 'delete') {
            expect(map.delete(o.key)).toBe(model.delete(o.key));
          } else if (o.op === 'take') {
            expect(map.take(o.key)).toBe(model.get(o.key));
            model.delete(o.key);
          } else {
            expect(map.get(o.key)).toBe(model.get(o.key));
            expect(map.has(o.key)).toBe(model.has(o.key));
          }
          expect(map.size).toBe(model.size);
        }
        expect(sorted(map.entries())).toEqual(sorted(model.entries()));
        const visited: [PrefixKey, number][] = [];
        map.forEach((v, k) => visited.push([k, v]));
        expect(sorted(visited)).toEqual(sorted(model.entries()));
        expect([...map.keys()].length).toBe(model.size);
        expect([...map.values()].reduce((a, b) => a + b, 0)).toBe([...model.values()].reduce((a, b) => a + b, 0));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every key through growth to many thousands and back to none', () => {
    const map = new PrefixMap<number>();
    const n = 50_000;
    for (let i = 0; i < n; i += 1) map.set(ipv4Key(0x0b000000 + i * 256, 24), i);
    expect(map.size).toBe(n);
    const wrong: number[] = [];
    for (let i = 0; i < n; i += 1) if (map.get(ipv4Key(0x0b000000 + i * 256, 24)) !== i) wrong.push(i);
    for (let i = 0; i < n; i += 2) if (!map.delete(ipv4Key(0x0b000000 + i * 256, 24))) wrong.push(i);
    for (let i = 0; i < n; i += 1) if (map.get(ipv4Key(0x0b000000 + i * 256, 24)) !== (i % 2 === 0 ? undefined : i)) wrong.push(i);
    expect(wrong).toEqual([]);
    for (let i = 1; i < n; i += 2) map.delete(ipv4Key(0x0b000000 + i * 256, 24));
    expect(map.size).toBe(0);
    expect([...map.entries()]).toEqual([]);
    map.set('0/', 1);
    map.clear();
    expect(map.size).toBe(0);
  });
});

describe('PrefixMap filled in the order of its own hash', () => {
  // Keys that come sorted by their home slot in a larger table (the slot order of a full
  // map, as a table exported from one map into an empty one used to come): with more of
  // them per slot than the smaller, growing map has, they pile into one run that each
  // insertion walks to its end (quadratic: minutes at a million routes).
  it('keeps its probe runs short and every key', () => {
    const n = 100_000;
    // The keys in the slot order of the index of a map that holds them all (2^18 slots).
    const full = new PrefixIntMap();
    for (let i = 0; i < n; i += 1) full.set(ipv4Key(0x0b000000 + i * 256, 24), i);
    const keys: number[] = [];
    full.forEach((_, k) => keys.push(k as number));
    const map = new PrefixMap<number>();
    for (const k of keys) map.set(k, k);
    expect(map.size).toBe(n);
    // Without the index's switch to a seeded hash, its longest probe passes 14,000 slots;
    // it switches after the first insertion that walks past 1024.
    expect(map.longestProbe).toBeLessThan(1100);
    const wrong: number[] = [];
    for (const k of keys) if (map.get(k) !== k) wrong.push(k);
    for (let i = 0; i < n; i += 3) if (!map.delete(keys[i] as number)) wrong.push(i);
    for (let i = 0; i < n; i += 1) if (map.get(keys[i] as number) !== (i % 3 === 0 ? undefined : keys[i])) wrong.push(i);
    expect(wrong).toEqual([]);
    // And a second map filled in the first one's order.
    const copy = new PrefixMap<number>();
    map.forEach((value, key) => copy.set(key, value));
    expect(copy.size).toBe(map.size);
    expect(copy.longestProbe).toBeLessThan(1100);
  });
});

describe('PrefixMap through growth, mass deletion and reuse', () => {
  // Entries freed out of order are reused, and a map shrunk after mass deletion packs
  // the entries it keeps: the same contents as a Map after every phase.
  it('behaves like a Map across phases of bulk inserts and deletes (property)', () => {
    const phase = fc.record({ from: fc.integer({ min: 0, max: 3000 }), count: fc.integer({ min: 0, max: 3000 }), keepOneIn: fc.integer({ min: 1, max: 200 }) });
    fc.assert(
      fc.property(fc.array(phase, { minLength: 1, maxLength: 6 }), (phases) => {
        const map = new PrefixMap<number>();
        const model = new Map<PrefixKey, number>();
        for (const p of phases) {
          for (let i = p.from; i < p.from + p.count; i += 1) {
            const k = ipv4Key(0x0b000000 + i * 256, 24);
            map.set(k, i);
            model.set(k, i);
          }
          // Deletes all but one key in `keepOneIn`, in the model's (insertion) order.
          let n = 0;
          for (const k of [...model.keys()]) {
            if (n++ % p.keepOneIn === 0) continue;
            expect(map.delete(k)).toBe(true);
            model.delete(k);
          }
          expect(map.size).toBe(model.size);
          expect(sorted(map.entries())).toEqual(sorted(model.entries()));
          for (const [k, v] of model) expect(map.get(k)).toBe(v);
        }
      }),
      { numRuns: 60 },
    );
  });
});
