// What a PoolAllocator shares with the code working for it (allocation, claiming,
// borrowing, release, the audits): the configuration, the store and its keys, the clock,
// the retry policy, the decoded-document caches, the pools' derived block facts, and the
// allocator's hints. A hint only says where to look first; every hint is checked against
// what the attempt reads before it is used, so a stale one costs a read, never an answer.
import { InvalidRequestError } from '../errors.js';
import { type AddressFamily, type Subnet } from '../range/address.js';
import { type RetryPolicy } from '../store/retry.js';
import { type Store } from '../store/store.js';
import { addressText, blockAddressCount, blockOf, type BlockRef, parseBlockCidr, reservedOrdinals } from './block.js';
import { type BlockDocument, DecodeCache, decodeAffinity, decodeBlock, HandleGroup, type PoolKeys, storedBlock } from './documents.js';
import { type IpPool, type PoolIpamConfig } from './pool-config.js';
import { type PoolCaches, PoolTransaction } from './transaction.js';

/** The handle of an attachment: `<network>.<containerID>`, as Calico names it. */
export function handleId(network: string, containerId: string): string {
  return `${network}.${containerId}`;
}

/**
 * Checks a name used as one key segment: non-empty, no "/" or NUL, not "." or "..". The
 * same rule as checkStoreKey on one segment, without its split and regular expression
 * (6% of the ipam-pool bench's profile went to key checks).
 * @throws InvalidRequestError naming `what`.
 */
export function checkName(what: string, value: string): void {
  // One pass over the characters: two includes() were two builtin calls per name, four
  // per allocation.
  let dots = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x2f || c === 0) return refuseName(what, value);
    if (c === 0x2e) dots++;
  }
  if (value.length === 0 || (dots === value.length && dots <= 2)) refuseName(what, value);
}

function refuseName(what: string, value: string): never {
  throw new InvalidRequestError(`invalid ${what} ${JSON.stringify(value)}: must be non-empty, without "/", and not "." or ".."`);
}

/** Where a block sits: its pool and subnet (derived from config, cached per CIDR). */
export interface BlockInfo {
  /** The block's CIDR (`10.0.0.64/26`). */
  readonly cidr: string;
  /** The store key of its document. */
  readonly key: string;
  readonly pool: IpPool;
  readonly subnet: Subnet;
  readonly size: number;
  readonly reserved: ReadonlySet<number>;
  /** The address at `ordinal` of the block, as text. */
  addressText(ordinal: number): string;
}

// The decimal octets, so that an IPv4 address of a block within one /24 is its prefix
// plus one of these: one short string per address instead of a BigInt and five pieces.
const OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

function addressTextOf(subnet: Subnet): (ordinal: number) => string {
  if (subnet.network.family === 4 && subnet.prefixLength >= 24) {
    const base = Number(subnet.network.value);
    const prefix = `${base >>> 24}.${(base >>> 16) & 0xff}.${(base >>> 8) & 0xff}.`;
    const first = base & 0xff;
    return (ordinal) => prefix + (OCTETS[first + ordinal] as string);
  }
  return (ordinal) => addressText(subnet, ordinal);
}

/**
 * What the allocator remembers of one node: its name as first seen, and per family the
 * block it allocated from last (a hint: tried first, so the steady state reads one block
 * instead of walking the node's affinity list). One map lookup per allocation finds both.
 */
export class NodeHints {
  #lastV4: BlockInfo | undefined;
  #lastV6: BlockInfo | undefined;

  constructor(
    /** The node's name, as the string first seen with its text (see {@link PoolContext.hints}). */
    readonly name: string,
  ) {}

  /** The block the node allocated from last in `family`, if any. */
  lastBlock(family: AddressFamily): BlockInfo | undefined {
    return family === 4 ? this.#lastV4 : this.#lastV6;
  }

  #group: HandleGroup | undefined;

  /** The group of a handle of this node with these fields: the last one when it matches. */
  handleGroup(network: string, ifName: string, namespace: string | undefined): HandleGroup {
    const last = this.#group;
    if (last !== undefined && last.matches(network, ifName, this.name, namespace)) return last;
    this.#group = new HandleGroup(network, ifName, this.name, namespace);
    return this.#group;
  }

  /** Records the block the node allocated from last in its family. */
  setLastBlock(info: BlockInfo): void {
    if (info.pool.family === 4) this.#lastV4 = info;
    else this.#lastV6 = info;
  }
}

/** The allocator's options that the context needs. */
export interface PoolContextOptions {
  readonly config: PoolIpamConfig;
  readonly store: Store;
  readonly keys: PoolKeys;
  /** The clock, in milliseconds since the epoch. */
  readonly now: () => number;
  readonly retry: RetryPolicy;
}

/** The allocator state shared by the allocation, release and audit functions. */
export class PoolContext {
  readonly config: PoolIpamConfig;
  readonly store: Store;
  readonly keys: PoolKeys;
  readonly now: () => number;
  readonly retry: RetryPolicy;
  readonly caches: PoolCaches = { blocks: new DecodeCache(decodeBlock, storedBlock), affinities: new DecodeCache(decodeAffinity) };
  /** Hint: per pool and node, the index of the block it claimed last (claims continue from there). */
  readonly claimCursor = new Map<string, bigint>();
  /** Per family, the pools a request without labels or a pool list may use. */
  readonly unlabelledPools = new Map<AddressFamily, readonly IpPool[]>();
  readonly #blockInfo = new Map<string, BlockInfo | null>();
  // Per node name, its hints (see hints).
  readonly #nodes = new Map<string, NodeHints>();

  constructor(options: PoolContextOptions) {
    this.config = options.config;
    this.store = options.store;
    this.keys = options.keys;
    this.now = options.now;
    this.retry = options.retry;
  }

  /** A new read-decide-commit attempt over this context's store. */
  transaction(): PoolTransaction {
    return new PoolTransaction(this.store, this.keys, this.caches);
  }

  // On a synchronous store an attempt runs start to end without yielding, so one
  // transaction can serve every attempt in turn: its arrays are not allocated anew per
  // allocation (a fifth of the ipam-pool bench's garbage was per-attempt bookkeeping).
  #spare: PoolTransaction | undefined;
  #spareBusy = false;

  /**
   * A transaction for one attempt that runs synchronously to its end: the spare one on
   * a synchronous store when free, else a new one. Give it back with {@link endTransaction}.
   */
  beginTransaction(): PoolTransaction {
    if (this.store.sync === undefined || this.#spareBusy) return this.transaction();
    this.#spareBusy = true;
    return (this.#spare ??= this.transaction());
  }

  /** Ends a transaction from {@link beginTransaction}: the spare is reset for the next attempt. */
  endTransaction(txn: PoolTransaction): void {
    if (txn !== this.#spare) return;
    txn.reset();
    this.#spareBusy = false;
  }

  /**
   * The hints of `node`. Their `name` is the string first seen with its text: every
   * request brings its own copy of the node's name, and a handle document keeps the one it
   * is given (in the memory store, a string per allocation kept for nothing). Bounded:
   * past 65,536 nodes it starts afresh.
   */
  hints(node: string): NodeHints {
    const known = this.#nodes.get(node);
    if (known !== undefined) return known;
    if (this.#nodes.size >= 65_536) this.#nodes.clear();
    const hints = new NodeHints(node);
    this.#nodes.set(node, hints);
    return hints;
  }

  /** The facts of a block of a config pool, known without parsing its CIDR. */
  blockInfoOf(ref: BlockRef): BlockInfo {
    const known = this.#blockInfo.get(ref.cidr);
    if (known !== undefined && known !== null) return known;
    const info = this.#describe(ref.pool, ref.subnet, ref.cidr);
    this.#blockInfo.set(ref.cidr, info);
    return info;
  }

  #describe(pool: IpPool, subnet: Subnet, cidr: string): BlockInfo {
    return { cidr, key: this.keys.block(cidr), pool, subnet, size: blockAddressCount(pool), reserved: new Set(reservedOrdinals(subnet, this.config.reserved)), addressText: addressTextOf(subnet) };
  }

  /** The config pool a block CIDR belongs to, or `undefined`. */
  blockInfo(cidr: string): BlockInfo | undefined {
    const known = this.#blockInfo.get(cidr);
    if (known !== undefined) return known ?? undefined;
    const subnet = parseBlockCidr(cidr);
    // A stored block belongs to the pool that holds its network address with the same
    // block size, aligned on a block boundary; anything else is foreign to this config.
    const pool =
      subnet === undefined
        ? undefined
        : this.config.pools.find((p) => {
            const ref = p.blockSize === subnet.prefixLength ? blockOf(p, subnet.network) : undefined;
            return ref !== undefined && ref.subnet.network.value === subnet.network.value;
          });
    const info = pool === undefined || subnet === undefined ? null : this.#describe(pool, subnet, cidr);
    this.#blockInfo.set(cidr, info);
    return info ?? undefined;
  }

  /** Whether `ordinal` of a block is cooling down at `now`. */
  cooling(block: BlockDocument, ordinal: number, now: number): boolean {
    const cooldown = this.config.releaseCooldownMs;
    if (cooldown === 0) return false;
    for (const [o, at] of block.released) if (o === ordinal) return now < at + cooldown;
    return false;
  }
}
