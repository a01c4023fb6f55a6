/** Which attach mechanisms this kernel has: `BPF_LINK_CREATE` and tcx. */
import { BpfError, UnsupportedFeatureError } from '../errors.js';
import { closeFd, linkCreate } from '../internal/sys/syscall.js';
import { AttachType, ProgramType } from '../program/program-type.js';
import { cachedProbe } from './cache.js';
import { withProbeProgram } from './probe-util.js';

/** A target that cannot exist: fd or ifindex `0xffffffff`. */
const NO_TARGET = 0xffffffff;

/**
 * Runs `BPF_LINK_CREATE` against a target that cannot exist. A kernel that knows the
 * attach type looks the target up and fails with `expected`; one that does not fails
 * with `EINVAL` first (the approach of cilium/ebpf's `haveBPFLink` and `haveTCX`).
 */
function probeLink(progType: number, attachType: number, expected: string): boolean {
  return withProbeProgram(progType, attachType, (progFd) => {
    try {
      closeFd(linkCreate({ progFd, target: NO_TARGET, attachType }));
      return true;
    } catch (error) {
      if (error instanceof BpfError && error.errno === expected) return true;
      if (error instanceof BpfError && error.errno === 'EINVAL') return false;
      throw error;
    }
  });
}

/**
 * Whether `BPF_LINK_CREATE` exists (Linux 5.7), probed with a cgroup link (cached).
 * @throws {BpfError} `EPERM` without CAP_BPF.
 */
export function haveLinkCreate(): boolean {
  return cachedProbe('link-create', () => probeLink(ProgramType.CgroupSkb, AttachType.CgroupInetIngress, 'EBADF'));
}

/**
 * Whether tcx links exist (Linux 6.6): `BPF_LINK_CREATE` with `BPF_TCX_INGRESS` (cached).
 * Without them, tc programs attach through a `clsact` qdisc and a `bpf` filter.
 * @throws {BpfError} `EPERM` without CAP_BPF.
 */
export function haveTcx(): boolean {
  return cachedProbe('tcx', () => probeLink(ProgramType.SchedCls, AttachType.TcxIngress, 'ENODEV'));
}

/** Throws unless tcx links exist. @throws {UnsupportedFeatureError} naming Linux 6.6. */
export function requireTcx(): void {
  if (!haveTcx()) throw new UnsupportedFeatureError('tcx links', '6.6');
}
