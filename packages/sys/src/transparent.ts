import { isIP } from 'node:net';

import { checkFd, checkInteger } from './arguments.js';
import { callNative, SysError } from './errors.js';
import { native } from './native.js';
import { type NetnsRef, withNetnsFd } from './netns.js';

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
 * 2.6.37), and bound to `address:port`, not yet listening. Hand it to Node with
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
