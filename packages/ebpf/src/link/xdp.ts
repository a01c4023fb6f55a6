/** XDP programs on an interface through `BPF_LINK_CREATE` (5.9). */
import type { NetnsRef } from '@twill/sys';

import { BpfError, UnsupportedFeatureError } from '../errors.js';
import { haveLinkCreate } from '../features/links.js';
import type { ProgramFd } from '../fd.js';
import { linkCreate } from '../internal/sys/syscall.js';
import { AttachType } from '../program/program-type.js';
import { type XdpMode, xdpModeFlags } from './flags.js';
import { interfaceIndex } from './interface.js';
import { Link } from './link.js';
import { inNetns } from './sys/kernel.js';

/** Options of {@link attachXdp}. */
export interface AttachXdpOptions {
  /** An `Xdp` program. */
  program: {
    /** The loaded program's fd. */
    readonly fd: ProgramFd;
  };
  /** The interface: a name, looked up in `netns`, or an index there. */
  interface: string | number;
  /** The network namespace of the interface (default: the caller's). */
  netns?: NetnsRef;
  /**
   * `generic` (the skb path: any interface, slower), `driver` (native XDP: drivers that
   * support it, veth included), `offload` (the NIC), or `auto` (default: driver mode when
   * the driver has it, else generic).
   */
  mode?: XdpMode;
}

/**
 * Attaches an XDP program to an interface with an XDP link (`BPF_LINK_CREATE` with
 * `BPF_XDP` and `XDP_FLAGS_*`), inside `netns` when given. One XDP link per interface and
 * mode; the program's return value is the verdict (`XDP_ABORTED` 0, `XDP_DROP` 1,
 * `XDP_PASS` 2, `XDP_TX` 3, `XDP_REDIRECT` 4). Closing the link detaches it. Needs Linux 5.9.
 * @throws {UnsupportedFeatureError} before 5.9.
 * @throws {NetlinkError} `ENODEV` when the interface does not exist.
 * @throws {BpfError} `EBUSY` when a program is attached already (by a link or by netlink),
 *   `EOPNOTSUPP` for `driver`/`offload` on an interface without them.
 */
export function attachXdp(options: AttachXdpOptions): Link {
  const mode = options.mode ?? 'auto';
  const ifindex = interfaceIndex(options.interface, options.netns);
  try {
    const fd = inNetns(options.netns, () =>
      linkCreate({ progFd: options.program.fd, target: ifindex, attachType: AttachType.Xdp, flags: xdpModeFlags(mode) }),
    );
    return new Link(fd, `xdp ${mode} ifindex ${ifindex}`);
  } catch (error) {
    if (error instanceof BpfError && error.errno === 'EINVAL' && !haveLinkCreate()) {
      throw new UnsupportedFeatureError('XDP links', '5.9', { cause: error });
    }
    throw error;
  }
}
