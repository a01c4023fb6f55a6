import { checkFd, checkInteger } from './arguments.js';
import { callNative, SysError } from './errors.js';
import { native } from './native.js';

/**
 * Joins multicast group `group` (1-based, as the protocol's `*NLGRP_*` constants number
 * them, such as `NFNLGRP_CONNTRACK_NEW` = 1) on a netlink socket:
 * `setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP)` (netlink(7)). From then on the socket
 * receives what the kernel sends to the group. A socket not bound yet is bound first,
 * with a port id the kernel picks: an unbound socket does not receive notifications that
 * have no sender (conntrack events, for one). Joining some groups needs CAP_NET_ADMIN in
 * the socket's namespace (conntrack events do).
 *
 * @throws {SysError} `EINVAL` for a bad fd or group (before any call), or from the kernel
 *   for a group the protocol does not have; `EPERM` without the capability; `ENOTSUP`
 *   (`getsockname`) or `ENOTSOCK` for a descriptor that is not a netlink socket.
 */
export function joinNetlinkGroup(fd: number, group: number): void {
  checkFd('joinNetlinkGroup', fd);
  checkInteger('joinNetlinkGroup', 'group', group, 1, 0xffffffff);
  callNative(() => native.setNetlinkMembership(fd, group, true));
}

/**
 * Leaves multicast group `group` of a netlink socket (`NETLINK_DROP_MEMBERSHIP`).
 * Leaving a group the socket is not in does nothing. Unlike {@link joinNetlinkGroup} it
 * neither binds nor checks the socket first.
 * @throws {SysError} `EINVAL` for a bad fd or group (before any call), or from the kernel
 *   for a group the protocol does not have; `ENOPROTOOPT` for a socket that is not a
 *   netlink socket; `ENOTSOCK`, `EBADF`.
 */
export function leaveNetlinkGroup(fd: number, group: number): void {
  checkFd('leaveNetlinkGroup', fd);
  checkInteger('leaveNetlinkGroup', 'group', group, 1, 0xffffffff);
  callNative(() => native.setNetlinkMembership(fd, group, false));
}

/**
 * Sets `NETLINK_NO_ENOBUFS` on a netlink socket (Linux 2.6.30). By default a message the
 * kernel cannot queue (the receive buffer is full) puts the socket into an error state:
 * the next read fails with `ENOBUFS` and epoll reports an error. With this on, the kernel
 * drops the message without that; it still counts it in the socket's drops (see
 * {@link socketMemInfo}), which is how a reader learns how many it lost.
 *
 * @throws {SysError} `EINVAL` for a bad fd; `ENOPROTOOPT` or `ENOTSOCK` when `fd` is not a netlink socket.
 */
export function setNetlinkNoEnobufs(fd: number, on: boolean): void {
  checkFd('setNetlinkNoEnobufs', fd);
  if (typeof on !== 'boolean') throw SysError.invalid('setNetlinkNoEnobufs', `on ${String(on)} is not a boolean`);
  callNative(() => native.setNetlinkNoEnobufs(fd, on));
}
