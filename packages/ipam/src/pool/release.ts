// Releasing: a handle's addresses go back to their blocks (each starting its cooldown),
// in one commit with the handle's deletion; a node that leaves releases its pods'
// handles and gives up its blocks. gc() (audit.ts) frees addresses through the same
// staging as a release.
import { parseAddress } from '../range/address.js';
import { retryOnConflict } from '../store/retry.js';
import { ordinalOf, parseBlockCidr } from './block.js';
import { checkName, type PoolContext } from './context.js';
import { decodeHandle, type HandleAddress } from './documents.js';
import { CORRUPT, type PoolTransaction } from './transaction.js';

/**
 * Stages the release of `addresses` held by `handle` in `txn`: each goes back to its
 * block (cooling down for `releaseCooldownMs` from `now`); a block no node holds is
 * deleted once empty and cool. Addresses the block gives to another handle are left
 * alone. Deletes the handle's document unless `dropHandle` is false.
 * @returns the addresses released.
 */
export async function stageRelease(
  ctx: PoolContext,
  txn: PoolTransaction,
  handle: string,
  addresses: readonly HandleAddress[],
  now: number,
  dropHandle = true,
): Promise<string[]> {
  const released: string[] = [];
  const cooldown = ctx.config.releaseCooldownMs;
  for (const { ip, block: cidr } of addresses) {
    const block = await txn.block(cidr);
    const subnet = parseBlockCidr(cidr);
    const address = parseAddress(ip);
    if (block === undefined || block === CORRUPT || subnet === undefined || address === undefined) continue;
    const ordinal = ordinalOf(subnet, address);
    if (block.allocations[ordinal] !== handle) continue;
    const allocations = block.allocations.slice();
    allocations[ordinal] = null;
    const kept = block.released.filter(([o, at]) => o !== ordinal && now < at + cooldown);
    const cooling = cooldown > 0 ? [...kept, [ordinal, now] as const].sort((a, b) => a[0] - b[0]) : kept;
    // A block no node holds goes back to the pool once empty and cool.
    if (block.affinity === null && cooling.length === 0 && allocations.every((a) => a === null)) txn.deleteBlock(cidr);
    else txn.putBlock({ ...block, allocations, released: cooling });
    released.push(ip);
  }
  if (dropHandle) txn.deleteHandle(handle);
  return released;
}

/**
 * Releases everything `handle` holds (CNI DEL); idempotent.
 * @returns the released addresses.
 * @throws InvalidRequestError for a handle that cannot be stored; StoreContendedError, StoreFailureError.
 */
export async function releaseHandle(ctx: PoolContext, handle: string): Promise<readonly string[]> {
  checkName('handle', handle);
  return retryOnConflict(
    'release',
    async () => {
      const now = ctx.now();
      const txn = ctx.transaction();
      const doc = await txn.handle(handle, decodeHandle);
      if (doc === undefined) return { done: true, value: [] };
      // An unreadable handle cannot say what it holds: drop it, and let gc() free the
      // addresses its blocks still give it (they then hold a handle that is absent).
      const released = await stageRelease(ctx, txn, handle, doc === CORRUPT ? [] : doc.addresses, now);
      const outcome = await txn.commit();
      return outcome.ok ? { done: true, value: released } : { done: false, cause: outcome.conflicts };
    },
    ctx.retry,
  );
}

/**
 * A node left: releases every allocation whose `node` attribute is it (in every network
 * sharing the root), then gives up its blocks: empty, cool blocks go back to the pool,
 * the others lose their affinity (other nodes may borrow from them, and claim them once
 * empty).
 * @returns the released addresses.
 * @throws InvalidRequestError, StoreContendedError, StoreFailureError.
 */
export async function removeNode(ctx: PoolContext, node: string): Promise<readonly string[]> {
  checkName('node', node);
  const released: string[] = [];
  for (const entry of await ctx.store.list(ctx.keys.handlesPrefix)) {
    let doc;
    try {
      doc = decodeHandle(entry.value);
    } catch {
      continue;
    }
    if (doc.attributes.node === node) released.push(...(await releaseHandle(ctx, doc.handle)));
  }
  const cooldown = ctx.config.releaseCooldownMs;
  await retryOnConflict(
    'removeNode',
    async () => {
      const now = ctx.now();
      const txn = ctx.transaction();
      const affinity = await txn.affinity(node);
      if (affinity === undefined) return { done: true, value: undefined };
      for (const cidr of affinity === CORRUPT ? [] : affinity.blocks) {
        const block = await txn.block(cidr);
        if (block === undefined || block === CORRUPT || block.affinity !== node) continue;
        const cool = block.released.every(([, at]) => now >= at + cooldown);
        if (cool && block.allocations.every((a) => a === null)) txn.deleteBlock(cidr);
        else txn.putBlock({ ...block, allocations: block.allocations, affinity: null, released: block.released.filter(([, at]) => now < at + cooldown) });
      }
      txn.putAffinity({ node, blocks: [] });
      const outcome = await txn.commit();
      return outcome.ok ? { done: true, value: undefined } : { done: false, cause: outcome.conflicts };
    },
    ctx.retry,
  );
  return released;
}
