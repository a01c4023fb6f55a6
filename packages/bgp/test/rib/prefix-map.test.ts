// PrefixMap against a plain Map: random sequences of sets, deletes and lookups over a
// small key space (so that probe runs collide, wrap around the end of the table, and
// the table grows and shrinks), IPv4 number keys and IPv6 string keys mixed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type PrefixKey, PrefixMap, ipv4Key } from '@twill/bgp';

type Op = { op: 'set'; key: PrefixKey; value: number } | { op: 'delete'; key: PrefixKey } | { op: 'get'; key: PrefixKey };

const key: fc.Arbitrary<PrefixKey> = fc.oneof(
  // /24s in a few hundred addresses, the default route, /32s (keys above 2^32).
  fc.integer({ min: 0, max: 300 }).map((n) => ipv4Key(0x0b000000 + n * 256, 24)),
  fc.constant(ipv4Key(0, 0)),
  fc.integer({ min: 0, max: 40 }).map((n) => ipv4Key(0xc0000200 + n, 32)),
  fc.integer({ min: 0, max: 20 }).map((n) => `64/2001${n.toString(16).padStart(4, '0')}00000000`),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('get' as const), key }),
);

function sorted(entries: Iterable<[PrefixKey, number]>): [string, number][] {
  return Array.from(entries, ([k, v]): [string, number] => [String(k), v]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('PrefixMap', () => {
  it('behaves like a Map for any sequence of sets, deletes and lookups', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
        const map = new PrefixMap<number>();
        const model = new Map<PrefixKey, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            map.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === 'delete') {
            expect(map.delete(o.key)).toBe(model.delete(o.key));
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

describe('PrefixMap filled in the order of another', () => {
  // A full table exported to a peer that just came up: its Adj-RIB-Out is filled in the
  // order of the path lists' map. With both maps hashing alike, the keys pile into one
  // run of slots that each insertion walks (quadratic: minutes at a million routes).
  it('keeps its probe runs short and every key', () => {
    const source = new PrefixMap<number>();
    const n = 40_000;
    for (let i = 0; i < n; i += 1) source.set(ipv4Key(0x0b000000 + i * 256, 24), i);
    const copy = new PrefixMap<number>();
    source.forEach((value, key) => copy.set(key, value));
    expect(copy.size).toBe(n);
    expect(copy.longestProbe).toBeLessThan(100);
    const wrong: number[] = [];
    for (let i = 0; i < n; i += 1) if (copy.get(ipv4Key(0x0b000000 + i * 256, 24)) !== i) wrong.push(i);
    for (let i = 0; i < n; i += 3) if (!copy.delete(ipv4Key(0x0b000000 + i * 256, 24))) wrong.push(i);
    for (let i = 0; i < n; i += 1) if (copy.get(ipv4Key(0x0b000000 + i * 256, 24)) !== (i % 3 === 0 ? undefined : i)) wrong.push(i);
    expect(wrong).toEqual([]);
    // And a third map filled in the second's (mixed) order.
    const third = new PrefixMap<number>();
    copy.forEach((value, key) => third.set(key, value));
    expect(third.size).toBe(copy.size);
    expect(third.longestProbe).toBeLessThan(100);
  });
});
