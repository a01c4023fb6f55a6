/** Maps with keys and values: hash, array, per-CPU, LRU, LPM trie, program array. */
import { LayoutError, BpfError, UnsupportedFeatureError } from '../errors.js';
import { type Layout, decodeLayout, encodeLayout } from '../codec/layout.js';
import { haveMapType } from '../features/map-types.js';
import type { MapFd } from '../fd.js';
import { MapFlag, UpdateFlag } from '../internal/sys/commands.js';
import { possibleCpuCount } from '../internal/sys/possible-cpus.js';
import { mapCreate, mapDelete, mapGetNextKey, mapLookup, mapUpdate } from '../internal/sys/syscall.js';
import { deleteBatch, lookupBatch, updateBatch } from './batch.js';
import { MapHandle } from './handle.js';
import { MapType, type PerCpuMapType, isPerCpu, mapTypeMinimumKernel, mapTypeName } from './map-type.js';
import { perCpuLayout } from './per-cpu.js';

/** How {@link BpfMap.update} treats an existing or missing key. */
export type UpdateMode = 'upsert' | 'create' | 'replace';

const updateFlags: Readonly<Record<UpdateMode, bigint>> = {
  upsert: UpdateFlag.ANY,
  create: UpdateFlag.NOEXIST,
  replace: UpdateFlag.EXIST,
};

/** The map types {@link createMap} makes with a key and a value layout. */
export type KeyValueMapType =
  | typeof MapType.Hash
  | typeof MapType.Array
  | typeof MapType.ProgramArray
  | typeof MapType.PerCpuHash
  | typeof MapType.PerCpuArray
  | typeof MapType.LruHash
  | typeof MapType.LruPerCpuHash
  | typeof MapType.LpmTrie;

/** The value type of a map: one `V` per possible CPU for per-CPU types. */
export type MapValue<T extends number, V> = T extends PerCpuMapType ? V[] : V;

/** Options of {@link createMap}. */
export interface CreateMapOptions<T extends KeyValueMapType, K, V> {
  /** The map type, one of {@link MapType}. */
  type: T;
  /** The key layout; `u32` for arrays and program arrays, {@link lpmKey} for LPM tries. */
  key: Layout<K>;
  /** The value layout (for per-CPU maps: of one CPU's value). */
  value: Layout<V>;
  /** The capacity in entries (for arrays, the number of elements). */
  maxEntries: number;
  /** At most 15 characters of `[A-Za-z0-9_.]`, shown by `bpftool map show` (4.15). */
  name?: string;
  /** `BPF_F_*` map flags (`MapFlag` in the source: `BPF_F_NO_PREALLOC`, `BPF_F_RDONLY_PROG`, ...); `BPF_F_NO_PREALLOC` is added for LPM tries. */
  flags?: number;
  /** BTF for the key and value (4.18), as the ELF loader gives it. */
  btf?: {
    /** The BTF object's fd. */
    fd: number;
    /** The key's type id in it. */
    keyTypeId: number;
    /** The value's type id in it. */
    valueTypeId: number;
  };
}

/** The kernel-side shape of a map, decided at creation. */
export interface MapShape {
  /** `enum bpf_map_type`; see {@link MapType}. */
  readonly type: number;
  /** Bytes per key. */
  readonly keySize: number;
  /** Bytes per value. */
  readonly valueSize: number;
  /** The capacity in entries. */
  readonly maxEntries: number;
}

/**
 * A map with typed keys and values. Every method is one `bpf(2)` call (batches: one per
 * batch) and runs synchronously.
 */
export class BpfMap<K, V> extends MapHandle {
  /** `enum bpf_map_type`; see {@link MapType}. */
  readonly type: number;
  /** The capacity in entries. */
  readonly maxEntries: number;
  /** The layout keys are encoded with. */
  readonly keyLayout: Layout<K>;
  /** The layout values are encoded with (one per CPU for per-CPU maps). */
  readonly valueLayout: Layout<V>;

  /** Wraps an open map fd; {@link createMap} and {@link openPinnedMap} are the usual ways. */
  constructor(fd: MapFd, shape: MapShape, keyLayout: Layout<K>, valueLayout: Layout<V>) {
    super(fd);
    this.type = shape.type;
    this.maxEntries = shape.maxEntries;
    this.keyLayout = keyLayout;
    this.valueLayout = valueLayout;
  }

  /** The value at `key`, or `undefined` when there is none. @throws {BpfError} {@link LayoutError} */
  lookup(key: K): V | undefined {
    const value = new Uint8Array(this.valueLayout.size);
    if (!mapLookup(this.fd, encodeLayout(this.keyLayout, key), value)) return undefined;
    return decodeLayout(this.valueLayout, value);
  }

  /**
   * Sets `key` to `value`. `mode` `create` fails with `EEXIST` when the key exists,
   * `replace` with `ENOENT` when it does not.
   * @throws {BpfError} `E2BIG` when a (non-LRU) map is full. {@link LayoutError}
   */
  update(key: K, value: V, mode: UpdateMode = 'upsert'): void {
    mapUpdate(this.fd, encodeLayout(this.keyLayout, key), encodeLayout(this.valueLayout, value), updateFlags[mode]);
  }

  /** Deletes `key`; false when it was not there. @throws {BpfError} `EINVAL` for arrays. */
  delete(key: K): boolean {
    return mapDelete(this.fd, encodeLayout(this.keyLayout, key));
  }

  /**
   * The keys, in the kernel's order, one `BPF_MAP_GET_NEXT_KEY` call each (a missing
   * start key gives the first key: Linux 4.12). Deleting the current key of a hash map
   * while iterating restarts from the first key, as the kernel does.
   */
  *keys(): Generator<K, void, undefined> {
    const size = this.keyLayout.size;
    let key: Uint8Array | undefined;
    for (;;) {
      const next = new Uint8Array(size);
      if (!mapGetNextKey(this.fd, key, next)) return;
      key = next;
      yield decodeLayout(this.keyLayout, next);
    }
  }

  /** The entries, as `[key, value]`: get-next-key then lookup for each (skips keys deleted meanwhile). */
  *entries(): Generator<[K, V], void, undefined> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) yield [key, value];
    }
  }

  /**
   * Writes many entries with one `BPF_MAP_UPDATE_BATCH` call (5.6), or one update each on
   * kernels or map types without it (program arrays; LPM tries before they got batches).
   * @returns how many were written.
   * @throws {BpfError} {@link LayoutError}
   */
  updateBatch(entries: readonly (readonly [K, V])[], mode: UpdateMode = 'upsert'): number {
    return updateBatch(this, entries, updateFlags[mode]);
  }

  /**
   * Deletes many keys with one `BPF_MAP_DELETE_BATCH` call (5.6), or one delete each.
   * The batch call stops with `ENOENT` at a missing key.
   * @returns how many were deleted.
   * @throws {BpfError}
   */
  deleteBatch(keys: readonly K[]): number {
    return deleteBatch(this, keys);
  }

  /**
   * Reads every entry, `batchSize` per `BPF_MAP_LOOKUP_BATCH` call (5.6), or by iteration
   * where batches are missing.
   * @throws {BpfError}
   */
  lookupBatch(batchSize = 256): [K, V][] {
    return lookupBatch(this, batchSize);
  }
}

/**
 * Creates a map. Per-CPU maps take and give one value per possible CPU
 * (`/sys/devices/system/cpu/possible`). LPM tries get `BPF_F_NO_PREALLOC`, which the
 * kernel requires of them.
 *
 * Needs the map type's kernel ({@link mapTypeMinimumKernel}) and CAP_BPF.
 * @throws {UnsupportedFeatureError} when the kernel lacks the map type.
 * @throws {BpfError} `EPERM` without privileges, `EINVAL` for bad sizes.
 */
export function createMap<T extends KeyValueMapType, K, V>(options: CreateMapOptions<T, K, V>): BpfMap<K, MapValue<T, V>> {
  const { type, key, value, maxEntries } = options;
  let flags = options.flags ?? 0;
  if (type === MapType.LpmTrie) flags |= MapFlag.NO_PREALLOC;
  let fd: MapFd;
  try {
    fd = mapCreate({
      mapType: type,
      keySize: key.size,
      valueSize: value.size,
      maxEntries,
      flags,
      name: options.name,
      btfFd: options.btf?.fd,
      btfKeyTypeId: options.btf?.keyTypeId,
      btfValueTypeId: options.btf?.valueTypeId,
    });
  } catch (error) {
    throw unsupportedOr(type, error);
  }
  const valueLayout = isPerCpu(type) ? perCpuLayout(value, possibleCpuCount()) : value;
  const shape = { type, keySize: key.size, valueSize: value.size, maxEntries };
  return new BpfMap(fd, shape, key, valueLayout as Layout<MapValue<T, V>>);
}

/** Turns an `EINVAL` from map creation into {@link UnsupportedFeatureError} when the type is missing. */
export function unsupportedOr(type: number, error: unknown): unknown {
  if (error instanceof BpfError && error.errno === 'EINVAL' && !haveMapType(type)) {
    const minimum = (mapTypeMinimumKernel as Record<number, string>)[type] ?? 'a newer version';
    return new UnsupportedFeatureError(`${mapTypeName(type)} maps`, minimum, { cause: error });
  }
  return error;
}

/** Checks that layouts fit a map the kernel describes. @throws {LayoutError} */
export function checkLayouts(what: string, shape: MapShape, key: Layout<unknown>, value: Layout<unknown>): void {
  if (shape.keySize !== key.size) {
    throw new LayoutError(`${what}: keys are ${shape.keySize} bytes, the key layout is ${key.size}`);
  }
  if (shape.valueSize !== value.size) {
    throw new LayoutError(`${what}: values are ${shape.valueSize} bytes, the value layout is ${value.size}`);
  }
}
