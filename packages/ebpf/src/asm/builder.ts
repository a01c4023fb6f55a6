/**
 * An instruction builder: registers, ALU, jumps to labels, loads and stores, map
 * references and helper calls by name. Labels are resolved by {@link ProgramBuilder.build}.
 *
 * ```ts
 * const insns = new ProgramBuilder()
 *   .mov64(R.R0, 0)
 *   .jeq(R.R1, 0, 'out')
 *   .mov64(R.R0, 1)
 *   .label('out')
 *   .exit()
 *   .build();
 * ```
 */
import { AsmError } from '../errors.js';
import { PseudoSource } from '../internal/sys/commands.js';
import { type HelperName, helperId } from './helpers.js';
import { type Instruction, type MapReference, slots } from './instruction.js';
import {
  AluOp,
  Class,
  type ConditionalJump,
  JumpOp,
  LD_IMM64,
  type MemorySize,
  Mode,
  Source,
  memorySize,
} from './opcodes.js';
import { type Register, isRegister } from './register.js';

/** A source operand: a register or a signed 32-bit immediate. */
export type Operand = Register | number;

interface Pending {
  insn: Instruction;
  /** A label whose slot the offset (jumps) or the immediate (BPF-to-BPF calls) points to. */
  target?: { label: string; field: 'offset' | 'imm' };
}

/** Builds a list of {@link Instruction}s; each method appends one and returns the builder. */
export class ProgramBuilder {
  readonly #pending: Pending[] = [];
  readonly #labels = new Map<string, number>();

  /** Appends a ready-made instruction. */
  raw(insn: Instruction): this {
    this.#pending.push({ insn });
    return this;
  }

  /**
   * Names the position of the next instruction, as a jump or call target.
   * @throws {AsmError} when the label exists.
   */
  label(name: string): this {
    if (this.#labels.has(name)) throw new AsmError(`label ${JSON.stringify(name)} is defined twice`);
    this.#labels.set(name, this.#pending.length);
    return this;
  }

  /** `dst op= src` on 64 bits (`BPF_ALU64`). */
  alu64(op: AluOp, dst: Register, src: Operand): this {
    return this.#alu(Class.ALU64, op, dst, src);
  }

  /** `dst op= src` on the low 32 bits, zeroing the upper half (`BPF_ALU`). */
  alu32(op: AluOp, dst: Register, src: Operand): this {
    return this.#alu(Class.ALU, op, dst, src);
  }

  /** `dst = src` (64-bit). */
  mov64(dst: Register, src: Operand): this {
    return this.alu64('mov', dst, src);
  }

  /** `dst = (u32) src`. */
  mov32(dst: Register, src: Operand): this {
    return this.alu32('mov', dst, src);
  }

  /** `dst += src` (64-bit). */
  add64(dst: Register, src: Operand): this {
    return this.alu64('add', dst, src);
  }

  /** `dst -= src` (64-bit). */
  sub64(dst: Register, src: Operand): this {
    return this.alu64('sub', dst, src);
  }

  /** `dst &= src` (64-bit). */
  and64(dst: Register, src: Operand): this {
    return this.alu64('and', dst, src);
  }

  /** `dst = -dst` (64-bit). */
  neg64(dst: Register): this {
    return this.alu64('neg', dst, 0);
  }

  /** Converts `dst`'s low `bits` to big-endian (network order) or little-endian: `BPF_END`. */
  swap(dst: Register, order: 'be' | 'le', bits: 16 | 32 | 64): this {
    const source = order === 'be' ? Source.X : Source.K;
    return this.raw({ opcode: Class.ALU | AluOp.end | source, dst: dst.index, src: 0, offset: 0, imm: bits });
  }

  #alu(cls: number, op: AluOp, dst: Register, src: Operand): this {
    if (op === 'end') throw new AsmError('use swap() for byte swaps');
    const reg = isRegister(src);
    return this.raw({
      opcode: cls | AluOp[op] | (reg ? Source.X : Source.K),
      dst: dst.index,
      src: reg ? src.index : 0,
      offset: 0,
      imm: reg ? 0 : src,
    });
  }

  /** Jumps to `label` when `dst op src` holds (64-bit compare, `BPF_JMP`). */
  jump(op: ConditionalJump, dst: Register, src: Operand, label: string): this {
    return this.#jump(Class.JMP, op, dst, src, label);
  }

  /** Jumps to `label` when `dst op src` holds on the low 32 bits (`BPF_JMP32`, Linux 5.1). */
  jump32(op: ConditionalJump, dst: Register, src: Operand, label: string): this {
    return this.#jump(Class.JMP32, op, dst, src, label);
  }

  /** `if dst == src goto label`. */
  jeq(dst: Register, src: Operand, label: string): this {
    return this.jump('jeq', dst, src, label);
  }

  /** `if dst != src goto label`. */
  jne(dst: Register, src: Operand, label: string): this {
    return this.jump('jne', dst, src, label);
  }

  /** `goto label`. */
  ja(label: string): this {
    this.#pending.push({ insn: { opcode: Class.JMP | JumpOp.ja, dst: 0, src: 0, offset: 0, imm: 0 }, target: { label, field: 'offset' } });
    return this;
  }

  #jump(cls: number, op: ConditionalJump, dst: Register, src: Operand, label: string): this {
    const reg = isRegister(src);
    this.#pending.push({
      insn: { opcode: cls | JumpOp[op] | (reg ? Source.X : Source.K), dst: dst.index, src: reg ? src.index : 0, offset: 0, imm: reg ? 0 : src },
      target: { label, field: 'offset' },
    });
    return this;
  }

  /** `dst = *(size *)(src + offset)`. */
  ldx(size: MemorySize, dst: Register, src: Register, offset: number): this {
    return this.raw({ opcode: Class.LDX | Mode.MEM | memorySize[size].bits, dst: dst.index, src: src.index, offset, imm: 0 });
  }

  /** `*(size *)(dst + offset) = src`. */
  stx(size: MemorySize, dst: Register, offset: number, src: Register): this {
    return this.raw({ opcode: Class.STX | Mode.MEM | memorySize[size].bits, dst: dst.index, src: src.index, offset, imm: 0 });
  }

  /** `*(size *)(dst + offset) = imm`. */
  st(size: MemorySize, dst: Register, offset: number, imm: number): this {
    return this.raw({ opcode: Class.ST | Mode.MEM | memorySize[size].bits, dst: dst.index, src: 0, offset, imm });
  }

  /** `lock *(size *)(dst + offset) += src`: an atomic add (`BPF_ATOMIC`/`BPF_XADD`, 4.x). */
  atomicAdd(size: 'w' | 'dw', dst: Register, offset: number, src: Register): this {
    return this.raw({ opcode: Class.STX | Mode.ATOMIC | memorySize[size].bits, dst: dst.index, src: src.index, offset, imm: AluOp.add });
  }

  /** `r0 = packet[imm]` in network order: legacy socket-filter packet access (`BPF_ABS`). */
  ldAbs(size: Exclude<MemorySize, 'dw'>, imm: number): this {
    return this.raw({ opcode: Class.LD | Mode.ABS | memorySize[size].bits, dst: 0, src: 0, offset: 0, imm });
  }

  /** `dst = value`, a 64-bit constant (`ld_imm64`, two slots). */
  ldImm64(dst: Register, value: bigint | number): this {
    return this.raw({ opcode: LD_IMM64, dst: dst.index, src: 0, offset: 0, imm: BigInt(value) });
  }

  /** `dst = &map`: the map's fd as a `BPF_PSEUDO_MAP_FD` load, for helper calls. */
  ldMapFd(dst: Register, map: MapReference): this {
    return this.raw({ opcode: LD_IMM64, dst: dst.index, src: PseudoSource.MAP_FD, offset: 0, imm: 0n, map });
  }

  /** `dst = &map_value[0] + offset` of an array map (`BPF_PSEUDO_MAP_VALUE`, Linux 5.2). */
  ldMapValue(dst: Register, map: MapReference, offset = 0): this {
    return this.raw({ opcode: LD_IMM64, dst: dst.index, src: PseudoSource.MAP_VALUE, offset: 0, imm: BigInt(offset), map });
  }

  /**
   * Calls a helper by name (`map_lookup_elem`, `bpf_ktime_get_ns`, ...) or id. Arguments
   * go in `R1`–`R5`, the result comes back in `R0`; `R1`–`R5` are clobbered.
   * @throws {AsmError} for an unknown helper name.
   */
  call(helper: HelperName | number | string): this {
    return this.raw({ opcode: Class.JMP | JumpOp.call, dst: 0, src: 0, offset: 0, imm: helperId(helper) });
  }

  /** Calls the BPF function at `label` (`BPF_PSEUDO_CALL`, Linux 4.16). */
  callLabel(label: string): this {
    this.#pending.push({
      insn: { opcode: Class.JMP | JumpOp.call, dst: 0, src: PseudoSource.CALL, offset: 0, imm: 0 },
      target: { label, field: 'imm' },
    });
    return this;
  }

  /** Returns `R0` to the caller. */
  exit(): this {
    return this.raw({ opcode: Class.JMP | JumpOp.exit, dst: 0, src: 0, offset: 0, imm: 0 });
  }

  /**
   * The instructions, with every jump and call offset resolved: the distance in slots
   * from the next instruction to the label (`ld_imm64` counts as two).
   * @throws {AsmError} for an unknown label or a jump farther than 16 bits reach.
   */
  build(): Instruction[] {
    // Slot position of each instruction, and one past the end for a trailing label.
    const position: number[] = [];
    let slot = 0;
    for (const { insn } of this.#pending) {
      position.push(slot);
      slot += slots(insn);
    }
    position.push(slot);
    return this.#pending.map(({ insn, target }, index) => {
      if (!target) return insn;
      const at = this.#labels.get(target.label);
      if (at === undefined) throw new AsmError(`unknown label ${JSON.stringify(target.label)} (instruction ${index})`);
      const distance = (position[at] ?? 0) - ((position[index] ?? 0) + 1);
      if (target.field === 'offset' && (distance < -0x8000 || distance > 0x7fff)) {
        throw new AsmError(`jump to ${JSON.stringify(target.label)} is ${distance} slots away, more than 16 bits reach`);
      }
      return { ...insn, [target.field]: distance };
    });
  }
}
