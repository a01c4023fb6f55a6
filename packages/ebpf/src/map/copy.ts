/** Copying a map's entries into another map of the same key and value sizes, as bytes. */
import { BpfError, LayoutError } from '../errors.js';
import { possibleCpuCount } from '../internal/sys/possible-cpus.js';
import type { MapFd } from '../fd.js';
import { haveBatchOp } from '../features/batch.js';
import { BpfCommand, UpdateFlag } from '../internal/sys/commands.js';
import { mapBatch, mapGetNextKey, mapLookup, mapUpdate } from '../internal/sys/syscall.js';
import type { MapHandle } from './handle.js';
import { MapType, isPerCpu, mapTypeName } from './map-type.js';

/** Map types whose entries are plain bytes both ways (not fds, not a stream). */
const COPYABLE = new Set<number>([MapType.Hash, MapType.Array, MapType.PerCpuHash, MapType.PerCpuArray, MapType.LruHash, MapType.LruPerCpuHash, MapType.LpmTrie]);

/** Options of {@link copyMapEntries}. */
export interface CopyMapEntriesOptions {
  /**
   * `upsert` (default) overwrites what `to` holds for a key; `create` keeps it; `merge`
   * (with `since`) writes a key when `to` lacks it, or when `from` changed it since that
   * copy while `to` still holds what that copy wrote (whoever wrote last wins).
   */
  mode?: 'upsert' | 'create' | 'merge';
  /** `merge`: the result of an earlier copy between the same maps. */
  since?: CopyMapEntriesResult;
}

/** What {@link copyMapEntries} did. */
export interface CopyMapEntriesResult {
  /** Entries written to `to` (a batch update re-writes the rest of a batch after a full map's refusal). */
  readonly copied: number;
  /**
   * Entries `to` had no room for: `E2BIG` (a full hash map, an array index past its end),
   * `ENOSPC` (a full LPM trie), or, for an LRU target, written but evicted (counted by
   * reading `to` back, since an LRU map makes room instead of refusing).
   */
  readonly dropped: number;
  /** Entries `to` held already and kept (`create` and `merge` modes). */
  readonly kept: number;
  /** What this copy wrote, by key (its bytes as a latin1 string): what a later `merge` compares against. */
  readonly written: {
    /** The value bytes this copy wrote for a key given as its bytes in a latin1 string; undefined when it wrote none. */
    get(key: string): Uint8Array | undefined;
  };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Copies every entry of `from` into `to`, key and value bytes as they are: for moving
 * a map's state into a new map of another capacity or flags (a new version of an
 * object). The two maps must be of the same type, key size and value size; the
 * copy does not know what the bytes mean. It reads whole maps with batch lookups (5.6)
 * and writes with batch updates; entries `from` gains or loses while it runs may be
 * missed or copied all the same.
 * Two passes around a switch of programs from `from` to `to` (an upgrade): an `upsert`
 * copy before, a `merge` copy with `since` the first one after, which brings what the
 * old programs changed in between without undoing what the new ones wrote since.
 * Needs Linux 4.12 (get-next-key from the start).
 * @throws {LayoutError} for maps of different types or sizes, or of a type whose
 *   values are not plain bytes (ring buffers, program arrays, maps of maps).
 * @throws {RangeError} for `merge` without `since`.
 * @throws {BpfError}
 */
export function copyMapEntries(from: MapHandle, to: MapHandle, options: CopyMapEntriesOptions = {}): CopyMapEntriesResult {
  const source = from.info();
  const target = to.info();
  if (!COPYABLE.has(source.type)) throw new LayoutError(`copying entries of a ${mapTypeName(source.type)} map: its values are not plain bytes`);
  const mismatches = (
    [
      ['type', mapTypeName(source.type), mapTypeName(target.type)],
      ['key size', source.keySize, target.keySize],
      ['value size', source.valueSize, target.valueSize],
    ] as const
  ).filter(([, a, b]) => a !== b);
  if (mismatches.length > 0) {
    throw new LayoutError(`copying entries between maps that differ: ${mismatches.map(([field, a, b]) => `${field} ${String(a)} and ${String(b)}`).join(', ')}`);
  }
  // Per-CPU values cross bpf(2) as one 8-byte-aligned slot per possible CPU.
  const valueBytes = isPerCpu(source.type) ? Math.ceil(source.valueSize / 8) * 8 * possibleCpuCount() : source.valueSize;
  const mode = options.mode ?? 'upsert';
  if (mode === 'merge' && options.since === undefined) throw new RangeError('a merge copy needs `since`, the result of the copy before');
  // An array holds every index from its creation: `create` would keep them all and copy nothing.
  if (mode === 'create' && (source.type === MapType.Array || source.type === MapType.PerCpuArray)) {
    throw new RangeError(`a create copy into a map of type ${mapTypeName(source.type)} would copy nothing (an array holds every index): use upsert or merge`);
  }
  const shape = { keySize: source.keySize, valueSize: valueBytes, type: source.type };
  // Whole maps in a few batch calls (5.6), the bytes never leaving the batch buffers: a
  // conntrack table of 256 Ki entries one syscall per entry takes seconds of the event loop.
  const entries = readAll(from.fd, shape, 2 * source.maxEntries);
  let writes = entries;
  let kept = 0;
  if (mode !== 'upsert') {
    const held = new Map(readAll(to.fd, shape, Number.MAX_SAFE_INTEGER).map((e) => [keyString(e.key), e.value]));
    const before = mode === 'merge' ? options.since?.written : undefined;
    writes = entries.filter((e) => {
      const current = held.get(keyString(e.key));
      if (current === undefined) return true;
      const first = before?.get(keyString(e.key));
      // `to` still holds what the first copy wrote, and `from` moved on: the old programs wrote last.
      const write = first !== undefined && !same(first, e.value) && same(current, first);
      if (!write) kept += 1;
      return write;
    });
  }
  let { copied, dropped } = writeAll(to.fd, shape, writes);
  if (target.type === MapType.LruHash || target.type === MapType.LruPerCpuHash) {
    // An LRU map evicts to make room (even before it is full: per-CPU free lists) and never
    // refuses: what stayed is what `to` holds with the bytes written.
    const held = new Map(readAll(to.fd, shape, Number.MAX_SAFE_INTEGER).map((e) => [keyString(e.key), e.value]));
    const stayed = writes.filter((e) => {
      const value = held.get(keyString(e.key));
      return value !== undefined && same(value, e.value);
    }).length;
    dropped += copied - stayed;
    copied = stayed;
  }
  // Indexed only when a merge asks: an upsert copy that is never merged pays nothing.
  let index: Map<string, Uint8Array> | undefined;
  const written = { get: (key: string) => (index ??= new Map(writes.map((e) => [keyString(e.key), e.value]))).get(key) };
  return { copied, dropped, kept, written };
}

/** Entries per batch call. */
const BATCH = 4096;

interface RawShape {
  readonly type: number;
  readonly keySize: number;
  /** As bytes cross bpf(2): per-CPU values for every possible CPU. */
  readonly valueSize: number;
}

/** One entry: views into the batch buffers it was read into. */
interface RawEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** A key's bytes as a string, for Map keys (one char per byte). */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** Every entry of a map (at most `limit`), a batch of fresh buffers per call. */
function readAll(fd: MapFd, shape: RawShape, limit: number): RawEntry[] {
  const out: RawEntry[] = [];
  if (!haveBatchOp(shape.type, 'lookup')) {
    let key: Uint8Array | undefined;
    for (let next = new Uint8Array(shape.keySize); out.length < limit && mapGetNextKey(fd, key, next); next = new Uint8Array(shape.keySize)) {
      const value = new Uint8Array(shape.valueSize);
      if (mapLookup(fd, next, value)) out.push({ key: next, value });
      key = next;
    }
    return out;
  }
  let size = BATCH;
  let inBatch: Uint8Array | undefined;
  for (;;) {
    // The position token: a bucket index for hash maps, a key for arrays; room for either.
    const outBatch = new Uint8Array(Math.max(shape.keySize, 8));
    const keys = new Uint8Array(shape.keySize * size);
    const values = new Uint8Array(shape.valueSize * size);
    let result;
    try {
      result = mapBatch(BpfCommand.MAP_LOOKUP_BATCH, { mapFd: fd, inBatch, outBatch, keys, values, count: size });
    } catch (error) {
      // ENOSPC: one hash bucket holds more elements than the batch.
      if (!(error instanceof BpfError && error.errno === 'ENOSPC') || size >= 1 << 20) throw error;
      size *= 2;
      continue;
    }
    for (let i = 0; i < result.count && out.length < limit; i += 1) {
      out.push({ key: keys.subarray(i * shape.keySize, (i + 1) * shape.keySize), value: values.subarray(i * shape.valueSize, (i + 1) * shape.valueSize) });
    }
    if (result.end || out.length >= limit) return out;
    inBatch = outBatch;
  }
}

/** Writes entries a batch at a time; a batch the map refuses is written one by one, counting those without room. */
function writeAll(fd: MapFd, shape: RawShape, entries: readonly RawEntry[]): { copied: number; dropped: number } {
  let copied = 0;
  let dropped = 0;
  const batched = haveBatchOp(shape.type, 'update');
  for (let at = 0; at < entries.length; at += BATCH) {
    const chunk = entries.slice(at, at + BATCH);
    if (batched) {
      const keys = new Uint8Array(shape.keySize * chunk.length);
      const values = new Uint8Array(shape.valueSize * chunk.length);
      chunk.forEach((e, i) => {
        keys.set(e.key, i * shape.keySize);
        values.set(e.value, i * shape.valueSize);
      });
      try {
        copied += mapBatch(BpfCommand.MAP_UPDATE_BATCH, { mapFd: fd, keys, values, count: chunk.length, elemFlags: UpdateFlag.ANY }).count;
        continue;
      } catch (error) {
        if (!(error instanceof BpfError && (error.errno === 'E2BIG' || error.errno === 'ENOSPC'))) throw error;
      }
    }
    for (const { key, value } of chunk) {
      try {
        mapUpdate(fd, key, value, UpdateFlag.ANY);
        copied += 1;
      } catch (error) {
        if (!(error instanceof BpfError && (error.errno === 'E2BIG' || error.errno === 'ENOSPC'))) throw error;
        dropped += 1;
      }
    }
  }
  return { copied, dropped };
}
