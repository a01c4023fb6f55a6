// GC, check and provenance for the pool allocator. gc() frees what no valid attachment
// holds (CNI SPEC 1.1.0 §"GC"), in one conditioned commit so it never races an ADD;
// check() compares the three kinds of documents with each other and with the pools and
// reports every disagreement as data; whyHeld() says who holds an address and since
// when; usage() accounts for every address of every pool.
import { type GcAttachment } from '@twill/cni-core';

import { InvalidRequestError } from '../errors.js';
import { formatAddress, formatSubnet, parseAddress, type Subnet, subnetBounds, subnetContains } from '../range/address.js';
import { retryOnConflict } from '../store/retry.js';
import { type StoreEntry } from '../store/store.js';
import { type PoolContext } from './context.js';
import { blockCount, blockOf, ordinalOf, parseBlockCidr } from './block.js';
import { type AffinityDocument, type BlockDocument, decodeAffinity, decodeBlock, decodeHandle, type HandleDocument } from './documents.js';
import { type NodeLabels, selectsNode } from './node-selector.js';
import { overlappingPools, type IpPool } from './pool-config.js';
import { stageRelease } from './release.js';
import { CORRUPT } from './transaction.js';

interface Listed<T> {
  readonly entry: StoreEntry;
  readonly doc: T | typeof CORRUPT;
}

/** Every pool document, decoded (or marked corrupt), keyed by CIDR, node and handle. */
interface PoolSnapshot {
  readonly blocks: ReadonlyMap<string, Listed<BlockDocument>>;
  readonly affinities: ReadonlyMap<string, Listed<AffinityDocument>>;
  readonly handles: ReadonlyMap<string, Listed<HandleDocument>>;
}

function decodeAll<T>(entries: readonly StoreEntry[], prefix: string, decode: (text: string) => T, name: (segment: string) => string = (s) => s): Map<string, Listed<T>> {
  const out = new Map<string, Listed<T>>();
  for (const entry of entries) {
    let doc: T | typeof CORRUPT;
    try {
      doc = decode(entry.value);
    } catch {
      doc = CORRUPT;
    }
    out.set(name(entry.key.slice(prefix.length)), { entry, doc });
  }
  return out;
}

const segmentToCidr = (segment: string): string => segment.replace(/-(\d+)$/, '/$1');

// Blocks are listed first: an allocation committed after this listing is not in it, so
// nothing below mistakes its handle for a leak; one committed before it left its handle
// document, which the later listing of handles sees (unless released meanwhile, which
// changes the block's revision and makes a gc commit conflict).
async function readSnapshot(ctx: PoolContext): Promise<PoolSnapshot> {
  const { keys, store } = ctx;
  const blocks = decodeAll(await store.list(keys.blocksPrefix), keys.blocksPrefix, decodeBlock, segmentToCidr);
  const affinities = decodeAll(await store.list(keys.affinityPrefix), keys.affinityPrefix, decodeAffinity);
  const handles = decodeAll(await store.list(keys.handlesPrefix), keys.handlesPrefix, decodeHandle);
  return { blocks, affinities, handles };
}

/** One address released by {@link PoolAllocator.gc}. */
export interface GcReleased {
  /** The address released. */
  readonly ip: string;
  /** The handle that held it. */
  readonly handle: string;
  /** `invalid-attachment`: its handle belongs to no valid attachment; `no-handle`: no handle document held it. */
  readonly reason: 'invalid-attachment' | 'no-handle';
}

/**
 * CNI GC for the pool allocator: releases every handle of this network whose attachment
 * (`containerID`, `ifname`) is not in `valid`, and frees every address a block gives
 * to a handle of this network that does not exist. Handles of other networks sharing
 * the pools are left alone. One commit, conditioned on every document it read.
 * @throws StoreContendedError (code 11), StoreFailureError.
 */
export async function gcPools(ctx: PoolContext, valid: readonly GcAttachment[]): Promise<readonly GcReleased[]> {
  const keep = new Set(valid.map((a) => `${a.containerID.trim()}\n${a.ifname}`));
  const own = `${ctx.config.network}.`;
  return retryOnConflict(
    'gc',
    async () => {
      const now = ctx.now();
      const snapshot = await readSnapshot(ctx);
      const txn = ctx.transaction();
      txn.seed([...snapshot.blocks.values(), ...snapshot.handles.values()].map((l) => l.entry));
      const released: GcReleased[] = [];
      for (const [handle, { doc }] of snapshot.handles) {
        if (doc === CORRUPT || doc.network !== ctx.config.network) continue;
        if (keep.has(`${doc.attributes.containerId.trim()}\n${doc.attributes.ifName}`)) continue;
        for (const ip of await stageRelease(ctx, txn, handle, doc.addresses, now)) released.push({ ip, handle, reason: 'invalid-attachment' });
      }
      for (const [cidr, { doc: read }] of snapshot.blocks) {
        const subnet = parseBlockCidr(cidr);
        if (read === CORRUPT || subnet === undefined) continue;
        const block = await txn.block(cidr); // staged releases above included
        if (block === undefined || block === CORRUPT) continue;
        const orphans = block.allocations.flatMap((h, i) => (h !== null && h.startsWith(own) && !snapshot.handles.has(h) ? [{ h, i }] : []));
        if (orphans.length === 0) continue;
        for (const { h, i } of orphans) {
          const ip = formatAddress({ family: subnet.network.family, value: subnet.network.value + BigInt(i) });
          // No handle document to delete: the commit requires instead that none appeared.
          await stageRelease(ctx, txn, h, [{ ip, block: cidr }], now, false);
          txn.requireAbsent(ctx.keys.handle(h));
          released.push({ ip, handle: h, reason: 'no-handle' });
        }
      }
      if (txn.empty) return { done: true, value: [] };
      const outcome = await txn.commit();
      return outcome.ok ? { done: true, value: released } : { done: false, cause: outcome.conflicts };
    },
    ctx.retry,
  );
}

/** One disagreement found by {@link PoolAllocator.check}. */
export type PoolProblem =
  | { readonly kind: 'corrupt-document'; readonly key: string }
  | { readonly kind: 'block-outside-pools'; readonly block: string; readonly pool: string }
  | { readonly kind: 'overlapping-blocks'; readonly blocks: readonly [string, string] }
  | { readonly kind: 'overlapping-pools'; readonly pools: readonly [string, string]; readonly cidrs: readonly [string, string] }
  | { readonly kind: 'address-without-handle'; readonly ip: string; readonly block: string; readonly handle: string; readonly reason: 'handle-missing' | 'handle-does-not-list-it' }
  | {
      readonly kind: 'handle-without-allocation';
      readonly handle: string;
      readonly ip: string;
      readonly block: string;
      readonly reason: 'block-missing' | 'not-allocated' | 'allocated-to-another-handle';
    }
  | { readonly kind: 'affinity-mismatch'; readonly block: string; readonly blockAffinity: string | null; readonly listedBy: readonly string[] }
  | { readonly kind: 'affinity-without-block'; readonly node: string; readonly block: string }
  | { readonly kind: 'block-node-unknown'; readonly block: string; readonly node: string }
  | { readonly kind: 'block-node-not-selected'; readonly block: string; readonly node: string; readonly pool: string }
  | { readonly kind: 'reserved-address-allocated'; readonly ip: string; readonly handle: string };

/** What {@link PoolAllocator.check} found: `ok` when `problems` is empty. */
export interface PoolCheckReport {
  /** Whether no problem was found. */
  readonly ok: boolean;
  /** How many block documents were checked. */
  readonly blocks: number;
  /** How many handle documents were checked. */
  readonly handles: number;
  /** How many nodes hold affinity for a block. */
  readonly nodes: number;
  /** Every inconsistency found, in store order. */
  readonly problems: readonly PoolProblem[];
}

/** Options of {@link PoolAllocator.check}. */
export interface PoolCheckOptions {
  /** The cluster's nodes and their labels: blocks affine to other nodes, or to nodes their pool no longer selects, are reported. */
  readonly nodes?: ReadonlyMap<string, NodeLabels>;
  /** Pools of other configurations sharing the store, checked for overlaps with this one's. */
  readonly otherPools?: readonly IpPool[];
}

/**
 * Checks the stored documents against each other and the configuration: leaked
 * addresses (a block gives an address to a handle that does not list it), handles
 * without allocations, blocks whose affinity disagrees with the nodes' affinity
 * documents (or with `options.nodes`), blocks outside every pool or overlapping each
 * other, overlapping pools, allocated reservations, corrupt documents. Read-only.
 * @throws StoreFailureError when the store fails.
 */
export async function checkPools(ctx: PoolContext, options: PoolCheckOptions = {}): Promise<PoolCheckReport> {
  const problems: PoolProblem[] = [];
  const snapshot = await readSnapshot(ctx);
  const pools = [...ctx.config.pools, ...(options.otherPools ?? [])];
  for (const [a, b] of overlappingPools(pools)) {
    problems.push({ kind: 'overlapping-pools', pools: [a.name, b.name], cidrs: [formatSubnet(a.cidr), formatSubnet(b.cidr)] });
  }
  for (const listed of [...snapshot.blocks.values(), ...snapshot.affinities.values(), ...snapshot.handles.values()]) {
    if (listed.doc === CORRUPT) problems.push({ kind: 'corrupt-document', key: listed.entry.key });
  }
  const listedBy = new Map<string, string[]>();
  for (const [node, { doc }] of snapshot.affinities) {
    if (doc === CORRUPT) continue;
    for (const cidr of doc.blocks) {
      listedBy.set(cidr, [...(listedBy.get(cidr) ?? []), node]);
      if (!snapshot.blocks.has(cidr)) problems.push({ kind: 'affinity-without-block', node, block: cidr });
    }
  }
  const subnets: [string, Subnet][] = [];
  for (const [cidr, { doc }] of snapshot.blocks) {
    if (doc === CORRUPT) continue;
    const info = ctx.blockInfo(cidr);
    if (info === undefined || doc.allocations.length !== info.size || info.pool.name !== doc.pool) {
      problems.push({ kind: 'block-outside-pools', block: cidr, pool: doc.pool });
    }
    const subnet = parseBlockCidr(cidr);
    if (subnet !== undefined) {
      for (const [other, s] of subnets) if (subnetContains(s, subnet.network) || subnetContains(subnet, s.network)) problems.push({ kind: 'overlapping-blocks', blocks: [other, cidr] });
      subnets.push([cidr, subnet]);
    }
    const nodes = listedBy.get(cidr) ?? [];
    if (doc.affinity === null ? nodes.length > 0 : nodes.length !== 1 || nodes[0] !== doc.affinity) {
      problems.push({ kind: 'affinity-mismatch', block: cidr, blockAffinity: doc.affinity, listedBy: nodes });
    }
    if (doc.affinity !== null && options.nodes !== undefined && info !== undefined) {
      const labels = options.nodes.get(doc.affinity);
      if (labels === undefined) problems.push({ kind: 'block-node-unknown', block: cidr, node: doc.affinity });
      else if (!selectsNode(info.pool.nodeSelector, labels)) problems.push({ kind: 'block-node-not-selected', block: cidr, node: doc.affinity, pool: info.pool.name });
    }
    doc.allocations.forEach((handle, i) => {
      if (handle === null || subnet === undefined) return;
      const ip = formatAddress({ family: subnet.network.family, value: subnet.network.value + BigInt(i) });
      const holder = snapshot.handles.get(handle);
      if (holder === undefined) problems.push({ kind: 'address-without-handle', ip, block: cidr, handle, reason: 'handle-missing' });
      else if (holder.doc !== CORRUPT && !holder.doc.addresses.some((a) => a.ip === ip && a.block === cidr)) {
        problems.push({ kind: 'address-without-handle', ip, block: cidr, handle, reason: 'handle-does-not-list-it' });
      }
      if (info?.reserved.has(i) === true) problems.push({ kind: 'reserved-address-allocated', ip, handle });
    });
  }
  for (const [handle, { doc }] of snapshot.handles) {
    if (doc === CORRUPT) continue;
    for (const { ip, block: cidr } of doc.addresses) {
      const listed = snapshot.blocks.get(cidr);
      const subnet = parseBlockCidr(cidr);
      const address = parseAddress(ip);
      if (listed === undefined || listed.doc === CORRUPT || subnet === undefined || address === undefined || !subnetContains(subnet, address)) {
        if (listed?.doc !== CORRUPT) problems.push({ kind: 'handle-without-allocation', handle, ip, block: cidr, reason: 'block-missing' });
        continue;
      }
      const holder = listed.doc.allocations[ordinalOf(subnet, address)];
      if (holder === handle) continue;
      problems.push({ kind: 'handle-without-allocation', handle, ip, block: cidr, reason: holder === null || holder === undefined ? 'not-allocated' : 'allocated-to-another-handle' });
    }
  }
  return { ok: problems.length === 0, blocks: snapshot.blocks.size, handles: snapshot.handles.size, nodes: snapshot.affinities.size, problems };
}

/** Who holds an address, or why nobody does: the answer of {@link PoolAllocator.whyHeld}. */
export type PoolAddressStatus =
  | {
      readonly state: 'allocated';
      readonly ip: string;
      readonly pool: string;
      readonly block: string;
      /** The node the block is affine to (`null`: none); differs from `node` when borrowed. */
      readonly blockAffinity: string | null;
      readonly handle: string;
      readonly containerId: string;
      readonly ifName: string;
      readonly node: string;
      readonly namespace?: string;
      readonly pod?: string;
      /** When it was allocated: ISO 8601, and milliseconds since the epoch. */
      readonly since: string;
      readonly sinceMs: number;
    }
  | { readonly state: 'leaked'; readonly ip: string; readonly pool: string; readonly block: string; readonly handle: string }
  | { readonly state: 'reserved'; readonly ip: string; readonly pool: string; readonly reservation: string }
  | { readonly state: 'cooling'; readonly ip: string; readonly pool: string; readonly block: string; readonly releasedAt: string; readonly reusableAt: string }
  | { readonly state: 'free'; readonly ip: string; readonly pool: string; readonly block: string; readonly blockAffinity: string | null; readonly claimed: boolean }
  | { readonly state: 'outside-pools'; readonly ip: string };

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Says which handle, container, interface, pod, namespace and node hold `ip`, and
 * since when; or that it is free, reserved, cooling down after a release (and until
 * when), leaked (its block gives it to a handle that does not exist), or in no pool.
 * @throws InvalidRequestError when `ip` is not an address; StoreFailureError.
 */
export async function whyHeldInPools(ctx: PoolContext, ip: string): Promise<PoolAddressStatus> {
  const address = parseAddress(ip);
  if (address === undefined) throw new InvalidRequestError(`invalid IP address ${JSON.stringify(ip)}`);
  const text = formatAddress(address);
  const pool = ctx.config.pools.find((p) => subnetContains(p.cidr, address));
  if (pool === undefined) return { state: 'outside-pools', ip: text };
  const ref = blockOf(pool, address);
  if (ref === undefined) return { state: 'outside-pools', ip: text };
  const entry = await ctx.store.get(ctx.keys.block(ref.cidr));
  const block = entry === undefined ? undefined : ctx.caches.blocks.get(entry.key, entry.value);
  const ordinal = ordinalOf(ref.subnet, address);
  const handle = block?.allocations[ordinal] ?? null;
  if (block !== undefined && handle !== null) {
    const held = await ctx.store.get(ctx.keys.handle(handle));
    let doc: HandleDocument | undefined;
    try {
      doc = held === undefined ? undefined : decodeHandle(held.value);
    } catch {
      doc = undefined;
    }
    if (doc === undefined || !doc.addresses.some((a) => a.ip === text)) return { state: 'leaked', ip: text, pool: pool.name, block: ref.cidr, handle };
    const a = doc.attributes;
    return {
      state: 'allocated',
      ip: text,
      pool: pool.name,
      block: ref.cidr,
      blockAffinity: block.affinity,
      handle,
      containerId: a.containerId,
      ifName: a.ifName,
      node: a.node,
      ...(a.namespace === undefined ? {} : { namespace: a.namespace }),
      ...(a.pod === undefined ? {} : { pod: a.pod }),
      since: iso(a.since),
      sinceMs: a.since,
    };
  }
  const reservation = ctx.config.reserved.find((r) => subnetContains(r, address));
  if (reservation !== undefined) return { state: 'reserved', ip: text, pool: pool.name, reservation: formatSubnet(reservation) };
  const now = ctx.now();
  if (block !== undefined && ctx.cooling(block, ordinal, now)) {
    const at = block.released.find(([o]) => o === ordinal)?.[1] ?? now;
    return { state: 'cooling', ip: text, pool: pool.name, block: ref.cidr, releasedAt: iso(at), reusableAt: iso(at + ctx.config.releaseCooldownMs) };
  }
  return { state: 'free', ip: text, pool: pool.name, block: ref.cidr, blockAffinity: block?.affinity ?? null, claimed: block !== undefined };
}

/** How the addresses of one pool are used. `allocated + reserved + cooling + free = size`. */
export interface PoolUsage {
  /** The pool's name. */
  readonly pool: string;
  /** The pool's CIDR. */
  readonly cidr: string;
  /** How many addresses the pool has. */
  readonly size: bigint;
  /** Addresses held by a handle. */
  readonly allocated: bigint;
  /** Reserved and not allocated (an address reserved after it was allocated counts as allocated). */
  readonly reserved: bigint;
  /** Released, not reserved, and still cooling down. */
  readonly cooling: bigint;
  /** Addresses that can be allocated now (in claimed blocks or not). */
  readonly free: bigint;
  /** How many blocks the pool is cut into. */
  readonly blocks: bigint;
  /** How many of them a node has claimed. */
  readonly claimedBlocks: bigint;
}

function reservedIn(pool: Subnet, reserved: readonly Subnet[]): bigint {
  const { first, last } = subnetBounds(pool);
  const spans = reserved
    .filter((r) => r.network.family === pool.network.family)
    .map((r) => subnetBounds(r))
    .map((b) => ({ first: b.first > first ? b.first : first, last: b.last < last ? b.last : last }))
    .filter((b) => b.first <= b.last)
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  let total = 0n;
  let end = first - 1n;
  for (const span of spans) {
    const from = span.first > end ? span.first : end + 1n;
    if (span.last >= from) total += span.last - from + 1n;
    if (span.last > end) end = span.last;
  }
  return total;
}

/**
 * Accounts for every address of every configured pool at the clock's `now`.
 * @throws StoreFailureError.
 */
export async function poolUsage(ctx: PoolContext): Promise<readonly PoolUsage[]> {
  const snapshot = await readSnapshot(ctx);
  const now = ctx.now();
  return ctx.config.pools.map((pool) => {
    let allocated = 0n;
    let allocatedReserved = 0n;
    let cooling = 0n;
    let claimedBlocks = 0n;
    for (const [cidr, { doc }] of snapshot.blocks) {
      const info = ctx.blockInfo(cidr);
      if (doc === CORRUPT || info?.pool !== pool) continue;
      claimedBlocks++;
      doc.allocations.forEach((handle, i) => {
        if (handle !== null) {
          allocated++;
          if (info.reserved.has(i)) allocatedReserved++;
        } else if (!info.reserved.has(i) && ctx.cooling(doc, i, now)) cooling++;
      });
    }
    const size = 1n << BigInt((pool.family === 4 ? 32 : 128) - pool.cidr.prefixLength);
    const reserved = reservedIn(pool.cidr, ctx.config.reserved) - allocatedReserved;
    return {
      pool: pool.name,
      cidr: formatSubnet(pool.cidr),
      size,
      allocated,
      reserved,
      cooling,
      free: size - allocated - reserved - cooling,
      blocks: blockCount(pool),
      claimedBlocks,
    };
  });
}
