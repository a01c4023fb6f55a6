// The range allocator: host-local's semantics over any Store. Each operation reads the
// network's entries, plans (plan.ts, pure) and commits the plan with compare-and-swap;
// a conflict means another process got there first, so it reads and plans again after
// a jittered backoff (store/retry.ts).
import { type GcAttachment } from '@twill/cni-core';

import { type AttemptOutcome, type RetryPolicy, retryOnConflict } from '../store/retry.js';
import { type Store } from '../store/store.js';
import { type RangeIpamConfig } from './ipam-config.js';
import { type AllocatedAddress, type AllocationRequest, planAllocation, planRelease } from './plan.js';
import { decodeReservation, networkPrefix, readSnapshot, type NetworkSnapshot } from './reservation.js';
import { findRange } from './range-set.js';

/** Options of a {@link RangeAllocator}. */
export interface RangeAllocatorOptions {
  /** The validated configuration ({@link parseRangeIpamConfig}). */
  readonly config: RangeIpamConfig;
  /** Where reservations live. */
  readonly store: Store;
  /** How conflicts are retried (injected clock and randomness for tests). */
  readonly retry?: RetryPolicy;
}

/** An address held in the network, and by whom. */
export interface HeldAddress {
  /** The address, without prefix. */
  readonly address: string;
  /** The container ID of the attachment holding it. */
  readonly containerId: string;
  /** Absent for old ID-only reservations. */
  readonly ifName?: string;
  /** The index of the range set it lies in, or -1 when in none (a stale reservation). */
  readonly rangeSet: number;
}

/**
 * Allocates and releases addresses of one network with host-local's semantics: one
 * address per range set, gateway skipped, round-robin from `last_reserved_ip.N`,
 * requested addresses honoured, release by `(containerId, ifName)`.
 */
export class RangeAllocator {
  readonly #config: RangeIpamConfig;
  readonly #store: Store;
  readonly #retry: RetryPolicy;
  readonly #prefix: string;

  constructor(options: RangeAllocatorOptions) {
    this.#config = options.config;
    this.#store = options.store;
    this.#retry = options.retry ?? {};
    this.#prefix = networkPrefix(options.config.network);
  }

  async #snapshot(store: Store = this.#store): Promise<NetworkSnapshot> {
    return readSnapshot(this.#prefix, await store.list(this.#prefix));
  }

  // One attempt: read, plan, commit; under the store's lock when it has one, so that
  // processes queue instead of racing (and retrying) for the same round-robin cursor.
  async #attempt<T>(step: (store: Store, snapshot: NetworkSnapshot) => Promise<AttemptOutcome<T>>): Promise<AttemptOutcome<T>> {
    const run = async (store: Store): Promise<AttemptOutcome<T>> => step(store, await this.#snapshot(store));
    if (this.#store.exclusive === undefined) return run(this.#store);
    const outcome = await this.#store.exclusive(this.#prefix, run);
    return outcome.ok ? outcome.value : { done: false, cause: 'store busy' };
  }

  /**
   * Reserves one address per range set for the attachment, atomically (all or none).
   * @returns the addresses in range-set order, with prefix and gateway.
   * @throws DuplicateAllocationError, AddressUnavailableError, RangeExhaustedError (see
   * {@link planAllocation}); StoreContendedError (CNI code 11) when conflicts outlast the
   * retries; StoreFailureError when the store fails.
   */
  async allocate(request: AllocationRequest): Promise<readonly AllocatedAddress[]> {
    return retryOnConflict(
      'allocate',
      () =>
        this.#attempt(async (store, snapshot) => {
          const plan = planAllocation(this.#config, snapshot, request);
          const outcome = await store.commit(plan.ops);
          return outcome.ok ? { done: true, value: plan.allocated } : { done: false, cause: outcome.conflicts };
        }),
      this.#retry,
    );
  }

  /**
   * Releases every address the attachment holds in the network (DEL). Idempotent: an
   * attachment that holds nothing is released successfully.
   * @returns the released addresses.
   * @throws StoreContendedError, StoreFailureError.
   */
  async release(request: AllocationRequest): Promise<readonly string[]> {
    return retryOnConflict(
      'release',
      () =>
        this.#attempt(async (store, snapshot) => {
          const ops = planRelease(snapshot, request);
          if (ops.length === 0) return { done: true, value: [] };
          const outcome = await store.commit(ops);
          const released = ops.map((op) => op.key.slice(this.#prefix.length));
          return outcome.ok ? { done: true, value: released } : { done: false, cause: outcome.conflicts };
        }),
      this.#retry,
    );
  }

  /** Every address held in the network, in key order. */
  async held(): Promise<readonly HeldAddress[]> {
    const snapshot = await this.#snapshot();
    return [...snapshot.reservations.values()].map(({ address, entry }) => ({
      address: entry.key.slice(this.#prefix.length),
      ...decodeReservation(entry.value),
      rangeSet: this.#config.rangeSets.findIndex((set) => findRange(set, address) >= 0),
    }));
  }

  /**
   * Releases every reservation not held by one of `valid` (CNI GC, spec 1.1.0).
   * Old ID-only reservations are kept when their container ID is valid.
   * @returns the released addresses.
   * @throws StoreContendedError, StoreFailureError.
   */
  async gc(valid: readonly GcAttachment[]): Promise<readonly string[]> {
    const keep = new Set(valid.map((a) => `${a.containerID.trim()}\r\n${a.ifname}`));
    const keepIds = new Set(valid.map((a) => a.containerID.trim()));
    return retryOnConflict(
      'gc',
      () =>
        this.#attempt(async (store, snapshot) => {
        const ops = [...snapshot.reservations.values()]
          .filter(({ entry }) => {
            const holder = decodeReservation(entry.value);
            return holder.ifName === undefined ? !keepIds.has(holder.containerId) : !keep.has(`${holder.containerId}\r\n${holder.ifName}`);
          })
          .map(({ entry }) => ({ type: 'delete' as const, key: entry.key, expect: { revision: entry.revision } }));
        if (ops.length === 0) return { done: true, value: [] };
        const outcome = await store.commit(ops);
        const released = ops.map((op) => op.key.slice(this.#prefix.length));
        return outcome.ok ? { done: true, value: released } : { done: false, cause: outcome.conflicts };
        }),
      this.#retry,
    );
  }
}
