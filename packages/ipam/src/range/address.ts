// Addresses as numbers, so a range can be walked and compared. Parsing and printing go
// through ipaddr.js (and cni-core's strict Go-compatible checks): only the arithmetic on
// the resulting bytes is done here.
import { parseCidr, parseIpAddress } from '@twill/cni-core';
import ipaddr from 'ipaddr.js';

/** An address family by its bit width, as in Go's `len(net.IP)` after canonicalization. */
export type AddressFamily = 4 | 6;

/** An IP address as a number, with its family: what the range walker steps through. */
export interface Address {
  /** 4 or 6. */
  readonly family: AddressFamily;
  /** The address as an unsigned integer (32 bits for IPv4, 128 for IPv6). */
  readonly value: bigint;
}

const BITS: Readonly<Record<AddressFamily, number>> = { 4: 32, 6: 128 };

/** The number of bits in an address of `family`. */
export function addressBits(family: AddressFamily): number {
  return BITS[family];
}

function fromBytes(bytes: readonly number[], family: AddressFamily): Address {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return { family, value };
}

/**
 * Parses an address the way Go's `net.ParseIP` followed by host-local's `canonicalizeIP`
 * reads it: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address, as Go's
 * `To4()` makes it. Returns `undefined` when `text` is not an address.
 */
export function parseAddress(text: string): Address | undefined {
  const parsed = parseIpAddress(text);
  if (parsed === undefined) return undefined;
  const ip = ipaddr.parse(parsed.address);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return fromBytes(v6.toIPv4Address().toByteArray(), 4);
    return fromBytes(v6.toByteArray(), 6);
  }
  return fromBytes(ip.toByteArray(), 4);
}

/** The bytes of an address, most significant first. */
function toBytes(address: Address): number[] {
  const count = BITS[address.family] / 8;
  const bytes = new Array<number>(count);
  let value = address.value;
  for (let i = count - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/**
 * Prints an address as Go's `net.IP.String()` does (dotted quad, or RFC 5952 for IPv6):
 * the text host-local uses as a file name, so both name the same reservation alike.
 */
export function formatAddress(address: Address): string {
  if (address.family === 4) {
    // Dotted decimal, as ipaddr.js prints it, without its byte array and object.
    const v = Number(address.value);
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  return ipaddr.fromByteArray(toBytes(address)).toString();
}

/** Whether two addresses are the same. */
export function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.value === b.value;
}

/** The address `offset` after `address` (may leave the family's space; callers bound it). */
export function addressPlus(address: Address, offset: bigint): Address {
  return { family: address.family, value: address.value + offset };
}

/** A subnet: its network address and prefix length. */
export interface Subnet {
  /** The network address (host bits clear). */
  readonly network: Address;
  /** The prefix length: 0 to 32 for IPv4, 0 to 128 for IPv6. */
  readonly prefixLength: number;
}

/** The first and last address of a subnet, both inclusive. */
export function subnetBounds(subnet: Subnet): { readonly first: bigint; readonly last: bigint } {
  const hostBits = BigInt(BITS[subnet.network.family] - subnet.prefixLength);
  const first = subnet.network.value;
  return { first, last: first + (1n << hostBits) - 1n };
}

/** Whether `address` lies in `subnet` (same family, inside the prefix). */
export function subnetContains(subnet: Subnet, address: Address): boolean {
  if (subnet.network.family !== address.family) return false;
  const { first, last } = subnetBounds(subnet);
  return address.value >= first && address.value <= last;
}

/** A subnet in CIDR notation, with the network address printed by {@link formatAddress}. */
export function formatSubnet(subnet: Subnet): string {
  return `${formatAddress(subnet.network)}/${subnet.prefixLength}`;
}

/**
 * Parses a CIDR for a range's `subnet` with cni-core's Go-compatible check: returns the
 * address as written (host bits kept) and the prefix length, or `undefined` when `text`
 * is not a CIDR Go would accept. An IPv4-mapped IPv6 CIDR is refused: its prefix length
 * would be ambiguous.
 */
export function parseCidrParts(text: string): { readonly address: Address; readonly prefixLength: number } | undefined {
  const cidr = parseCidr(text);
  if (cidr === undefined) return undefined;
  const address = parseAddress(cidr.address);
  if (address === undefined || (address.family === 6) !== (cidr.family === '6')) return undefined;
  return { address, prefixLength: cidr.prefixLength };
}
