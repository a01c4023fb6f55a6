// Compact keys for prefixes in the RIB tables. An IPv4 prefix becomes one small
// integer, 2^length + (address >>> (32 - length)): the index of its node in a
// complete binary trie. It is unique per (address, length), fits a V8 small integer
// (no boxing in a Map) up to /29, and is still a plain number for /30../32. IPv6
// prefixes become a short string. One Map can hold both without collision.
import { BgpInvalidArgument } from '../errors.js';
import { type BgpPrefix, makePrefix } from '../codec/prefix.js';

/** A prefix as a RIB key: a number for IPv4, a string for IPv6. See {@link prefixKey}. */
export type PrefixKey = number | string;

const TWO_32 = 0x1_0000_0000;

/** The key of an IPv4 prefix given as a 32-bit address and a length (no allocation). */
export function ipv4Key(address: number, length: number): number {
  if (length === 0) return 1;
  // Up to /30 the key is below 2^31: integer operations only (no float power, and a
  // small integer result, once per route received).
  if (length <= 30) return (1 << length) | (address >>> (32 - length));
  return 2 ** length + ((address >>> (32 - length)) >>> 0);
}

/** The RIB key of a prefix (see the file comment for the encoding). */
export function prefixKey(prefix: BgpPrefix): PrefixKey {
  const b = prefix.bytes;
  if (prefix.family === 4) {
    const address = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
    return ipv4Key(address, prefix.length);
  }
  let text = `${prefix.length}/`;
  const octets = Math.ceil(prefix.length / 8);
  for (let i = 0; i < octets; i += 1) text += (b[i] ?? 0).toString(16).padStart(2, '0');
  return text;
}

/** The prefix length of an IPv4 key (a key made by {@link ipv4Key}). */
function ipv4KeyLength(key: number): number {
  return key >= TWO_32 ? 32 : 31 - Math.clz32(key);
}

/** The network address of an IPv4 key of length `length`, as an unsigned 32-bit number. */
function ipv4KeyAddress(key: number, length: number): number {
  if (length === 0) return 0;
  // Up to /30 with integer operations (once per route advertised or pushed to the FIB).
  if (length <= 30) return ((key ^ (1 << length)) << (32 - length)) >>> 0;
  const network = key - 2 ** length;
  return length === 32 ? network : network * 2;
}

/**
 * Octets the NLRI entry of an IPv4 key takes (RFC 4271 §4.3: a length octet and the
 * prefix's significant octets), without a path identifier.
 */
export function ipv4KeyNlriSize(key: number): number {
  return 1 + ((ipv4KeyLength(key) + 7) >> 3);
}

/**
 * Writes the NLRI entry of an IPv4 key (RFC 4271 §4.3) at `offset` of `target`, which
 * must have room for {@link ipv4KeyNlriSize} octets, without building the prefix.
 * @returns the offset after the entry.
 */
export function writeIpv4KeyNlri(key: number, target: Uint8Array, offset: number): number {
  const length = ipv4KeyLength(key);
  const address = ipv4KeyAddress(key, length);
  let at = offset;
  target[at++] = length;
  if (length > 0) target[at++] = address >>> 24;
  if (length > 8) target[at++] = (address >>> 16) & 0xff;
  if (length > 16) target[at++] = (address >>> 8) & 0xff;
  if (length > 24) target[at++] = address & 0xff;
  return at;
}

/** The IP version of a key. */
export function keyFamily(key: PrefixKey): 4 | 6 {
  return typeof key === 'number' ? 4 : 6;
}

/**
 * The prefix a key stands for.
 * @throws {BgpInvalidArgument} when `key` was not made by {@link prefixKey}.
 */
export function prefixFromKey(key: PrefixKey): BgpPrefix {
  if (typeof key === 'number') {
    if (!Number.isInteger(key) || key < 1 || key >= 2 * TWO_32) throw new BgpInvalidArgument(`${key} is not an IPv4 prefix key`);
    const length = ipv4KeyLength(key);
    const address = ipv4KeyAddress(key, length);
    // Host bits are already zero: build the prefix directly (this runs once per FIB route).
    const bytes = new Uint8Array(4);
    bytes[0] = address >>> 24;
    bytes[1] = (address >>> 16) & 0xff;
    bytes[2] = (address >>> 8) & 0xff;
    bytes[3] = address & 0xff;
    return { family: 4, length, bytes };
  }
  const match = /^(\d{1,3})\/([0-9a-f]*)$/.exec(key);
  const length = Number(match?.[1]);
  if (!match || length > 128) throw new BgpInvalidArgument(`${JSON.stringify(key)} is not an IPv6 prefix key`);
  const bytes = new Uint8Array(16);
  const hex = match[2] ?? '';
  for (let i = 0; i * 2 < hex.length; i += 1) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return makePrefix(6, bytes, length);
}
