// Allocating within one block: the lowest address neither allocated, reserved nor
// cooling down, and taking it for a handle (one line appended to the block's text).
import { type AddressFamily } from '../range/address.js';
import { type BlockInfo, type NodeHints, type PoolContext } from './context.js';
import { allocationAt, type BlockDocument, scanHint, setScanHint, slotCount, takeInBlock } from './documents.js';
import { type PoolTransaction } from './transaction.js';

/** One allocated address. */
export interface PoolAllocatedAddress {
  /** 4 or 6. */
  readonly family: AddressFamily;
  /** The address with a full-length prefix, as Calico hands it out (`10.0.0.5/32`). */
  readonly address: string;
  /** The address alone. */
  readonly ip: string;
  /** The name of the pool it came from. */
  readonly pool: string;
  /** The block's CIDR. */
  readonly block: string;
}

/**
 * The lowest ordinal of `block` neither allocated, reserved nor cooling down at `now`,
 * or -1 (also for a malformed block, which check() reports).
 */
export function freeOrdinal(ctx: PoolContext, block: BlockDocument, info: BlockInfo, now: number): number {
  const size = slotCount(block);
  if (size !== info.size) return -1;
  const cooldown = ctx.config.releaseCooldownMs;
  let cooling: Set<number> | undefined;
  if (cooldown > 0 && block.released.length > 0) {
    cooling = new Set(block.released.filter(([, at]) => now < at + cooldown).map(([o]) => o));
  }
  // Cooldowns expire with time, so the scan hint holds only for blocks without any.
  const hinted = block.released.length === 0;
  const reserved = info.reserved.size === 0 ? undefined : info.reserved;
  for (let i = hinted ? scanHint(block) : 0; i < size; i++) {
    if (allocationAt(block, i) === null && reserved?.has(i) !== true && cooling?.has(i) !== true) {
      if (hinted) setScanHint(block, i);
      return i;
    }
  }
  if (hinted) setScanHint(block, size);
  return -1;
}

/**
 * Stages `block` with the free address `ordinal` given to `handle` (and with
 * `affinity`, when claiming), dropping expired cooldown records. `hints` are the
 * requesting node's, when the caller has them (no lookup when the block is affine to it).
 * @returns the address taken.
 */
export function takeAddress(
  ctx: PoolContext,
  txn: PoolTransaction,
  target: { readonly block: BlockDocument; readonly info: BlockInfo; readonly ordinal: number },
  handle: string,
  now: number,
  affinity: string | null = target.block.affinity,
  hints?: NodeHints,
): PoolAllocatedAddress {
  const { block, info, ordinal } = target;
  const cooldown = ctx.config.releaseCooldownMs;
  const released = block.released.length === 0 ? block.released : block.released.filter(([o, at]) => o !== ordinal && now < at + cooldown);
  const change = takeInBlock(block, ordinal, handle, { affinity, released });
  setScanHint(change, ordinal + 1);
  txn.putEncodedBlock(change, info.key);
  const family = info.pool.family;
  // A hint only (checked before use): remember the block for the node it is affine to.
  if (affinity !== null) (hints?.name === affinity ? hints : ctx.hints(affinity)).setLastBlock(info);
  const ip = info.addressText(ordinal);
  return { family, address: `${ip}/${family === 4 ? 32 : 128}`, ip, pool: info.pool.name, block: block.cidr };
}
