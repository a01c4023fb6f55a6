/**
 * A minimal reader of raw BTF (Documentation/bpf/btf.rst, include/uapi/linux/btf.h):
 * enough to decode BTF-defined map definitions in `.maps`, find the variables of data
 * sections, and fix up what clang leaves for the loader (`DATASEC` sizes and variable
 * offsets) before the raw BTF goes to the kernel. Pure.
 */
import { ElfError } from '../errors.js';

/** `BTF_KIND_*` (include/uapi/linux/btf.h). */
export const BtfKind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** A struct or union member. */
export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Offset in bits (for bitfields, the low 24 bits when `kind_flag` is set). */
  readonly bitOffset: number;
}

/** One `struct btf_var_secinfo` of a `DATASEC`. */
export interface BtfSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** One type, by its id (the index in {@link Btf.types}). */
export interface BtfType {
  readonly id: number;
  readonly kind: number;
  readonly name: string;
  /** `size` for sized kinds, `type` for references (PTR, TYPEDEF, VAR, FUNC, ...). */
  readonly sizeOrType: number;
  /** Byte position of the `struct btf_type` within the type section, for fixups. */
  readonly position: number;
  readonly members?: readonly BtfMember[];
  readonly array?: { readonly type: number; readonly indexType: number; readonly count: number };
  readonly secinfo?: readonly BtfSecinfo[];
}

/** Decoded BTF: the raw bytes, the header's offsets, and every type. */
export interface Btf {
  readonly raw: Uint8Array;
  /** Start of the type section in `raw` (header length + `type_off`). */
  readonly typeStart: number;
  /** `types[0]` is `void`. */
  readonly types: readonly BtfType[];
  /** A string of the string section. @throws {ElfError} */
  string(offset: number): string;
}

const BTF_MAGIC = 0xeb9f;
const TYPE_HEADER = 12;
/** Reference chains longer than this are a loop in corrupt input, not a real type. */
const MAX_DEPTH = 32;

function fail(message: string): never {
  throw new ElfError(message, '.BTF');
}

/** Extra bytes after the 12-byte `struct btf_type` of each kind (btf.rst §2.2). */
function trailer(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 4;
    case BtfKind.ARRAY:
      return 12;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return vlen * 12;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return vlen * 8;
    case BtfKind.PTR:
    case BtfKind.FWD:
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.FUNC:
    case BtfKind.FLOAT:
    case BtfKind.TYPE_TAG:
      return 0;
    default:
      return fail(`unknown BTF kind ${kind}`);
  }
}

/**
 * Decodes raw BTF (the `.BTF` section): header, types and strings.
 * @throws {ElfError} for a bad magic, offsets outside the data, unknown kinds.
 */
export function decodeBtf(raw: Uint8Array): Btf {
  if (raw.byteLength < 24) fail(`${raw.byteLength} bytes is too short for a BTF header`);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (v.getUint16(0, true) !== BTF_MAGIC) fail('bad BTF magic (not 0xeb9f little-endian)');
  const hdrLen = v.getUint32(4, true);
  const typeOff = v.getUint32(8, true);
  const typeLen = v.getUint32(12, true);
  const strOff = v.getUint32(16, true);
  const strLen = v.getUint32(20, true);
  const typeStart = hdrLen + typeOff;
  const strStart = hdrLen + strOff;
  if (hdrLen < 24 || typeStart + typeLen > raw.byteLength || strStart + strLen > raw.byteLength) {
    fail(`header (types ${typeLen} bytes at ${typeOff}, strings ${strLen} at ${strOff}) does not fit ${raw.byteLength} bytes`);
  }
  const strings = raw.subarray(strStart, strStart + strLen);
  const decoder = new TextDecoder();
  const string = (offset: number): string => {
    if (offset >= strings.byteLength) fail(`string offset ${offset} is outside the string section`);
    const end = strings.indexOf(0, offset);
    if (end < 0) fail(`string at ${offset} is not terminated`);
    return decoder.decode(strings.subarray(offset, end));
  };

  const types: BtfType[] = [{ id: 0, kind: BtfKind.UNKN, name: '', sizeOrType: 0, position: -1 }];
  const end = typeStart + typeLen;
  let at = typeStart;
  while (at < end) {
    if (at + TYPE_HEADER > end) fail(`type ${types.length} is cut off`);
    const info = v.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const size = TYPE_HEADER + trailer(kind, vlen);
    if (at + size > end) fail(`type ${types.length} is cut off`);
    const base = { id: types.length, kind, name: string(v.getUint32(at, true)), sizeOrType: v.getUint32(at + 8, true), position: at - typeStart };
    const body = at + TYPE_HEADER;
    if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) {
      const members = Array.from({ length: vlen }, (_, i) => ({
        name: string(v.getUint32(body + i * 12, true)),
        type: v.getUint32(body + i * 12 + 4, true),
        bitOffset: v.getUint32(body + i * 12 + 8, true) & (info >>> 31 ? 0xffffff : 0xffffffff),
      }));
      types.push({ ...base, members });
    } else if (kind === BtfKind.ARRAY) {
      types.push({ ...base, array: { type: v.getUint32(body, true), indexType: v.getUint32(body + 4, true), count: v.getUint32(body + 8, true) } });
    } else if (kind === BtfKind.DATASEC) {
      const secinfo = Array.from({ length: vlen }, (_, i) => ({
        type: v.getUint32(body + i * 12, true),
        offset: v.getUint32(body + i * 12 + 4, true),
        size: v.getUint32(body + i * 12 + 8, true),
      }));
      types.push({ ...base, secinfo });
    } else {
      types.push(base);
    }
    at += size;
  }
  return { raw, typeStart, types, string };
}

/** The type with id `id`. @throws {ElfError} when there is none. */
export function btfType(btf: Btf, id: number): BtfType {
  const type = btf.types[id];
  if (!type) fail(`type id ${id} does not exist (${btf.types.length - 1} types)`);
  return type;
}

const qualifiers: ReadonlySet<number> = new Set([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);

/** Follows typedefs and qualifiers (const, volatile, restrict, type tags) to the type itself. */
export function skipQualifiers(btf: Btf, id: number): BtfType {
  let type = btfType(btf, id);
  for (let depth = 0; qualifiers.has(type.kind); depth += 1) {
    if (depth > MAX_DEPTH) fail(`type ${id}: reference loop`);
    type = btfType(btf, type.sizeOrType);
  }
  return type;
}

/**
 * The size of a type in bytes, as C's `sizeof` gives it.
 * @throws {ElfError} for types without a size (void, functions, forward declarations) or loops.
 */
export function btfSizeOf(btf: Btf, id: number, depth = 0): number {
  if (depth > MAX_DEPTH) fail(`type ${id}: reference loop`);
  const type = skipQualifiers(btf, id);
  switch (type.kind) {
    case BtfKind.INT:
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
    case BtfKind.FLOAT:
    case BtfKind.DATASEC:
      return type.sizeOrType;
    case BtfKind.PTR:
      return 8;
    case BtfKind.ARRAY:
      return type.array!.count * btfSizeOf(btf, type.array!.type, depth + 1);
    case BtfKind.VAR:
      return btfSizeOf(btf, type.sizeOrType, depth + 1);
    default:
      return fail(`type ${id} (kind ${type.kind}) has no size`);
  }
}

/** The `DATASEC` named `name` (such as `.maps` or `.rodata`), if any. */
export function findDatasec(btf: Btf, name: string): BtfType | undefined {
  return btf.types.find((t) => t.kind === BtfKind.DATASEC && t.name === name);
}

/** What {@link fixupDatasecs} needs to know of the ELF file. */
export interface DatasecLayout {
  /** The ELF section's size, or undefined when the object has no such section. */
  sectionSize(name: string): number | undefined;
  /** A symbol's offset in its section, by section and variable name. */
  symbolOffset(section: string, name: string): number | undefined;
}

/**
 * A copy of the raw BTF with every `DATASEC`'s size set to its ELF section's size and
 * each variable's offset set to its symbol's value: clang leaves both as zero for the
 * loader to fill in (libbpf's `btf_fixup_datasec`). Without it the kernel refuses the
 * BTF ("Invalid size"). `DATASEC`s of sections the object lacks are left alone.
 * @throws {ElfError} when a variable has no symbol in its section.
 */
export function fixupDatasecs(btf: Btf, layout: DatasecLayout): Uint8Array {
  const out = btf.raw.slice();
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const type of btf.types) {
    if (type.kind !== BtfKind.DATASEC) continue;
    const size = layout.sectionSize(type.name);
    if (size === undefined) continue;
    const at = btf.typeStart + type.position;
    v.setUint32(at + 8, size, true);
    type.secinfo!.forEach((info, i) => {
      const variable = btfType(btf, info.type);
      const offset = layout.symbolOffset(type.name, variable.name);
      if (offset === undefined) throw new ElfError(`variable ${variable.name} has no symbol`, type.name);
      v.setUint32(at + TYPE_HEADER + i * 12 + 4, offset, true);
    });
  }
  return out;
}
