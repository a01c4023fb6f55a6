// An ADD: one address per family for one handle, written whole or not at all. Per
// family a node takes, in order: (0) the block it allocated from last, (1) the blocks it
// holds affinity for in claim order, (2) a newly claimed block of a pool that selects it
// unless it holds maxBlocksPerHost, (3) a borrowed address (borrow.ts). The decision is a
// synchronous function over one transaction (see settle() in transaction.ts); the
// handle and every block touched are committed together by compare-and-swap.
import { DuplicateAllocationError, NoEligiblePoolError } from '../errors.js';
import { type AddressFamily } from '../range/address.js';
import { type AttemptOutcome } from '../store/retry.js';
import { type CommitOutcome } from '../store/store.js';
import { freeOrdinal, type PoolAllocatedAddress, takeAddress } from './block-allocation.js';
import { findClaimable } from './block-claim.js';
import { borrowAddress, exhaustedError } from './borrow.js';
import { type NodeHints, type PoolContext } from './context.js';
import { decodeHandle, newHandleDocument } from './documents.js';
import { type NodeLabels, selectsNode } from './node-selector.js';
import { type IpPool } from './pool-config.js';
import { afterValue, CORRUPT, type PoolTransaction, settle } from './transaction.js';

/** An ADD: who wants addresses, and where. */
export interface PoolAllocationRequest {
  /** The container ID (`CNI_CONTAINERID`). */
  readonly containerId: string;
  /** The interface name in the container (`CNI_IFNAME`). */
  readonly ifName: string;
  /** The node the pod runs on: blocks are affine to it. */
  readonly node: string;
  /** The node's labels, matched against each pool's `nodeSelector` (default: none). */
  readonly nodeLabels?: NodeLabels;
  /** The pod's namespace (`K8S_POD_NAMESPACE`), kept in the allocation's attributes. */
  readonly namespace?: string;
  /** The pod's name (`K8S_POD_NAME`), kept in the allocation's attributes. */
  readonly pod?: string;
  /** One address per family listed (default: each family of an enabled pool, IPv4 first). */
  readonly families?: readonly AddressFamily[];
  /** Only these pools, by name (default: every pool). */
  readonly pools?: readonly string[];
}

/** What an ADD returns. */
export interface PoolAllocation {
  /** `<network>.<containerID>`: what releases it. */
  readonly handle: string;
  /** The addresses, one per family asked for, IPv4 first. */
  readonly addresses: readonly PoolAllocatedAddress[];
}

// The enabled pools of `family` that may serve the request.
function eligiblePools(ctx: PoolContext, family: AddressFamily, request: PoolAllocationRequest): readonly IpPool[] {
  // Without labels or a pool list the answer depends on the family alone: computed once.
  const unlabelled = request.nodeLabels === undefined && request.pools === undefined;
  const known = unlabelled ? ctx.unlabelledPools.get(family) : undefined;
  if (known !== undefined) return known;
  const labels = request.nodeLabels ?? {};
  const pools = ctx.config.pools.filter(
    (p) => p.family === family && !p.disabled && (request.pools === undefined || request.pools.includes(p.name)) && selectsNode(p.nodeSelector, labels),
  );
  if (unlabelled) ctx.unlabelledPools.set(family, pools);
  return pools;
}

/**
 * Stages one address of `family` for `handle`.
 * @throws NoEligiblePoolError, PoolExhaustedError; NeedsRead (see settle()).
 */
export function pickAddress(ctx: PoolContext, txn: PoolTransaction, family: AddressFamily, request: PoolAllocationRequest, handle: string, now: number, hints: NodeHints = ctx.hints(request.node)): PoolAllocatedAddress {
  const pools = eligiblePools(ctx, family, request);
  if (pools.length === 0) throw new NoEligiblePoolError(request.node, family);
  const node = request.node;
  // 0. The block this node allocated from last, when it is still its own and has room.
  const last = hints.lastBlock(family);
  if (last !== undefined && pools.includes(last.pool)) {
    const block = txn.blockAtKeyNow(last.key);
    if (block !== undefined && block !== CORRUPT && block.affinity === node) {
      const ordinal = freeOrdinal(ctx, block, last, now);
      if (ordinal >= 0) return takeAddress(ctx, txn, { block, info: last, ordinal }, handle, now, block.affinity, hints);
    }
  }
  const affinityRead = txn.affinityNow(node);
  const affinity = affinityRead === CORRUPT || affinityRead === undefined ? { node, blocks: [] } : affinityRead;
  // 1. Blocks the node holds affinity for, in claim order.
  let nodeBlocks = 0;
  for (const cidr of affinity.blocks) {
    const info = ctx.blockInfo(cidr);
    if (info === undefined || info.pool.family !== family) continue;
    nodeBlocks++;
    if (!pools.includes(info.pool)) continue;
    const block = txn.blockNow(cidr);
    if (block === undefined || block === CORRUPT || block.affinity !== node) continue;
    const ordinal = freeOrdinal(ctx, block, info, now);
    if (ordinal >= 0) return takeAddress(ctx, txn, { block, info, ordinal }, handle, now, block.affinity, hints);
  }
  // 2. Claim a new block, unless the node holds its quota already.
  const max = ctx.config.maxBlocksPerHost;
  const limitReached = max > 0 && nodeBlocks >= max;
  let claimed = 0n;
  if (!limitReached) {
    for (const pool of pools) {
      const found = findClaimable(ctx, txn, pool, node, now);
      if ('claimed' in found) {
        claimed += found.claimed;
        continue;
      }
      const block = found.doc;
      const info = ctx.blockInfo(block.cidr);
      if (info === undefined) throw new Error('internal: claimed block outside its pool');
      txn.putAffinity({ node, blocks: [...affinity.blocks, block.cidr] });
      return takeAddress(ctx, txn, { block, info, ordinal: freeOrdinal(ctx, block, info, now) }, handle, now, node, hints);
    }
  }
  // 3. Borrow a free address from any other block of the pools.
  const borrowed = borrowAddress(ctx, txn, pools, node, handle, now);
  if ('address' in borrowed) return borrowed.address;
  // Without a claim search (the node is at its limit) the stored blocks are the claimed ones.
  throw exhaustedError(ctx, { node, family, pools, claimedBlocks: limitReached ? borrowed.stored : claimed, nodeBlocks, limitReached });
}

// Throws DuplicateAllocationError when the handle exists (read within `txn`).
function refuseDuplicate(txn: PoolTransaction, handle: string, containerId: string): void {
  const existing = txn.handleNow(handle, decodeHandle);
  if (existing === undefined) return;
  const held = existing === CORRUPT ? 'an unreadable handle' : existing.addresses.map((a) => a.ip).join(', ');
  throw new DuplicateAllocationError(held, containerId);
}

// In a fresh transaction: throws DuplicateAllocationError when the handle exists.
function checkDuplicate(ctx: PoolContext, handle: string, containerId: string): void | Promise<void> {
  const txn = ctx.transaction();
  return settle(txn, () => refuseDuplicate(txn, handle, containerId));
}

/** One attempt of an ADD, from {@link allocateAttempt}'s caller's point of view. */
export interface AllocationJob {
  readonly request: PoolAllocationRequest;
  /** `<network>.<containerID>`. */
  readonly handle: string;
  /** The store key of the handle's document. */
  readonly handleKey: string;
  /** The families wanted, in order (IPv4 first). */
  readonly families: readonly AddressFamily[];
}

/**
 * One read-decide-commit attempt of an ADD: synchronous over a synchronous store.
 * @returns done with the allocation, or a conflict to retry.
 * @throws DuplicateAllocationError, NoEligiblePoolError, PoolExhaustedError,
 * StoreFailureError (rejecting instead, on an asynchronous store).
 */
export function allocateAttempt(ctx: PoolContext, attempt: number, job: AllocationJob): AttemptOutcome<PoolAllocation> | Promise<AttemptOutcome<PoolAllocation>> {
  const txn = ctx.beginTransaction();
  try {
    return new AllocationAttempt(ctx, attempt, job, txn).run();
  } finally {
    // Over a synchronous store the attempt is over; otherwise txn is not the spare.
    ctx.endTransaction(txn);
  }
}

// The steps of one attempt as methods rather than closures: nothing is allocated per
// attempt but this object (closures also cost a name each under tsx's keepNames).
class AllocationAttempt {
  readonly #now: number;
  readonly hints: NodeHints;

  constructor(
    readonly ctx: PoolContext,
    readonly attempt: number,
    readonly job: AllocationJob,
    readonly txn: PoolTransaction,
  ) {
    this.#now = ctx.now();
    this.hints = ctx.hints(job.request.node);
  }

  run(): AttemptOutcome<PoolAllocation> | Promise<AttemptOutcome<PoolAllocation>> {
    // The handle is almost never there: the first attempt does not read it but makes the
    // commit require its absence (one store read less per allocation; on SQLite a SELECT).
    // A later attempt, or a failure, reads it to report a duplicate.
    if (this.attempt === 1) this.txn.assumeAbsent(this.job.handleKey);
    // On an asynchronous store, read the blocks the node allocated from last before
    // deciding: in the steady state that is every read the decision needs, so it runs
    // once instead of stopping at the first read (see settle()).
    if (this.ctx.store.sync === undefined) {
      const reads: Promise<unknown>[] = [];
      for (const family of this.job.families) {
        const last = this.hints.lastBlock(family);
        if (last !== undefined) reads.push(this.txn.entry(last.key));
      }
      if (reads.length > 0) return Promise.all(reads).then(() => this.decideAndCommit());
    }
    return this.decideAndCommit();
  }

  decideAndCommit(): AttemptOutcome<PoolAllocation> | Promise<AttemptOutcome<PoolAllocation>> {
    let picked: PoolAllocatedAddress[] | Promise<PoolAllocatedAddress[]>;
    try {
      picked = settle(this.txn, this);
    } catch (error) {
      return this.fail(error);
    }
    if (picked instanceof Promise) return picked.then((addresses) => this.commit(addresses), (error: unknown) => this.fail(error));
    return this.commit(picked);
  }

  /** The decision (see settle()): one address per family, staged. */
  decide(): PoolAllocatedAddress[] {
    const { ctx, job } = this;
    if (this.attempt > 1) refuseDuplicate(this.txn, job.handle, job.request.containerId);
    // Sized first (an array grown by push reserves 17 slots for one address).
    const addresses = new Array<PoolAllocatedAddress>(job.families.length);
    for (let i = 0; i < addresses.length; i++) addresses[i] = pickAddress(ctx, this.txn, job.families[i] as AddressFamily, job.request, job.handle, this.#now, this.hints);
    return addresses;
  }

  // A duplicate is the better answer than, say, an exhausted pool.
  fail(error: unknown): never | Promise<never> {
    if (this.attempt > 1) throw error;
    return afterValue(checkDuplicate(this.ctx, this.job.handle, this.job.request.containerId), () => {
      throw error;
    });
  }

  commit(addresses: readonly PoolAllocatedAddress[]): AttemptOutcome<PoolAllocation> | Promise<AttemptOutcome<PoolAllocation>> {
    const { request, handle } = this.job;
    const { ctx } = this;
    const { network } = ctx.config;
    const node = this.hints.name;
    const fields = { containerId: request.containerId, ifName: request.ifName, node, namespace: request.namespace, pod: request.pod };
    const group = this.hints.handleGroup(network, request.ifName, request.namespace);
    this.txn.putNewHandle(this.job.handleKey, newHandleDocument(handle, network, addresses, fields, this.#now, group));
    const outcome = this.txn.commitNow();
    if (outcome instanceof Promise) return outcome.then((o) => this.committed(o, addresses));
    return this.committed(outcome, addresses);
  }

  committed(outcome: CommitOutcome, addresses: readonly PoolAllocatedAddress[]): AttemptOutcome<PoolAllocation> | Promise<AttemptOutcome<PoolAllocation>> {
    const { request, handle } = this.job;
    if (outcome.ok) return { done: true, value: { handle, addresses } };
    const retry = { done: false, cause: outcome.conflicts } as const;
    if (!outcome.conflicts.includes(this.job.handleKey)) return retry;
    return afterValue(checkDuplicate(this.ctx, handle, request.containerId), () => retry);
  }
}
