/**
 * Programs of an object: each global function of a program section, linked with the
 * functions it calls (from `.text` or its own section) appended after it, relocations
 * applied (map references by name, call offsets), and its BTF function and line info
 * moved to instruction offsets of the linked program. Pure.
 */
import { type Instruction, decodeInstructions, slots } from '../asm/instruction.js';
import { LD_IMM64 } from '../asm/opcodes.js';
import { AsmError, ElfError } from '../errors.js';
import { PseudoSource } from '../internal/sys/commands.js';
import type { BtfExt } from './btf-ext.js';
import { type ElfFile, type ElfRelocation, type ElfSection, SHF_EXECINSTR, SectionType, SymbolBind, SymbolType, decodeRelocations, sectionBytes } from './elf-file.js';
import { isDataSection } from './maps.js';
import { sectionKind } from './section-names.js';
import type { FuncInfo, LineInfo, ProgramSpec } from './spec.js';

/** `BPF_JMP | BPF_CALL`. */
const CALL = 0x85;
/** `ld_imm64` source of a function pointer, for callbacks (5.13). */
const PSEUDO_FUNC = 4;
/** `R_BPF_64_64` (ld_imm64) and `R_BPF_64_32` (call): the relocations in code sections. */
const R_BPF_64_64 = 1;
const R_BPF_64_32 = 10;

/** One function: a range of a code section. */
interface Func {
  readonly section: ElfSection;
  readonly name: string;
  readonly global: boolean;
  /** Bytes from the start of the section. */
  readonly start: number;
  readonly size: number;
}

/** An instruction with where it sits, and where a call or function pointer goes. */
interface Placed {
  insn: Instruction;
  /** Slot within its function. */
  slot: number;
  /** For calls and function pointers: the target, in bytes of its section. */
  target?: { section: ElfSection; offset: number };
}

/** The program sections' functions, and which code section each relocation section fixes. */
interface CodeIndex {
  readonly file: ElfFile;
  readonly functions: readonly Func[];
  readonly relocations: ReadonlyMap<number, ReadonlyMap<number, ElfRelocation>>;
  readonly ext: BtfExt | undefined;
}

function isCode(section: ElfSection): boolean {
  return section.type === SectionType.PROGBITS && (section.flags & BigInt(SHF_EXECINSTR)) !== 0n && section.size > 0;
}

function indexCode(file: ElfFile, ext: BtfExt | undefined): CodeIndex {
  const functions: Func[] = [];
  const relocations = new Map<number, Map<number, ElfRelocation>>();
  for (const section of file.sections.filter(isCode)) {
    if (section.size % 8 !== 0) throw new ElfError(`${section.size} bytes is not a whole number of instructions`, section.name);
    const symbols = file.symbols.filter((s) => s.section === section.index && s.type === SymbolType.FUNC);
    symbols.sort((a, b) => a.value - b.value);
    for (const symbol of symbols) {
      const size = symbol.size;
      if (symbol.value % 8 !== 0 || size % 8 !== 0 || size === 0 || symbol.value + size > section.size) {
        throw new ElfError(`function ${symbol.name} (${size} bytes at ${symbol.value}) is not whole instructions within the section`, section.name);
      }
      functions.push({ section, name: symbol.name, global: symbol.bind !== SymbolBind.LOCAL, start: symbol.value, size });
    }
  }
  for (const rel of file.sections.filter((s) => s.type === SectionType.REL)) {
    const target = file.sections[rel.info];
    if (!target || !isCode(target)) continue;
    relocations.set(target.index, new Map(decodeRelocations(file, rel).map((r) => [r.offset, r])));
  }
  return { file, functions, relocations, ext };
}

/** Applies the relocation at an instruction, if any: map references and call targets. */
function relocate(index: CodeIndex, fn: Func, insn: Instruction, at: number): Placed['target'] | Instruction {
  const { file } = index;
  const rel = index.relocations.get(fn.section.index)?.get(at);
  const where = `${fn.name}+${at - fn.start}`;
  const isCall = insn.opcode === CALL && insn.src === PseudoSource.CALL;
  if (!rel) {
    // A call within the same section that clang resolved itself.
    return isCall ? { section: fn.section, offset: at + (Number(insn.imm) + 1) * 8 } : insn;
  }
  const symbol = file.symbols[rel.symbol]!;
  const target = file.sections[symbol.section];
  if (!target) throw new ElfError(`${where}: relocation against ${symbol.name || 'a symbol'} that is not defined here (externs and kfuncs are not supported)`, fn.section.name);
  if (rel.type !== R_BPF_64_64 && rel.type !== R_BPF_64_32) throw new ElfError(`${where}: relocation type ${rel.type} in code`, fn.section.name);
  if (isCall || (insn.opcode === LD_IMM64 && isCode(target))) {
    if (!isCode(target)) throw new ElfError(`${where}: call into ${target.name}, which is not code`, fn.section.name);
    // The target instruction: the symbol's offset plus the encoded relative offset (libbpf's rule).
    const low = insn.opcode === LD_IMM64 ? Number(BigInt.asIntN(32, BigInt(insn.imm))) : Number(insn.imm);
    return { section: target, offset: symbol.value + (low + 1) * 8 };
  }
  if (insn.opcode !== LD_IMM64) throw new ElfError(`${where}: relocation on an instruction that is not ld_imm64 or a call`, fn.section.name);
  if (target.name === '.maps') return { ...insn, src: PseudoSource.MAP_FD, imm: 0n, map: symbol.name };
  if (target.name === 'maps') {
    const offset = symbol.value + Number(BigInt.asIntN(32, BigInt(insn.imm)));
    const named = file.symbols.find((s) => s.section === target.index && s.value === offset && s.type !== SymbolType.SECTION && s.name);
    if (!named) throw new ElfError(`${where}: no map at offset ${offset}`, 'maps');
    return { ...insn, src: PseudoSource.MAP_FD, imm: 0n, map: named.name };
  }
  if (isDataSection(target)) {
    // BPF_PSEUDO_MAP_VALUE: imm is the offset into the value (section symbol: in the insn).
    const offset = symbol.value + Number(BigInt.asIntN(32, BigInt(insn.imm)));
    if (offset < 0 || offset >= Math.max(target.size, 1)) throw new ElfError(`${where}: offset ${offset} is outside ${target.name}`, fn.section.name);
    return { ...insn, src: PseudoSource.MAP_VALUE, imm: BigInt(offset), map: target.name };
  }
  throw new ElfError(`${where}: reference to section ${target.name}, which is neither a map nor data`, fn.section.name);
}

function decodeFunction(index: CodeIndex, fn: Func): Placed[] {
  let insns: Instruction[];
  try {
    insns = decodeInstructions(sectionBytes(index.file, fn.section).subarray(fn.start, fn.start + fn.size));
  } catch (error) {
    if (error instanceof AsmError) throw new ElfError(`function ${fn.name}: ${error.message}`, fn.section.name, { cause: error });
    throw error;
  }
  const out: Placed[] = [];
  let slot = 0;
  for (const insn of insns) {
    const at = fn.start + slot * 8;
    const result = relocate(index, fn, insn, at);
    if (result && 'opcode' in result) out.push({ insn: result, slot });
    else out.push({ insn, slot, target: result });
    slot += slots(insn);
  }
  return out;
}

function functionAt(index: CodeIndex, section: ElfSection, offset: number, from: string): Func {
  const fn = index.functions.find((f) => f.section === section && offset >= f.start && offset < f.start + f.size);
  if (!fn) throw new ElfError(`${from} calls offset ${offset}, which is in no function`, section.name);
  return fn;
}

function shiftInfo<T extends { offset: number }>(records: readonly T[] | undefined, fn: Func, base: number): (Omit<T, 'offset'> & { insnOffset: number })[] {
  return (records ?? [])
    .filter((r) => r.offset >= fn.start && r.offset < fn.start + fn.size)
    .map(({ offset, ...rest }) => ({ ...rest, insnOffset: base + (offset - fn.start) / 8 }));
}

/** Links one program: its function first, then every function it reaches, in call order. */
function link(index: CodeIndex, entry: Func, license: string): ProgramSpec {
  const kind = sectionKind(entry.section.name)!;
  const order: Func[] = [entry];
  const decoded = new Map<Func, Placed[]>();
  for (let i = 0; i < order.length; i += 1) {
    const fn = order[i]!;
    const placed = decodeFunction(index, fn);
    decoded.set(fn, placed);
    for (const p of placed) {
      if (!p.target) continue;
      const callee = functionAt(index, p.target.section, p.target.offset, `${fn.name}`);
      if (!order.includes(callee)) order.push(callee);
    }
  }
  const bases = new Map<Func, number>();
  let next = 0;
  for (const fn of order) {
    bases.set(fn, next);
    next += fn.size / 8;
  }
  const instructions: Instruction[] = [];
  const maps = new Set<string>();
  for (const fn of order) {
    const base = bases.get(fn)!;
    for (const p of decoded.get(fn)!) {
      if (p.insn.map !== undefined && typeof p.insn.map === 'string') maps.add(p.insn.map);
      if (!p.target) {
        instructions.push(p.insn);
        continue;
      }
      const callee = functionAt(index, p.target.section, p.target.offset, fn.name);
      const relative = bases.get(callee)! + (p.target.offset - callee.start) / 8 - (base + p.slot + 1);
      instructions.push(p.insn.opcode === LD_IMM64 ? { ...p.insn, src: PSEUDO_FUNC, imm: BigInt(relative) } : { ...p.insn, imm: relative });
    }
  }
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  for (const fn of order) {
    funcInfo.push(...shiftInfo(index.ext?.funcInfo.get(fn.section.name), fn, bases.get(fn)!));
    lineInfo.push(...shiftInfo(index.ext?.lineInfo.get(fn.section.name), fn, bases.get(fn)!));
  }
  const slash = entry.section.name.indexOf('/');
  const attachTo = kind.attachType === undefined && slash > 0 ? entry.section.name.slice(slash + 1) : undefined;
  return {
    name: entry.name,
    section: entry.section.name,
    type: kind.type,
    ...(kind.attachType !== undefined ? { attachType: kind.attachType } : {}),
    ...(attachTo ? { attachTo } : {}),
    flags: kind.flags ?? 0,
    license,
    instructions,
    maps: [...maps].sort(),
    ...(index.ext ? { funcInfo, lineInfo } : {}),
  };
}

/**
 * Every program of the object, sorted by name: the global functions of each program
 * section, linked.
 * @throws {ElfError} for an unknown program section name, relocations this reader does not
 *   support (externs, kfuncs, CO-RE), calls outside any function.
 */
export function decodePrograms(file: ElfFile, ext: BtfExt | undefined, license: string | undefined): ProgramSpec[] {
  const index = indexCode(file, ext);
  const entries = index.functions.filter((f) => f.section.name !== '.text' && f.global);
  for (const section of file.sections.filter((s) => isCode(s) && s.name !== '.text')) {
    if (!sectionKind(section.name)) throw new ElfError('unknown program section name (see the section names libbpf documents)', section.name);
  }
  if (entries.length > 0 && license === undefined) throw new ElfError('no license section: programs need one (char _license[] SEC("license"))');
  const programs = entries.map((fn) => link(index, fn, license ?? ''));
  programs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return programs;
}
