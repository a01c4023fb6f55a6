/**
 * Whether a pinned map is the map a spec describes: its type, sizes, capacity and flags,
 * and, when both carry BTF, the layout of its key and value (read back from the kernel).
 */
import { readLoadedBtf } from '../btf/loaded.js';
import { btfLayout } from '../elf/btf-layout.js';
import { type Btf as DecodedBtf, decodeBtf } from '../elf/btf-types.js';
import type { MapSpec } from '../elf/spec.js';
import type { MapHandle } from '../map/handle.js';
import { mapTypeName } from '../map/map-type.js';

/** The BTF of a spec and of loaded maps, decoded once per load, for comparing layouts. */
export interface LayoutSources {
  readonly spec: DecodedBtf | undefined;
  loaded(id: number): DecodedBtf | undefined;
}

/** The spec's BTF decoded now, loaded maps' BTF read when first asked for. */
export function layoutSources(raw: Uint8Array | undefined): LayoutSources {
  const cache = new Map<number, DecodedBtf | undefined>();
  let spec: DecodedBtf | undefined;
  try {
    spec = raw ? decodeBtf(raw) : undefined;
  } catch {
    spec = undefined;
  }
  return {
    spec,
    loaded(id) {
      if (!cache.has(id)) {
        try {
          cache.set(id, readLoadedBtf(id));
        } catch {
          // Unreadable BTF (no CAP_SYS_ADMIN, a kind this reader lacks): the sizes decide alone.
          cache.set(id, undefined);
        }
      }
      return cache.get(id);
    },
  };
}

/** How a pinned map differs from its spec, in words and by field; undefined when it matches. */
export function pinDifferences(spec: MapSpec, handle: MapHandle, sources: LayoutSources): { text: string; fields: string[] } | undefined {
  const info = handle.info();
  const fields: [string, string | number, string | number][] = [
    ['type', mapTypeName(spec.type), mapTypeName(info.type)],
    ['key size', spec.keySize, info.keySize],
    ['value size', spec.valueSize, info.valueSize],
    ['max entries', spec.maxEntries, info.maxEntries],
    ['flags', spec.flags, info.flags],
  ];
  const differences = fields.filter(([, want, have]) => want !== have);
  // Same sizes may still be other members at other offsets: compare the BTF when both have it.
  const loaded = spec.btf && info.btfId ? sources.loaded(info.btfId) : undefined;
  if (sources.spec && spec.btf && loaded && !differences.some(([field]) => field === 'key size' || field === 'value size')) {
    const pairs = [
      ['key layout', spec.btf.keyTypeId, info.btfKeyTypeId],
      ['value layout', spec.btf.valueTypeId, info.btfValueTypeId],
    ] as const;
    for (const [field, wantId, haveId] of pairs) {
      if (!wantId || !haveId) continue;
      const want = safeLayout(sources.spec, wantId);
      const have = safeLayout(loaded, haveId);
      if (want !== undefined && have !== undefined && want !== have) differences.push([field, want, have]);
    }
  }
  if (differences.length === 0) return undefined;
  return {
    text: differences.map(([field, want, have]) => `${field} ${String(have)} (the spec says ${String(want)})`).join(', '),
    fields: differences.map(([field]) => field),
  };
}

function safeLayout(btf: DecodedBtf, id: number): string | undefined {
  try {
    return btfLayout(btf, id);
  } catch {
    return undefined;
  }
}
