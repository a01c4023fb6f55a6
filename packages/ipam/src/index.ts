/**
 * `@twill/ipam`: IP address management over a compare-and-swap {@link Store}.
 *
 * - {@link RangeAllocator}: host-local compatible range sets (round robin, gateway,
 *   `rangeStart`/`rangeEnd`, requested addresses, dual stack), configured by
 *   {@link parseRangeIpamConfig}; {@link checkRanges} and {@link whyHeldInRanges} audit it.
 * - {@link PoolAllocator}: Calico-style IP pools cut in per-node blocks (affinity,
 *   claiming, borrowing, `strictAffinity`, `maxBlocksPerHost`, handles, reservations,
 *   release cooldown), with `gc`, `check`, `whyHeld` and `usage`; configured by
 *   {@link parsePoolIpamConfig}.
 * - Stores: {@link MemoryStore}; {@link SqliteStore} (the embedded default, shared by
 *   processes on one host); {@link FileStore} (host-local's own data directory).
 * - Errors are {@link IpamError}s, which are cni-core `CniError`s with the codes of
 *   {@link IPAM_ERROR}; a store that stays contended fails with code 11.
 * @packageDocumentation
 */
export {
  IPAM_ERROR,
  type IpamErrorCode,
  IpamError,
  RangeExhaustedError,
  AddressUnavailableError,
  DuplicateAllocationError,
  StoreContendedError,
  StoreFailureError,
  PoolExhaustedError,
  NoEligiblePoolError,
  InvalidRequestError,
} from './errors.js';
export * from './range/index.js';
export * from './store/index.js';
export * from './pool/index.js';
export * from './audit/index.js';
export * from './plugin/index.js';
