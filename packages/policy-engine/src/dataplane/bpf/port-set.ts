// Sets of 16-bit values (ports, or ICMP type << 8 | code) as sorted, disjoint, merged
// inclusive ranges, and the split of a range into bit prefixes: the policy map matches
// ports by longest prefix, so a range costs at most 2 * 16 - 2 entries, never one per
// port (RFC 4632 §3.1's aggregation, run the other way).

/** Inclusive ranges, sorted and disjoint; adjacent ranges are merged. */
export type PortSet = readonly (readonly [number, number])[];

/** The largest value of the port space. */
export const PORT_MAX = 0xffff;

/** Every value. */
export const FULL_PORTS: PortSet = [[0, PORT_MAX]];

/** No value. */
export const NO_PORTS: PortSet = [];

/** The set holding `first..last` (inclusive), clipped to the port space. */
export function portRange(first: number, last: number): PortSet {
  const a = Math.max(0, first);
  const b = Math.min(PORT_MAX, last);
  return a > b ? NO_PORTS : [[a, b]];
}

/** Ranges in any order, overlapping or adjacent, as a set. */
export function normalisePorts(ranges: (readonly [number, number])[]): PortSet {
  const sorted = ranges.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The values in either set. */
export function unionPorts(a: PortSet, b: PortSet): PortSet {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return normalisePorts([...a, ...b]);
}

/** The values in both sets. */
export function intersectPorts(a: PortSet, b: PortSet): PortSet {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [a0, a1] = a[i] as readonly [number, number];
    const [b0, b1] = b[j] as readonly [number, number];
    const lo = Math.max(a0, b0);
    const hi = Math.min(a1, b1);
    if (lo <= hi) out.push([lo, hi]);
    if (a1 < b1) i += 1;
    else j += 1;
  }
  return out;
}

/** The values of `a` not in `b`. */
export function subtractPorts(a: PortSet, b: PortSet): PortSet {
  if (a.length === 0 || b.length === 0) return a;
  const out: [number, number][] = [];
  for (const [first, last] of a) {
    let from = first;
    for (const [b0, b1] of b) {
      if (b1 < from) continue;
      if (b0 > last) break;
      if (b0 > from) out.push([from, b0 - 1]);
      from = Math.max(from, b1 + 1);
      if (from > last) break;
    }
    if (from <= last) out.push([from, last]);
  }
  return out;
}

/** How many values the set holds. */
export function portCount(set: PortSet): number {
  let n = 0;
  for (const [a, b] of set) n += b - a + 1;
  return n;
}

/** A 16-bit prefix: the values whose first `bits` bits are those of `value`. */
export interface PortPrefix {
  /** The 16-bit value whose first `bits` bits the prefix keeps; the other bits are 0. */
  readonly value: number;
  /** 0 (every value) to 16 (one value). */
  readonly bits: number;
}

/**
 * The fewest prefixes that cover `first..last` exactly: the largest aligned block that
 * starts at `first` and fits, then on from its end.
 */
export function rangeToPrefixes(first: number, last: number): PortPrefix[] {
  const out: PortPrefix[] = [];
  let at = first;
  while (at <= last) {
    let size = 1;
    let bits = 16;
    while (bits > 0 && at % (size * 2) === 0 && at + size * 2 - 1 <= last) {
      size *= 2;
      bits -= 1;
    }
    out.push({ value: at, bits });
    at += size;
  }
  return out;
}

/**
 * Removes `first..last` from `ranges` in place (sorted, disjoint) and gives what was
 * removed: a binary search and one splice, so that a sweep over thousands of rules, each
 * taking a few ports out of a set with thousands of holes, does not copy the set per rule.
 */
export function takePorts(ranges: [number, number][], first: number, last: number): [number, number][] {
  // The first range that ends at or after `first`.
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ranges[mid] as [number, number])[1] < first) lo = mid + 1;
    else hi = mid;
  }
  const taken: [number, number][] = [];
  const kept: [number, number][] = [];
  let end = lo;
  for (; end < ranges.length; end += 1) {
    const [a, b] = ranges[end] as [number, number];
    if (a > last) break;
    if (a < first) kept.push([a, first - 1]);
    taken.push([Math.max(a, first), Math.min(b, last)]);
    if (b > last) kept.push([last + 1, b]);
  }
  if (taken.length > 0) ranges.splice(lo, end - lo, ...kept);
  return taken;
}
