// IP prefixes as BGP carries them: a length in bits and the significant octets
// (RFC 4271 §4.3 "Network Layer Reachability Information"; RFC 4760 §5), with an
// optional ADD-PATH path identifier (RFC 7911 §3). Text conversion is ipaddr.js's.
import ipaddr from 'ipaddr.js';

import { BgpInvalidArgument } from '../errors.js';

import { type ByteWriter, ipv4ToText, ipv6ToText } from './internal/bytes.js';

/** An IP version. */
export type IpFamily = 4 | 6;

/** An IP prefix: `bytes` is the whole address (4 or 16 octets) with the host bits zero. */
export interface BgpPrefix {
  /** 4 for IPv4, 6 for IPv6; decides the size of `bytes` and the range of `length`. */
  readonly family: IpFamily;
  /** Prefix length in bits: 0..32 for IPv4, 0..128 for IPv6. */
  readonly length: number;
  /** 4 or 16 octets, network order, bits after `length` zero. */
  readonly bytes: Uint8Array;
}

/** One NLRI entry: a prefix and, when ADD-PATH is in use for its family, a path identifier. */
export interface Nlri {
  /** The reachable (or withdrawn) destination. */
  readonly prefix: BgpPrefix;
  /** The ADD-PATH Path Identifier (RFC 7911 §3), a 32-bit unsigned integer. */
  readonly pathId?: number;
}

/** Octets of an address of `family`. */
export function addressLength(family: IpFamily): 4 | 16 {
  return family === 4 ? 4 : 16;
}

/**
 * Builds a prefix from an address's bytes and a length, clearing the host bits.
 * @throws {BgpInvalidArgument} when the byte count or the length does not fit the family.
 */
export function makePrefix(family: IpFamily, address: Uint8Array, length: number): BgpPrefix {
  const size = addressLength(family);
  if (address.length !== size) throw new BgpInvalidArgument(`an IPv${family} address has ${size} octets, not ${address.length}`);
  if (!Number.isInteger(length) || length < 0 || length > size * 8) {
    throw new BgpInvalidArgument(`IPv${family} prefix length ${length} is not within 0..${size * 8}`);
  }
  const bytes = new Uint8Array(size);
  // A loop rather than `set(subarray(...))`: no view object per prefix (a full table builds a million).
  const octets = (length + 7) >> 3;
  for (let i = 0; i < octets; i += 1) bytes[i] = address[i] ?? 0;
  // The octets after the last are already zero: only a partial last octet needs its host bits cleared.
  const rest = length & 7;
  if (rest !== 0) bytes[octets - 1] = (bytes[octets - 1] ?? 0) & (0xff << (8 - rest));
  return { family, length, bytes };
}

function maskHostBits(bytes: Uint8Array, length: number): void {
  const full = length >> 3;
  const rest = length & 7;
  if (rest !== 0 && full < bytes.length) bytes[full] = (bytes[full] ?? 0) & (0xff << (8 - rest));
  bytes.fill(0, rest === 0 ? full : full + 1);
}

/**
 * Parses `ADDRESS/LENGTH` (a bare address is a host prefix). Host bits must be zero.
 * @throws {BgpInvalidArgument} when `text` is not a prefix or has host bits set.
 */
export function parsePrefix(text: string): BgpPrefix {
  const withLength = text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`;
  if (text.includes('%') || !ipaddr.isValidCIDR(withLength)) {
    throw new BgpInvalidArgument(`${JSON.stringify(text)} is not an IP prefix`);
  }
  const [address, length] = ipaddr.parseCIDR(withLength);
  const family: IpFamily = address.kind() === 'ipv4' ? 4 : 6;
  if (family === 4 && !ipaddr.IPv4.isValidFourPartDecimal(withLength.slice(0, withLength.indexOf('/')))) {
    throw new BgpInvalidArgument(`${JSON.stringify(text)}: IPv4 addresses must be in four-part dotted decimal`);
  }
  const raw = Uint8Array.from(address.toByteArray());
  const prefix = makePrefix(family, raw, length);
  if (!prefix.bytes.every((byte, i) => byte === raw[i])) {
    throw new BgpInvalidArgument(`${JSON.stringify(text)} has host bits set after /${length}`);
  }
  return prefix;
}

/** `"10.0.0.0/8"`, `"2001:db8::/32"` (RFC 5952 form for IPv6). */
export function prefixToText(prefix: BgpPrefix): string {
  const address = prefix.family === 4 ? ipv4ToText(prefix.bytes) : ipv6ToText(prefix.bytes);
  return `${address}/${prefix.length}`;
}

/**
 * Decodes a run of NLRI entries filling `bytes` exactly (RFC 4271 §4.3, RFC 4760 §5,
 * RFC 7911 §3 when `addPath`). Returns the reason in words instead of a list when the
 * field is syntactically incorrect (RFC 7606 §5.3): the caller picks the NOTIFICATION.
 */
export function decodeNlriList(bytes: Uint8Array, family: IpFamily, addPath: boolean): Nlri[] | string {
  const max = addressLength(family) * 8;
  const out: Nlri[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    let pathId: number | undefined;
    if (addPath) {
      if (offset + 4 > bytes.length) return `path identifier at octet ${offset} overruns the field`;
      pathId = (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
      offset += 4;
      if (offset >= bytes.length) return `prefix length missing after path identifier at octet ${offset}`;
    }
    const length = bytes[offset] ?? 0;
    offset += 1;
    // RFC 7606 §5.3: a length beyond the address size is a syntax error.
    if (length > max) return `prefix length ${length} exceeds ${max} for IPv${family}`;
    const octets = Math.ceil(length / 8);
    // RFC 7606 §5.3: a prefix that runs past the end of the field.
    if (offset + octets > bytes.length) return `prefix of /${length} at octet ${offset - 1} overruns the field`;
    const address = new Uint8Array(addressLength(family));
    address.set(bytes.subarray(offset, offset + octets));
    offset += octets;
    // RFC 4271 §4.3: the trailing bits of the last octet are irrelevant; clear them.
    maskHostBits(address, length);
    const prefix: BgpPrefix = { family, length, bytes: address };
    out.push(pathId === undefined ? { prefix } : { prefix, pathId });
  }
  return out;
}

/**
 * Encodes NLRI entries (RFC 4271 §4.3; path identifiers per RFC 7911 §3 when `addPath`).
 * @throws {BgpInvalidArgument} when an entry's family differs, or `addPath` is set and a path identifier is missing.
 */
export function encodeNlriList(out: ByteWriter, nlri: readonly Nlri[], family: IpFamily, addPath: boolean): void {
  for (const entry of nlri) {
    const { prefix } = entry;
    if (prefix.family !== family) throw new BgpInvalidArgument(`${prefixToText(prefix)} is not an IPv${family} prefix`);
    if (prefix.length < 0 || prefix.length > addressLength(family) * 8 || prefix.bytes.length !== addressLength(family)) {
      throw new BgpInvalidArgument(`IPv${family} prefix with length ${prefix.length} and ${prefix.bytes.length} octets`);
    }
    if (addPath) {
      const id = entry.pathId;
      if (id === undefined || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
        throw new BgpInvalidArgument(`${prefixToText(prefix)}: ADD-PATH is in use, so a path identifier (uint32) is required`);
      }
      out.u32(id);
    }
    out.prefix(prefix.length, prefix.bytes);
  }
}
