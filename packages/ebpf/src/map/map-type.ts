/** Map types: `enum bpf_map_type` from include/uapi/linux/bpf.h. */

/** The map types this package creates, by their `enum bpf_map_type` number. */
export const MapType = {
  /** `BPF_MAP_TYPE_HASH` (3.19). */
  Hash: 1,
  /** `BPF_MAP_TYPE_ARRAY` (3.19): keys are u32 indexes, every slot exists. */
  Array: 2,
  /** `BPF_MAP_TYPE_PROG_ARRAY` (4.2): u32 index to program fd, for tail calls. */
  ProgramArray: 3,
  /** `BPF_MAP_TYPE_PERF_EVENT_ARRAY` (4.3). */
  PerfEventArray: 4,
  /** `BPF_MAP_TYPE_PERCPU_HASH` (4.6): one value per possible CPU. */
  PerCpuHash: 5,
  /** `BPF_MAP_TYPE_PERCPU_ARRAY` (4.6). */
  PerCpuArray: 6,
  /** `BPF_MAP_TYPE_LRU_HASH` (4.10): evicts the least recently used when full. */
  LruHash: 9,
  /** `BPF_MAP_TYPE_LRU_PERCPU_HASH` (4.10). */
  LruPerCpuHash: 10,
  /** `BPF_MAP_TYPE_LPM_TRIE` (4.11): longest-prefix match on {@link lpmKey} keys. */
  LpmTrie: 11,
  /** `BPF_MAP_TYPE_ARRAY_OF_MAPS` (4.12). */
  ArrayOfMaps: 12,
  /** `BPF_MAP_TYPE_HASH_OF_MAPS` (4.12). */
  HashOfMaps: 13,
  /** `BPF_MAP_TYPE_DEVMAP` (4.14). */
  DevMap: 14,
  /** `BPF_MAP_TYPE_SOCKMAP` (4.14). */
  SockMap: 15,
  /** `BPF_MAP_TYPE_CPUMAP` (4.15). */
  CpuMap: 16,
  /** `BPF_MAP_TYPE_XSKMAP` (4.18). */
  XskMap: 17,
  /** `BPF_MAP_TYPE_SOCKHASH` (4.18). */
  SockHash: 18,
  /** `BPF_MAP_TYPE_QUEUE` (4.20). */
  Queue: 22,
  /** `BPF_MAP_TYPE_STACK` (4.20). */
  Stack: 23,
  /** `BPF_MAP_TYPE_DEVMAP_HASH` (5.4). */
  DevMapHash: 25,
  /** `BPF_MAP_TYPE_RINGBUF` (5.8): no keys or values; see {@link RingBufferMap}. */
  RingBuffer: 27,
  /** `BPF_MAP_TYPE_BLOOM_FILTER` (5.16). */
  BloomFilter: 30,
} as const;

/** One of the {@link MapType} numbers. */
export type MapType = (typeof MapType)[keyof typeof MapType];

/** The per-CPU map types, whose values come one per possible CPU. */
export type PerCpuMapType = typeof MapType.PerCpuHash | typeof MapType.PerCpuArray | typeof MapType.LruPerCpuHash;

/** Whether a map type stores one value per possible CPU. */
export function isPerCpu(type: number): type is PerCpuMapType {
  return type === MapType.PerCpuHash || type === MapType.PerCpuArray || type === MapType.LruPerCpuHash;
}

/** The first Linux version with each map type, for {@link UnsupportedFeatureError}. */
export const mapTypeMinimumKernel: Readonly<Record<MapType, string>> = {
  [MapType.Hash]: '3.19',
  [MapType.Array]: '3.19',
  [MapType.ProgramArray]: '4.2',
  [MapType.PerfEventArray]: '4.3',
  [MapType.PerCpuHash]: '4.6',
  [MapType.PerCpuArray]: '4.6',
  [MapType.LruHash]: '4.10',
  [MapType.LruPerCpuHash]: '4.10',
  [MapType.LpmTrie]: '4.11',
  [MapType.ArrayOfMaps]: '4.12',
  [MapType.HashOfMaps]: '4.12',
  [MapType.DevMap]: '4.14',
  [MapType.SockMap]: '4.14',
  [MapType.CpuMap]: '4.15',
  [MapType.XskMap]: '4.18',
  [MapType.SockHash]: '4.18',
  [MapType.Queue]: '4.20',
  [MapType.Stack]: '4.20',
  [MapType.DevMapHash]: '5.4',
  [MapType.RingBuffer]: '5.8',
  [MapType.BloomFilter]: '5.16',
};

/** `BPF_MAP_TYPE_HASH` and so on, for messages. */
export function mapTypeName(type: number): string {
  const entry = Object.entries(MapType).find(([, value]) => value === type);
  return entry ? entry[0] : `map type ${type}`;
}
