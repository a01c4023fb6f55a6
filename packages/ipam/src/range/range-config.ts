// Parsing and validating one range object and one range set (host-local's
// `Range.Canonicalize` and `RangeSet.Canonicalize`), with errors that name the field:
// `ipam.ranges[0][0].subnet: invalid CIDR "10.1/33"`. Pure: the same input gives the
// same ranges on every host.
import { expectArray, expectObject, expectString, fieldError, formatFieldPath, type FieldPath } from '@twill/cni-core';

import {
  type Address,
  addressBits,
  formatAddress,
  formatSubnet,
  parseAddress,
  parseCidrParts,
  type Subnet,
  subnetBounds,
  subnetContains,
} from './address.js';
import { type AddressRange, rangeCapacity, type RangeSet, rangesOverlap } from './range-set.js';

function familyName(address: Address): string {
  return address.family === 4 ? 'IPv4' : 'IPv6';
}

/** Reads an optional address field of a range; it must be in the subnet. */
function optionalAddressIn(record: Readonly<Record<string, unknown>>, key: string, subnet: Subnet, path: FieldPath): Address | undefined {
  const value = record[key];
  if (value === undefined || value === null || value === '') return undefined;
  const fieldPath = [...path, key];
  const text = expectString(value, fieldPath);
  const address = parseAddress(text);
  if (address === undefined) throw fieldError(fieldPath, `invalid IP address ${JSON.stringify(text)}`);
  if (address.family !== subnet.network.family) {
    throw fieldError(fieldPath, `${text} is ${familyName(address)} but subnet ${formatSubnet(subnet)} is ${familyName(subnet.network)}`);
  }
  if (!subnetContains(subnet, address)) throw fieldError(fieldPath, `${text} is not in subnet ${formatSubnet(subnet)}`);
  return address;
}

/**
 * Parses and canonicalizes one range object at `path` (host-local's rules): the gateway
 * defaults to the subnet's first host (`.1`), `rangeStart` to the address after the
 * network address, `rangeEnd` to the last address (the one before the broadcast address
 * for IPv4). Twill is stricter than host-local in three places, each a misconfiguration
 * host-local would turn into a wrong allocation: a subnet with host bits set, an IPv4
 * `rangeStart` on the network address or `rangeEnd` on the broadcast address, and a
 * range whose only address is the gateway.
 * @throws CniError code 7 naming the field.
 */
export function parseRange(value: unknown, path: FieldPath): AddressRange {
  const record = expectObject(value, path);
  const subnetPath = [...path, 'subnet'];
  const subnetValue = record['subnet'];
  if (subnetValue === undefined || subnetValue === null || subnetValue === '') throw fieldError(subnetPath, 'missing');
  const subnetText = expectString(subnetValue, subnetPath);
  const parts = parseCidrParts(subnetText);
  if (parts === undefined) throw fieldError(subnetPath, `invalid CIDR ${JSON.stringify(subnetText)}`);
  const bits = addressBits(parts.address.family);
  // host-local: "Can't create an allocator for a network with no addresses, eg a /32 or /31".
  if (parts.prefixLength > bits - 2) throw fieldError(subnetPath, `network ${subnetText} too small to allocate from`);
  const hostMask = (1n << BigInt(bits - parts.prefixLength)) - 1n;
  const subnet: Subnet = { network: { family: parts.address.family, value: parts.address.value & ~hostMask }, prefixLength: parts.prefixLength };
  if (parts.address.value & hostMask) {
    throw fieldError(subnetPath, `${subnetText} has host bits set (the network is ${formatSubnet(subnet)})`);
  }
  const { first, last } = subnetBounds(subnet);
  const family = subnet.network.family;
  const isV4 = family === 4;
  const gateway = optionalAddressIn(record, 'gateway', subnet, path) ?? { family, value: first + 1n };
  const rangeStart = optionalAddressIn(record, 'rangeStart', subnet, path) ?? { family, value: first + 1n };
  const rangeEnd = optionalAddressIn(record, 'rangeEnd', subnet, path) ?? { family, value: isV4 ? last - 1n : last };
  if (isV4 && rangeStart.value === first) {
    throw fieldError([...path, 'rangeStart'], `${formatAddress(rangeStart)} is the network address of ${formatSubnet(subnet)}`);
  }
  if (isV4 && rangeEnd.value === last) {
    throw fieldError([...path, 'rangeEnd'], `${formatAddress(rangeEnd)} is the broadcast address of ${formatSubnet(subnet)}`);
  }
  if (rangeEnd.value < rangeStart.value) {
    throw fieldError([...path, 'rangeEnd'], `${formatAddress(rangeEnd)} is before rangeStart ${formatAddress(rangeStart)}`);
  }
  const range: AddressRange = { subnet, rangeStart, rangeEnd, gateway };
  if (rangeCapacity(range) === 0n) throw fieldError(path, 'no allocatable address (the only one is the gateway)');
  return range;
}

/**
 * Parses one range set at `path` (an array of range objects): not empty, one family,
 * no two ranges overlapping.
 * @throws CniError code 7 naming the field.
 */
export function parseRangeSet(value: unknown, path: FieldPath): RangeSet {
  const items = expectArray(value, path);
  if (items.length === 0) throw fieldError(path, 'empty range set');
  const set = items.map((item, i) => parseRange(item, [...path, i]));
  const family = set[0]?.subnet.network.family;
  set.forEach((range, i) => {
    if (range.subnet.network.family !== family) {
      throw fieldError([...path, i, 'subnet'], `${formatSubnet(range.subnet)} is ${familyName(range.subnet.network)} but the range set is ${family === 4 ? 'IPv4' : 'IPv6'}`);
    }
    for (let j = 0; j < i; j++) {
      const other = set[j];
      if (other !== undefined && rangesOverlap(other, range)) {
        throw fieldError([...path, i], `overlaps ${formatFieldPath([...path, j])} (${formatSubnet(other.subnet)})`);
      }
    }
  });
  return set;
}

/**
 * Checks that no two range sets overlap (host-local: "range set 0 overlaps with 1"),
 * naming the later one by its path.
 * @throws CniError code 7.
 */
export function checkRangeSetsDisjoint(sets: readonly RangeSet[], paths: readonly FieldPath[]): void {
  // The legacy single range lives at the top of `ipam` itself: it has no index.
  const rangePath = (path: FieldPath, k: number): FieldPath => (path.length === 1 && path[0] === 'ipam' ? path : [...path, k]);
  sets.forEach((set, i) => {
    for (let j = 0; j < i; j++) {
      const other = sets[j] ?? [];
      for (const [k, range] of set.entries()) {
        const hit = other.findIndex((o) => rangesOverlap(o, range));
        if (hit >= 0) {
          const path = paths[i] ?? [i];
          const otherPath = paths[j] ?? [j];
          throw fieldError(rangePath(path, k), `overlaps ${formatFieldPath(rangePath(otherPath, hit))} (${formatSubnet(other[hit]?.subnet ?? range.subnet)})`);
        }
      }
    }
  });
}
