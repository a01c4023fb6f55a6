import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import {
  BpfError,
  type BpfMap,
  LayoutError,
  MapType,
  ProgramBuilder,
  ProgramType,
  R,
  createMap,
  createProgramArray,
  createRingBuffer,
  haveBatchOp,
  ipv4,
  loadProgram,
  lpmKey,
  struct,
  u16,
  u32,
  u64,
  u8,
} from '../../src/index.js';
import { possibleCpuCount } from '../../src/internal/sys/possible-cpus.js';

const reason = rootSkipReason('loads eBPF maps and programs');

describe.skipIf(reason)(`maps as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const open: { close(): void }[] = [];
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }
  afterEach(() => {
    for (const object of open.splice(0)) object.close();
  });

  const flowKey = struct({ addr: ipv4, port: u16, proto: u8 });

  it('creates a hash map with struct keys: update, lookup, iterate, delete, info', () => {
    const map = track(createMap({ type: MapType.Hash, key: flowKey, value: u64, maxEntries: 16, name: 'twt_flows' }));
    const a = { addr: new Uint8Array([10, 0, 0, 1]), port: 443, proto: 6 };
    const b = { addr: new Uint8Array([10, 0, 0, 2]), port: 53, proto: 17 };
    map.update(a, 100n);
    map.update(b, 7n, 'create');
    expect(map.lookup(a)).toBe(100n);
    expect(() => map.update(b, 8n, 'create')).toThrowError(expect.objectContaining({ errno: 'EEXIST', operation: 'BPF_MAP_UPDATE_ELEM' }));
    expect(new Map([...map.entries()].map(([k, v]) => [k.port, v]))).toEqual(new Map([[443, 100n], [53, 7n]]));
    expect(map.delete(a)).toBe(true);
    expect(map.delete(a)).toBe(false);
    expect(map.lookup(a)).toBeUndefined();
    expect(() => map.update(a, 1n, 'replace')).toThrowError(expect.objectContaining({ errno: 'ENOENT' }));
    expect(map.info()).toMatchObject({ type: MapType.Hash, keySize: 8, valueSize: 8, maxEntries: 16, name: 'twt_flows' });
  });

  it('reports a full hash map as E2BIG', () => {
    const map = track(createMap({ type: MapType.Hash, key: u32, value: u32, maxEntries: 2 }));
    map.update(1, 1);
    map.update(2, 2);
    expect(() => map.update(3, 3)).toThrowError(expect.objectContaining({ name: 'BpfError', code: 'ERR_BPF', errno: 'E2BIG' }));
  });

  it('has every array slot, refuses deletes, and batch-updates and reads', () => {
    const map = track(createMap({ type: MapType.Array, key: u32, value: u64, maxEntries: 8 }));
    expect([...map.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(map.lookup(3)).toBe(0n);
    expect(map.updateBatch([[1, 10n], [2, 20n], [7, 70n]])).toBe(3);
    expect(map.lookupBatch(3).filter(([, v]) => v !== 0n)).toEqual([[1, 10n], [2, 20n], [7, 70n]]);
    expect(() => map.delete(1)).toThrowError(expect.objectContaining({ errno: 'EINVAL' }));
    expect(() => map.deleteBatch([1])).toThrow(BpfError);
    expect(map.lookup(8)).toBeUndefined();
  });

  it('batch-updates, reads and deletes a hash map, one syscall per batch', () => {
    expect(haveBatchOp(MapType.Hash, 'update')).toBe(true);
    const map = track(createMap({ type: MapType.Hash, key: u32, value: u32, maxEntries: 256 }));
    const entries = Array.from({ length: 200 }, (_, i) => [i, i * 2] as const);
    expect(map.updateBatch(entries)).toBe(200);
    const all = map.lookupBatch(7).sort(([a], [b]) => a - b);
    expect(all).toEqual(entries.map(([k, v]) => [k, v]));
    expect(map.deleteBatch(entries.slice(0, 150).map(([k]) => k))).toBe(150);
    expect([...map.keys()].sort((a, b) => a - b)).toEqual(entries.slice(150).map(([k]) => k));
    // The batch stops at the first missing key.
    expect(() => map.deleteBatch([0])).toThrowError(expect.objectContaining({ errno: 'ENOENT', operation: 'BPF_MAP_DELETE_BATCH' }));
  });

  it('keeps one value per possible CPU in per-CPU hash and array maps', () => {
    const cpus = possibleCpuCount();
    const hash = track(createMap({ type: MapType.PerCpuHash, key: u32, value: u32, maxEntries: 4 }));
    const values = Array.from({ length: cpus }, (_, i) => i + 1);
    hash.update(5, values);
    expect(hash.lookup(5)).toEqual(values);
    expect(hash.updateBatch([[6, values.map((v) => v * 10)]])).toBe(1);
    expect(hash.lookupBatch().sort(([a], [b]) => a - b)).toEqual([[5, values], [6, values.map((v) => v * 10)]]);
    expect(() => hash.update(7, [1, 2, 3].slice(0, cpus + 1))).toThrow(LayoutError);

    const array = track(createMap({ type: MapType.PerCpuArray, key: u32, value: u64, maxEntries: 2 }));
    expect(array.lookup(0)).toEqual(Array.from({ length: cpus }, () => 0n));
    array.update(1, Array.from({ length: cpus }, (_, i) => BigInt(i) + 100n));
    expect([...array.entries()][1]).toEqual([1, Array.from({ length: cpus }, (_, i) => BigInt(i) + 100n)]);
  });

  it('matches the longest prefix in an LPM trie', () => {
    const trie = track(createMap({ type: MapType.LpmTrie, key: lpmKey(ipv4), value: u32, maxEntries: 16 }));
    const prefix = (prefixLen: number, ...data: number[]) => ({ prefixLen, data: new Uint8Array(data) });
    expect(trie.updateBatch([[prefix(8, 10, 0, 0, 0), 1], [prefix(16, 10, 1, 0, 0), 2]])).toBe(2);
    trie.update(prefix(24, 10, 1, 2, 0), 3);
    expect(trie.lookup(prefix(32, 10, 1, 2, 3))).toBe(3);
    expect(trie.lookup(prefix(32, 10, 1, 9, 9))).toBe(2);
    expect(trie.lookup(prefix(32, 10, 9, 9, 9))).toBe(1);
    expect(trie.lookup(prefix(32, 11, 0, 0, 1))).toBeUndefined();
    expect([...trie.keys()]).toHaveLength(3);
    expect(trie.deleteBatch([prefix(16, 10, 1, 0, 0)])).toBe(1);
    expect(trie.lookup(prefix(32, 10, 1, 9, 9))).toBe(1);
    expect(trie.info().flags & 1).toBe(1); // BPF_F_NO_PREALLOC, which LPM tries require
  });

  it('evicts from an LRU hash instead of failing when full', () => {
    const lru = track(createMap({ type: MapType.LruHash, key: u32, value: u32, maxEntries: 16 }));
    for (let i = 0; i < 200; i++) lru.update(i, i);
    const keys = [...lru.keys()];
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length).toBeLessThanOrEqual(16);
    expect(lru.lookup(199)).toBe(199);
    expect(lru.lookup(0)).toBeUndefined();
  });

  it('puts programs in a program array and reads back their ids', () => {
    const programs = track(createProgramArray({ maxEntries: 4, name: 'twt_jumps' }));
    const program = track(
      loadProgram({ type: ProgramType.SocketFilter, license: 'GPL', instructions: new ProgramBuilder().mov64(R.R0, 0).exit().build() }),
    );
    programs.set(2, program);
    expect(programs.programId(2)).toBe(program.info().id);
    expect(programs.programId(1)).toBeUndefined();
    expect(programs.clear(2)).toBe(true);
    // Program arrays have no batch commands: the batch falls back to one update per entry.
    expect(haveBatchOp(MapType.ProgramArray, 'update')).toBe(false);
    expect(programs.map.updateBatch([[0, program.fd], [1, program.fd]])).toBe(2);
    expect(programs.map.lookupBatch()).toEqual([[0, program.info().id], [1, program.info().id]]);
    expect(programs.map.info().type).toBe(MapType.ProgramArray);
  });

  it('creates a ring buffer', () => {
    const ring = track(createRingBuffer({ size: 1 << 16, name: 'twt_events' }));
    expect(ring.info()).toMatchObject({ type: MapType.RingBuffer, keySize: 0, valueSize: 0, maxEntries: 1 << 16, name: 'twt_events' });
    expect(() => createRingBuffer({ size: 5000 })).toThrow(RangeError);
  });

  it('closes a map once, and refuses use after close', () => {
    const map: BpfMap<number, number> = createMap({ type: MapType.Hash, key: u32, value: u32, maxEntries: 1 });
    map.close();
    map.close();
    expect(map.closed).toBe(true);
    expect(() => map.lookup(1)).toThrow('the map is closed');
  });
});
