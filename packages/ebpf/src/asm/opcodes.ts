/**
 * Opcode fields of eBPF instructions (include/uapi/linux/bpf_common.h, bpf.h;
 * Documentation/bpf/standardization/instruction-set.rst). An opcode is
 * `class | size | mode` for loads and stores, `class | op | source` for ALU and jumps.
 */

/** Instruction classes (low 3 bits). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  /** 32-bit jumps (5.1). */
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Memory access sizes. */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Memory access modes. */
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, ATOMIC: 0xc0 } as const;

/** Operand source: the immediate (K) or the source register (X). */
export const Source = { K: 0x00, X: 0x08 } as const;

/** ALU operations. */
export const AluOp = {
  /** `dst += src`. */
  add: 0x00,
  /** `dst -= src`. */
  sub: 0x10,
  /** `dst *= src`. */
  mul: 0x20,
  /** `dst /= src` (unsigned; 0 when `src` is 0). */
  div: 0x30,
  /** `dst |= src`. */
  or: 0x40,
  /** `dst &= src`. */
  and: 0x50,
  /** `dst <<= src`. */
  lsh: 0x60,
  /** `dst >>= src` (logical). */
  rsh: 0x70,
  /** `dst = -dst`. */
  neg: 0x80,
  /** `dst %= src` (unsigned; `dst` kept when `src` is 0). */
  mod: 0x90,
  /** `dst ^= src`. */
  xor: 0xa0,
  /** `dst = src`. */
  mov: 0xb0,
  /** `dst >>= src` (arithmetic, sign-extending). */
  arsh: 0xc0,
  /** Byte swap; the source bit picks to-little (0) or to-big (8) endian. */
  end: 0xd0,
} as const;

/** One of the {@link AluOp} names. */
export type AluOp = keyof typeof AluOp;

/** Conditional and unconditional jump operations (unsigned unless `s`). */
export const JumpOp = {
  ja: 0x00,
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  call: 0x80,
  exit: 0x90,
  /** 4.14. */
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
} as const;

/** The conditional jumps: every jump operation but `ja`, `call` and `exit`. */
export type ConditionalJump = Exclude<keyof typeof JumpOp, 'ja' | 'call' | 'exit'>;

/** The memory sizes by name: byte, half word, word, double word. */
export type MemorySize = 'b' | 'h' | 'w' | 'dw';

/** The {@link Size} bits and byte count of each {@link MemorySize}. */
export const memorySize: Readonly<Record<MemorySize, { bits: number; bytes: number }>> = {
  b: { bits: Size.B, bytes: 1 },
  h: { bits: Size.H, bytes: 2 },
  w: { bits: Size.W, bytes: 4 },
  dw: { bits: Size.DW, bytes: 8 },
};

/** The `ld_imm64` opcode (`BPF_LD | BPF_DW | BPF_IMM`), the one 16-byte instruction. */
export const LD_IMM64 = Class.LD | Size.DW | Mode.IMM;
