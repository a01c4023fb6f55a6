// Claiming blocks: when a node's own blocks are full it takes affinity for a block
// nobody holds. The claim is staged in the allocation's transaction (the new block,
// conditioned on its absence or on the revision of the ownerless block read, and the
// node's affinity document), so two nodes never get one block.
import { blockAt, blockCount, type BlockRef } from './block.js';
import { freeOrdinal } from './block-allocation.js';
import { type PoolContext } from './context.js';
import { type BlockDocument } from './documents.js';
import { type IpPool } from './pool-config.js';
import { CORRUPT, type PoolTransaction, type Read } from './transaction.js';

// FNV-1a: spreads nodes' first probe for a free block over the pool, so nodes claiming
// at the same moment rarely race for the same block.
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The CIDR of a block from its store key segment (`10.0.0.64-26` → `10.0.0.64/26`). */
export function blockCidrOfSegment(segment: string): string {
  return segment.replace(/-(\d+)$/, '/$1');
}

// A block nobody holds and nobody uses (never claimed, or left by a removed node) that
// still has an address to give, or undefined.
function claimable(ctx: PoolContext, doc: Read<BlockDocument>, ref: BlockRef, now: number): BlockDocument | undefined {
  if (doc === CORRUPT) return undefined;
  const info = ctx.blockInfoOf(ref);
  // A block never stored is empty: it has an address unless every one is reserved.
  if (doc === undefined && info.reserved.size >= info.size) return undefined;
  const base: BlockDocument = doc ?? { cidr: ref.cidr, pool: ref.pool.name, affinity: null, allocations: new Array<null>(info.size).fill(null), released: [] };
  if (base.affinity !== null || base.allocations.some((a) => a !== null)) return undefined;
  if (freeOrdinal(ctx, base, info, now) < 0) return undefined;
  return base;
}

/** What {@link findClaimable} found: a block to claim, or how many blocks are claimed. */
export type ClaimSearch = { readonly ref: BlockRef; readonly doc: BlockDocument } | { readonly claimed: bigint };

/**
 * Finds a block of `pool` for `node` to claim: a few probes from a per-node starting
 * point, then (when those are taken) one listing of every block, which also proves
 * exhaustion and counts the claimed blocks. Huge IPv6 pools are never walked end to end:
 * an unclaimed block is found within (claimed blocks + probes) steps unless the pool is full.
 * @throws NeedsRead on an asynchronous store (see settle()).
 */
export function findClaimable(ctx: PoolContext, txn: PoolTransaction, pool: IpPool, node: string, now: number): ClaimSearch {
  const total = blockCount(pool);
  const cursorKey = `${pool.name}\n${node}`;
  const start = ctx.claimCursor.get(cursorKey) ?? BigInt(hashText(node)) % total;
  const probes = total < 8n ? total : 8n;
  for (let i = 0n; i < probes; i++) {
    const ref = blockAt(pool, (start + i) % total);
    const doc = claimable(ctx, txn.blockNow(ref.cidr), ref, now);
    if (doc !== undefined) {
      ctx.claimCursor.set(cursorKey, ref.index);
      return { ref, doc };
    }
  }
  const prefix = ctx.keys.blocksPrefix;
  const taken = new Set<string>();
  for (const entry of txn.listNow(prefix)) {
    const cidr = blockCidrOfSegment(entry.key.slice(prefix.length));
    if (ctx.blockInfo(cidr)?.pool === pool) taken.add(cidr);
  }
  for (let i = 0n; i < total && i <= BigInt(taken.size) + probes; i++) {
    const ref = blockAt(pool, (start + i) % total);
    const doc = claimable(ctx, txn.blockNow(ref.cidr), ref, now);
    if (doc !== undefined) {
      ctx.claimCursor.set(cursorKey, ref.index);
      return { ref, doc };
    }
  }
  let claimed = 0n;
  for (const cidr of taken) {
    const doc = txn.blockNow(cidr);
    if (doc === CORRUPT || doc === undefined || doc.affinity !== null || doc.allocations.some((a) => a !== null)) claimed++;
  }
  return { claimed };
}
