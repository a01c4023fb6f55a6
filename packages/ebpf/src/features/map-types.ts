/** Which map types this kernel has: probed by creating a tiny map of each. */
import { UnsupportedFeatureError } from '../errors.js';
import { MapFlag } from '../internal/sys/commands.js';
import type { MapCreateAttr } from '../internal/sys/attr-map.js';
import { closeFd, mapCreate } from '../internal/sys/syscall.js';
import { MapType, mapTypeMinimumKernel, mapTypeName } from '../map/map-type.js';
import { cachedProbe } from './cache.js';
import { probeCall } from './probe-util.js';

/** The smallest valid attributes of each type (kernel/bpf/*.c `*_map_alloc_check`). */
function probeAttr(type: number): MapCreateAttr {
  const base = { mapType: type, keySize: 4, valueSize: 4, maxEntries: 1 };
  switch (type) {
    case MapType.LpmTrie:
      return { ...base, keySize: 8, flags: MapFlag.NO_PREALLOC };
    case MapType.Queue:
    case MapType.Stack:
    case MapType.BloomFilter:
      return { ...base, keySize: 0 };
    case MapType.RingBuffer:
      return { ...base, keySize: 0, valueSize: 0, maxEntries: 4096 };
    default:
      return base;
  }
}

function probeMapType(type: number): boolean {
  if (type === MapType.ArrayOfMaps || type === MapType.HashOfMaps) {
    // Map-in-map types need an inner map to copy the shape of.
    const inner = mapCreate(probeAttr(MapType.Array));
    try {
      return probeCall(() => closeFd(mapCreate({ ...probeAttr(type), innerMapFd: inner })));
    } finally {
      closeFd(inner);
    }
  }
  return probeCall(() => closeFd(mapCreate(probeAttr(type))));
}

/**
 * Whether the kernel can create maps of `type`, by creating a one-entry map (cached).
 * @throws {BpfError} `EPERM` without CAP_BPF: a missing privilege is not a missing feature.
 */
export function haveMapType(type: number): boolean {
  return cachedProbe(`map:${type}`, () => probeMapType(type));
}

/**
 * Throws unless the kernel has map type `type`.
 * @throws {UnsupportedFeatureError} naming the first Linux version with it.
 */
export function requireMapType(type: MapType): void {
  if (!haveMapType(type)) throw new UnsupportedFeatureError(`${mapTypeName(type)} maps`, mapTypeMinimumKernel[type]);
}
