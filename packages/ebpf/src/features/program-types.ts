/** Which program types this kernel has: probed by loading `r0 = 0; exit` as each. */
import { UnsupportedFeatureError } from '../errors.js';
import { AttachType, ProgramType, programTypeMinimumKernel, programTypeName } from '../program/program-type.js';
import { cachedProbe } from './cache.js';
import { probeCall, withProbeProgram } from './probe-util.js';

/** Types the kernel refuses to load without an expected attach type (bpf_prog_load_fixup_attach_type). */
const attachTypeFor: Partial<Record<number, number>> = {
  [ProgramType.CgroupSockAddr]: AttachType.CgroupInet4Connect,
  [ProgramType.CgroupSockopt]: AttachType.CgroupGetsockopt,
  [ProgramType.SkLookup]: AttachType.SkLookup,
  [ProgramType.Netfilter]: AttachType.Netfilter,
};

/**
 * Whether the kernel loads programs of `type` (cached).
 * @throws {BpfError} `EPERM` without CAP_BPF.
 */
export function haveProgramType(type: number): boolean {
  return cachedProbe(`prog:${type}`, () => probeCall(() => withProbeProgram(type, attachTypeFor[type], () => undefined)));
}

/**
 * Throws unless the kernel has program type `type`.
 * @throws {UnsupportedFeatureError} naming the first Linux version with it.
 */
export function requireProgramType(type: ProgramType): void {
  if (!haveProgramType(type)) {
    throw new UnsupportedFeatureError(`${programTypeName(type)} programs`, programTypeMinimumKernel[type]);
  }
}
