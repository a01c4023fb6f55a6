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
  /** No pool selecting the node has a free address (and borrowing, if allowed, found none). */
  POOL_EXHAUSTED: 113,
  /** No enabled pool of the wanted family selects the node. */
  NO_ELIGIBLE_POOL: 114,
  /** A request names a container, node or handle that cannot be stored (CNI_CONTAINERID with `/`). */
  INVALID_REQUEST: CNI_ERROR.INVALID_ENVIRONMENT,
} as const;

/** One of {@link IPAM_ERROR}. */
export type IpamErrorCode = (typeof IPAM_ERROR)[keyof typeof IPAM_ERROR];

/**
 * The base of every IPAM failure: a {@link CniError} with a readonly `code` from
 * {@link IPAM_ERROR} and the underlying `cause` when there is one.
 */
export class IpamError extends CniError {
  /** The class name, `'IpamError'`, kept by subclasses that do not set their own. */
  override readonly name: string = 'IpamError';
  override readonly code: IpamErrorCode;

  constructor(code: IpamErrorCode, msg: string, details?: string, options?: { cause?: unknown }) {
    super(code, msg, details, options);
    this.code = code;
  }
}

/** A range set has no free address left. `rangeSet` is its index in `ipam.ranges`. */
export class RangeExhaustedError extends IpamError {
  /** The class name, `'RangeExhaustedError'`, kept by subclasses that do not set their own. */
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
  /** The class name, `'AddressUnavailableError'`, kept by subclasses that do not set their own. */
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
  /** The class name, `'DuplicateAllocationError'`, kept by subclasses that do not set their own. */
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
  /** The class name, `'StoreContendedError'`, kept by subclasses that do not set their own. */
  override readonly name: string = 'StoreContendedError';

  constructor(
    /** How many attempts were made. */
    readonly attempts: number,
    /** What was being done (`allocate`, `release`). */
    readonly operation: string,
    options?: { cause?: unknown; details?: string },
  ) {
    super(
      IPAM_ERROR.STORE_CONTENDED,
      `IPAM store contended: ${operation} gave up after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}`,
      options?.details ?? 'other allocations kept changing the same addresses; try again later',
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/** The store failed (a file or database error). */
export class StoreFailureError extends IpamError {
  /** The class name, `'StoreFailureError'`, kept by subclasses that do not set their own. */
  override readonly name: string = 'StoreFailureError';

  constructor(msg: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? options.cause.message : undefined;
    super(IPAM_ERROR.STORE_FAILURE, msg, reason, options);
  }
}

/**
 * The pools that may serve a node have no free address for it. Says which pools, how
 * many of their blocks are claimed, whether borrowing from other nodes' blocks was
 * allowed, and whether the node hit `maxBlocksPerHost`.
 */
export class PoolExhaustedError extends IpamError {
  /** The class name, `'PoolExhaustedError'`, kept by subclasses that do not set their own. */
  override readonly name: string = 'PoolExhaustedError';

  constructor(
    /** Why no address was found, as the message says it. */
    readonly exhaustion: {
      /** The node asking. */
      readonly node: string;
      /** 4 or 6. */
      readonly family: 4 | 6;
      /** The pools tried, as `name (cidr)`. */
      readonly pools: readonly string[];
      /** How many blocks the pools have in all. */
      readonly blocks: bigint;
      /** How many of them are claimed. */
      readonly claimedBlocks: bigint;
      /** How many blocks the node holds affinity for. */
      readonly nodeBlocks: number;
      /** Whether borrowing from other nodes' blocks was allowed (not `strictAffinity`). */
      readonly borrowingAllowed: boolean;
      /** The `maxBlocksPerHost` in force (0: none), and whether the node reached it. */
      readonly maxBlocksPerHost: number;
      /** Whether the node holds `maxBlocksPerHost` blocks already, so it may claim no more. */
      readonly limitReached: boolean;
    },
  ) {
    const d = exhaustion;
    const family = d.family === 4 ? 'IPv4' : 'IPv6';
    const pools = d.pools.join(', ');
    const limit = d.limitReached ? `node ${JSON.stringify(d.node)} holds ${d.nodeBlocks} blocks, the maxBlocksPerHost limit; ` : '';
    const borrow = d.borrowingAllowed ? 'borrowing was allowed and found no free address in other blocks' : 'borrowing from other nodes\' blocks is not allowed (strictAffinity)';
    super(
      IPAM_ERROR.POOL_EXHAUSTED,
      `no free ${family} address for node ${JSON.stringify(d.node)} in pool ${pools}`,
      `${limit}${d.claimedBlocks} of ${d.blocks} blocks claimed; ${borrow}`,
    );
  }
}

/** No enabled pool of a wanted family selects the node. */
export class NoEligiblePoolError extends IpamError {
  /** The class name, `'NoEligiblePoolError'`, kept by subclasses that do not set their own. */
  override readonly name: string = 'NoEligiblePoolError';

  constructor(
    /** The node asking. */
    readonly node: string,
    /** 4 or 6. */
    readonly family: 4 | 6,
  ) {
    super(
      IPAM_ERROR.NO_ELIGIBLE_POOL,
      `no enabled IPv${family} pool selects node ${JSON.stringify(node)}`,
      'check the pools\' nodeSelector and disabled fields, and the node\'s labels',
    );
  }
}

/** A request names something that cannot be stored (a container ID or node with `/`). */
export class InvalidRequestError extends IpamError {
  /** The class name, `'InvalidRequestError'`, kept by subclasses that do not set their own. */
  override readonly name: string = 'InvalidRequestError';

  constructor(msg: string) {
    super(IPAM_ERROR.INVALID_REQUEST, msg);
  }
}
