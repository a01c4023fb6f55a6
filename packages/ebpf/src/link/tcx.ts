/** tc programs on an interface: tcx links (6.6), or the clsact fallback on older kernels. */
import type { NetnsRef } from '@twill/sys';

import { BpfError, UnsupportedFeatureError } from '../errors.js';
import { haveTcx } from '../features/links.js';
import type { LinkFd, ProgramFd } from '../fd.js';
import { linkCreate } from '../internal/sys/syscall.js';
import { AttachType } from '../program/program-type.js';
import { AttachFlag } from './flags.js';
import { interfaceIndex } from './interface.js';
import { Link } from './link.js';
import type { TcDirection } from './netlink/tc.js';
import { type AttachTcFilterOptions, type TcFilter, attachTcFilter } from './tc-filter.js';
import { inNetns } from './sys/kernel.js';

export type { TcDirection };

/** A program or link to place a tcx program next to: by open object or by id. */
export type TcxAnchor =
  | {
      readonly link: {
        /** The link's fd. */
        readonly fd: LinkFd;
      };
    }
  | {
      readonly program: {
        /** The program's fd. */
        readonly fd: ProgramFd;
      };
    }
  | { readonly linkId: number }
  | { readonly programId: number };

/** Where a tcx program goes in the interface's list; by default, last. */
export interface TcxPlacement {
  /** Before this program or link; `'all'` to run first. */
  before?: TcxAnchor | 'all';
  /** After this program or link; `'all'` to run last (the default). */
  after?: TcxAnchor | 'all';
  /** Fail with `ESTALE` unless the list is still at this revision (6.6). */
  expectedRevision?: bigint;
}

/**
 * The `flags` and `relative_fd`/`relative_id` of a placement (`BPF_F_BEFORE`,
 * `BPF_F_AFTER`, with `BPF_F_LINK` and `BPF_F_ID` saying what the relative object is).
 * @throws {RangeError} when both `before` and `after` are given.
 */
export function tcxPlacementFlags(p: TcxPlacement): { flags: number; relativeFdOrId?: number; expectedRevision?: bigint } {
  if (p.before !== undefined && p.after !== undefined) throw new RangeError('give before or after, not both');
  const anchor = p.before ?? p.after;
  const base = p.before !== undefined ? AttachFlag.BEFORE : p.after !== undefined ? AttachFlag.AFTER : 0;
  const revision = p.expectedRevision !== undefined ? { expectedRevision: p.expectedRevision } : {};
  if (anchor === undefined || anchor === 'all') return { flags: base, ...revision };
  if ('link' in anchor) return { flags: base | AttachFlag.LINK, relativeFdOrId: anchor.link.fd, ...revision };
  if ('linkId' in anchor) return { flags: base | AttachFlag.LINK | AttachFlag.ID, relativeFdOrId: anchor.linkId, ...revision };
  if ('program' in anchor) return { flags: base, relativeFdOrId: anchor.program.fd, ...revision };
  return { flags: base | AttachFlag.ID, relativeFdOrId: anchor.programId, ...revision };
}

/** Options of {@link attachTcx}. */
export interface AttachTcxOptions extends TcxPlacement {
  /** A `SchedCls` program (load it with `expectedAttachType` `TcxIngress` or `TcxEgress`). */
  program: {
    /** The loaded program's fd. */
    readonly fd: ProgramFd;
  };
  /** The interface: a name, looked up in `netns`, or an index there. */
  interface: string | number;
  /** `ingress` or `egress`. */
  direction: TcDirection;
  /** The network namespace of the interface (default: the caller's). */
  netns?: NetnsRef;
}

/**
 * Attaches a tc program with a tcx link (`BPF_LINK_CREATE` with `BPF_TCX_INGRESS` or
 * `BPF_TCX_EGRESS`), inside `netns` when given. Several programs share a hook, in the
 * order placement flags give; the program's return value is the verdict (`TCX_NEXT` -1,
 * `TCX_PASS` 0, `TCX_DROP` 2, `TCX_REDIRECT` 7). Closing the link detaches it. Needs Linux 6.6.
 * @throws {UnsupportedFeatureError} before 6.6; use {@link attachTc} to fall back to clsact.
 * @throws {NetlinkError} `ENODEV` when the interface does not exist.
 * @throws {BpfError} `EPERM` without CAP_NET_ADMIN/CAP_BPF, `ESTALE` for a stale revision.
 */
export function attachTcx(options: AttachTcxOptions): Link {
  const { direction, netns } = options;
  const ifindex = interfaceIndex(options.interface, netns);
  const attachType = direction === 'ingress' ? AttachType.TcxIngress : AttachType.TcxEgress;
  const placement = tcxPlacementFlags(options);
  try {
    const fd = inNetns(netns, () => linkCreate({ progFd: options.program.fd, target: ifindex, attachType, ...placement }));
    return new Link(fd, `tcx ${direction} ifindex ${ifindex}`);
  } catch (error) {
    if (error instanceof BpfError && error.errno === 'EINVAL' && !haveTcx()) {
      throw new UnsupportedFeatureError('tcx links', '6.6', { cause: error });
    }
    throw error;
  }
}

/** How {@link attachTc} attaches: `auto` picks tcx when the kernel has it. */
export type TcMechanism = 'auto' | 'tcx' | 'clsact';

/** Options of {@link attachTc}: tcx placement and the clsact filter's, used by whichever is picked. */
export interface AttachTcOptions extends AttachTcxOptions, Omit<AttachTcFilterOptions, keyof AttachTcxOptions> {
  /** `auto` (default): tcx on 6.6+, else a clsact `bpf` filter; or one of them explicitly. */
  mechanism?: TcMechanism;
}

/**
 * Attaches a tc program to an interface with tcx (6.6+) or, on older kernels or when
 * `mechanism` is `clsact`, with a `clsact` qdisc and a direct-action `bpf` filter over
 * netlink (4.5+). Both take the same return values (`TC_ACT_OK` 0, `TC_ACT_SHOT` 2, ...;
 * tcx's `TCX_NEXT` -1 is `TC_ACT_UNSPEC`, the next filter). Close the result to detach.
 * @throws {UnsupportedFeatureError} for `mechanism: 'tcx'` before 6.6.
 * @throws {NetlinkError} `ENODEV` for a missing interface, `EEXIST` when a filter sits at the same priority and handle.
 * @throws {BpfError}
 */
export function attachTc(options: AttachTcOptions): Link | TcFilter {
  const mechanism = options.mechanism ?? 'auto';
  const useTcx = mechanism === 'tcx' || (mechanism === 'auto' && haveTcx());
  return useTcx ? attachTcx(options) : attachTcFilter(options);
}
