// Ranges and range sets with host-local's semantics (plugins/ipam/host-local/backend/
// allocator/range.go and range_set.go): a range is a subnet with an inclusive
// [rangeStart, rangeEnd] and a gateway that is never handed out; a range set is an
// ordered list of ranges of one family from which one address is taken per ADD.
import { type Address, formatAddress, formatSubnet, sameAddress, type Subnet } from './address.js';

/** One range of a range set, canonical: every bound is known and inside the subnet. */
export interface AddressRange {
  /** The subnet (network address, host bits clear). */
  readonly subnet: Subnet;
  /** The first address that may be handed out, inclusive. */
  readonly rangeStart: Address;
  /** The last address that may be handed out, inclusive. */
  readonly rangeEnd: Address;
  /** The gateway: reserved, never handed out, returned with every address of the range. */
  readonly gateway: Address;
}

/** A range set: ranges of one family, tried in order. */
export type RangeSet = readonly AddressRange[];

/** Whether `address` is in `[rangeStart, rangeEnd]` of `range` (host-local's `Contains`). */
export function rangeContains(range: AddressRange, address: Address): boolean {
  return (
    address.family === range.rangeStart.family &&
    address.value >= range.rangeStart.value &&
    address.value <= range.rangeEnd.value
  );
}

/** The index of the range of `set` that contains `address`, or -1. */
export function findRange(set: RangeSet, address: Address): number {
  return set.findIndex((range) => rangeContains(range, address));
}

/** Whether two ranges share an address (host-local's `Overlaps`). */
export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return a.rangeStart.value <= b.rangeEnd.value && b.rangeStart.value <= a.rangeEnd.value;
}

/** How many addresses a range hands out: its size, less the gateway when inside it. */
export function rangeCapacity(range: AddressRange): bigint {
  const size = range.rangeEnd.value - range.rangeStart.value + 1n;
  return rangeContains(range, range.gateway) ? size - 1n : size;
}

/** A range printed as host-local prints it: `10.0.0.2-10.0.0.254`. */
export function formatRange(range: AddressRange): string {
  return `${formatAddress(range.rangeStart)}-${formatAddress(range.rangeEnd)}`;
}

/** A range set printed as host-local prints it: its ranges, comma-separated. */
export function formatRangeSet(set: RangeSet): string {
  return set.map(formatRange).join(',');
}

/** A range's subnet in CIDR notation (the mask of every address of the range). */
export function rangeSubnet(range: AddressRange): string {
  return formatSubnet(range.subnet);
}

/**
 * The candidate addresses of a range set in host-local's round-robin order
 * (allocator.go `RangeIter`): after `lastReserved` when it lies in the set (wrapping from
 * each range's end to the next range's start, and from the last range to the first),
 * ending with `lastReserved` itself; otherwise from the first range's start. Gateways
 * are skipped. Each address comes with the index of its range.
 */
export function* roundRobin(
  set: RangeSet,
  lastReserved: Address | undefined,
): Generator<{
  /** A candidate address. */
  readonly address: Address;
  /** The index of its range in the set. */
  readonly range: number;
}> {
  if (set.length === 0) return;
  const startRange = lastReserved === undefined ? -1 : findRange(set, lastReserved);
  let rangeIndex: number;
  let cursor: bigint;
  if (startRange >= 0 && lastReserved !== undefined) {
    rangeIndex = startRange;
    cursor = lastReserved.value;
  } else {
    rangeIndex = set.length - 1;
    cursor = lastOf(set, rangeIndex).rangeEnd.value;
  }
  // The walk visits every address of every range exactly once, beginning after the
  // cursor, so it always ends; counting keeps it bounded without comparing positions.
  const total = set.reduce((sum, range) => sum + (range.rangeEnd.value - range.rangeStart.value + 1n), 0n);
  for (let visited = 0n; visited < total; visited++) {
    let range = lastOf(set, rangeIndex);
    if (cursor >= range.rangeEnd.value) {
      rangeIndex = (rangeIndex + 1) % set.length;
      range = lastOf(set, rangeIndex);
      cursor = range.rangeStart.value;
    } else {
      cursor += 1n;
    }
    const address: Address = { family: range.rangeStart.family, value: cursor };
    if (sameAddress(address, range.gateway)) continue;
    yield { address, range: rangeIndex };
  }
}

function lastOf(set: RangeSet, index: number): AddressRange {
  const range = set[index];
  if (range === undefined) throw new RangeError(`range ${index} out of bounds`);
  return range;
}
