// The Store port: a small key/value map with a revision per entry and an atomic,
// conditional multi-key commit (compare-and-swap). Allocators read a snapshot, decide,
// and commit their writes on the condition that what they read has not changed; a
// conflict means "read again and retry" (see retry.ts). Adapters: memory (here), SQLite
// and host-local's files (sys/). Values are text: the range allocator stores exactly
// what host-local writes in its files, so every adapter holds the same data.

/**
 * An opaque revision: it changes whenever an entry is written. Compare revisions only
 * for equality, and only with revisions of the same key from the same store.
 */
export type Revision = string;

/** One entry of a store. */
export interface StoreEntry {
  /** The key: `/`-separated segments, such as `net1/10.0.0.5`. */
  readonly key: string;
  /** The value, as text. */
  readonly value: string;
  /** The entry's current revision. */
  readonly revision: Revision;
  /**
   * The document written at this revision, when it was written as one through
   * {@link SyncStore.commitSync} and the adapter keeps it (memory); `value` is then its
   * text. Readers that know the document's class may use it instead of decoding `value`.
   */
  readonly document?: StoreDocument;
}

/**
 * A value written as a document that writes its own text when asked: the adapter keeps
 * the document and produces `text` only when a reader asks for the value. The document
 * must never change once written, and `text` must always be the same string, so what a
 * reader gets back is what was written.
 */
export interface StoreDocument {
  /** The value, as text (computed on first use and kept). */
  readonly text: string;
}

/**
 * A {@link StoreDocument} that can serve as the entry of a store that keeps documents
 * (memory): the store claims it once, when it first writes it, and keeps it as its entry
 * instead of wrapping it in one more object (an object less per allocation, kept for as
 * long as the document is). A document claimed before, by this store or another, is
 * wrapped like any other document: a claimed document never changes.
 */
export abstract class ClaimableDocument implements StoreDocument, StoreEntry {
  #key: string | undefined;
  #revision = 0;

  /** {@inheritDoc StoreDocument.text} */
  abstract get text(): string;

  /**
   * Makes this document the entry at `key`, revision `revision` (a positive integer),
   * unless it was claimed before.
   * @returns whether it was claimed now.
   */
  claimEntry(key: string, revision: number): boolean {
    if (this.#key !== undefined) return false;
    this.#key = key;
    this.#revision = revision;
    return true;
  }

  /** The key it was written at ('' before it was claimed). */
  get key(): string {
    return this.#key ?? '';
  }

  /** Its text, as the entry's value. */
  get value(): string {
    return this.text;
  }

  /** The revision it was written at ('0' before it was claimed). */
  get revision(): Revision {
    return String(this.#revision);
  }

  /** The entry's document: itself. */
  get document(): StoreDocument {
    return this;
  }
}

/**
 * A commit's condition on one key: it must not exist (`{ absent: true }`), or it must
 * still be at `revision`. Without a condition the write is unconditional.
 *
 * A revision condition may also carry `entry`, the entry the writer read at that
 * revision (as this store returned it). Entries never change, so an adapter that hands
 * back the same entry object for as long as a key is unchanged (memory) may find the
 * condition holding by identity, without comparing revision text; any other adapter
 * ignores it. `revision` is then `entry.revision`.
 */
export type StoreCondition = { readonly absent: true } | { readonly revision: Revision; readonly entry?: StoreEntry };

/** One write of a commit. */
export type StoreOp =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly expect?: StoreCondition }
  | { readonly type: 'delete'; readonly key: string; readonly expect?: StoreCondition };

/**
 * A write of {@link SyncStore.commitSync}: a {@link StoreOp}, or a put of a
 * {@link StoreDocument} whose text is produced only when read.
 */
export type SyncStoreOp = StoreOp | { readonly type: 'put'; readonly key: string; readonly document: StoreDocument; readonly expect?: StoreCondition };

/**
 * What a commit did: all its writes (`ok: true`) or none of them, with the keys whose
 * condition failed. A store never applies part of a commit.
 */
export type CommitOutcome = { readonly ok: true } | { readonly ok: false; readonly conflicts: readonly string[] };

/**
 * The store port. Keys are `/`-separated paths of non-empty segments without `.` or
 * `..` (the file adapter maps them to files). Methods reject with a
 * {@link StoreFailureError} when the backing store fails; a failed condition is not an
 * error but a `{ ok: false }` outcome.
 */
export interface Store {
  /** The entry at `key`, or `undefined`. */
  get(key: string): Promise<StoreEntry | undefined>;
  /**
   * Every entry directly under `prefix` (a key prefix ending in `/`), in key order.
   * Entries deeper below it (`prefix` + `a/b`) are not listed.
   */
  list(prefix: string): Promise<readonly StoreEntry[]>;
  /** Applies every write of `ops` atomically if every condition holds, or none of them. */
  commit(ops: readonly StoreOp[]): Promise<CommitOutcome>;
  /** Releases the store's resources (database handles); the store is unusable after. */
  close(): Promise<void>;
  /**
   * Optional: runs `fn` with exclusive access to the entries under `prefix` (other
   * processes' commits and sessions wait), passing a store to use inside. Adapters whose
   * backing store has a lock (SQLite's write lock, host-local's `lock` file) offer it so
   * that read, decide and commit happen under one lock, as host-local does: without it,
   * many processes racing for one round-robin cursor retry over and over. `busy` when
   * the lock could not be had in time (the caller retries).
   */
  exclusive?<T>(prefix: string, fn: (scoped: Store) => Promise<T>): Promise<ExclusiveOutcome<T>>;
  /**
   * Optional: a token that differs from every earlier one whenever any process (this one
   * included) has committed anything to the store since it was taken; equal tokens mean
   * nothing was committed in between. Watchers poll it and re-list only when it moved.
   * Compare tokens only for equality, and only tokens of the same store object. Adapters
   * that cannot tell cheaply (memory: its callers can read it at no cost; files) leave it
   * out, and watchers re-list at every poll.
   */
  changeToken?(): Promise<string>;
  /**
   * Optional: the same store without promises, offered by adapters that answer at once
   * (memory). Callers that find it may read, decide and commit in one synchronous run:
   * no microtask per read, and nothing else can interleave within that run. Adapters
   * backed by I/O (SQLite, files) leave it out and keep the asynchronous methods only.
   */
  readonly sync?: SyncStore;
}

/**
 * The synchronous face of a {@link Store} ({@link Store.sync}): the same contract as
 * `get`, `list` and `commit`, answered without a promise.
 */
export interface SyncStore {
  /** {@inheritDoc Store.get} */
  getSync(key: string): StoreEntry | undefined;
  /** {@inheritDoc Store.list} */
  listSync(prefix: string): readonly StoreEntry[];
  /**
   * {@link Store.commit} without a promise: applies every op or none, and says which.
   * A put may carry a {@link StoreDocument} instead of a `value`: the store keeps the
   * document, reads of the entry return it as `document` and its text as `value`.
   * @throws TypeError for a malformed key, as `commit` rejects with it.
   */
  commitSync(ops: readonly SyncStoreOp[]): CommitOutcome;
}

/** What {@link Store.exclusive} did: ran `fn` and got `value`, or could not get the lock. */
export type ExclusiveOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly busy: true };

const SEGMENT = /^[^/\0]+$/;

/**
 * Checks a key's shape (non-empty `/`-separated segments, none `.` or `..`, no NUL).
 * @throws TypeError naming the key: a bad key is a programming error, not a conflict.
 */
export function checkStoreKey(key: string): void {
  const segments = key.split('/');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new TypeError(`invalid store key ${JSON.stringify(key)}`);
    }
  }
}

/**
 * Checks a list prefix: empty (the top level) or segments followed by `/`.
 * @throws TypeError naming the prefix.
 */
export function checkStorePrefix(prefix: string): void {
  if (prefix === '') return;
  if (!prefix.endsWith('/')) throw new TypeError(`invalid store prefix ${JSON.stringify(prefix)}: must end with "/"`);
  checkStoreKey(prefix.slice(0, -1));
}

/** Whether `key` is directly under `prefix` (not deeper). */
export function isDirectlyUnder(key: string, prefix: string): boolean {
  return key.startsWith(prefix) && !key.slice(prefix.length).includes('/');
}
