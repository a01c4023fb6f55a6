// One attempt of a pool operation: reads documents (each key read once, the revision
// kept), stages writes, and turns them into one commit whose every write is conditioned
// on the revision read (or on absence), so the commit lands only if nothing it decided
// on has changed. Reads see the attempt's own staged writes, so a dual-stack allocation
// that claims two blocks updates the node's affinity document once, consistently.
//
// Decisions are synchronous functions over the attempt's reads (the `*Now` methods). On
// a store with a synchronous face (memory) a read is answered at once, so a whole
// allocation runs without a single await. On an asynchronous store (SQLite, files) a
// read of a key not yet loaded throws NeedsRead; settle() loads it and runs the decision
// again from the start with everything read so far (each key is still read once, and the
// commit is still conditioned on every revision read), so one decision procedure serves
// both kinds of store.
import { type CommitOutcome, type StoreCondition, type StoreDocument, type StoreEntry, type Store, type StoreOp, type SyncStore, type SyncStoreOp } from '../store/store.js';
import {
  type AffinityDocument,
  type BlockDocument,
  blockDocument,
  type DecodeCache,
  encodeAffinity,
  type EncodedBlockChange,
  type HandleDocument,
  handleValue,
  type PoolKeys,
} from './documents.js';
import { KeyTable, NOT_READ } from './key-table.js';

/** The decoded-document caches an allocator keeps across attempts. */
export interface PoolCaches {
  readonly blocks: DecodeCache<BlockDocument>;
  readonly affinities: DecodeCache<AffinityDocument>;
}

/** What a read found: a document, nothing, or a stored value that does not decode. */
export type Read<T> = T | undefined | typeof CORRUPT;

/** Marks a stored document that does not decode: never used, never overwritten. */
export const CORRUPT: unique symbol = Symbol('corrupt');

// A staged write: the value to put, as text or as a document that makes its text when
// asked (or undefined to delete), and the cache that learns the document once the
// commit lands (plain data, not a closure per write).
interface Staged {
  readonly value: string | StoreDocument | undefined;
  readonly doc: unknown;
  readonly cache: DecodeCache<unknown> | undefined;
}

/**
 * Thrown by a synchronous read of a key (or listing) an asynchronous store has not
 * loaded yet in this attempt; {@link settle} catches it, loads, and decides again.
 */
export class NeedsRead extends Error {
  constructor(
    /** The key to read, or the prefix to list. */
    readonly key: string,
    readonly listing: boolean,
  ) {
    super(`internal: ${listing ? 'list' : 'read'} ${key} outside settle()`);
  }
}

const ABSENT: StoreCondition = Object.freeze({ absent: true });

// The condition that `entry`, as read, is still current, for a store with a synchronous
// face: its revision text is made only if the store asks for it (the memory store
// compares the entry itself; a string per commit otherwise, and another for the store's
// own revision).
class ReadCondition {
  constructor(readonly entry: StoreEntry) {}

  get revision(): string {
    return this.entry.revision;
  }
}

/** One read-decide-commit attempt over the pool documents. */
export class PoolTransaction {
  readonly #table = new KeyTable<Staged>();
  readonly #sync: SyncStore | undefined;
  #lists: Map<string, readonly StoreEntry[]> | undefined;
  #absent: Set<string> | undefined;

  constructor(
    readonly store: Store,
    readonly keys: PoolKeys,
    readonly caches: PoolCaches,
  ) {
    this.#sync = store.sync;
  }

  /** The entry at `key` as first read in this attempt. */
  async entry(key: string): Promise<StoreEntry | undefined> {
    const i = this.#table.find(key);
    const read = i < 0 ? NOT_READ : this.#table.reads[i];
    if (read !== NOT_READ) return read;
    const entry = this.#sync === undefined ? await this.store.get(key) : this.#sync.getSync(key);
    this.#table.recordRead(key, entry);
    return entry;
  }

  /**
   * The entry at `key` as first read in this attempt, read now from a synchronous store.
   * @throws NeedsRead when the store is asynchronous and `key` is not loaded yet.
   */
  entryNow(key: string): StoreEntry | undefined {
    const table = this.#table;
    const i = table.slot(key);
    const read = table.reads[i];
    if (read !== NOT_READ) return read;
    if (this.#sync === undefined) {
      // A key missing from a listing of its parent, taken in this attempt, was absent
      // then: the commit's absence condition catches it if it appeared since.
      if (this.#lists?.has(key.slice(0, key.lastIndexOf('/') + 1)) === true) {
        table.reads[i] = undefined;
        return undefined;
      }
      throw new NeedsRead(key, false);
    }
    const entry = this.#sync.getSync(key);
    table.reads[i] = entry;
    return entry;
  }

  /**
   * Every entry directly under `prefix`, listed once per attempt and recorded as read
   * (entries read before keep their first revision).
   * @throws NeedsRead when the store is asynchronous and the listing is not loaded yet.
   */
  listNow(prefix: string): readonly StoreEntry[] {
    const known = this.#lists?.get(prefix);
    if (known !== undefined) return known;
    if (this.#sync === undefined) throw new NeedsRead(prefix, true);
    return this.#listed(prefix, this.#sync.listSync(prefix));
  }

  #listed(prefix: string, entries: readonly StoreEntry[]): readonly StoreEntry[] {
    (this.#lists ??= new Map()).set(prefix, entries);
    this.seed(entries);
    return entries;
  }

  /** Loads what a {@link NeedsRead} asked for. */
  async load(needed: NeedsRead): Promise<void> {
    if (needed.listing) this.#listed(needed.key, await this.store.list(needed.key));
    else await this.entry(needed.key);
  }

  /** Forgets everything: the transaction is as new (for reuse by its owner). */
  reset(): void {
    this.#table.reset();
    this.#lists = undefined;
    this.#absent = undefined;
  }

  /** Forgets the staged writes (not the reads): a decision runs again from the start. */
  restart(): void {
    this.#table.clearWrites();
    this.#absent = undefined;
  }

  /**
   * Records `key` as read and absent without asking the store: a write staged there is
   * conditioned on absence, so the commit fails (and says so) if it exists after all.
   * For keys that are almost always absent (a new allocation's handle), it saves a read.
   */
  assumeAbsent(key: string): void {
    this.#table.recordRead(key, undefined);
  }

  /** Records entries listed by the caller as this attempt's reads (first read wins). */
  seed(entries: readonly StoreEntry[]): void {
    for (const entry of entries) this.#table.recordRead(entry.key, entry);
  }

  #docNow<T>(key: string, cache: DecodeCache<T> | undefined, decode: (text: string) => T): Read<T> {
    const i = this.#table.find(key);
    const staged = i < 0 ? undefined : this.#table.writes[i];
    if (staged !== undefined) return staged.doc as T | undefined;
    const entry = this.entryNow(key);
    if (entry === undefined) return undefined;
    try {
      // A document the memory store kept as written needs no decoding (cache.fromDocument
      // accepts only documents of its own kind).
      const document = entry.document;
      const kept = document === undefined || cache === undefined ? undefined : cache.fromDocument(document);
      if (kept !== undefined) return kept;
      return cache === undefined ? decode(entry.value) : cache.get(key, entry.value);
    } catch {
      return CORRUPT;
    }
  }

  async #loaded(key: string): Promise<void> {
    if (this.#sync === undefined && !this.#table.wasRead(key)) await this.entry(key);
  }

  /**
   * The block `cidr`, staged writes included.
   * @throws NeedsRead (see {@link entryNow}).
   */
  blockNow(cidr: string): Read<BlockDocument> {
    return this.#docNow(this.keys.block(cidr), this.caches.blocks, this.caches.blocks.decode);
  }

  /**
   * {@link blockNow} of the block whose store key is `key` (`keys.block(cidr)`, which the
   * caller has at hand).
   * @throws NeedsRead (see {@link entryNow}).
   */
  blockAtKeyNow(key: string): Read<BlockDocument> {
    return this.#docNow(key, this.caches.blocks, this.caches.blocks.decode);
  }

  /**
   * The node's affinity document, staged writes included.
   * @throws NeedsRead (see {@link entryNow}).
   */
  affinityNow(node: string): Read<AffinityDocument> {
    return this.#docNow(this.keys.affinity(node), this.caches.affinities, this.caches.affinities.decode);
  }

  /**
   * The handle's document (not cached: each is read about once).
   * @throws NeedsRead (see {@link entryNow}).
   */
  handleNow(handle: string, decode: (text: string) => HandleDocument): Read<HandleDocument> {
    return this.#docNow(this.keys.handle(handle), undefined, decode);
  }

  /** The block `cidr`, staged writes included. */
  async block(cidr: string): Promise<Read<BlockDocument>> {
    await this.#loaded(this.keys.block(cidr));
    return this.blockNow(cidr);
  }

  /** The node's affinity document, staged writes included. */
  async affinity(node: string): Promise<Read<AffinityDocument>> {
    await this.#loaded(this.keys.affinity(node));
    return this.affinityNow(node);
  }

  /** The handle's document (not cached: each is read about once). */
  async handle(handle: string, decode: (text: string) => HandleDocument): Promise<Read<HandleDocument>> {
    await this.#loaded(this.keys.handle(handle));
    return this.handleNow(handle, decode);
  }

  #stage(key: string, doc: unknown, value: string | StoreDocument | undefined, cache?: DecodeCache<unknown>): void {
    const i = this.#table.find(key);
    if (i < 0 || this.#table.reads[i] === NOT_READ) throw new Error(`internal: ${key} written before it was read`);
    this.#table.writes[i] = { value, doc, cache };
  }

  /** Stages a block write. */
  putBlock(block: BlockDocument): void {
    this.putEncodedBlock(blockDocument(block));
  }

  /** Stages a block write made by takeInBlock (its text is made at commit, if the store needs it); `key` is its store key. */
  putEncodedBlock(block: EncodedBlockChange, key: string = this.keys.block(block.cidr)): void {
    this.#stage(key, block, block, this.caches.blocks as DecodeCache<unknown>);
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
    // Kept flat (handleValue): the document's nested objects cost the collector more to
    // keep than a flat string (measured: 24% of the CPU in GC against 34% when handles
    // were kept as documents), and one object of its fields less than either.
    this.#stage(this.keys.handle(handle.handle), handle, handleValue(handle));
  }

  /**
   * Stages the handle document of a new allocation (`newHandleDocument`) at `key`,
   * the store key of its handle (the caller has it: it is not made again).
   */
  putNewHandle(key: string, handle: { readonly doc: HandleDocument; readonly value: string | StoreDocument }): void {
    this.#stage(key, handle.doc, handle.value);
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
    return !this.#table.hasWrites();
  }

  /** The commit: every staged write conditioned on what was read, values as text. */
  ops(): StoreOp[] {
    return this.#ops(false) as StoreOp[];
  }

  // With `documents`, puts of documents stay documents (for commitSync, which keeps them).
  #ops(documents: boolean): SyncStoreOp[] {
    const { keys, reads, writes, count } = this.#table;
    const absent = this.#absent;
    // Sized before it is filled: an array grown by push reserves 17 slots for the two or
    // three writes of an allocation.
    let size = 0;
    for (let i = 0; i < count; i++) if (writes[i] !== undefined) size++;
    if (absent !== undefined) {
      for (const key of absent) {
        const i = this.#table.find(key);
        if (i < 0 || writes[i] === undefined) size++;
      }
    }
    const ops = new Array<SyncStoreOp>(size);
    let n = 0;
    for (let i = 0; i < count; i++) {
      const staged = writes[i];
      if (staged === undefined) continue;
      const key = keys[i] as string;
      const read = reads[i];
      if (read === NOT_READ) throw new Error(`internal: ${key} written before it was read`);
      // For a store with a synchronous face (memory) a condition whose revision text is
      // made only when asked; other adapters get plain data.
      const expect: StoreCondition = read === undefined ? ABSENT : documents ? new ReadCondition(read) : { revision: read.revision };
      // Deleting what was never there is a no-op, but its condition still guards it.
      const value = staged.value;
      if (value === undefined) ops[n++] = { type: 'delete', key, expect };
      else if (typeof value === 'string') ops[n++] = { type: 'put', key, value, expect };
      else if (documents) ops[n++] = { type: 'put', key, document: value, expect };
      else ops[n++] = { type: 'put', key, value: value.text, expect };
    }
    if (absent !== undefined) {
      for (const key of absent) {
        const i = this.#table.find(key);
        if (i < 0 || writes[i] === undefined) ops[n++] = { type: 'delete', key, expect: ABSENT };
      }
    }
    return ops;
  }

  /** Commits the staged writes; on success the caches learn the documents written. */
  async commit(): Promise<CommitOutcome> {
    return this.commitNow();
  }

  /** {@link commit}, answered synchronously when the store has a synchronous face. */
  commitNow(): CommitOutcome | Promise<CommitOutcome> {
    if (this.#sync !== undefined) return this.#learn(this.#sync.commitSync(this.#ops(true)));
    return this.store.commit(this.ops()).then((outcome) => this.#learn(outcome));
  }

  #learn(outcome: CommitOutcome): CommitOutcome {
    if (!outcome.ok) return outcome;
    const { keys, writes, count } = this.#table;
    for (let i = 0; i < count; i++) {
      const staged = writes[i];
      const value = staged?.value;
      if (staged?.cache === undefined || value === undefined) continue;
      // Text is learnt from every store (the memory store hands the same string back, so
      // the next read of an affinity costs a comparison, not a JSON parse); a store that
      // keeps documents hands documents back as written: nothing to remember for those.
      if (typeof value === 'string') staged.cache.remember(keys[i] as string, value, staged.doc);
      else if (this.#sync === undefined) staged.cache.remember(keys[i] as string, value.text, staged.doc);
    }
    return outcome;
  }
}

/** A synchronous decision over one transaction (see {@link settle}). */
export interface Decision<T> {
  decide(): T;
}

/**
 * Runs the synchronous decision over `txn` until it has every read it needs: at once on
 * a synchronous store; otherwise each {@link NeedsRead} is loaded and the decision runs
 * again from the start with the staged writes forgotten. It must therefore stage
 * writes only through `txn` (anything else it changes must be a hint that is checked
 * before use).
 * @throws what the decision throws (synchronously when it throws on its first run).
 */
export function settle<T>(txn: PoolTransaction, decision: Decision<T> | (() => T)): T | Promise<T> {
  const decide = typeof decision === 'function' ? decision : undefined;
  try {
    return decide === undefined ? (decision as Decision<T>).decide() : decide();
  } catch (error) {
    if (!(error instanceof NeedsRead)) throw error;
    return settleAsync(txn, decide ?? (() => (decision as Decision<T>).decide()), error);
  }
}

async function settleAsync<T>(txn: PoolTransaction, decide: () => T, first: NeedsRead): Promise<T> {
  let needed = first;
  for (;;) {
    await txn.load(needed);
    txn.restart();
    try {
      return decide();
    } catch (error) {
      if (!(error instanceof NeedsRead)) throw error;
      needed = error;
    }
  }
}

/** `f(value)`, now when `value` is one, or once the promise resolves. (Not named `then`: a module exporting `then` is a thenable, and `await import()` of it calls it.) */
export function afterValue<A, B>(value: A | Promise<A>, f: (a: A) => B | Promise<B>): B | Promise<B> {
  return value instanceof Promise ? value.then(f) : f(value);
}
