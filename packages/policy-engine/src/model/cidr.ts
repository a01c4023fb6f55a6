// Addresses and prefixes, parsed by ipaddr.js. IPv4 is limited to four-part dotted
// decimal on purpose: ipaddr.js (like inet_aton) would also read "10.1" or "0x0a000001",
// which no policy author means and Kubernetes refuses.

import ipaddr from 'ipaddr.js';

/** An IP version. */
export type IpFamily = 4 | 6;

/** A parsed address. */
export interface IpAddress {
  /** 4 for IPv4, 6 for IPv6. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) parses as IPv4. */
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: readonly number[];
  /** The canonical text (RFC 5952 for IPv6). */
  readonly text: string;
}

/** A parsed prefix: its network address (host bits cleared) and length. */
export interface Cidr {
  /** 4 for IPv4, 6 for IPv6. */
  readonly family: IpFamily;
  /** The network address: 4 or 16 bytes, network order, every bit after `prefixLength` clear. */
  readonly bytes: readonly number[];
  /** The prefix length in bits: 0-32 for IPv4, 0-128 for IPv6. */
  readonly prefixLength: number;
  /** The canonical text, `network/length`. */
  readonly text: string;
}

/** Parses an IPv4 or IPv6 address, or `undefined` when `text` is not one. */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const address = ipaddr.IPv4.parse(text);
    return { family: 4, bytes: address.toByteArray(), text: address.toString() };
  }
  // Zone ids (`fe80::1%eth0`) name an interface, which no policy can mean.
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) {
    const address = ipaddr.IPv6.parse(text);
    if (address.isIPv4MappedAddress()) {
      // ::ffff:a.b.c.d is the IPv4 address a.b.c.d on the wire (RFC 4291 §2.5.5.2).
      const v4 = address.toIPv4Address();
      return { family: 4, bytes: v4.toByteArray(), text: v4.toString() };
    }
    return { family: 6, bytes: address.toByteArray(), text: address.toRFC5952String() };
  }
  return undefined;
}

/** `bytes` with every bit after `prefixLength` cleared. */
export function maskBytes(bytes: readonly number[], prefixLength: number): number[] {
  return bytes.map((byte, index) => {
    const bitsHere = Math.min(8, Math.max(0, prefixLength - index * 8));
    return bitsHere === 8 ? byte : byte & (0xff << (8 - bitsHere)) & 0xff;
  });
}

function addressText(family: IpFamily, bytes: readonly number[]): string {
  const address = ipaddr.fromByteArray([...bytes]);
  return family === 6 && address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

/**
 * Parses `address/length`. Host bits may be set (`10.0.0.1/24`), as Kubernetes accepts;
 * they are cleared in the result. Returns `undefined` for anything else, including a
 * bare address: a CIDR field needs its length.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const lengthText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(lengthText)) return undefined;
  const addressPart = text.slice(0, slash);
  // A mapped address would change family under the prefix length: refuse it in a CIDR.
  if (addressPart.includes('.') && addressPart.includes(':')) return undefined;
  const address = parseIpAddress(addressPart);
  if (address === undefined) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > address.bytes.length * 8) return undefined;
  const bytes = maskBytes(address.bytes, prefixLength);
  return { family: address.family, bytes, prefixLength, text: `${addressText(address.family, bytes)}/${prefixLength}` };
}

/** The host prefix (/32 or /128) of an address. */
export function hostCidr(address: IpAddress): Cidr {
  const prefixLength = address.bytes.length * 8;
  return { family: address.family, bytes: address.bytes, prefixLength, text: `${address.text}/${prefixLength}` };
}

/** Whether `address` lies inside `cidr` (false across families). */
export function cidrContainsAddress(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.family !== address.family) return false;
  return prefixEqual(address.bytes, cidr.bytes, cidr.prefixLength);
}

// Whether the first `prefixLength` bits of `bytes` are `network`'s (whose later bits are
// clear). A loop rather than maskBytes: the index asks this of thousands of addresses.
function prefixEqual(bytes: readonly number[], network: readonly number[], prefixLength: number): boolean {
  const whole = prefixLength >>> 3;
  for (let i = 0; i < whole; i += 1) if (bytes[i] !== network[i]) return false;
  const rest = prefixLength & 7;
  if (rest === 0) return true;
  return (((bytes[whole] as number) & (0xff << (8 - rest))) & 0xff) === network[whole];
}

/** Whether `inner` lies entirely inside `outer` (equal prefixes count). */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefixLength < outer.prefixLength) return false;
  return prefixEqual(inner.bytes, outer.bytes, outer.prefixLength);
}
