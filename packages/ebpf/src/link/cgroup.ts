/** Cgroup hooks through `BPF_LINK_CREATE` on a cgroup v2 folder (5.7). */
import { BpfError, UnsupportedFeatureError } from '../errors.js';
import { haveLinkCreate } from '../features/links.js';
import type { ProgramFd } from '../fd.js';
import { linkCreate } from '../internal/sys/syscall.js';
import { Link } from './link.js';
import { closeDescriptor, openCgroupFolder } from './sys/kernel.js';

/** Options of {@link attachCgroup}. */
export interface AttachCgroupOptions {
  /**
   * A program of a cgroup type: `CgroupSkb` for `CgroupInetIngress`/`CgroupInetEgress`,
   * `CgroupSock` for `CgroupInetSockCreate`, `CgroupSockAddr` (loaded with the same
   * expected attach type) for bind, connect and sendmsg hooks, ...
   */
  program: {
    /** The loaded program's fd. */
    readonly fd: ProgramFd;
  };
  /** A cgroup v2 folder, such as `/sys/fs/cgroup/twill`, or an fd open on one. */
  cgroup: string | number;
  /** The hook, an `AttachType` such as `AttachType.CgroupInetEgress`. */
  attachType: number;
}

/**
 * Attaches a program to a cgroup hook with a cgroup link: it runs for the sockets of every
 * process in the cgroup and its descendants. Links are multi-attach (several programs per
 * hook, all must allow); `CgroupSkb` programs return 1 to allow and 0 to drop. Closing
 * the link detaches it. Needs Linux 5.7.
 * @throws {UnsupportedFeatureError} before 5.7.
 * @throws {BpfError} `EINVAL` for a program type that does not match the hook, `EPERM`
 *   without CAP_BPF/CAP_NET_ADMIN; `Error` `ENOENT` when the cgroup folder does not exist.
 */
export function attachCgroup(options: AttachCgroupOptions): Link {
  const owned = typeof options.cgroup === 'string';
  const fd = typeof options.cgroup === 'string' ? openCgroupFolder(options.cgroup) : options.cgroup;
  try {
    const link = linkCreate({ progFd: options.program.fd, target: fd, attachType: options.attachType });
    return new Link(link, `cgroup attach type ${options.attachType} ${typeof options.cgroup === 'string' ? options.cgroup : `fd ${fd}`}`);
  } catch (error) {
    if (error instanceof BpfError && error.errno === 'EINVAL' && !haveLinkCreate()) {
      throw new UnsupportedFeatureError('cgroup links', '5.7', { cause: error });
    }
    throw error;
  } finally {
    // The link holds its own reference to the cgroup.
    if (owned) closeDescriptor(fd);
  }
}
