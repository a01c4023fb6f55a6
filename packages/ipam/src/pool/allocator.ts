// The pool allocator, the Calico model: a node takes addresses from blocks it holds
// affinity for, claims a new block of a pool that selects it when those are full
// (up to maxBlocksPerHost), and otherwise borrows a free address from another node's
// block unless strictAffinity forbids it. Every operation is read, decide, commit with
// compare-and-swap (transaction.ts); a conflict means another node or process changed a
// document first, so the attempt starts again after a jittered backoff (retry.ts).
//
// This class is the public face; the work is done by concept: allocation.ts (an ADD),
// block-allocation.ts (within a block), block-claim.ts (claiming), borrow.ts
// (borrowing and exhaustion), release.ts (DEL, node removal), audit.ts (gc, check,
// whyHeld, usage), over the shared state of context.ts.
import { type GcAttachment } from '@twill/cni-core';

import { type AddressFamily } from '../range/address.js';
import { type RetryPolicy, retryOnConflict } from '../store/retry.js';
import { type Store } from '../store/store.js';
import { allocateAttempt, type AllocationJob, type PoolAllocation, type PoolAllocationRequest } from './allocation.js';
import { checkPools, gcPools, type GcReleased, type PoolAddressStatus, type PoolCheckOptions, type PoolCheckReport, poolUsage, type PoolUsage, whyHeldInPools } from './audit.js';
import { checkName, handleId, PoolContext } from './context.js';
import { DEFAULT_POOL_ROOT, poolKeys } from './documents.js';
import { type PoolIpamConfig } from './pool-config.js';
import { releaseHandle, removeNode } from './release.js';

export { type PoolAllocatedAddress } from './block-allocation.js';
export { type PoolAllocation, type PoolAllocationRequest } from './allocation.js';
export { handleId } from './context.js';

/** Options of a {@link PoolAllocator}. */
export interface PoolAllocatorOptions {
  /** The validated configuration ({@link parsePoolIpamConfig}). */
  readonly config: PoolIpamConfig;
  /** Where the documents live; a store with a synchronous face (memory) allocates without awaiting. */
  readonly store: Store;
  /** The first key segment of every document (default `twill-pools`). Networks sharing pools share it. */
  readonly root?: string;
  /** The clock, in milliseconds since the epoch (default `Date.now`): cooldowns and `since`. */
  readonly now?: () => number;
  /** How conflicts are retried (injected sleep and randomness for tests). */
  readonly retry?: RetryPolicy;
}

/**
 * Allocates and releases addresses from IP pools split in per-node blocks. Safe across
 * processes and nodes sharing one store: no address and no block is ever handed out
 * twice, and an allocation (one address per family) is written whole or not at all.
 */
export class PoolAllocator {
  // Each family of an enabled pool, in order (IPv4 first): what a request without
  // `families` asks for.
  readonly #defaultFamilies: readonly AddressFamily[];
  /**
   * The shared state of the allocation, release and audit functions; not part of the public API.
   * @internal
   */
  readonly context: PoolContext;

  constructor(options: PoolAllocatorOptions) {
    this.context = new PoolContext({
      config: options.config,
      store: options.store,
      keys: poolKeys(options.root ?? DEFAULT_POOL_ROOT),
      now: options.now ?? Date.now,
      retry: options.retry ?? {},
    });
    this.#defaultFamilies = [...new Set(options.config.pools.filter((p) => !p.disabled).map((p) => p.family))].sort();
  }

  /** The configuration in force. */
  get config(): PoolIpamConfig {
    return this.context.config;
  }

  /**
   * Allocates one address per family for the attachment, recorded under the handle
   * `<network>.<containerID>` with the request's attributes. All or nothing.
   * @throws DuplicateAllocationError when the handle already holds addresses;
   * NoEligiblePoolError, PoolExhaustedError; InvalidRequestError for a container ID or
   * node that cannot be stored; StoreContendedError (code 11) when conflicts outlast
   * the retries; StoreFailureError when the store fails.
   */
  allocate(request: PoolAllocationRequest): Promise<PoolAllocation> {
    const ctx = this.context;
    let job: AllocationJob;
    try {
      checkName('container ID', request.containerId);
      checkName('node', request.node);
      const handle = handleId(ctx.config.network, request.containerId);
      const families = request.families === undefined ? this.#defaultFamilies : [...new Set(request.families)].sort();
      job = { request, handle, handleKey: ctx.keys.handle(handle), families };
    } catch (error) {
      return Promise.reject(error);
    }
    return retryOnConflict('allocate', (attempt) => allocateAttempt(ctx, attempt, job), ctx.retry);
  }

  /**
   * Releases everything the handle holds (CNI DEL), starting each address's cooldown.
   * Idempotent: an unknown handle releases nothing.
   * @returns the released addresses.
   * @throws InvalidRequestError for a handle that cannot be stored; StoreContendedError, StoreFailureError.
   */
  releaseHandle(handle: string): Promise<readonly string[]> {
    return releaseHandle(this.context, handle);
  }

  /** Releases the attachment's handle `<network>.<containerID>` (CNI DEL). See {@link releaseHandle}. */
  async release(request: { readonly containerId: string }): Promise<readonly string[]> {
    checkName('container ID', request.containerId);
    return releaseHandle(this.context, handleId(this.context.config.network, request.containerId));
  }

  /**
   * A node left the cluster: releases every allocation whose `node` attribute is it (in
   * every network sharing the root), then gives up its blocks: empty, cool blocks go
   * back to the pool, the others lose their affinity (other nodes may borrow from them,
   * and claim them once empty).
   * @returns the released addresses.
   * @throws StoreContendedError, StoreFailureError.
   */
  removeNode(node: string): Promise<readonly string[]> {
    return removeNode(this.context, node);
  }

  /**
   * CNI GC: releases every handle of this network whose attachment (`containerID`,
   * `ifname`) is not in `valid`, and frees every address a block gives to a handle of
   * this network that does not exist. Handles of other networks sharing the pools are
   * left alone. One commit, conditioned on every document it read.
   * @throws StoreContendedError (code 11), StoreFailureError.
   */
  gc(valid: readonly GcAttachment[]): Promise<readonly GcReleased[]> {
    return gcPools(this.context, valid);
  }

  /**
   * A machine-readable consistency report: checks the stored documents against each
   * other and the configuration: leaked addresses (a block gives an address to a handle
   * that does not list it), handles without allocations, blocks whose affinity disagrees
   * with the nodes' affinity documents (or with `options.nodes`), blocks outside every
   * pool or overlapping each other, overlapping pools, allocated reservations, corrupt
   * documents. Read-only.
   * @throws StoreFailureError when the store fails.
   */
  check(options?: PoolCheckOptions): Promise<PoolCheckReport> {
    return checkPools(this.context, options);
  }

  /**
   * Says which handle, container, interface, pod, namespace and node hold `ip`, and since
   * when; or that it is free, reserved, cooling down after a release (and until when),
   * leaked (its block gives it to a handle that does not exist), or in no pool.
   * @throws InvalidRequestError when `ip` is not an address; StoreFailureError.
   */
  whyHeld(ip: string): Promise<PoolAddressStatus> {
    return whyHeldInPools(this.context, ip);
  }

  /**
   * Accounts for every address of every configured pool at the clock's `now`.
   * @throws StoreFailureError.
   */
  usage(): Promise<readonly PoolUsage[]> {
    return poolUsage(this.context);
  }
}
