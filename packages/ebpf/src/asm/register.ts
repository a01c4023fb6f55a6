/** The eleven eBPF registers (Documentation/bpf/standardization/abi.rst). */

declare const registerBrand: unique symbol;

/** A register, distinct from an immediate number at the type level. */
export interface Register {
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
  R0: register(0),
  R1: register(1),
  R2: register(2),
  R3: register(3),
  R4: register(4),
  R5: register(5),
  R6: register(6),
  R7: register(7),
  R8: register(8),
  R9: register(9),
  R10: register(10),
} as const;

/** Whether an operand is a register (rather than an immediate). */
export function isRegister(operand: unknown): operand is Register {
  return typeof operand === 'object' && operand !== null && 'index' in operand;
}
