// The pool allocator, the Calico model: a node takes addresses from blocks it holds
// affinity for, claims a new block of a pool that selects it when those are full
// (up to maxBlocksPerHost), and otherwise borrows a free address from another node's
// block unless strictAffinity forbids it. Every operation is read, decide, commit with
// compare-and-swap (transaction.ts); a conflict means another node or process changed a
// document first, so the attempt starts again after a jittered backoff (retry.ts).
import { type AddressFamily, formatAddress, parseAddress, type Subnet } from '../range/address.js';
import { DuplicateAllocationError, InvalidRequestError, NoEligiblePoolError, PoolExhaustedError } from '../errors.js';
import { type RetryPolicy, retryOnConflict } from '../store/retry.js';
import { type Store } from '../store/store.js';
import { addressText, blockAddressCount, blockAt, blockCount, blockOf, type BlockRef, ordinalOf, parseBlockCidr, reservedOrdinals } from './block.js';
import {
  type AllocationAttributes,
  type BlockDocument,
  DecodeCache,
  decodeAffinity,
  decodeBlock,
  decodeHandle,
  DEFAULT_POOL_ROOT,
  type HandleAddress,
  poolKeys,
  takeInBlock,
  type PoolKeys,
} from './documents.js';
import { type NodeLabels, selectsNode } from './node-selector.js';
import { type IpPool, type PoolIpamConfig } from './pool-config.js';
import { CORRUPT, type PoolCaches, PoolTransaction } from './transaction.js';
import {
  checkPools,
  gcPools,
  type GcReleased,
  type PoolAddressStatus,
  type PoolCheckOptions,
  type PoolCheckReport,
  poolUsage,
  type PoolUsage,
  whyHeldInPools,
} from './audit.js';
import { type GcAttachment } from '@twill/cni-core';

/** Options of a {@link PoolAllocator}. */
export interface PoolAllocatorOptions {
  /** The validated configuration ({@link parsePoolIpamConfig}). */
  readonly config: PoolIpamConfig;
  readonly store: Store;
  /** The first key segment of every document (default `twill-pools`). Networks sharing pools share it. */
  readonly root?: string;
  /** The clock, in milliseconds since the epoch (default `Date.now`): cooldowns and `since`. */
  readonly now?: () => number;
  /** How conflicts are retried (injected sleep and randomness for tests). */
  readonly retry?: RetryPolicy;
}

/** An ADD: who wants addresses, and where. */
export interface PoolAllocationRequest {
  readonly containerId: string;
  readonly ifName: string;
  /** The node the pod runs on: blocks are affine to it. */
  readonly node: string;
  /** The node's labels, matched against each pool's `nodeSelector` (default: none). */
  readonly nodeLabels?: NodeLabels;
  readonly namespace?: string;
  readonly pod?: string;
  /** One address per family listed (default: each family of an enabled pool, IPv4 first). */
  readonly families?: readonly AddressFamily[];
  /** Only these pools, by name (default: every pool). */
  readonly pools?: readonly string[];
}

/** One allocated address. */
export interface PoolAllocatedAddress {
  readonly family: AddressFamily;
  /** The address with a full-length prefix, as Calico hands it out (`10.0.0.5/32`). */
  readonly address: string;
  /** The address alone. */
  readonly ip: string;
  readonly pool: string;
  /** The block's CIDR. */
  readonly block: string;
}

/** What an ADD returns. */
export interface PoolAllocation {
  /** `<network>.<containerID>`: what releases it. */
  readonly handle: string;
  readonly addresses: readonly PoolAllocatedAddress[];
}

/** The handle of an attachment: `<network>.<containerID>`, as Calico names it. */
export function handleId(network: string, containerId: string): string {
  return `${network}.${containerId}`;
}

// A name used as one key segment: non-empty, no "/" or NUL, not "." or "..". The same
// rule as checkStoreKey on one segment, without its split and regular expression (6%
// of the ipam-pool bench's profile went to key checks).
function checkName(what: string, value: string): void {
  if (value === '' || value === '.' || value === '..' || value.includes('/') || value.includes('\0')) {
    throw new InvalidRequestError(`invalid ${what} ${JSON.stringify(value)}: must be non-empty, without "/", and not "." or ".."`);
  }
}

// FNV-1a: spreads nodes' first probe for a free block over the pool, so nodes claiming
// at the same moment rarely race for the same block.
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Where a block sits: its pool and subnet (derived from config, cached per CIDR). */
export interface BlockInfo {
  readonly pool: IpPool;
  readonly subnet: Subnet;
  readonly size: number;
  readonly reserved: ReadonlySet<number>;
}

/** The allocator state shared with the audit functions (gc, check, whyHeld). */
export interface PoolContext {
  readonly config: PoolIpamConfig;
  readonly store: Store;
  readonly keys: PoolKeys;
  readonly now: () => number;
  readonly retry: RetryPolicy;
  readonly caches: PoolCaches;
  /** The config pool a block CIDR belongs to, or `undefined`. */
  blockInfo(cidr: string): BlockInfo | undefined;
  /** Whether `ordinal` of a block is cooling down at `now`. */
  cooling(block: BlockDocument, ordinal: number, now: number): boolean;
  /** Releases one handle's addresses within a transaction (shared by release and gc). */
  /** Frees a handle's addresses within a transaction (shared by release and gc); deletes its document unless `dropHandle` is false. */
  stageRelease(txn: PoolTransaction, handle: string, addresses: readonly HandleAddress[], now: number, dropHandle?: boolean): Promise<string[]>;
}

/**
 * Allocates and releases addresses from IP pools split in per-node blocks. Safe across
 * processes and nodes sharing one store: no address and no block is ever handed out
 * twice, and an allocation (one address per family) is written whole or not at all.
 */
export class PoolAllocator {
  readonly #config: PoolIpamConfig;
  readonly #store: Store;
  readonly #keys: PoolKeys;
  readonly #now: () => number;
  readonly #retry: RetryPolicy;
  readonly #caches: PoolCaches = { blocks: new DecodeCache(decodeBlock), affinities: new DecodeCache(decodeAffinity) };
  readonly #blockInfo = new Map<string, BlockInfo | null>();
  readonly #cursor = new Map<string, bigint>();
  readonly #unlabelledPools = new Map<AddressFamily, IpPool[]>();
  // Per node and family, the block it last allocated from: tried first, so the steady
  // state reads one block instead of walking the node's affinity list.
  readonly #lastBlock = new Map<string, string>();
  // Per decoded block without cooldown records, the lowest ordinal that may be free:
  // every ordinal below it is taken. Blocks are immutable once decoded, so it stays true.
  readonly #scanFrom = new WeakMap<BlockDocument, number>();
  // Each family of an enabled pool, in order (IPv4 first): what a request without
  // `families` asks for.
  readonly #defaultFamilies: readonly AddressFamily[];
  /**
   * The shared context of the audit functions (audit.ts); not part of the public API.
   * @internal
   */
  readonly context: PoolContext;

  constructor(options: PoolAllocatorOptions) {
    this.#config = options.config;
    this.#store = options.store;
    this.#keys = poolKeys(options.root ?? DEFAULT_POOL_ROOT);
    this.#now = options.now ?? Date.now;
    this.#retry = options.retry ?? {};
    this.#defaultFamilies = [...new Set(this.#config.pools.filter((p) => !p.disabled).map((p) => p.family))].sort();
    this.context = {
      config: this.#config,
      store: this.#store,
      keys: this.#keys,
      now: this.#now,
      retry: this.#retry,
      caches: this.#caches,
      blockInfo: (cidr) => this.#info(cidr),
      cooling: (block, ordinal, now) => this.#cooling(block, ordinal, now),
      stageRelease: (txn, handle, addresses, now, dropHandle) => this.#stageRelease(txn, handle, addresses, now, dropHandle),
    };
  }

  /** The configuration in force. */
  get config(): PoolIpamConfig {
    return this.#config;
  }

  #info(cidr: string): BlockInfo | undefined {
    const known = this.#blockInfo.get(cidr);
    if (known !== undefined) return known ?? undefined;
    const subnet = parseBlockCidr(cidr);
    // A stored block belongs to the pool that holds its network address with the same
    // block size, aligned on a block boundary; anything else is foreign to this config.
    const pool =
      subnet === undefined
        ? undefined
        : this.#config.pools.find((p) => {
            const ref = p.blockSize === subnet.prefixLength ? blockOf(p, subnet.network) : undefined;
            return ref !== undefined && ref.subnet.network.value === subnet.network.value;
          });
    const info = pool === undefined || subnet === undefined ? null : { pool, subnet, size: blockAddressCount(pool), reserved: new Set(reservedOrdinals(subnet, this.#config.reserved)) };
    this.#blockInfo.set(cidr, info);
    return info ?? undefined;
  }

  #cooling(block: BlockDocument, ordinal: number, now: number): boolean {
    const cooldown = this.#config.releaseCooldownMs;
    if (cooldown === 0) return false;
    for (const [o, at] of block.released) if (o === ordinal) return now < at + cooldown;
    return false;
  }

  // The lowest ordinal neither allocated, reserved nor cooling down, or -1.
  #freeOrdinal(block: BlockDocument, info: BlockInfo, now: number): number {
    const { allocations } = block;
    if (allocations.length !== info.size) return -1; // malformed: check() reports it
    const cooldown = this.#config.releaseCooldownMs;
    let cooling: Set<number> | undefined;
    if (cooldown > 0 && block.released.length > 0) {
      cooling = new Set(block.released.filter(([, at]) => now < at + cooldown).map(([o]) => o));
    }
    // Cooldowns expire with time, so the hint holds only for blocks without any.
    const hinted = block.released.length === 0;
    for (let i = hinted ? (this.#scanFrom.get(block) ?? 0) : 0; i < allocations.length; i++) {
      if (allocations[i] === null && !info.reserved.has(i) && cooling?.has(i) !== true) {
        if (hinted) this.#scanFrom.set(block, i);
        return i;
      }
    }
    if (hinted) this.#scanFrom.set(block, allocations.length);
    return -1;
  }

  // Writes the handle into the block at `ordinal` (and the affinity, when claiming),
  // dropping expired cooldown records.
  #take(txn: PoolTransaction, block: BlockDocument, info: BlockInfo, ordinal: number, handle: string, now: number, affinity = block.affinity): PoolAllocatedAddress {
    const cooldown = this.#config.releaseCooldownMs;
    const released = block.released.length === 0 ? block.released : block.released.filter(([o, at]) => o !== ordinal && now < at + cooldown);
    const change = takeInBlock(block, ordinal, handle, { affinity, released });
    this.#scanFrom.set(change.block, ordinal + 1);
    txn.putEncodedBlock(change);
    // A hint only (checked before use): remember the block for the node it is affine to.
    if (affinity !== null) this.#lastBlock.set(`${info.pool.family}\n${affinity}`, block.cidr);
    const ip = addressText(info.subnet, ordinal);
    return { family: info.pool.family, address: `${ip}/${info.pool.family === 4 ? 32 : 128}`, ip, pool: info.pool.name, block: block.cidr };
  }

  // A block nobody holds and nobody uses (never claimed, or left by a removed node)
  // that still has an address to give, or undefined.
  #claimable(doc: BlockDocument | undefined | typeof CORRUPT, ref: BlockRef, now: number): BlockDocument | undefined {
    if (doc === CORRUPT) return undefined;
    const base: BlockDocument = doc ?? { cidr: ref.cidr, pool: ref.pool.name, affinity: null, allocations: new Array<null>(blockAddressCount(ref.pool)).fill(null), released: [] };
    if (base.affinity !== null || base.allocations.some((a) => a !== null)) return undefined;
    const info = this.#info(ref.cidr);
    if (info === undefined || this.#freeOrdinal(base, info, now) < 0) return undefined;
    return base;
  }

  // Finds a block of `pool` to claim: a few probes from a per-node starting point, then
  // (when those are taken) one listing of every block, which also proves exhaustion.
  async #findClaimable(txn: PoolTransaction, pool: IpPool, node: string, now: number): Promise<{ ref: BlockRef; doc: BlockDocument } | { claimed: bigint }> {
    const total = blockCount(pool);
    const cursorKey = `${pool.name}\n${node}`;
    const start = this.#cursor.get(cursorKey) ?? BigInt(hashText(node)) % total;
    const probes = total < 8n ? total : 8n;
    for (let i = 0n; i < probes; i++) {
      const ref = blockAt(pool, (start + i) % total);
      const doc = this.#claimable(await txn.block(ref.cidr), ref, now);
      if (doc !== undefined) {
        this.#cursor.set(cursorKey, ref.index);
        return { ref, doc };
      }
    }
    const listed = await this.#store.list(this.#keys.blocksPrefix);
    txn.seed(listed);
    const taken = new Set<string>();
    for (const entry of listed) {
      const cidr = entry.key.slice(this.#keys.blocksPrefix.length).replace(/-(\d+)$/, '/$1');
      if (this.#info(cidr)?.pool === pool) taken.add(cidr);
    }
    let claimed = 0n;
    // Walk from the start; unclaimed blocks are found within taken.size + 1 steps unless
    // the pool is full, so huge IPv6 pools are never walked end to end.
    for (let i = 0n; i < total && i <= BigInt(taken.size) + probes; i++) {
      const ref = blockAt(pool, (start + i) % total);
      const doc = this.#claimable(await txn.block(ref.cidr), ref, now);
      if (doc !== undefined) {
        this.#cursor.set(cursorKey, ref.index);
        return { ref, doc };
      }
    }
    for (const cidr of taken) {
      const doc = await txn.block(cidr);
      if (doc === CORRUPT || doc === undefined || doc.affinity !== null || doc.allocations.some((a) => a !== null)) claimed++;
    }
    return { claimed };
  }

  async #pick(txn: PoolTransaction, family: AddressFamily, request: PoolAllocationRequest, handle: string, now: number): Promise<PoolAllocatedAddress> {
    const eligible = (labels: NodeLabels): IpPool[] =>
      this.#config.pools.filter(
        (p) => p.family === family && !p.disabled && (request.pools === undefined || request.pools.includes(p.name)) && selectsNode(p.nodeSelector, labels),
      );
    // Without labels or a pool list the answer depends on the family alone: computed once.
    let pools: IpPool[];
    if (request.nodeLabels === undefined && request.pools === undefined) {
      pools = this.#unlabelledPools.get(family) ?? eligible({});
      this.#unlabelledPools.set(family, pools);
    } else {
      pools = eligible(request.nodeLabels ?? {});
    }
    if (pools.length === 0) throw new NoEligiblePoolError(request.node, family);
    const node = request.node;
    // 0. The block this node allocated from last, when it is still its own and has room.
    const last = this.#lastBlock.get(`${family}\n${node}`);
    if (last !== undefined) {
      const info = this.#info(last);
      const block = info !== undefined && pools.includes(info.pool) ? await txn.block(last) : undefined;
      if (info !== undefined && block !== undefined && block !== CORRUPT && block.affinity === node) {
        const ordinal = this.#freeOrdinal(block, info, now);
        if (ordinal >= 0) return this.#take(txn, block, info, ordinal, handle, now);
      }
    }
    const affinityRead = await txn.affinity(node);
    const affinity = affinityRead === CORRUPT || affinityRead === undefined ? { node, blocks: [] } : affinityRead;
    // 1. Blocks the node holds affinity for, in claim order.
    let nodeBlocks = 0;
    for (const cidr of affinity.blocks) {
      const info = this.#info(cidr);
      if (info === undefined || info.pool.family !== family) continue;
      nodeBlocks++;
      if (!pools.includes(info.pool)) continue;
      const block = await txn.block(cidr);
      if (block === undefined || block === CORRUPT || block.affinity !== node) continue;
      const ordinal = this.#freeOrdinal(block, info, now);
      if (ordinal >= 0) return this.#take(txn, block, info, ordinal, handle, now);
    }
    // 2. Claim a new block, unless the node holds its quota already.
    const max = this.#config.maxBlocksPerHost;
    const limitReached = max > 0 && nodeBlocks >= max;
    let claimed = 0n;
    if (!limitReached) {
      for (const pool of pools) {
        const found = await this.#findClaimable(txn, pool, node, now);
        if ('claimed' in found) {
          claimed += found.claimed;
          continue;
        }
        const block = found.doc;
        txn.putAffinity({ node, blocks: [...affinity.blocks, block.cidr] });
        const info = this.#info(block.cidr);
        if (info === undefined) throw new Error('internal: claimed block outside its pool');
        return this.#take(txn, block, info, this.#freeOrdinal(block, info, now), handle, now, node);
      }
    } else {
      claimed = -1n; // counted below, from the listing
    }
    // 3. Borrow a free address from any other block of the pools.
    const listed = await this.#store.list(this.#keys.blocksPrefix);
    txn.seed(listed);
    let counted = 0n;
    for (const entry of listed) {
      const cidr = entry.key.slice(this.#keys.blocksPrefix.length).replace(/-(\d+)$/, '/$1');
      const info = this.#info(cidr);
      if (info === undefined || !pools.includes(info.pool)) continue;
      counted++;
      if (this.#config.strictAffinity) continue;
      const block = await txn.block(cidr);
      if (block === undefined || block === CORRUPT || block.affinity === node) continue;
      const ordinal = this.#freeOrdinal(block, info, now);
      if (ordinal >= 0) return this.#take(txn, block, info, ordinal, handle, now);
    }
    throw new PoolExhaustedError({
      node,
      family,
      pools: pools.map((p) => `${JSON.stringify(p.name)} (${formatAddress(p.cidr.network)}/${p.cidr.prefixLength})`),
      blocks: pools.reduce((sum, p) => sum + blockCount(p), 0n),
      claimedBlocks: claimed < 0n ? counted : claimed,
      nodeBlocks,
      borrowingAllowed: !this.#config.strictAffinity,
      maxBlocksPerHost: max,
      limitReached,
    });
  }

  /**
   * Allocates one address per family for the attachment, recorded under the handle
   * `<network>.<containerID>` with the request's attributes. All or nothing.
   * @throws DuplicateAllocationError when the handle already holds addresses;
   * NoEligiblePoolError, PoolExhaustedError; InvalidRequestError for a container ID or
   * node that cannot be stored; StoreContendedError (code 11) when conflicts outlast
   * the retries; StoreFailureError when the store fails.
   */
  async allocate(request: PoolAllocationRequest): Promise<PoolAllocation> {
    checkName('container ID', request.containerId);
    checkName('node', request.node);
    const handle = handleId(this.#config.network, request.containerId);
    const handleKey = this.#keys.handle(handle);
    const families = request.families === undefined ? this.#defaultFamilies : [...new Set(request.families)].sort();
    return retryOnConflict(
      'allocate',
      async (attempt) => {
        const now = this.#now();
        const txn = new PoolTransaction(this.#store, this.#keys, this.#caches);
        // The handle is almost never there: the first attempt does not read it but makes
        // the commit require its absence (one store read less per allocation; on SQLite
        // a SELECT). A later attempt, or a failure, reads it to report a duplicate.
        if (attempt === 1) txn.assumeAbsent(handleKey);
        else await this.#refuseDuplicate(txn, handle, request.containerId);
        const addresses: PoolAllocatedAddress[] = [];
        try {
          for (const family of families) addresses.push(await this.#pick(txn, family, request, handle, now));
        } catch (error) {
          // A duplicate is the better answer than, say, an exhausted pool.
          if (attempt === 1) await this.#refuseDuplicate(new PoolTransaction(this.#store, this.#keys, this.#caches), handle, request.containerId);
          throw error;
        }
        const attributes: AllocationAttributes = {
          containerId: request.containerId,
          ifName: request.ifName,
          node: request.node,
          ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
          ...(request.pod === undefined ? {} : { pod: request.pod }),
          since: now,
        };
        txn.putHandle({ handle, network: this.#config.network, addresses: addresses.map((a) => ({ ip: a.ip, block: a.block })), attributes });
        const outcome = await txn.commit();
        if (outcome.ok) return { done: true, value: { handle, addresses } };
        if (outcome.conflicts.includes(handleKey)) await this.#refuseDuplicate(new PoolTransaction(this.#store, this.#keys, this.#caches), handle, request.containerId);
        return { done: false, cause: outcome.conflicts };
      },
      this.#retry,
    );
  }

  // Throws DuplicateAllocationError when the handle exists (read within `txn`).
  async #refuseDuplicate(txn: PoolTransaction, handle: string, containerId: string): Promise<void> {
    const existing = await txn.handle(handle, decodeHandle);
    if (existing === undefined) return;
    const held = existing === CORRUPT ? 'an unreadable handle' : existing.addresses.map((a) => a.ip).join(', ');
    throw new DuplicateAllocationError(held, containerId);
  }


  async #stageRelease(txn: PoolTransaction, handle: string, addresses: readonly HandleAddress[], now: number, dropHandle = true): Promise<string[]> {
    const released: string[] = [];
    const cooldown = this.#config.releaseCooldownMs;
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
   * Releases everything the handle holds (CNI DEL), starting each address's cooldown.
   * Idempotent: an unknown handle releases nothing.
   * @returns the released addresses.
   * @throws StoreContendedError, StoreFailureError.
   */
  async releaseHandle(handle: string): Promise<readonly string[]> {
    checkName('handle', handle);
    return retryOnConflict(
      'release',
      async () => {
        const now = this.#now();
        const txn = new PoolTransaction(this.#store, this.#keys, this.#caches);
        const doc = await txn.handle(handle, decodeHandle);
        if (doc === undefined) return { done: true, value: [] };
        // An unreadable handle cannot say what it holds: drop it, and let gc() free the
        // addresses its blocks still give it (they then hold a handle that is absent).
        const released = await this.#stageRelease(txn, handle, doc === CORRUPT ? [] : doc.addresses, now);
        const outcome = await txn.commit();
        return outcome.ok ? { done: true, value: released } : { done: false, cause: outcome.conflicts };
      },
      this.#retry,
    );
  }

  /** Releases the attachment's handle `<network>.<containerID>` (CNI DEL). See {@link releaseHandle}. */
  async release(request: { readonly containerId: string }): Promise<readonly string[]> {
    checkName('container ID', request.containerId);
    return this.releaseHandle(handleId(this.#config.network, request.containerId));
  }

  /**
   * A node left the cluster: releases every allocation whose `node` attribute is it (in
   * every network sharing the root), then gives up its blocks: empty, cool blocks go
   * back to the pool, the others lose their affinity (other nodes may borrow from them,
   * and claim them once empty).
   * @returns the released addresses.
   * @throws StoreContendedError, StoreFailureError.
   */
  async removeNode(node: string): Promise<readonly string[]> {
    checkName('node', node);
    const released: string[] = [];
    for (const entry of await this.#store.list(this.#keys.handlesPrefix)) {
      let doc;
      try {
        doc = decodeHandle(entry.value);
      } catch {
        continue;
      }
      if (doc.attributes.node === node) released.push(...(await this.releaseHandle(doc.handle)));
    }
    await retryOnConflict(
      'removeNode',
      async () => {
        const now = this.#now();
        const txn = new PoolTransaction(this.#store, this.#keys, this.#caches);
        const affinity = await txn.affinity(node);
        if (affinity === undefined) return { done: true, value: undefined };
        for (const cidr of affinity === CORRUPT ? [] : affinity.blocks) {
          const block = await txn.block(cidr);
          if (block === undefined || block === CORRUPT || block.affinity !== node) continue;
          const cool = block.released.every(([, at]) => now >= at + this.#config.releaseCooldownMs);
          if (cool && block.allocations.every((a) => a === null)) txn.deleteBlock(cidr);
          else txn.putBlock({ ...block, affinity: null, released: block.released.filter(([, at]) => now < at + this.#config.releaseCooldownMs) });
        }
        txn.putAffinity({ node, blocks: [] });
        const outcome = await txn.commit();
        return outcome.ok ? { done: true, value: undefined } : { done: false, cause: outcome.conflicts };
      },
      this.#retry,
    );
    return released;
  }

  /** CNI GC: see {@link gcPools}. */
  gc(valid: readonly GcAttachment[]): Promise<readonly GcReleased[]> {
    return gcPools(this.context, valid);
  }

  /** A machine-readable consistency report: see {@link checkPools}. */
  check(options?: PoolCheckOptions): Promise<PoolCheckReport> {
    return checkPools(this.context, options);
  }

  /** Who holds `ip` and since when, or why nobody does: see {@link whyHeldInPools}. */
  whyHeld(ip: string): Promise<PoolAddressStatus> {
    return whyHeldInPools(this.context, ip);
  }

  /** Every pool's addresses, accounted for: see {@link poolUsage}. */
  usage(): Promise<readonly PoolUsage[]> {
    return poolUsage(this.context);
  }
}
