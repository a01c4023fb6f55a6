import { isIP } from 'node:net';

import { SysError, callNative } from './errors.js';
import { native } from './native.js';
import { type NetnsRef, withNetnsFd } from './netns.js';

/** Address families, socket types and netlink protocols from the Linux headers. */
export const AF = { INET: 2, INET6: 10, NETLINK: 16 } as const;
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3, NONBLOCK: 0o4000 } as const;
export const NETLINK = {
  ROUTE: 0,
  SOCK_DIAG: 4,
  NETFILTER: 12,
  GENERIC: 16,
} as const;

/** Options for {@link openSocket}. */
export interface OpenSocketOptions {
  /** Address family, such as {@link AF}.NETLINK. */
  domain: number;
  /** Socket type, such as {@link SOCK}.RAW, optionally OR-ed with {@link SOCK}.NONBLOCK. */
  type: number;
  /** Protocol, such as {@link NETLINK}.ROUTE; 0 for the family's default. */
  protocol?: number;
  /** The namespace to create it in (default: the caller's). */
  netns?: NetnsRef;
}

/**
 * Creates a socket, inside a network namespace when `netns` is given: the calling
 * thread enters the namespace for the `socket(2)` call only and is always moved back.
 * The socket stays in that namespace for life. The descriptor is close-on-exec; the
 * caller owns it (close it with `fs.closeSync`, or hand it to `net.Socket({ fd })`).
 *
 * @throws {SysError} from `setns` or `socket` (`EPERM` without CAP_SYS_ADMIN for `netns`).
 */
export function openSocket(options: OpenSocketOptions): number {
  const { domain, type, protocol = 0, netns } = options;
  if (netns === undefined) return callNative(() => native.socketIn(-1, domain, type, protocol));
  return withNetnsFd(netns, (nsFd) => callNative(() => native.socketIn(nsFd, domain, type, protocol)));
}

/**
 * A raw netlink socket of `protocol` (default {@link NETLINK}.ROUTE), inside `netns`
 * when given. Its replies and events describe that namespace only.
 */
export function openNetlinkSocket(options: { protocol?: number; netns?: NetnsRef } = {}): number {
  return openSocket({
    domain: AF.NETLINK,
    type: SOCK.RAW,
    protocol: options.protocol ?? NETLINK.ROUTE,
    ...(options.netns !== undefined ? { netns: options.netns } : {}),
  });
}

/** Options for {@link setTcpMd5}. */
export interface TcpMd5Options {
  /** The peer's IPv4 or IPv6 address (on an IPv6 socket an IPv4 peer is `::ffff:a.b.c.d`). */
  address: string;
  /** Apply to every peer in `address/prefixLength` (default: the single address). Linux 4.13. */
  prefixLength?: number;
  /** The shared secret, at most 80 bytes; empty removes the key. */
  key: string | Uint8Array;
}

/**
 * Sets the RFC 2385 TCP MD5 signature key for a peer on a TCP socket, as BGP sessions
 * protected by a password need. On a listening socket the key applies to connections
 * it accepts from that peer; on a client socket set it before `connect()`.
 *
 * @throws {SysError} `EINVAL` for a bad address, prefix or key, or from `setsockopt`.
 */
export function setTcpMd5(fd: number, options: TcpMd5Options): void {
  const family = isIP(options.address);
  if (family === 0) throw SysError.invalid('setTcpMd5', `${JSON.stringify(options.address)} is not an IP address`);
  const full = family === 4 ? 32 : 128;
  const prefixLength = options.prefixLength ?? full;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > full) {
    throw SysError.invalid('setTcpMd5', `prefix length ${prefixLength} is not within 0..${full}`);
  }
  const key = typeof options.key === 'string' ? new TextEncoder().encode(options.key) : options.key;
  if (key.byteLength > 80) {
    throw SysError.invalid('setTcpMd5', `the key is ${key.byteLength} bytes; TCP MD5 allows at most 80`);
  }
  callNative(() => native.setTcpMd5(fd, options.address, prefixLength, key));
}
