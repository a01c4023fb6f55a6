// Addresses and CIDR prefixes for the IP filters, read with ipaddr.js (the workspace's
// address library) and kept as bytes (4 for IPv4, 16 for IPv6), compared bit by bit.
// IPv4 is the dotted quad without leading zeros (as Go's netip, which Hubble uses), not
// ipaddr.js's looser forms (`10.1`, `0x0a.0.0.1`); IPv6 as RFC 4291 §2.2 writes it.
// Zones (`fe80::1%eth0`) are not addresses a flow carries and are refused. An IPv4-mapped
// IPv6 address stays IPv6: it is not in an IPv4 prefix (the same family only).
import ipaddr from 'ipaddr.js';

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

/** A CIDR prefix: its address bytes (host bits cleared) and length in bits. */
export interface IpPrefix {
  readonly bytes: IpBytes;
  readonly bits: number;
}

/** Parses an IPv4 or IPv6 address; undefined when `text` is not one. */
export function parseIp(text: string): IpBytes | undefined {
  if (text.includes(':')) {
    if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
    return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
}

/** Parses `address/bits`; undefined when `text` is not a prefix. Host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`). */
export function parseCidr(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const bytes = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (bytes === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > bytes.length * 8) return undefined;
  const network = bytes.length === 4 ? ipaddr.IPv4.networkAddressFromCIDR(`${text.slice(0, slash)}/${bits}`) : ipaddr.IPv6.networkAddressFromCIDR(`${text.slice(0, slash)}/${bits}`);
  return { bytes: Uint8Array.from(network.toByteArray()), bits };
}

/** Whether `address` lies in `prefix` (same family only: an IPv4 address is not in an IPv6 prefix). */
export function prefixContains(prefix: IpPrefix, address: IpBytes): boolean {
  if (prefix.bytes.length !== address.length) return false;
  let bits = prefix.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((address[i] as number) & mask) !== (prefix.bytes[i] as number)) return false;
  }
  return true;
}

/** Whether two parsed addresses are the same address. */
export function sameIp(a: IpBytes, b: IpBytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
