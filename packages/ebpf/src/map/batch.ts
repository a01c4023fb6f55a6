/**
 * Batch operations (5.6): one `bpf(2)` call per batch of elements, with a loop of single
 * calls where the kernel lacks batch support for the map type.
 */
import { BpfError, LayoutError } from '../errors.js';
import { haveBatchOp } from '../features/batch.js';
import type { Layout } from '../codec/layout.js';
import type { MapFd } from '../fd.js';
import { BpfCommand } from '../internal/sys/commands.js';
import { mapBatch, mapDelete, mapGetNextKey, mapLookup, mapUpdate } from '../internal/sys/syscall.js';

/** The parts of a map the batch functions use. */
export interface BatchTarget<K, V> {
  readonly fd: MapFd;
  readonly type: number;
  readonly keyLayout: Layout<K>;
  readonly valueLayout: Layout<V>;
}

function pack<T>(layout: Layout<T>, items: readonly T[]): Uint8Array {
  const out = new Uint8Array(layout.size * items.length);
  const view = new DataView(out.buffer);
  items.forEach((item, i) => layout.encode(view, i * layout.size, item));
  return out;
}

/** Writes every entry: one `BPF_MAP_UPDATE_BATCH` (or a loop of updates). @returns entries written. */
export function updateBatch<K, V>(map: BatchTarget<K, V>, entries: readonly (readonly [K, V])[], flags: bigint): number {
  if (entries.length === 0) return 0;
  const keys = pack(map.keyLayout, entries.map(([k]) => k));
  const values = pack(map.valueLayout, entries.map(([, v]) => v));
  if (haveBatchOp(map.type, 'update')) {
    return mapBatch(BpfCommand.MAP_UPDATE_BATCH, { mapFd: map.fd, keys, values, count: entries.length, elemFlags: flags }).count;
  }
  const k = map.keyLayout.size;
  const v = map.valueLayout.size;
  entries.forEach((_, i) => mapUpdate(map.fd, keys.subarray(i * k, (i + 1) * k), values.subarray(i * v, (i + 1) * v), flags));
  return entries.length;
}

/**
 * Deletes every key: one `BPF_MAP_DELETE_BATCH` (or a loop). The batch stops with
 * `ENOENT` at the first missing key; the loop skips missing keys.
 * @returns keys deleted.
 */
export function deleteBatch<K, V>(map: BatchTarget<K, V>, keys: readonly K[]): number {
  if (keys.length === 0) return 0;
  const packed = pack(map.keyLayout, keys);
  if (haveBatchOp(map.type, 'delete')) {
    return mapBatch(BpfCommand.MAP_DELETE_BATCH, { mapFd: map.fd, keys: packed, count: keys.length }).count;
  }
  const k = map.keyLayout.size;
  let deleted = 0;
  keys.forEach((_, i) => {
    if (mapDelete(map.fd, packed.subarray(i * k, (i + 1) * k))) deleted++;
  });
  return deleted;
}

/**
 * Reads the whole map, `batchSize` elements per `BPF_MAP_LOOKUP_BATCH` call (or walks it
 * with get-next-key and lookup).
 */
export function lookupBatch<K, V>(map: BatchTarget<K, V>, batchSize: number): [K, V][] {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new LayoutError(`batch size ${batchSize} is not a positive integer`);
  const out: [K, V][] = [];
  const ks = map.keyLayout.size;
  const vs = map.valueLayout.size;
  if (!haveBatchOp(map.type, 'lookup')) {
    let key: Uint8Array | undefined;
    const next = new Uint8Array(ks);
    const value = new Uint8Array(vs);
    while (mapGetNextKey(map.fd, key, next)) {
      key = next.slice();
      if (mapLookup(map.fd, key, value)) out.push([decode(map.keyLayout, key, 0), decode(map.valueLayout, value, 0)]);
    }
    return out;
  }
  let size = batchSize;
  let keys = new Uint8Array(ks * size);
  let values = new Uint8Array(vs * size);
  // The position token: a bucket index (u32) for hash maps, a key for arrays (kernel/bpf/hashtab.c,
  // kernel/bpf/syscall.c generic_map_lookup_batch). It must hold the larger of the two.
  const tokenSize = Math.max(ks, 8);
  let inBatch: Uint8Array | undefined;
  for (;;) {
    const outBatch = new Uint8Array(tokenSize);
    let result;
    try {
      result = mapBatch(BpfCommand.MAP_LOOKUP_BATCH, { mapFd: map.fd, inBatch, outBatch, keys, values, count: size });
    } catch (error) {
      // ENOSPC: one hash bucket holds more elements than the batch; retry with a larger one.
      if (!(error instanceof BpfError && error.errno === 'ENOSPC') || size >= 1 << 20) throw error;
      size *= 2;
      keys = new Uint8Array(ks * size);
      values = new Uint8Array(vs * size);
      continue;
    }
    const { count, end } = result;
    for (let i = 0; i < count; i++) out.push([decode(map.keyLayout, keys, i * ks), decode(map.valueLayout, values, i * vs)]);
    if (end) return out;
    inBatch = outBatch;
  }
}

function decode<T>(layout: Layout<T>, bytes: Uint8Array, offset: number): T {
  return layout.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
}
