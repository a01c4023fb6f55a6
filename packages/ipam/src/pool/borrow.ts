// Borrowing: when a node has no room in its own blocks and can claim none, it takes a
// free address from a block affine to another node (or to none), unless strictAffinity
// forbids it. When that finds nothing either the pools are exhausted for the node, and
// the error says which pools, how many blocks, and whether borrowing was allowed.
import { PoolExhaustedError } from '../errors.js';
import { type AddressFamily, formatAddress } from '../range/address.js';
import { blockCount } from './block.js';
import { freeOrdinal, type PoolAllocatedAddress, takeAddress } from './block-allocation.js';
import { blockCidrOfSegment } from './block-claim.js';
import { type PoolContext } from './context.js';
import { type IpPool } from './pool-config.js';
import { CORRUPT, type PoolTransaction } from './transaction.js';

/** What {@link borrowAddress} found: an address, or how many blocks of the pools exist in the store. */
export type BorrowOutcome = { readonly address: PoolAllocatedAddress } | { readonly stored: bigint };

/**
 * Takes the lowest free address of the first stored block of `pools` (in key order)
 * that is not affine to `node`, unless `strictAffinity`; the block keeps its affinity.
 * @throws NeedsRead on an asynchronous store (see settle()).
 */
export function borrowAddress(ctx: PoolContext, txn: PoolTransaction, pools: readonly IpPool[], node: string, handle: string, now: number): BorrowOutcome {
  const prefix = ctx.keys.blocksPrefix;
  let stored = 0n;
  for (const entry of txn.listNow(prefix)) {
    const cidr = blockCidrOfSegment(entry.key.slice(prefix.length));
    const info = ctx.blockInfo(cidr);
    if (info === undefined || !pools.includes(info.pool)) continue;
    stored++;
    if (ctx.config.strictAffinity) continue;
    const block = txn.blockNow(cidr);
    if (block === undefined || block === CORRUPT || block.affinity === node) continue;
    const ordinal = freeOrdinal(ctx, block, info, now);
    if (ordinal >= 0) return { address: takeAddress(ctx, txn, { block, info, ordinal }, handle, now) };
  }
  return { stored };
}

/** The facts of an exhaustion that {@link exhaustedError} reports. */
export interface Exhaustion {
  readonly node: string;
  readonly family: AddressFamily;
  readonly pools: readonly IpPool[];
  /** Blocks of the pools that are claimed (held, or in use without a holder). */
  readonly claimedBlocks: bigint;
  /** Blocks of this family the node holds affinity for. */
  readonly nodeBlocks: number;
  /** Whether the node holds `maxBlocksPerHost` blocks already. */
  readonly limitReached: boolean;
}

/** The error of an exhausted allocation: which pools, how many blocks, whether borrowing was allowed. */
export function exhaustedError(ctx: PoolContext, e: Exhaustion): PoolExhaustedError {
  return new PoolExhaustedError({
    node: e.node,
    family: e.family,
    pools: e.pools.map((p) => `${JSON.stringify(p.name)} (${formatAddress(p.cidr.network)}/${p.cidr.prefixLength})`),
    blocks: e.pools.reduce((sum, p) => sum + blockCount(p), 0n),
    claimedBlocks: e.claimedBlocks,
    nodeBlocks: e.nodeBlocks,
    borrowingAllowed: !ctx.config.strictAffinity,
    maxBlocksPerHost: ctx.config.maxBlocksPerHost,
    limitReached: e.limitReached,
  });
}
