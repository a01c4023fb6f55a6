/** The clsact fallback for tc programs before tcx (Linux 4.5+): a qdisc and a `bpf` filter over netlink. */
import type { NetnsRef } from '@twill/sys';

import type { ProgramFd } from '../fd.js';
import { NetlinkError } from './errors.js';
import { interfaceIndex } from './interface.js';
import type { Attachment } from './link.js';
import { type TcDirection, type TcFilterAddress, deleteBpfFilter, newBpfFilter, newClsactQdisc } from './netlink/tc.js';
import { openRouteSocket } from './sys/route-socket.js';

/** Options of {@link attachTcFilter}. */
export interface AttachTcFilterOptions {
  /** A `SchedCls` program. */
  program: {
    /** The loaded program's fd. */
    readonly fd: ProgramFd;
  };
  /** The interface: a name, looked up in `netns`, or an index there. */
  interface: string | number;
  /** `ingress` or `egress`: the clsact hook. */
  direction: TcDirection;
  /**
   * The network namespace of the interface (default: the caller's). The filter keeps it
   * to remove itself on close: a handle must stay open until then (or give a name or path).
   */
  netns?: NetnsRef;
  /** The filter's priority, 1 to 65535 (default 1; lower runs first), as `tc filter ... pref`. */
  priority?: number;
  /** The filter's handle within its priority (default 1), as `tc filter ... handle`. */
  handle?: number;
  /** The name `tc filter show` prints (default `twill`). */
  name?: string;
  /** Replace a filter at the same priority and handle instead of failing with `EEXIST`. */
  replace?: boolean;
}

/** The errnos that mean the filter is gone already (its interface or namespace was removed). */
const gone = new Set(['ENOENT', 'ENODEV', 'EINVAL']);

/**
 * A direct-action `bpf` filter on a `clsact` qdisc, what `tc filter add dev X ingress bpf
 * da` makes. {@link close} removes the filter; the qdisc stays (other filters may use it,
 * and it costs nothing without filters). It cannot be pinned: it lives as long as the
 * interface, with or without this process.
 */
export class TcFilter implements Attachment {
  readonly description: string;
  #open = true;

  constructor(
    /** Where the filter is. */
    readonly address: Readonly<TcFilterAddress>,
    /** The namespace of the interface. */
    readonly netns: NetnsRef | undefined,
    /** Whether attaching created the clsact qdisc (it did not exist before). */
    readonly createdQdisc: boolean,
  ) {
    this.description = `tc ${address.direction} ifindex ${address.ifindex} pref ${address.priority} handle ${address.handle}`;
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return !this.#open;
  }

  /**
   * Removes the filter (`RTM_DELTFILTER`). A filter already gone with its interface or
   * namespace is not an error. Twice does nothing.
   * @throws {NetlinkError} for other failures, such as `EPERM`.
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    let socket;
    try {
      socket = openRouteSocket(this.netns);
    } catch (error) {
      if (error instanceof NetlinkError && gone.has(error.errno)) return;
      throw error;
    }
    try {
      socket.request(deleteBpfFilter(this.address));
    } catch (error) {
      if (!(error instanceof NetlinkError && gone.has(error.errno))) throw error;
    } finally {
      socket.close();
    }
  }

  /** Removes the filter (`using` declarations). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Attaches a tc program the pre-tcx way: adds a `clsact` qdisc to the interface if it has
 * none (`RTM_NEWQDISC`), then a direct-action `bpf` filter running the program on its
 * ingress or egress hook (`RTM_NEWTFILTER`), over a route socket inside `netns`. The
 * program's return value is the tc action (`TC_ACT_OK` 0, `TC_ACT_SHOT` 2, `TC_ACT_UNSPEC`
 * -1 for the next filter). Works on every kernel with clsact (4.5); on 6.6+ prefer tcx.
 * @throws {NetlinkError} `ENODEV` for a missing interface, `EEXIST` when a filter sits at the
 *   same priority and handle (unless `replace`), `EPERM` without CAP_NET_ADMIN, `EINVAL` for a
 *   program of the wrong type.
 * @throws {RangeError} for a priority or handle out of range.
 */
export function attachTcFilter(options: AttachTcFilterOptions): TcFilter {
  const { netns } = options;
  const ifindex = interfaceIndex(options.interface, netns);
  const address: TcFilterAddress = {
    ifindex,
    direction: options.direction,
    priority: options.priority ?? 1,
    handle: options.handle ?? 1,
  };
  const filter = newBpfFilter({ ...address, progFd: options.program.fd, name: options.name ?? 'twill', replace: options.replace });
  const socket = openRouteSocket(netns);
  try {
    let createdQdisc = true;
    try {
      socket.request(newClsactQdisc(ifindex));
    } catch (error) {
      if (!(error instanceof NetlinkError && error.errno === 'EEXIST')) throw error;
      createdQdisc = false;
    }
    socket.request(filter);
    return new TcFilter(address, netns, createdQdisc);
  } finally {
    socket.close();
  }
}
