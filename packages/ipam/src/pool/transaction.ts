// One attempt of a pool operation: reads documents (each key read once, the revision
// kept), stages writes, and turns them into one commit whose every write is conditioned
// on the revision read (or on absence), so the commit lands only if nothing it decided
// on has changed. Reads see the attempt's own staged writes, so a dual-stack allocation
// that claims two blocks updates the node's affinity document once, consistently.
import { type StoreEntry, type Store, type StoreOp } from '../store/store.js';
import {
  type AffinityDocument,
  type BlockDocument,
  type DecodeCache,
  encodeAffinity,
  encodeBlock,
  type EncodedBlockChange,
  encodeHandle,
  type HandleDocument,
  type PoolKeys,
} from './documents.js';

/** The decoded-document caches an allocator keeps across attempts. */
export interface PoolCaches {
  readonly blocks: DecodeCache<BlockDocument>;
  readonly affinities: DecodeCache<AffinityDocument>;
}

/** What a read found: a document, nothing, or a stored value that does not decode. */
export type Read<T> = T | undefined | typeof CORRUPT;

/** Marks a stored document that does not decode: never used, never overwritten. */
export const CORRUPT: unique symbol = Symbol('corrupt');

// A staged write: the text to put (or undefined to delete), and the cache that learns
// the document once the commit lands (plain data, not a closure per write).
interface Staged {
  readonly text: string | undefined;
  readonly doc: unknown;
  readonly cache: DecodeCache<unknown> | undefined;
}

/** One read-decide-commit attempt over the pool documents. */
export class PoolTransaction {
  readonly #reads = new Map<string, StoreEntry | undefined>();
  readonly #writes = new Map<string, Staged>();
  readonly #docs = new Map<string, unknown>();
  #absent: Set<string> | undefined;

  constructor(
    readonly store: Store,
    readonly keys: PoolKeys,
    readonly caches: PoolCaches,
  ) {}

  /** The entry at `key` as first read in this attempt. */
  async entry(key: string): Promise<StoreEntry | undefined> {
    if (this.#reads.has(key)) return this.#reads.get(key);
    const entry = await this.store.get(key);
    this.#reads.set(key, entry);
    return entry;
  }

  /**
   * Records `key` as read and absent without asking the store: a write staged there is
   * conditioned on absence, so the commit fails (and says so) if it exists after all.
   * For keys that are almost always absent (a new allocation's handle), it saves a read.
   */
  assumeAbsent(key: string): void {
    if (!this.#reads.has(key)) this.#reads.set(key, undefined);
  }

  /** Records entries listed by the caller as this attempt's reads (first read wins). */
  seed(entries: readonly StoreEntry[]): void {
    for (const entry of entries) if (!this.#reads.has(entry.key)) this.#reads.set(entry.key, entry);
  }

  async #doc<T>(key: string, decode: (key: string, text: string) => T): Promise<Read<T>> {
    if (this.#docs.has(key)) return this.#docs.get(key) as T | undefined;
    const entry = await this.entry(key);
    if (entry === undefined) return undefined;
    try {
      return decode(key, entry.value);
    } catch {
      return CORRUPT;
    }
  }

  /** The block `cidr`, staged writes included. */
  block(cidr: string): Promise<Read<BlockDocument>> {
    return this.#doc(this.keys.block(cidr), (key, text) => this.caches.blocks.get(key, text));
  }

  /** The node's affinity document, staged writes included. */
  affinity(node: string): Promise<Read<AffinityDocument>> {
    return this.#doc(this.keys.affinity(node), (key, text) => this.caches.affinities.get(key, text));
  }

  /** The handle's document (not cached: each is read about once). */
  handle(handle: string, decode: (text: string) => HandleDocument): Promise<Read<HandleDocument>> {
    return this.#doc(this.keys.handle(handle), (_key, text) => decode(text));
  }

  #stage(key: string, doc: unknown, text: string | undefined, cache?: DecodeCache<unknown>): void {
    if (!this.#reads.has(key)) throw new Error(`internal: ${key} written before it was read`);
    this.#docs.set(key, doc);
    this.#writes.set(key, { text, doc, cache });
  }

  /** Stages a block write. */
  putBlock(block: BlockDocument): void {
    this.putEncodedBlock({ block, text: encodeBlock(block) });
  }

  /** Stages a block write already encoded (by takeInBlock). */
  putEncodedBlock({ block, text }: EncodedBlockChange): void {
    const key = this.keys.block(block.cidr);
    this.#stage(key, block, text, this.caches.blocks as DecodeCache<unknown>);
  }

  /** Stages a block deletion. */
  deleteBlock(cidr: string): void {
    this.#stage(this.keys.block(cidr), undefined, undefined);
  }

  /** Stages an affinity write (a node with no blocks left loses its document). */
  putAffinity(affinity: AffinityDocument): void {
    const key = this.keys.affinity(affinity.node);
    if (affinity.blocks.length === 0) return this.#stage(key, undefined, undefined);
    const text = encodeAffinity(affinity);
    this.#stage(key, affinity, text, this.caches.affinities as DecodeCache<unknown>);
  }

  /** Stages a handle write. */
  putHandle(handle: HandleDocument): void {
    this.#stage(this.keys.handle(handle.handle), handle, encodeHandle(handle));
  }

  /** Stages a handle deletion. */
  deleteHandle(handle: string): void {
    this.#stage(this.keys.handle(handle), undefined, undefined);
  }

  /** Makes the commit also require that `key` is still absent (it writes nothing there). */
  requireAbsent(key: string): void {
    (this.#absent ??= new Set()).add(key);
  }

  /** Whether anything is staged. */
  get empty(): boolean {
    return this.#writes.size === 0;
  }

  /** The commit: every staged write conditioned on what was read. */
  ops(): StoreOp[] {
    const ops: StoreOp[] = [];
    for (const [key, staged] of this.#writes) {
      const read = this.#reads.get(key);
      const expect = read === undefined ? { absent: true as const } : { revision: read.revision };
      // Deleting what was never there is a no-op, but its condition still guards it.
      ops.push(staged.text === undefined ? { type: 'delete', key, expect } : { type: 'put', key, value: staged.text, expect });
    }
    for (const key of this.#absent ?? []) if (!this.#writes.has(key)) ops.push({ type: 'delete', key, expect: { absent: true } });
    return ops;
  }

  /** Commits the staged writes; on success the caches learn the documents written. */
  async commit(): Promise<{ readonly ok: true } | { readonly ok: false; readonly conflicts: readonly string[] }> {
    const outcome = await this.store.commit(this.ops());
    if (outcome.ok) {
      for (const [key, staged] of this.#writes) if (staged.cache !== undefined && staged.text !== undefined) staged.cache.remember(key, staged.text, staged.doc);
    }
    return outcome;
  }
}
