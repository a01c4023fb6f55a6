// A new version of an object whose pinned map no longer matches: with
// onIncompatiblePin 'replace' the load creates the map anew at a staged pin while the
// old programs keep the old map; copyMapEntries carries the entries over, and
// commitReplacedPins moves the new pin over the old one.
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { rootSkipReason } from '@twill/sys/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type Collection,
  type CollectionSpec,
  LayoutError,
  MapType,
  copyMapEntries,
  createMap,
  loadCollection,
  openPinnedMap,
  readCollectionSpec,
  struct,
  u32,
  u64,
} from '../../src/index.js';
import { ensureBpffs, leftovers, pinPath } from '../bpffs.js';

const reason = rootSkipReason('loads eBPF programs');

/** skb->protocol as counter.c reads it: the EtherType in network byte order, as a little-endian u32. */
const IPV4_KEY = 0x0008;

/** An IPv4 Ethernet frame, 64 bytes. */
function ipv4Frame(): Uint8Array {
  const out = new Uint8Array(64);
  out[12] = 0x08;
  return out;
}

describe.skipIf(reason)(`replacing pinned maps of another version as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let unmount: () => void = () => undefined;
  const collections: Collection[] = [];
  const dirs: string[] = [];
  beforeAll(() => {
    unmount = ensureBpffs();
  });
  afterEach(() => {
    for (const c of collections.splice(0)) c.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    expect(leftovers()).toEqual([]);
  });
  afterAll(() => unmount());

  function load(spec: CollectionSpec, options: Parameters<typeof loadCollection>[1] = {}): Collection {
    const c = loadCollection(spec, options);
    collections.push(c);
    return c;
  }
  function newDir(): string {
    const dir = pinPath();
    dirs.push(dir);
    return dir;
  }
  const counter = (): CollectionSpec => readCollectionSpec(fileURLToPath(new URL('../fixtures/counter.o', import.meta.url)));
  const withCounts = (spec: CollectionSpec, maxEntries: number): CollectionSpec => ({ ...spec, maps: { ...spec.maps, counts: { ...spec.maps.counts!, maxEntries } } });
  const pinnedCount = (path: string): { maxEntries: number; ipv4: bigint | undefined } => {
    const map = openPinnedMap(path, { key: u32, value: u64 });
    try {
      return { maxEntries: map.info().maxEntries, ipv4: map.lookup(IPV4_KEY) };
    } finally {
      map.close();
    }
  };

  it('stages the new map beside the old pin, copies the entries, and moves the pin over on commit', () => {
    const dir = newDir();
    const old = load(counter(), { pinPath: dir });
    old.program('count_egress').testRun({ data: ipv4Frame(), repeat: 5 });

    const next = load(withCounts(counter(), 128), { pinPath: dir, onIncompatiblePin: 'replace' });
    expect(next.reusedMaps).toEqual([]);
    expect(next.replacedPins.map((r) => ({ name: r.name, path: r.path, stagedPath: r.stagedPath, differences: r.differences, fields: r.fields }))).toEqual([
      { name: 'counts', path: `${dir}/counts`, stagedPath: `${dir}/counts__next`, differences: 'max entries 64 (the spec says 128)', fields: ['max entries'] },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['counts', 'counts__next']);
    expect(pinnedCount(`${dir}/counts`), 'the old pin still holds the old map').toEqual({ maxEntries: 64, ipv4: 5n });

    const replaced = next.replacedPins[0]!;
    expect(copyMapEntries(replaced.previous, next.maps.counts!)).toMatchObject({ copied: 1, dropped: 0, kept: 0 });
    // The old program still counts into the old map; a second copy in `create` mode keeps what the new map holds.
    old.program('count_egress').testRun({ data: ipv4Frame() });
    next.program('count_egress').testRun({ data: ipv4Frame(), repeat: 2 });
    expect(copyMapEntries(replaced.previous, next.maps.counts!, { mode: 'create' })).toMatchObject({ copied: 0, dropped: 0, kept: 1 });
    expect(pinnedCount(`${dir}/counts__next`)).toEqual({ maxEntries: 128, ipv4: 7n });

    next.commitReplacedPins();
    next.commitReplacedPins(); // twice does nothing
    expect(readdirSync(dir)).toEqual(['counts']);
    expect(pinnedCount(`${dir}/counts`)).toEqual({ maxEntries: 128, ipv4: 7n });
    expect(replaced.previous.closed).toBe(true);

    // The next load of the new version reuses the committed pin.
    next.close();
    expect(load(withCounts(counter(), 128), { pinPath: dir, onIncompatiblePin: 'replace' }).reusedMaps).toEqual(['counts']);
  });

  it('closing before the commit removes the staged pin and leaves the old one', () => {
    const dir = newDir();
    load(counter(), { pinPath: dir }).close();
    const next = load(withCounts(counter(), 32), { pinPath: dir, onIncompatiblePin: 'replace' });
    expect(readdirSync(dir).sort()).toEqual(['counts', 'counts__next']);
    next.close();
    expect(readdirSync(dir)).toEqual(['counts']);
    expect(pinnedCount(`${dir}/counts`).maxEntries).toBe(64);
  });

  it('a staged pin left by a load that never committed is adopted when it matches (its entries are the live ones), replaced when it does not', () => {
    const dir = newDir();
    load(counter(), { pinPath: dir }).close();
    const crashed = load(withCounts(counter(), 128), { pinPath: dir, onIncompatiblePin: 'replace' });
    crashed.program('count_egress').testRun({ data: ipv4Frame() });
    // What a process that died before its commit leaves: the staged pin (its fds close with it).
    const leftover = openPinnedMap(`${dir}/counts__next`, { key: u32, value: u64 });
    const leftoverId = leftover.info().id;
    leftover.close();

    const same = load(withCounts(counter(), 128), { pinPath: dir, onIncompatiblePin: 'replace' });
    expect(same.replacedPins.map((r) => r.stagedReused)).toEqual([true]);
    expect(same.maps.counts!.info().id, 'the staged map is adopted').toBe(leftoverId);
    expect(pinnedCount(`${dir}/counts__next`)).toEqual({ maxEntries: 128, ipv4: 1n });
    same.close();
    expect(readdirSync(dir), 'closing without a commit removes the staged pin it adopted').toEqual(['counts']);

    const again = load(withCounts(counter(), 128), { pinPath: dir, onIncompatiblePin: 'replace' });
    const other = load(withCounts(counter(), 256), { pinPath: dir, onIncompatiblePin: 'replace' });
    expect(other.replacedPins.map((r) => r.stagedReused)).toEqual([false]);
    expect(pinnedCount(`${dir}/counts__next`)).toEqual({ maxEntries: 256, ipv4: undefined });
    again.close();
    expect(readdirSync(dir).sort(), 'a load closing leaves a staged pin that another load made since').toEqual(['counts', 'counts__next']);
    other.close();
    crashed.close();
  });

  it('compares the BTF layout when the sizes match: swapped fields are a replacement, the same object is reused', () => {
    const dir = newDir();
    const fixture = (name: string): CollectionSpec => readCollectionSpec(fileURLToPath(new URL(`../fixtures/${name}.o`, import.meta.url)));
    load(fixture('layout'), { pinPath: dir }).close();
    expect(load(fixture('layout'), { pinPath: dir }).reusedMaps, 'the kernel\'s copy of the BTF reads as the spec\'s').toEqual(['layout']);

    const message = 'value layout struct value{bytes@0:i4,packets@32:i4}8 (the spec says struct value{packets@0:i4,bytes@32:i4}8)';
    expect(() => load(fixture('layout-swapped'), { pinPath: dir })).toThrow(`map layout pinned at ${dir}/layout does not match: ${message}.`);
    const swapped = load(fixture('layout-swapped'), { pinPath: dir, onIncompatiblePin: 'replace' });
    expect(swapped.replacedPins.map((r) => [r.fields, r.differences])).toEqual([[['value layout'], message]]);
  });

  it('a merge copy brings what the old side changed since the first copy, and keeps what the new side wrote since', () => {
    const from = createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 8 });
    const to = createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 8 });
    try {
      for (const k of [1, 2, 3]) from.update(k, 10n);
      const first = copyMapEntries(from, to);
      // Between the copies: the old programs move 1 and 2 on and add 4; the new ones move 2 and 3 on.
      from.update(1, 11n);
      from.update(2, 12n);
      from.update(4, 14n);
      to.update(2, 22n);
      to.update(3, 23n);
      expect(copyMapEntries(from, to, { mode: 'merge', since: first })).toMatchObject({ copied: 2, dropped: 0, kept: 2 });
      expect([1, 2, 3, 4].map((k) => to.lookup(k))).toEqual([11n, 22n, 23n, 14n]);
      expect(() => copyMapEntries(from, to, { mode: 'merge' })).toThrow('a merge copy needs `since`, the result of the copy before');
    } finally {
      from.close();
      to.close();
    }
  });

  it('copyMapEntries refuses maps of other sizes or of a type without plain values', () => {
    const a = createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 4 });
    const b = createMap({ type: MapType.Hash, key: u32, value: u32, maxEntries: 4 });
    try {
      expect(() => copyMapEntries(a, b)).toThrow(LayoutError);
      expect(() => copyMapEntries(a, b)).toThrow('copying entries between maps that differ: value size 8 and 4');
    } finally {
      a.close();
      b.close();
    }
  });

  it('copyMapEntries counts entries a smaller hash map has no room for', () => {
    const from = createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 8 });
    const to = createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 3 });
    try {
      for (let k = 0; k < 5; k += 1) from.update(k, BigInt(k));
      expect(copyMapEntries(from, to)).toMatchObject({ copied: 3, dropped: 2, kept: 0 });
    } finally {
      from.close();
      to.close();
    }
  });

  it('copyMapEntries counts what a smaller LRU map evicted and what a full LPM trie refused; refuses create into an array', () => {
    const from = createMap({ type: MapType.LruHash, key: u32, value: u64, maxEntries: 1024 });
    const to = createMap({ type: MapType.LruHash, key: u32, value: u64, maxEntries: 16 });
    try {
      for (let k = 0; k < 500; k += 1) from.update(k, BigInt(k));
      const result = copyMapEntries(from, to);
      expect(result.copied + result.dropped).toBe(500);
      expect(result.copied).toBeLessThanOrEqual(16);
      expect(result.dropped).toBeGreaterThanOrEqual(484);
    } finally {
      from.close();
      to.close();
    }
    const trieKey = struct({ prefixlen: u32, addr: u32 });
    const big = createMap({ type: MapType.LpmTrie, key: trieKey, value: u64, maxEntries: 8, flags: 1 });
    const small = createMap({ type: MapType.LpmTrie, key: trieKey, value: u64, maxEntries: 3, flags: 1 });
    try {
      for (let k = 0; k < 5; k += 1) big.update({ prefixlen: 32, addr: k }, BigInt(k));
      expect(copyMapEntries(big, small)).toMatchObject({ copied: 3, dropped: 2, kept: 0 });
    } finally {
      big.close();
      small.close();
    }
    const a = createMap({ type: MapType.Array, key: u32, value: u64, maxEntries: 4 });
    const b = createMap({ type: MapType.Array, key: u32, value: u64, maxEntries: 4 });
    try {
      expect(() => copyMapEntries(a, b, { mode: 'create' })).toThrow('a create copy into a map of type Array would copy nothing');
      a.update(1, 7n);
      expect(copyMapEntries(a, b)).toMatchObject({ copied: 4, dropped: 0 });
    } finally {
      a.close();
      b.close();
    }
  });
});
