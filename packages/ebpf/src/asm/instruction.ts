/**
 * One eBPF instruction and its 8-byte encoding (include/uapi/linux/bpf.h, `struct bpf_insn`):
 * ```
 * 0 code (u8)  1 dst_reg:4 (low nibble) src_reg:4 (high nibble)  2 off (s16)  4 imm (s32)
 * ```
 * `ld_imm64` takes two slots: the second has code 0 and the constant's high 32 bits.
 */
import { AsmError } from '../errors.js';
import { PseudoSource } from '../internal/sys/commands.js';
import { LD_IMM64 } from './opcodes.js';

/**
 * A map an instruction refers to: an open map (anything with an `fd`), or a name that
 * the program loader resolves from its `maps` option (as the ELF loader's relocations do).
 */
export type MapReference = { readonly fd: number } | string;

/** One instruction, registers by number. */
export interface Instruction {
  /** The opcode byte: class, size or source, and operation. */
  readonly opcode: number;
  /** Destination register, 0–10. */
  readonly dst: number;
  /** Source register, 0–10, or a pseudo source (`BPF_PSEUDO_MAP_FD`, ...). */
  readonly src: number;
  /** Signed 16-bit offset: memory displacement or jump distance in slots. */
  readonly offset: number;
  /** Signed 32-bit immediate; for `ld_imm64` the whole 64-bit constant as a bigint. */
  readonly imm: number | bigint;
  /** `ld_imm64` of a map fd or value: the map, filled in at encoding. */
  readonly map?: MapReference;
}

/** How many 8-byte slots an instruction takes: 2 for `ld_imm64`, else 1. */
export function slots(insn: Pick<Instruction, 'opcode'>): number {
  return insn.opcode === LD_IMM64 ? 2 : 1;
}

/** Resolves a map reference to a file descriptor. */
export type MapResolver = (ref: MapReference) => number;

/** The resolver that only knows map objects. */
export const objectsOnly: MapResolver = (ref) => {
  if (typeof ref === 'string') throw new AsmError(`map ${JSON.stringify(ref)} is referenced by name but no maps were given`);
  return ref.fd;
};

function writeSlot(view: DataView, at: number, opcode: number, dst: number, src: number, offset: number, imm: number): void {
  view.setUint8(at, opcode);
  view.setUint8(at + 1, ((src & 0xf) << 4) | (dst & 0xf));
  view.setInt16(at + 2, offset, true);
  view.setInt32(at + 4, imm, true);
}

function check(insn: Instruction, index: number): void {
  const bad = (what: string): never => {
    throw new AsmError(`instruction ${index}: ${what}`);
  };
  if (!Number.isInteger(insn.opcode) || insn.opcode < 0 || insn.opcode > 0xff) bad(`opcode ${insn.opcode} is not a byte`);
  if (!Number.isInteger(insn.dst) || insn.dst < 0 || insn.dst > 10) bad(`register r${insn.dst} does not exist`);
  if (!Number.isInteger(insn.src) || insn.src < 0 || insn.src > 15) bad(`source ${insn.src} does not fit 4 bits`);
  if (!Number.isInteger(insn.offset) || insn.offset < -0x8000 || insn.offset > 0x7fff) bad(`offset ${insn.offset} does not fit 16 bits`);
  if (typeof insn.imm === 'number' && (!Number.isInteger(insn.imm) || insn.imm < -0x80000000 || insn.imm > 0xffffffff)) {
    bad(`immediate ${insn.imm} does not fit 32 bits`);
  }
}

/**
 * Encodes instructions into the bytes `BPF_PROG_LOAD` takes. Map references become
 * `BPF_PSEUDO_MAP_FD` (or `BPF_PSEUDO_MAP_VALUE`) loads of the resolved fd.
 * @throws {AsmError} for out-of-range fields or an unresolvable map.
 */
export function encodeInstructions(insns: readonly Instruction[], resolveMap: MapResolver = objectsOnly): Uint8Array {
  const total = insns.reduce((n, insn) => n + slots(insn), 0);
  const out = new Uint8Array(total * 8);
  const view = new DataView(out.buffer);
  let at = 0;
  insns.forEach((insn, index) => {
    check(insn, index);
    if (insn.opcode !== LD_IMM64) {
      if (typeof insn.imm === 'bigint') throw new AsmError(`instruction ${index}: only ld_imm64 takes a 64-bit immediate`);
      writeSlot(view, at, insn.opcode, insn.dst, insn.src, insn.offset, insn.imm | 0);
      at += 8;
      return;
    }
    let low: number;
    let high: number;
    if (insn.map !== undefined) {
      // BPF_PSEUDO_MAP_FD: imm = fd. BPF_PSEUDO_MAP_VALUE: imm = fd, next imm = offset in the value.
      low = resolveMap(insn.map);
      high = insn.src === PseudoSource.MAP_VALUE ? Number(insn.imm) : 0;
    } else {
      const value = BigInt.asUintN(64, BigInt(insn.imm));
      low = Number(value & 0xffffffffn) | 0;
      high = Number(value >> 32n) | 0;
    }
    writeSlot(view, at, insn.opcode, insn.dst, insn.src, insn.offset, low);
    writeSlot(view, at + 8, 0, 0, 0, 0, high);
    at += 16;
  });
  return out;
}

/**
 * Decodes instruction bytes, joining the two slots of each `ld_imm64` (whose `imm`
 * becomes a bigint; map fds stay numbers in it, without a {@link MapReference}).
 * @throws {AsmError} for a length that is not a multiple of 8 or a truncated `ld_imm64`.
 */
export function decodeInstructions(bytes: Uint8Array): Instruction[] {
  if (bytes.byteLength % 8 !== 0) throw new AsmError(`${bytes.byteLength} bytes is not a whole number of instructions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let at = 0; at < bytes.byteLength; at += 8) {
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const base = { opcode, dst: regs & 0xf, src: regs >> 4, offset: view.getInt16(at + 2, true) };
    if (opcode !== LD_IMM64) {
      out.push({ ...base, imm: view.getInt32(at + 4, true) });
      continue;
    }
    if (at + 16 > bytes.byteLength) throw new AsmError(`ld_imm64 at slot ${at / 8} is missing its second half`);
    const imm = (BigInt(view.getUint32(at + 12, true)) << 32n) | BigInt(view.getUint32(at + 4, true));
    out.push({ ...base, imm });
    at += 8;
  }
  return out;
}
