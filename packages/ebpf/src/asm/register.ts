/** The eleven eBPF registers (Documentation/bpf/standardization/abi.rst). */

declare const registerBrand: unique symbol;

/** A register, distinct from an immediate number at the type level. */
export interface Register {
  /** A type-only brand: a register is a plain number (0 to 10) at run time. */
  readonly [registerBrand]: true;
  /** 0 to 10. */
  readonly index: number;
}

function register(index: number): Register {
  return Object.freeze({ index }) as Register;
}

/**
 * The registers: `R0` holds return values, `R1`–`R5` arguments (clobbered by calls),
 * `R6`–`R9` are callee-saved, `R10` is the read-only frame pointer.
 */
export const R = {
  /** Return values, and a helper call's result. */
  R0: register(0),
  /** First argument (the context at entry); clobbered by calls. */
  R1: register(1),
  /** Second argument; clobbered by calls. */
  R2: register(2),
  /** Third argument; clobbered by calls. */
  R3: register(3),
  /** Fourth argument; clobbered by calls. */
  R4: register(4),
  /** Fifth argument; clobbered by calls. */
  R5: register(5),
  /** Callee-saved. */
  R6: register(6),
  /** Callee-saved. */
  R7: register(7),
  /** Callee-saved. */
  R8: register(8),
  /** Callee-saved. */
  R9: register(9),
  /** The read-only frame pointer: the stack is below it (512 bytes). */
  R10: register(10),
} as const;

/** Whether an operand is a register (rather than an immediate). */
export function isRegister(operand: unknown): operand is Register {
  return typeof operand === 'object' && operand !== null && 'index' in operand;
}
