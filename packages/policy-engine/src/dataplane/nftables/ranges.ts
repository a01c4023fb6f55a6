// Address and port intervals for nftables interval sets. The kernel refuses elements
// that overlap (pipapo answers EEXIST for concatenations, rbtree for plain intervals),
// so every set's elements are made disjoint here: unions of ranges, CIDR minus its
// `except` prefixes, and, for concatenations, ports cut into elementary segments.

import ipaddr from 'ipaddr.js';

import { parseCidr, parseIpAddress, type IpFamily } from '../../model/cidr.js';

/** An inclusive range of addresses of one family, as integers. */
export interface AddressRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

/** An inclusive range of ports, `first <= last`. */
export interface PortRange {
  readonly first: number;
  readonly last: number;
}

const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128);

function toBigInt(bytes: readonly number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function toBytes(value: bigint, family: IpFamily): number[] {
  const bytes: number[] = new Array<number>(family === 4 ? 4 : 16).fill(0);
  for (let i = bytes.length - 1; i >= 0; i -= 1) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/** The address text of an integer (RFC 5952 for IPv6). */
export function formatAddress(value: bigint, family: IpFamily): string {
  if (family === 4) {
    const v = Number(value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return ipaddr.fromByteArray(toBytes(value, family)).toString();
}

// Parsed texts: the same pod addresses and CIDRs come back on every recompilation.
const parsed = new Map<string, AddressRange | undefined>();
const PARSED_LIMIT = 200_000;

/**
 * The range an address or CIDR text covers, or `undefined` when it is neither.
 * Host bits of a CIDR are ignored (`10.0.0.1/8` is `10.0.0.0/8`).
 */
export function addressRange(text: string): AddressRange | undefined {
  if (parsed.has(text)) return parsed.get(text);
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  const range = parseRange(text);
  parsed.set(text, range);
  return range;
}

function parseRange(text: string): AddressRange | undefined {
  const cidr = parseCidr(text);
  if (cidr !== undefined) {
    const base = toBigInt(cidr.bytes);
    const hostBits = BigInt(bitsOf(cidr.family) - cidr.prefixLength);
    return { family: cidr.family, first: base, last: base + (1n << hostBits) - 1n };
  }
  const address = parseIpAddress(text);
  if (address === undefined) return undefined;
  const value = toBigInt(address.bytes);
  return { family: address.family, first: value, last: value };
}

/** Sorted, disjoint and merged (adjacent ranges joined) ranges of one family. */
export function unionRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddressRange[] = [];
  for (const range of sorted) {
    const last = out.at(-1);
    if (last !== undefined && last.family === range.family && range.first <= last.last + 1n) {
      if (range.last > last.last) out[out.length - 1] = { ...last, last: range.last };
    } else {
      out.push(range);
    }
  }
  return out;
}

/** `ranges` minus `holes`, disjoint and merged. */
export function subtractRanges(ranges: readonly AddressRange[], holes: readonly AddressRange[]): AddressRange[] {
  let current = unionRanges(ranges);
  for (const hole of unionRanges(holes)) {
    const next: AddressRange[] = [];
    for (const range of current) {
      if (range.family !== hole.family || hole.last < range.first || hole.first > range.last) {
        next.push(range);
        continue;
      }
      if (hole.first > range.first) next.push({ ...range, last: hole.first - 1n });
      if (hole.last < range.last) next.push({ ...range, first: hole.last + 1n });
    }
    current = next;
  }
  return current;
}

/** Whether `range` contains the address `value`. */
export function rangeContains(range: AddressRange, family: IpFamily, value: bigint): boolean {
  return range.family === family && range.first <= value && value <= range.last;
}

/**
 * The nft text of a range: an address, a prefix (`10.0.0.0/8`) when the range is one,
 * or `first-last`.
 */
export function formatRange(range: AddressRange): string {
  if (range.first === range.last) return formatAddress(range.first, range.family);
  const size = range.last - range.first + 1n;
  if ((size & (size - 1n)) === 0n && range.first % size === 0n) {
    let hostBits = 0;
    while (1n << BigInt(hostBits) < size) hostBits += 1;
    return `${formatAddress(range.first, range.family)}/${bitsOf(range.family) - hostBits}`;
  }
  return `${formatAddress(range.first, range.family)}-${formatAddress(range.last, range.family)}`;
}

/** The nft text of a port range: `80` or `80-81`. */
export function formatPorts(range: PortRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}-${range.last}`;
}

/** Sorted, disjoint and merged port ranges. */
export function unionPorts(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  const out: PortRange[] = [];
  for (const range of sorted) {
    const last = out.at(-1);
    if (last !== undefined && range.first <= last.last + 1) {
      if (range.last > last.last) out[out.length - 1] = { first: last.first, last: range.last };
    } else {
      out.push(range);
    }
  }
  return out;
}

/**
 * Cuts port ranges at every boundary of any of them: the elementary segments, each
 * wholly inside or wholly outside every input range. Sorted.
 */
export function portSegments(ranges: readonly PortRange[]): PortRange[] {
  // +1 where a range starts, -1 after it ends; a segment is covered while the count is positive.
  const delta = new Map<number, number>();
  for (const r of ranges) {
    delta.set(r.first, (delta.get(r.first) ?? 0) + 1);
    delta.set(r.last + 1, (delta.get(r.last + 1) ?? 0) - 1);
  }
  const points = [...delta.keys()].sort((a, b) => a - b);
  const out: PortRange[] = [];
  let covering = 0;
  for (let i = 0; i + 1 < points.length; i += 1) {
    const first = points[i] as number;
    covering += delta.get(first) ?? 0;
    if (covering > 0) out.push({ first, last: (points[i + 1] as number) - 1 });
  }
  return out;
}
