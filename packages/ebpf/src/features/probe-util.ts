/** Shared pieces of the feature probes. */
import { BpfError } from '../errors.js';
import type { ProgramFd } from '../fd.js';
import { closeFd, progLoad } from '../internal/sys/syscall.js';

/** The errnos that mean "this kernel does not have it" when probing. */
const absent = new Set(['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP', 'E2BIG']);

/**
 * Runs a probe call: true when it succeeds, false when the kernel refuses it as unknown;
 * other errors (`EPERM` without privileges) are thrown, so a missing capability is never
 * mistaken for a missing feature.
 */
export function probeCall(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (error instanceof BpfError && absent.has(error.errno)) return false;
    throw error;
  }
}

/** `r0 = 0; exit`: the smallest program every type accepts. */
export const RETURN_ZERO = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** Loads {@link RETURN_ZERO} as `progType`, runs `fn` with it, and closes it. */
export function withProbeProgram<T>(progType: number, expectedAttachType: number | undefined, fn: (fd: ProgramFd) => T): T {
  const fd = progLoad({ progType, insns: RETURN_ZERO, license: 'GPL', expectedAttachType });
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}
