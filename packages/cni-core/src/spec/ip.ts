// Strict IP and CIDR parsing for CNI documents, on top of ipaddr.js.
//
// ipaddr.js on its own accepts legacy IPv4 forms (`10.1`, `010.1.1.1`, hex parts) and
// IPv6 zone ids (`fe80::1%eth0`). CNI results are produced and consumed by Go's
// `net.ParseIP` / `net.ParseCIDR`, which accept neither, so a document that Go would
// reject must be rejected here too: the same JSON means the same thing on both sides.
import ipaddr from 'ipaddr.js';


/** An IP address family, as the 0.3.x/0.4.0 results spell it (`"4"` or `"6"`). */
export type IpFamily = '4' | '6';

/** A parsed IP address: its family and its canonical text. */
export interface ParsedIp {
  /** 4 or 6. */
  readonly family: IpFamily;
  /** The address as ipaddr.js prints it (dotted quad, or RFC 5952 for IPv6). */
  readonly address: string;
}

/** A parsed CIDR: the address (host bits kept, as CNI's `address` does) and the prefix length. */
export interface ParsedCidr extends ParsedIp {
  /** The prefix length in bits: 0-32 for IPv4, 0-128 for IPv6. */
  readonly prefixLength: number;
}

/**
 * Parses an IP address the way Go's `net.ParseIP` does: dotted-quad IPv4 or IPv6, no
 * zone id. Returns `undefined` when `text` is not an address (the caller names the field).
 */
export function parseIpAddress(text: string): ParsedIp | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: '4', address: ipaddr.IPv4.parse(text).toString() };
  }
  if (ipaddr.IPv6.isValid(text)) {
    const ip = ipaddr.IPv6.parse(text);
    if (ip.zoneId !== undefined) return undefined;
    return { family: '6', address: ip.toRFC5952String() };
  }
  return undefined;
}

/**
 * Parses `address/prefix` the way Go's `net.ParseCIDR` does (dotted-quad IPv4 or IPv6,
 * no zone id, prefix within the family's width). Returns `undefined` when invalid.
 */
export function parseCidr(text: string): ParsedCidr | undefined {
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
    const [ip, prefixLength] = ipaddr.IPv4.parseCIDR(text);
    return { family: '4', address: ip.toString(), prefixLength };
  }
  if (ipaddr.IPv6.isValidCIDR(text)) {
    const [ip, prefixLength] = ipaddr.IPv6.parseCIDR(text);
    if (ip.zoneId !== undefined) return undefined;
    return { family: '6', address: ip.toRFC5952String(), prefixLength };
  }
  return undefined;
}
