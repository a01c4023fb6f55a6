/** Attributes of the map commands: the anonymous structs of `union bpf_attr` they use. */
import { type AddressOf, AttrWriter, type EncodedAttr, checkObjectName } from './attr.js';

/** Fields of `BPF_MAP_CREATE`. */
export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** `BPF_F_*` map flags. */
  flags?: number;
  /** The inner map's fd for map-in-map types (4.12). */
  innerMapFd?: number;
  /** At most 15 characters of `[A-Za-z0-9_.]` (4.15). */
  name?: string;
  /** BTF describing the key and value (4.18). */
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** Type-specific extra, such as a bloom filter's hash count (5.16). */
  mapExtra?: bigint;
}

/**
 * `BPF_MAP_CREATE` (3.18):
 * ```
 * 0 map_type  4 key_size  8 value_size  12 max_entries  16 map_flags  20 inner_map_fd
 * 24 numa_node  28 map_name[16]  44 map_ifindex  48 btf_fd  52 btf_key_type_id
 * 56 btf_value_type_id  60 btf_vmlinux_value_type_id  64 map_extra (u64)   = 72 bytes
 * ```
 */
export function encodeMapCreate(a: MapCreateAttr, addressOf: AddressOf): EncodedAttr {
  const w = new AttrWriter(72, addressOf)
    .u32(0, a.mapType)
    .u32(4, a.keySize)
    .u32(8, a.valueSize)
    .u32(12, a.maxEntries)
    .u32(16, a.flags ?? 0)
    .u32(20, a.innerMapFd ?? 0);
  if (a.name) w.chars(28, 16, checkObjectName(a.name));
  w.u32(48, a.btfFd ?? 0)
    .u32(52, a.btfKeyTypeId ?? 0)
    .u32(56, a.btfValueTypeId ?? 0)
    .u64(64, a.mapExtra ?? 0n);
  return w.done();
}

/** Fields of the element commands. `value` is `next_key` for `BPF_MAP_GET_NEXT_KEY`. */
export interface MapElemAttr {
  mapFd: number;
  key?: Uint8Array;
  value?: Uint8Array;
  /** `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`. */
  flags?: bigint;
}

/**
 * `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_UPDATE_ELEM`, `BPF_MAP_DELETE_ELEM`,
 * `BPF_MAP_GET_NEXT_KEY` (3.18):
 * ```
 * 0 map_fd  (4 padding)  8 key (ptr)  16 value / next_key (ptr)  24 flags (u64)  = 32 bytes
 * ```
 */
export function encodeMapElem(a: MapElemAttr, addressOf: AddressOf): EncodedAttr {
  const key = a.key && a.key.byteLength > 0 ? a.key : undefined;
  const value = a.value && a.value.byteLength > 0 ? a.value : undefined;
  const attr = new DataView(new ArrayBuffer(32));
  writeMapElem(attr, { mapFd: a.mapFd, key: key ? addressOf(key) : 0n, value: value ? addressOf(value) : 0n, flags: a.flags ?? 0n });
  return { attr, keep: [key, value].filter((b) => b !== undefined) };
}

/**
 * Writes the element commands' attribute (layout above) into the first 32 bytes of
 * `view`, with the key and value given as addresses (0 for NULL): for a buffer reused
 * across calls, whose addresses are known.
 */
export function writeMapElem(view: DataView, a: { mapFd: number; key: bigint; value: bigint; flags: bigint }): void {
  view.setUint32(0, a.mapFd >>> 0, true);
  view.setUint32(4, 0, true);
  view.setBigUint64(8, a.key, true);
  view.setBigUint64(16, a.value, true);
  view.setBigUint64(24, BigInt.asUintN(64, a.flags), true);
}

/** Fields of the batch commands. */
export interface MapBatchAttr {
  mapFd: number;
  /** Where to resume (lookup batches): the previous call's `outBatch`; absent to start. */
  inBatch?: Uint8Array;
  /** Where the kernel writes the position to resume from (lookup batches). */
  outBatch?: Uint8Array;
  keys?: Uint8Array;
  values?: Uint8Array;
  /** Elements in `keys`/`values`; the kernel writes back how many it processed. */
  count: number;
  /** `BPF_ANY` and friends, applied to every element. */
  elemFlags?: bigint;
}

/**
 * `BPF_MAP_LOOKUP_BATCH`, `BPF_MAP_LOOKUP_AND_DELETE_BATCH`, `BPF_MAP_UPDATE_BATCH`,
 * `BPF_MAP_DELETE_BATCH` (5.6):
 * ```
 * 0 in_batch  8 out_batch  16 keys  24 values (ptrs)  32 count  36 map_fd
 * 40 elem_flags (u64)  48 flags (u64)   = 56 bytes
 * ```
 * `count` (offset 32) is written back by the kernel: {@link batchCount} reads it.
 */
export function encodeMapBatch(a: MapBatchAttr, addressOf: AddressOf): EncodedAttr {
  return new AttrWriter(56, addressOf)
    .pointer(0, a.inBatch)
    .pointer(8, a.outBatch)
    .pointer(16, a.keys)
    .pointer(24, a.values)
    .u32(32, a.count)
    .u32(36, a.mapFd)
    .u64(40, a.elemFlags ?? 0n)
    .done();
}

/** The element count the kernel wrote back into a batch attribute. */
export function batchCount(attr: DataView): number {
  return attr.getUint32(32, true);
}
