/**
 * The ELF container of a BPF object: ELF64, little-endian, relocatable (`ET_REL`,
 * machine `EM_BPF`), as `clang -target bpf` writes it. Section headers, the symbol
 * table, string tables and relocation entries; nothing BPF-specific. Pure: bytes in,
 * values out; every offset is checked against the file before it is read.
 *
 * References: the System V gABI, "ELF Header", "Sections", "Symbol Table", "Relocation".
 */
import { ElfError } from '../errors.js';

/** `sh_type` values this reader cares about (gABI "Section Header"). */
export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  REL: 9,
  NOBITS: 8,
} as const;

/** `SHF_EXECINSTR`: the section holds instructions. */
export const SHF_EXECINSTR = 0x4;

/** Symbol types (`ELF64_ST_TYPE`). */
export const SymbolType = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
/** Symbol bindings (`ELF64_ST_BIND`). */
export const SymbolBind = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;

/** `EM_BPF` (gABI machine 247). */
const EM_BPF = 247;
const ET_REL = 1;
const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
/** More sections than this is not a compiler's output; refusing bounds the work on corrupt input. */
const MAX_SECTIONS = 65_280;
/** A `.bss` larger than this could not be a map value anyway (the kernel caps values far lower). */
const MAX_NOBITS = 64 << 20;

/** One section header, with its name resolved. */
export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: bigint;
  /** Offset of the contents in the file, in bytes. */
  readonly offset: number;
  /** Size in bytes (for `SHT_NOBITS`, the size in memory: there are no bytes in the file). */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entrySize: number;
}

/** One symbol table entry. */
export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly bind: number;
  /** The section it is defined in (0: undefined; 0xfff1: absolute). */
  readonly section: number;
  /** For a relocatable object: the offset in its section, in bytes. */
  readonly value: number;
  readonly size: number;
}

/** One `Elf64_Rel` entry. */
export interface ElfRelocation {
  /** Where, in bytes from the start of the section it applies to. */
  readonly offset: number;
  /** The symbol table index. */
  readonly symbol: number;
  /** `R_BPF_64_64` (1), `R_BPF_64_ABS64` (2), `R_BPF_64_ABS32` (3), `R_BPF_64_NODYLD32` (4), `R_BPF_64_32` (10). */
  readonly type: number;
}

/** A decoded ELF file: the section headers and symbols, and the bytes for contents. */
export interface ElfFile {
  readonly bytes: Uint8Array;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A 64-bit field as a number; larger than the file means corrupt. */
function u64(v: DataView, at: number, what: string): number {
  const value = v.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} ${value} is out of range`);
  return Number(value);
}

/** A NUL-terminated string at `offset` in a string table section. */
export function stringAt(file: Pick<ElfFile, 'bytes'>, table: ElfSection, offset: number): string {
  if (offset >= table.size) throw new ElfError(`string offset ${offset} is outside the string table (${table.size} bytes)`, table.name);
  const start = table.offset + offset;
  const end = file.bytes.indexOf(0, start);
  if (end < 0 || end >= table.offset + table.size) throw new ElfError(`string at ${offset} is not terminated`, table.name);
  return new TextDecoder().decode(file.bytes.subarray(start, end));
}

/**
 * The contents of a section. `SHT_NOBITS` sections (`.bss`) give `size` zero bytes.
 * @throws {ElfError} when the section runs past the end of the file.
 */
export function sectionBytes(file: Pick<ElfFile, 'bytes'>, section: ElfSection): Uint8Array {
  if (section.type === SectionType.NOBITS) {
    if (section.size > MAX_NOBITS) throw new ElfError(`${section.size} bytes of zeroed data is more than a map value can hold`, section.name);
    return new Uint8Array(section.size);
  }
  if (section.offset + section.size > file.bytes.byteLength) {
    throw new ElfError(`contents (${section.size} bytes at ${section.offset}) run past the end of the file (${file.bytes.byteLength} bytes)`, section.name || `section ${section.index}`);
  }
  return file.bytes.subarray(section.offset, section.offset + section.size);
}

function readHeader(bytes: Uint8Array): { shoff: number; shnum: number; shstrndx: number } {
  if (bytes.byteLength < EHDR_SIZE) throw new ElfError(`${bytes.byteLength} bytes is too short for an ELF header (64)`);
  // e_ident: 0x7f 'E' 'L' 'F', EI_CLASS (2: ELFCLASS64), EI_DATA (1: ELFDATA2LSB).
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new ElfError('not an ELF file (bad magic)');
  if (bytes[4] !== 2) throw new ElfError(`ELF class ${bytes[4]} is not ELFCLASS64: BPF objects are 64-bit`);
  if (bytes[5] !== 1) throw new ElfError(`ELF data encoding ${bytes[5]} is not little-endian (build with -target bpf or bpfel)`);
  const v = view(bytes);
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  if (type !== ET_REL) throw new ElfError(`ELF type ${type} is not a relocatable object (ET_REL)`);
  if (machine !== EM_BPF) throw new ElfError(`ELF machine ${machine} is not EM_BPF (247)`);
  const shoff = u64(v, 40, 'section header offset');
  const shentsize = v.getUint16(58, true);
  const shnum = v.getUint16(60, true);
  const shstrndx = v.getUint16(62, true);
  if (shentsize !== SHDR_SIZE) throw new ElfError(`section header size ${shentsize} is not 64`);
  if (shnum === 0 || shnum > MAX_SECTIONS) throw new ElfError(`${shnum} sections`);
  if (shoff + shnum * SHDR_SIZE > bytes.byteLength) {
    throw new ElfError(`section headers (${shnum} at ${shoff}) run past the end of the file (${bytes.byteLength} bytes)`);
  }
  if (shstrndx >= shnum) throw new ElfError(`section name table index ${shstrndx} is not a section`);
  return { shoff, shnum, shstrndx };
}

function readSections(bytes: Uint8Array, shoff: number, shnum: number, shstrndx: number): ElfSection[] {
  const v = view(bytes);
  const raw: Omit<ElfSection, 'name'>[] = [];
  const nameOffsets: number[] = [];
  for (let index = 0; index < shnum; index += 1) {
    const at = shoff + index * SHDR_SIZE;
    nameOffsets.push(v.getUint32(at, true));
    const section = {
      index,
      type: v.getUint32(at + 4, true),
      flags: v.getBigUint64(at + 8, true),
      offset: u64(v, at + 24, `section ${index} offset`),
      size: u64(v, at + 32, `section ${index} size`),
      link: v.getUint32(at + 40, true),
      info: v.getUint32(at + 44, true),
      entrySize: u64(v, at + 56, `section ${index} entry size`),
    };
    if (section.type !== SectionType.NOBITS && section.type !== SectionType.NULL && section.offset + section.size > bytes.byteLength) {
      throw new ElfError(`section ${index}: contents (${section.size} bytes at ${section.offset}) run past the end of the file (${bytes.byteLength} bytes)`);
    }
    raw.push(section);
  }
  const names = { ...raw[shstrndx]!, name: '.shstrtab' };
  if (names.type !== SectionType.STRTAB) throw new ElfError(`section name table ${shstrndx} is not a string table`);
  return raw.map((section, i) => ({ ...section, name: stringAt({ bytes }, names, nameOffsets[i]!) }));
}

function readSymbols(bytes: Uint8Array, sections: readonly ElfSection[]): ElfSymbol[] {
  const table = sections.find((s) => s.type === SectionType.SYMTAB);
  if (!table) throw new ElfError('no symbol table (.symtab): was the object stripped?');
  if (table.entrySize !== SYM_SIZE || table.size % SYM_SIZE !== 0) throw new ElfError(`symbol entries of ${table.entrySize} bytes, ${table.size} in all`, table.name);
  const strings = sections[table.link];
  if (!strings || strings.type !== SectionType.STRTAB) throw new ElfError(`linked section ${table.link} is not a string table`, table.name);
  const v = view(bytes);
  const symbols: ElfSymbol[] = [];
  for (let index = 0; index < table.size / SYM_SIZE; index += 1) {
    const at = table.offset + index * SYM_SIZE;
    const info = v.getUint8(at + 4);
    symbols.push({
      index,
      name: stringAt({ bytes }, strings, v.getUint32(at, true)),
      type: info & 0xf,
      bind: info >> 4,
      section: v.getUint16(at + 6, true),
      value: u64(v, at + 8, `symbol ${index} value`),
      size: u64(v, at + 16, `symbol ${index} size`),
    });
  }
  return symbols;
}

/**
 * Decodes the ELF container of a BPF object: header checks, section headers with names,
 * and the symbol table.
 * @throws {ElfError} for anything that is not a well-formed ELF64 little-endian BPF
 *   relocatable object: short input, bad magic, wrong class or byte order, offsets past
 *   the end of the file, a missing symbol table.
 */
export function decodeElf(bytes: Uint8Array): ElfFile {
  const { shoff, shnum, shstrndx } = readHeader(bytes);
  const sections = readSections(bytes, shoff, shnum, shstrndx);
  const symbols = readSymbols(bytes, sections);
  return { bytes, sections, symbols };
}

/**
 * The entries of a `SHT_REL` section.
 * @throws {ElfError} for a bad entry size or a symbol index outside the table.
 */
export function decodeRelocations(file: ElfFile, section: ElfSection): ElfRelocation[] {
  if (section.entrySize !== REL_SIZE || section.size % REL_SIZE !== 0) {
    throw new ElfError(`relocation entries of ${section.entrySize} bytes, ${section.size} in all`, section.name);
  }
  const data = sectionBytes(file, section);
  const v = view(data);
  const out: ElfRelocation[] = [];
  for (let at = 0; at < data.byteLength; at += REL_SIZE) {
    const offset = u64(v, at, 'relocation offset');
    const info = v.getBigUint64(at + 8, true);
    const symbol = Number(info >> 32n);
    if (symbol >= file.symbols.length) throw new ElfError(`relocation at ${offset} names symbol ${symbol}, past the symbol table`, section.name);
    out.push({ offset, symbol, type: Number(info & 0xffffffffn) });
  }
  return out;
}
