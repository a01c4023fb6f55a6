// The allocation decision, pure: given a network's snapshot, the configuration and the
// attachment, which addresses to reserve and which store writes do it, each conditioned
// on what was read. Writing is the caller's job (allocator.ts): if another process
// changed any of those keys meanwhile, the commit fails as a whole and the caller plans
// again from a fresh snapshot. Follows host-local's `IPAllocator.Get` and `cmdAdd`.
import { AddressUnavailableError, DuplicateAllocationError, RangeExhaustedError } from '../errors.js';
import { type StoreCondition, type StoreOp } from '../store/store.js';
import { type Address, formatAddress, parseAddress, sameAddress } from './address.js';
import { type RangeIpamConfig, type RequestedAddress } from './ipam-config.js';
import {
  addressId,
  encodeReservation,
  heldBy,
  lastReservedKey,
  type NetworkSnapshot,
  reservationKey,
} from './reservation.js';
import { findRange, formatRangeSet, rangeCapacity, rangeContains, rangeSubnet, roundRobin, type RangeSet } from './range-set.js';

/** One allocated address, as it goes into a CNI result's `ips`. */
export interface AllocatedAddress {
  /** The index of the range set it came from. */
  readonly rangeSet: number;
  /** The address with the subnet's prefix length: `10.0.0.2/24`. */
  readonly address: string;
  /** The range's gateway. */
  readonly gateway: string;
}

/** The attachment asking for addresses. */
export interface AllocationRequest {
  /** The container ID (`CNI_CONTAINERID`). */
  readonly containerId: string;
  /** The interface name in the container (`CNI_IFNAME`). */
  readonly ifName: string;
}

/** What to write, and what the caller gets once it is written. */
export interface AllocationPlan {
  /** The store operations to commit in one transaction: the reservations and the new `last_reserved_ip` markers. */
  readonly ops: readonly StoreOp[];
  /** The addresses the attachment holds once `ops` are committed, one per range set. */
  readonly allocated: readonly AllocatedAddress[];
}

function conditionOf(entry: { readonly revision: string } | undefined): StoreCondition {
  return entry === undefined ? { absent: true } : { revision: entry.revision };
}

function allocatedFrom(set: RangeSet, index: number, address: Address): AllocatedAddress {
  const range = set[findRange(set, address)];
  if (range === undefined) throw new RangeError('address outside its range set');
  const prefix = rangeSubnet(range).split('/')[1] ?? '';
  return { rangeSet: index, address: `${formatAddress(address)}/${prefix}`, gateway: formatAddress(range.gateway) };
}

function pickFree(set: RangeSet, index: number, snapshot: NetworkSnapshot, lastReserved: Address | undefined): Address {
  // A set whose every allocatable address is taken is reported at once instead of
  // walking (possibly millions of) addresses to find out.
  let taken = 0n;
  for (const { address } of snapshot.reservations.values()) {
    const range = set.find((r) => rangeContains(r, address));
    if (range !== undefined && !sameAddress(address, range.gateway)) taken++;
  }
  const capacity = set.reduce((sum, range) => sum + rangeCapacity(range), 0n);
  if (taken < capacity) {
    for (const candidate of roundRobin(set, lastReserved)) {
      if (!snapshot.reservations.has(addressId(candidate.address))) return candidate.address;
    }
  }
  throw new RangeExhaustedError(index, formatRangeSet(set), capacity);
}

/**
 * Plans an ADD over every range set: the requested address that falls in a set (the
 * first one, in request order), or the next free one in round-robin order after the
 * set's `last_reserved_ip`. All or nothing: any failure throws before anything is
 * written.
 * @throws DuplicateAllocationError when the attachment already holds an address in a
 * set; AddressUnavailableError when a requested address is the gateway, is taken, or
 * lies in no set; RangeExhaustedError when a set has no free address.
 */
export function planAllocation(
  config: RangeIpamConfig,
  snapshot: NetworkSnapshot,
  request: AllocationRequest,
): AllocationPlan {
  const pending: RequestedAddress[] = [...config.requested];
  const ops: StoreOp[] = [];
  const allocated: AllocatedAddress[] = [];
  const value = encodeReservation({ containerId: request.containerId, ifName: request.ifName });
  config.rangeSets.forEach((set, index) => {
    // SPEC.md: a second ADD for the same attachment is an error, not a second address.
    for (const { address, entry } of snapshot.reservations.values()) {
      const held = heldBy(entry.value, request.containerId, request.ifName, false) || heldBy(entry.value, request.containerId, request.ifName, true);
      if (held && findRange(set, address) >= 0) throw new DuplicateAllocationError(formatAddress(address), request.containerId);
    }
    const wanted = pending.findIndex((r) => findRange(set, r.address) >= 0);
    const lastEntry = snapshot.lastReserved.get(index);
    let address: Address;
    if (wanted >= 0) {
      const requested = pending.splice(wanted, 1)[0]?.address;
      if (requested === undefined) throw new RangeError('requested address vanished');
      const text = formatAddress(requested);
      const range = set[findRange(set, requested)];
      if (range !== undefined && sameAddress(requested, range.gateway)) {
        throw new AddressUnavailableError(text, `requested ip ${text} is subnet's gateway`);
      }
      if (snapshot.reservations.has(addressId(requested))) {
        throw new AddressUnavailableError(text, `requested IP address ${text} is not available in range set ${formatRangeSet(set)}`);
      }
      address = requested;
    } else {
      const last = lastEntry === undefined ? undefined : parseAddress(lastEntry.value.trim());
      address = pickFree(set, index, snapshot, last);
    }
    ops.push({ type: 'put', key: reservationKey(config.network, address), value, expect: { absent: true } });
    // The cursor is conditioned too: two processes that read the same cursor conflict,
    // which keeps the round-robin order strict, as host-local's lock does.
    ops.push({ type: 'put', key: lastReservedKey(config.network, index), value: formatAddress(address), expect: conditionOf(lastEntry) });
    allocated.push(allocatedFrom(set, index, address));
  });
  if (pending.length > 0) {
    const texts = pending.map((r) => formatAddress(r.address));
    throw new AddressUnavailableError(texts[0] ?? '', `failed to allocate all requested IPs: ${texts.join(' ')}`);
  }
  return { ops, allocated };
}

/**
 * Plans a release (DEL): deletes every reservation in the snapshot held by the
 * attachment, each conditioned on its revision. As host-local does, values in the old
 * ID-only format are matched only when no `id\r\nifname` value is.
 */
export function planRelease(snapshot: NetworkSnapshot, request: AllocationRequest): readonly StoreOp[] {
  const all = [...snapshot.reservations.values()];
  let held = all.filter((r) => heldBy(r.entry.value, request.containerId, request.ifName, false));
  if (held.length === 0) held = all.filter((r) => heldBy(r.entry.value, request.containerId, request.ifName, true));
  return held.map((r) => ({ type: 'delete', key: r.entry.key, expect: { revision: r.entry.revision } }));
}
