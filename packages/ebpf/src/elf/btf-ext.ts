/**
 * The `.BTF.ext` section: function and line info per ELF section
 * (Documentation/bpf/btf.rst §4.2 ".BTF.ext section"). Offsets in the object are in
 * bytes from the start of the ELF section; the loader turns them into instruction
 * indexes of the linked program. CO-RE relocations are not read. Pure.
 */
import { ElfError } from '../errors.js';
import type { Btf } from './btf-types.js';

/** `struct bpf_func_info`: the BTF `FUNC` type of the function starting at `offset`. */
export interface FuncInfoRecord {
  /** Bytes from the start of the ELF section. */
  readonly offset: number;
  readonly typeId: number;
}

/** `struct bpf_line_info`: the source line of the instruction at `offset`. */
export interface LineInfoRecord {
  /** Bytes from the start of the ELF section. */
  readonly offset: number;
  /** Offsets in the BTF string section. */
  readonly fileNameOffset: number;
  readonly lineOffset: number;
  /** `line << 10 | column`. */
  readonly lineColumn: number;
}

/** Function and line info, by ELF section name. */
export interface BtfExt {
  readonly funcInfo: ReadonlyMap<string, readonly FuncInfoRecord[]>;
  readonly lineInfo: ReadonlyMap<string, readonly LineInfoRecord[]>;
}

const BTF_MAGIC = 0xeb9f;
const FUNC_INFO_SIZE = 8;
const LINE_INFO_SIZE = 16;

function fail(message: string): never {
  throw new ElfError(message, '.BTF.ext');
}

function readBlocks<T>(
  v: DataView,
  start: number,
  length: number,
  minRecord: number,
  btf: Btf,
  read: (at: number) => T,
): Map<string, T[]> {
  const out = new Map<string, T[]>();
  if (length === 0) return out;
  if (length < 4 || start + length > v.byteLength) fail(`info block (${length} bytes at ${start}) does not fit`);
  const recordSize = v.getUint32(start, true);
  if (recordSize < minRecord) fail(`record size ${recordSize} is smaller than ${minRecord}`);
  const end = start + length;
  let at = start + 4;
  while (at < end) {
    if (at + 8 > end) fail('section info header is cut off');
    const section = btf.string(v.getUint32(at, true));
    const count = v.getUint32(at + 4, true);
    at += 8;
    if (count > (end - at) / recordSize) fail(`${count} records of ${section} do not fit`);
    const records: T[] = [];
    for (let i = 0; i < count; i += 1, at += recordSize) records.push(read(at));
    out.set(section, records);
  }
  return out;
}

/**
 * Decodes `.BTF.ext`. Record sizes larger than today's are accepted (the extra fields
 * are ignored), as the format allows.
 * @throws {ElfError} for a bad header or blocks that do not fit.
 */
export function decodeBtfExt(raw: Uint8Array, btf: Btf): BtfExt {
  if (raw.byteLength < 24) fail(`${raw.byteLength} bytes is too short for a header`);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (v.getUint16(0, true) !== BTF_MAGIC) fail('bad magic');
  const hdrLen = v.getUint32(4, true);
  if (hdrLen < 24 || hdrLen > raw.byteLength) fail(`header length ${hdrLen}`);
  const funcInfo = readBlocks(v, hdrLen + v.getUint32(8, true), v.getUint32(12, true), FUNC_INFO_SIZE, btf, (at) => ({
    offset: v.getUint32(at, true),
    typeId: v.getUint32(at + 4, true),
  }));
  const lineInfo = readBlocks(v, hdrLen + v.getUint32(16, true), v.getUint32(20, true), LINE_INFO_SIZE, btf, (at) => ({
    offset: v.getUint32(at, true),
    fileNameOffset: v.getUint32(at + 4, true),
    lineOffset: v.getUint32(at + 8, true),
    lineColumn: v.getUint32(at + 12, true),
  }));
  return { funcInfo, lineInfo };
}
