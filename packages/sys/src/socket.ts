import { isIP } from 'node:net';

import { SysError, callNative } from './errors.js';
import { native } from './native.js';
import { type NetnsRef, withNetnsFd } from './netns.js';

/** Address families (`AF_*` from `<sys/socket.h>`), for {@link OpenSocketOptions.domain}. */
export const AF = { INET: 2, INET6: 10, NETLINK: 16 } as const;
/** Socket types (`SOCK_*`), for {@link OpenSocketOptions.type}; `NONBLOCK` may be or-ed into the type. */
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3, NONBLOCK: 0o4000 } as const;
/** Netlink protocols (`NETLINK_*` from `<linux/netlink.h>`), for {@link OpenSocketOptions.protocol} and {@link openNetlinkSocket}. */
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

/** A socket's TTL settings, as {@link socketTtl} reads them. */
export interface SocketTtl {
  /** The TTL of IPv4 packets sent (`IP_TTL`; also IPv4-mapped connections of an IPv6 socket). */
  readonly ttl: number;
  /** IPv4 packets received with a lower TTL are dropped (`IP_MINTTL`); 0: no check. */
  readonly minTtl: number;
  /** An IPv6 socket's hop limit (`IPV6_UNICAST_HOPS`; -1 is the route's default); undefined for an IPv4 socket. */
  readonly hopLimit?: number;
  /** An IPv6 socket's `IPV6_MINHOPCOUNT`; undefined for an IPv4 socket. */
  readonly minHopCount?: number;
}

function checkTtl(call: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value > 255) throw SysError.invalid(call, `${name} ${value} is not within ${min}..255`);
}

/**
 * Sets the TTL of the packets a TCP or UDP socket sends: `IP_TTL`, and on an IPv6
 * socket `IPV6_UNICAST_HOPS` too (an IPv6 socket's IPv4-mapped connections use the
 * former). For BGP: 255 with TTL security (RFC 5082), the hop count with eBGP multihop.
 * Set it before `connect()`; on a listening socket it also applies to its SYN-ACKs and
 * to the connections it accepts.
 *
 * @throws {SysError} `EINVAL` for a TTL outside 1..255; `EAFNOSUPPORT` when `fd` is not an IP socket; from `setsockopt`.
 */
export function setTtl(fd: number, ttl: number): void {
  checkTtl('setTtl', 'TTL', ttl, 1);
  callNative(() => native.setTtl(fd, ttl));
}

/**
 * Makes the kernel drop received packets whose TTL (IPv4, `IP_MINTTL`, Linux 2.6.34) or
 * hop limit (IPv6, `IPV6_MINHOPCOUNT`, Linux 4.5) is below `minTtl`: the Generalized TTL
 * Security Mechanism (RFC 5082 §3), 256 - hops for a peer `hops` routers away. 0 turns it
 * off. Set it on a connected or connecting socket; on a listening socket it would apply
 * to every peer's SYN.
 *
 * @throws {SysError} `EINVAL` for a value outside 0..255; `EAFNOSUPPORT` when `fd` is not an IP socket; from `setsockopt`.
 */
export function setMinTtl(fd: number, minTtl: number): void {
  checkTtl('setMinTtl', 'minimum TTL', minTtl, 0);
  callNative(() => native.setMinTtl(fd, minTtl));
}

/**
 * Reads a socket's TTL settings (what {@link setTtl} and {@link setMinTtl} set).
 * @throws {SysError} `EAFNOSUPPORT` when `fd` is not an IP socket; from `getsockopt`.
 */
export function socketTtl(fd: number): SocketTtl {
  const [domain, ttl, minTtl, hopLimit, minHopCount] = callNative(() => native.getTtl(fd));
  return domain === AF.INET6 ? { ttl, minTtl, hopLimit, minHopCount } : { ttl, minTtl };
}
