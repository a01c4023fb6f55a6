// Text <-> bytes for IP addresses, prefixes and MAC addresses, as netlink carries them.
// Pure: no I/O. Address syntax is ipaddr.js's, with IPv4 limited to the four-part
// dotted decimal form (inet_aton's "10.1" or "0x0a000001" are refused on purpose).
import ipaddr from 'ipaddr.js';

import { NetError } from './errors.js';


/** An IP version. */
export type IpFamily = 4 | 6;

/** Address families of include/linux/socket.h, as rtnetlink messages carry them. */
export const ADDRESS_FAMILY = { UNSPEC: 0, INET: 2, INET6: 10 } as const;

/** An address in binary form. */
export interface IpBytes {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

/** A prefix in binary form: address and length in bits. */
export interface IpPrefix extends IpBytes {
  readonly prefixLength: number;
}

/** The `AF_*` number for an IP version. */
export function addressFamily(family: IpFamily): number {
  return family === 4 ? ADDRESS_FAMILY.INET : ADDRESS_FAMILY.INET6;
}

/** The IP version of an `AF_*` number, or `undefined` for other families. */
export function ipFamilyOf(af: number): IpFamily | undefined {
  if (af === ADDRESS_FAMILY.INET) return 4;
  if (af === ADDRESS_FAMILY.INET6) return 6;
  return undefined;
}

/**
 * Parses an IPv4 or IPv6 address.
 * @throws {NetError} `EINVAL`, naming `operation`, when `text` is not an address.
 */
export function parseIp(text: string, operation: string): IpBytes {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, bytes: Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  // No zone ids (`fe80::1%eth0`): a netlink address has no room for one.
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) {
    return { family: 6, bytes: Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray()) };
  }
  throw NetError.invalid(operation, `${JSON.stringify(text)} is not an IP address`);
}

/**
 * Parses `ADDRESS/LENGTH`; a bare address means the full length (/32 or /128).
 * @throws {NetError} `EINVAL` for a bad address or a length out of range.
 */
export function parsePrefix(text: string, operation: string): IpPrefix {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash), operation);
  const max = address.family === 4 ? 32 : 128;
  if (slash < 0) return { ...address, prefixLength: max };
  const lengthText = text.slice(slash + 1);
  const prefixLength = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
  if (!(prefixLength >= 0 && prefixLength <= max)) {
    throw NetError.invalid(operation, `${JSON.stringify(text)}: prefix length must be within 0..${max}`);
  }
  return { ...address, prefixLength };
}

/** Whether bits after `prefixLength` are all zero (a network address, as a route's destination must be). */
export function isNetworkPrefix(prefix: IpPrefix): boolean {
  for (let bit = prefix.prefixLength; bit < prefix.bytes.length * 8; bit += 1) {
    const byte = prefix.bytes[bit >> 3] ?? 0;
    if (byte & (0x80 >> (bit & 7))) return false;
  }
  return true;
}

/** The text form of a 4- or 16-byte address (RFC 5952 for IPv6). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return ipaddr.fromByteArray(Array.from(bytes)).toString();
  if (bytes.length === 16) return (ipaddr.fromByteArray(Array.from(bytes)) as ipaddr.IPv6).toRFC5952String();
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

/** `ADDRESS/LENGTH` text. */
export function formatPrefix(bytes: Uint8Array, prefixLength: number): string {
  return `${formatIp(bytes)}/${prefixLength}`;
}

/** The all-zero address of a family (the destination of a default route). */
export function unspecified(family: IpFamily): Uint8Array {
  return new Uint8Array(family === 4 ? 4 : 16);
}

/**
 * Parses a 48-bit MAC address, `aa:bb:cc:dd:ee:ff` (or with `-`), case-insensitive.
 * @throws {NetError} `EINVAL` otherwise.
 */
export function parseMac(text: string, operation: string): Uint8Array {
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(text)) {
    throw NetError.invalid(operation, `${JSON.stringify(text)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  return Uint8Array.from(text.split(/[:-]/), (part) => Number.parseInt(part, 16));
}

/** `aa:bb:cc:dd:ee:ff`, lower case. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
