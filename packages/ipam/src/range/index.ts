// The host-local compatible range allocator. Re-exported by name from the package root.
export {
  type Address,
  type AddressFamily,
  type Subnet,
  parseAddress,
  formatAddress,
} from './address.js';
export {
  type AddressRange,
  type RangeSet,
  rangeContains,
  rangeCapacity,
  formatRange,
  formatRangeSet,
  roundRobin,
} from './range-set.js';
export { parseRange, parseRangeSet } from './range-config.js';
export {
  type IpamRoute,
  type RequestedAddress,
  type RangeIpamConfig,
  type ParseRangeIpamOptions,
  parseRangeIpamConfig,
} from './ipam-config.js';
export {
  type Holder,
  RESERVATION_LINE_BREAK,
  LAST_RESERVED_PREFIX,
  encodeReservation,
  decodeReservation,
  reservationKey,
  lastReservedKey,
  networkPrefix,
} from './reservation.js';
export {
  type AllocatedAddress,
  type AllocationRequest,
  type AllocationPlan,
  planAllocation,
  planRelease,
} from './plan.js';
export { type RangeAllocatorOptions, type HeldAddress, RangeAllocator } from './allocator.js';
