// The errors of @twill/ipam. Every failure an IPAM plugin reports is a CNI error
// (SPEC.md §"Error"), so the base class extends cni-core's CniError: the same object is
// the protocol output. Configuration errors are plain CniErrors with code 7 built by
// cni-core's `fieldError`, which names the field.
import { CNI_ERROR, CniError } from '@twill/cni-core';

/**
 * The codes of IPAM failures: the spec's own where one fits (11, try again later; 5,
 * I/O failure), and plugin codes (100 and above, SPEC.md §"Error") for the rest.
 */
export const IPAM_ERROR = {
  /** The store stayed contended through every retry: the runtime should retry later. */
  STORE_CONTENDED: CNI_ERROR.TRY_AGAIN_LATER,
  /** The store could not be read or written. */
  STORE_FAILURE: CNI_ERROR.IO_FAILURE,
  /** No free address is left in a range set. */
  RANGE_EXHAUSTED: 110,
  /** A requested address is taken, is the gateway, or lies in no range set. */
  ADDRESS_UNAVAILABLE: 111,
  /** The attachment already holds an address in the range set (SPEC.md forbids a second ADD). */
  DUPLICATE_ALLOCATION: 112,
} as const;

/** One of {@link IPAM_ERROR}. */
export type IpamErrorCode = (typeof IPAM_ERROR)[keyof typeof IPAM_ERROR];

/**
 * The base of every IPAM failure: a {@link CniError} with a readonly `code` from
 * {@link IPAM_ERROR} and the underlying `cause` when there is one.
 */
export class IpamError extends CniError {
  override readonly name: string = 'IpamError';
  override readonly code: IpamErrorCode;

  constructor(code: IpamErrorCode, msg: string, details?: string, options?: { cause?: unknown }) {
    super(code, msg, details, options);
    this.code = code;
  }
}

/** A range set has no free address left. `rangeSet` is its index in `ipam.ranges`. */
export class RangeExhaustedError extends IpamError {
  override readonly name: string = 'RangeExhaustedError';

  constructor(
    /** The index of the range set in the configuration. */
    readonly rangeSet: number,
    /** The range set, printed as host-local does (`10.0.0.2-10.0.0.254`, comma-separated). */
    readonly ranges: string,
    /** How many addresses the range set can hand out (without the gateways). */
    readonly capacity: bigint,
  ) {
    super(
      IPAM_ERROR.RANGE_EXHAUSTED,
      `no IP addresses available in range set ${rangeSet} (${ranges})`,
      `all ${capacity} allocatable addresses are reserved`,
    );
  }
}

/** A requested address cannot be given out. */
export class AddressUnavailableError extends IpamError {
  override readonly name: string = 'AddressUnavailableError';

  constructor(
    /** The requested address. */
    readonly address: string,
    msg: string,
  ) {
    super(IPAM_ERROR.ADDRESS_UNAVAILABLE, msg);
  }
}

/** The attachment already holds an address in a range set. */
export class DuplicateAllocationError extends IpamError {
  override readonly name: string = 'DuplicateAllocationError';

  constructor(
    /** The address it holds. */
    readonly address: string,
    /** The container ID. */
    readonly containerId: string,
  ) {
    super(
      IPAM_ERROR.DUPLICATE_ALLOCATION,
      `${address} has been allocated to ${containerId}, duplicate allocation is not allowed`,
    );
  }
}

/** Compare-and-swap kept conflicting through every attempt (CNI code 11). */
export class StoreContendedError extends IpamError {
  override readonly name: string = 'StoreContendedError';

  constructor(
    /** How many attempts were made. */
    readonly attempts: number,
    /** What was being done (`allocate`, `release`). */
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(
      IPAM_ERROR.STORE_CONTENDED,
      `IPAM store contended: ${operation} gave up after ${attempts} attempts`,
      'other allocations kept changing the same addresses; try again later',
      options,
    );
  }
}

/** The store failed (a file or database error). */
export class StoreFailureError extends IpamError {
  override readonly name: string = 'StoreFailureError';

  constructor(msg: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? options.cause.message : undefined;
    super(IPAM_ERROR.STORE_FAILURE, msg, reason, options);
  }
}
