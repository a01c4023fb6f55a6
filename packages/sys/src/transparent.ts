import { isIP } from 'node:net';

import { checkFd, checkInteger } from './arguments.js';
import { callNative, SysError } from './errors.js';
import { native } from './native.js';
import { type NetnsRef, withNetnsFd } from './netns.js';
import { MAX_SOCKET_MARK } from './socket-mark.js';

/** Options for {@link openTransparentListener}. */
export interface TransparentListenerOptions {
  /** The IPv4 or IPv6 address to bind (the one an nftables `tproxy to` rule names, or `0.0.0.0` / `::`). */
  readonly address: string;
  /** The port to bind, 0 for one the kernel picks. */
  readonly port: number;
  /** The namespace to create the socket in (default: the caller's). */
  readonly netns?: NetnsRef;
}

/**
 * A TCP socket for a transparent proxy: made (inside `netns` when given) with
 * `SO_REUSEADDR` and `IP_TRANSPARENT` (`IPV6_TRANSPARENT` for an IPv6 address; Linux
 * 2.6.37), and bound to `address:port`, not yet listening; a `::` listener is dual-stack
 * (`IPV6_V6ONLY` 0, whatever `net.ipv6.bindv6only` says), so it takes IPv4 connections
 * too. Hand it to Node with
 * `net.createServer(...).listen({ fd })`, which calls `listen(2)`. An nftables
 * `tproxy to :port` rule (with a policy route that delivers the marked packets locally)
 * then gives it connections addressed to other addresses and ports; each accepted
 * socket's `localAddress` and `localPort` are the connection's original destination.
 *
 * The descriptor is close-on-exec and the caller's (closed by the server, or `fs.closeSync`).
 * Needs CAP_NET_ADMIN or CAP_NET_RAW (and CAP_SYS_ADMIN to enter `netns`).
 *
 * @throws {SysError} `EINVAL` for a bad address (a scoped IPv6 address too) or port (before any call); `EPERM`
 *   without the capability; `EADDRINUSE`, `EADDRNOTAVAIL` from `bind`.
 */
export function openTransparentListener(options: TransparentListenerOptions): number {
  const { address, port, netns } = options;
  if (isIP(address) === 0) throw SysError.invalid('openTransparentListener', `address ${JSON.stringify(address)} is not an IP address`);
  // Node's isIP takes a zone (`fe80::1%lo`), inet_pton does not; a tproxy listener binds a
  // wildcard or a routed address, so a link-local scope has no use here.
  if (address.includes('%')) throw SysError.invalid('openTransparentListener', `address ${JSON.stringify(address)}: scoped IPv6 addresses (with a zone) are not supported`);
  checkInteger('openTransparentListener', 'port', port, 0, 65535);
  if (netns === undefined) return callNative(() => native.transparentListener(-1, address, port));
  return withNetnsFd(netns, (nsFd) => callNative(() => native.transparentListener(nsFd, address, port)));
}

/**
 * Whether a TCP or UDP socket is transparent (`IP_TRANSPARENT`, or `IPV6_TRANSPARENT` on an IPv6 socket).
 * @throws {SysError} `EINVAL` for a bad fd; `EAFNOSUPPORT` when `fd` is not an IP socket.
 */
export function socketTransparent(fd: number): boolean {
  checkFd('socketTransparent', fd);
  return callNative(() => native.getTransparent(fd));
}

/** Options for {@link openTransparentSocket}. */
export interface TransparentSocketOptions {
  /**
   * The source address the connection will have: IPv4 or IPv6 (the socket's family follows
   * it), usually one the namespace does not own, such as the client's address of a
   * connection a tproxy rule diverted. The port is the kernel's pick at `connect()`.
   */
  readonly source: string;
  /** The firewall mark (`SO_MARK`) of every packet the socket sends, 0..0xffffffff (default: none). */
  readonly mark?: number;
  /** The namespace to create the socket in (default: the caller's). */
  readonly netns?: NetnsRef;
}

/**
 * A TCP socket for a transparent proxy's upstream connection: its packets leave with
 * `source` as their source address although the namespace need not own it, so the
 * destination sees the original client (as Cilium's proxy does). Made (inside `netns`
 * when given) with `IP_TRANSPARENT` (`IPV6_TRANSPARENT` for an IPv6 source),
 * `IP_BIND_ADDRESS_NO_PORT` (the port is picked at `connect()` knowing the destination,
 * so one source address serves any number of destinations), `SO_MARK` when `mark` is
 * given, and bound to `source` port 0. Close-on-exec, not connected, blocking until Node
 * takes it (libuv makes it non-blocking).
 *
 * Connect it with Node, which reuses the descriptor (libuv's `uv_tcp_open`, then
 * `uv_tcp_connect` on that socket; no second socket is made, so the bound source holds):
 *
 * ```ts
 * const socket = new net.Socket({ fd: openTransparentSocket({ source: client, mark: 0xa00 }) });
 * socket.connect(port, host); // host: an IP of the same family; a name would be looked up
 * socket.once('connect', ...); // socket.localAddress === client
 * ```
 *
 * Pass no `localAddress`/`localPort` to `connect()` (Node would bind again: `EINVAL`).
 *
 * Replies come back addressed to `source`, which is not local: the namespace needs what
 * a tproxy setup has for that, a rule giving packets of a transparent socket a mark
 * (nftables `meta l4proto tcp socket transparent 1 meta mark set M` in prerouting) and a
 * policy route delivering that mark locally (`ip rule add fwmark M/MASK lookup T`,
 * `ip route add local 0.0.0.0/0 dev lo table T`). `mark` must not match that rule
 * (`mark & MASK !== M`; with Cilium's M 0x200 and MASK 0xf00, 0xa00 is fine): a socket's
 * mark also selects its own route, and that rule's route is the local one.
 *
 * Needs CAP_NET_ADMIN (CAP_NET_RAW suffices without `mark`) and CAP_SYS_ADMIN to enter
 * `netns`; `IP_BIND_ADDRESS_NO_PORT` Linux 4.2.
 *
 * @throws {SysError} `EINVAL` for a bad `source` (a scoped IPv6 address too) or `mark` (before any
 *   call); `EPERM` without the capability; `EADDRINUSE` from `bind`, or `EADDRNOTAVAIL`
 *   at `connect()` when no port of `source` is free toward that destination.
 */
export function openTransparentSocket(options: TransparentSocketOptions): number {
  const { source, mark, netns } = options;
  if (typeof source !== 'string' || isIP(source) === 0) throw SysError.invalid('openTransparentSocket', `source ${JSON.stringify(source)} is not an IP address`);
  if (source.includes('%')) throw SysError.invalid('openTransparentSocket', `source ${JSON.stringify(source)}: scoped IPv6 addresses (with a zone) are not supported`);
  if (mark !== undefined) checkInteger('openTransparentSocket', 'mark', mark, 0, MAX_SOCKET_MARK);
  const open = (nsFd: number): number => callNative(() => native.transparentSocket(nsFd, source, mark !== undefined, mark ?? 0));
  return netns === undefined ? open(-1) : withNetnsFd(netns, open);
}
