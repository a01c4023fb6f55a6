// Prefix lists with ge/le, as FRR's `ip prefix-list` and BIRD's `[ 10.0.0.0/8{16,24} ]`
// define them: an entry matches a route inside its prefix whose length is the entry's
// (no ge/le), at least ge, at most le, or between both.
import { BgpInvalidArgument } from '../errors.js';
import { type BgpPrefix, parsePrefix } from '../codec/prefix.js';

/** One prefix-list entry, as written in a configuration. */
export interface PrefixListEntry {
  /** `"10.0.0.0/8"`; host bits must be zero. */
  readonly prefix: string;
  /** Shortest route length matched (default: the entry's length, or exact when `le` is unset too). */
  readonly ge?: number;
  /** Longest route length matched (default: the family's maximum when `ge` is set). */
  readonly le?: number;
  /** What a match means (default `permit`). */
  readonly action?: 'permit' | 'deny';
}

/** A validated prefix-list entry. */
export interface CompiledPrefixListEntry {
  /** The entry's prefix; a route matches only inside it. */
  readonly prefix: BgpPrefix;
  /** Shortest route length matched, in bits (`ge`, else the prefix's length); at least the prefix's length. */
  readonly min: number;
  /** Longest route length matched, in bits (`le`, else the family's maximum when `ge` is set, else the prefix's length). */
  readonly max: number;
  /** `true` for `permit`, `false` for `deny`. */
  readonly permit: boolean;
}

/**
 * Validates a prefix list.
 * @throws {BgpInvalidArgument} for a bad prefix or `length <= ge <= le <= max` broken.
 */
export function compilePrefixList(entries: readonly PrefixListEntry[]): CompiledPrefixListEntry[] {
  return entries.map((e, i) => {
    const prefix = parsePrefix(e.prefix);
    const top = prefix.family === 4 ? 32 : 128;
    const min = e.ge ?? prefix.length;
    const max = e.le ?? (e.ge === undefined ? prefix.length : top);
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < prefix.length || min > max || max > top) {
      throw new BgpInvalidArgument(`prefix list entry ${i} (${e.prefix} ge ${e.ge ?? '-'} le ${e.le ?? '-'}): need ${prefix.length} <= ge <= le <= ${top}`);
    }
    return { prefix, min, max, permit: (e.action ?? 'permit') === 'permit' };
  });
}

function covers(outer: BgpPrefix, inner: BgpPrefix): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false;
  const full = outer.length >> 3;
  for (let i = 0; i < full; i += 1) if (outer.bytes[i] !== inner.bytes[i]) return false;
  const rest = outer.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((outer.bytes[full] ?? 0) & mask) === ((inner.bytes[full] ?? 0) & mask);
}

/**
 * The verdict of a prefix list for a route: the first matching entry's action; no match
 * is `false` (the implicit deny at the end of every prefix list).
 */
export function prefixListPermits(list: readonly CompiledPrefixListEntry[], route: BgpPrefix): boolean {
  for (const e of list) {
    if (route.length >= e.min && route.length <= e.max && covers(e.prefix, route)) return e.permit;
  }
  return false;
}
