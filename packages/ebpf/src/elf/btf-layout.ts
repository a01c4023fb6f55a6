/**
 * The memory layout a BTF type describes, as a string that two BTF blobs give alike
 * exactly when the bytes mean the same: member names, bit offsets and the layout of each
 * member's type, through typedefs and qualifiers. Type ids and the type names of
 * integers and typedefs do not count. Pure.
 */
import { type Btf, BtfKind, skipQualifiers } from './btf-types.js';

/** Nested types deeper than this are shown as `…` (real map keys and values are shallow). */
const MAX_DEPTH = 16;

/**
 * The layout of type `id` of `btf`: `struct tw_ct_value{origin@0:i1,state@8:i1,…}`,
 * `i4` for a 4-byte integer, `i1[16]` for an array.
 * @throws {ElfError} for an id that does not exist.
 */
export function btfLayout(btf: Btf, id: number, depth = 0): string {
  if (depth > MAX_DEPTH) return '…';
  const type = skipQualifiers(btf, id);
  switch (type.kind) {
    case BtfKind.INT:
      return `i${type.sizeOrType}`;
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      return `e${type.sizeOrType}`;
    case BtfKind.FLOAT:
      return `f${type.sizeOrType}`;
    case BtfKind.PTR:
      return 'p';
    case BtfKind.ARRAY:
      return `${btfLayout(btf, type.array?.type ?? 0, depth + 1)}[${type.array?.count ?? 0}]`;
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      const members = (type.members ?? []).map((m) => `${m.name}@${m.bitOffset}:${btfLayout(btf, m.type, depth + 1)}`);
      return `${type.kind === BtfKind.STRUCT ? 'struct' : 'union'} ${type.name}{${members.join(',')}}${type.sizeOrType}`;
    }
    default:
      return `kind${type.kind}`;
  }
}

