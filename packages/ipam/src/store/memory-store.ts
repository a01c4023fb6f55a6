// The in-memory adapter: one process, no persistence. The reference for the contract
// every other adapter follows, and the store of the property tests.
import {
  checkStoreKey,
  ClaimableDocument,
  checkStorePrefix,
  isDirectlyUnder,
  type CommitOutcome,
  type Store,
  type StoreDocument,
  type StoreEntry,
  type StoreOp,
  type SyncStore,
  type SyncStoreOp,
} from './store.js';

// Entries keep their revision as a number (the store's counter) and make its text when
// asked: a string per commit was 24 bytes of every allocation's kept heap in the
// ipam-pool bench, and readers ask for a revision about once per read.

// An entry whose value was written as a document (commitSync) that the store could not
// claim as its entry (see ClaimableDocument): its text is made only when a reader asks.
class DocumentEntry implements StoreEntry {
  readonly #revision: number;

  constructor(
    readonly key: string,
    readonly document: StoreDocument,
    revision: number,
  ) {
    this.#revision = revision;
  }

  get value(): string {
    return this.document.text;
  }

  get revision(): string {
    return String(this.#revision);
  }
}

// An entry written as text.
class TextEntry implements StoreEntry {
  readonly #revision: number;

  constructor(
    readonly key: string,
    readonly value: string,
    revision: number,
  ) {
    this.#revision = revision;
  }

  get revision(): string {
    return String(this.#revision);
  }
}

// The entry of a document written at `key`: the document itself when it can be claimed.
function documentEntry(key: string, document: StoreDocument, revision: number): StoreEntry {
  if (document instanceof ClaimableDocument && document.claimEntry(key, revision)) return document;
  return new DocumentEntry(key, document, revision);
}

/**
 * A {@link Store} in memory. Revisions come from one counter, so a key deleted and
 * written again never repeats an earlier revision (no ABA). It is its own
 * {@link Store.sync}: the asynchronous methods wrap the synchronous ones.
 */
export class MemoryStore implements Store, SyncStore {
  readonly #entries = new Map<string, StoreEntry>();
  #counter = 0;

  /** {@inheritDoc Store.sync} */
  get sync(): SyncStore {
    return this;
  }

  /** {@inheritDoc Store.get} */
  async get(key: string): Promise<StoreEntry | undefined> {
    return this.getSync(key);
  }

  /** {@inheritDoc Store.list} */
  async list(prefix: string): Promise<readonly StoreEntry[]> {
    return this.listSync(prefix);
  }

  /** {@inheritDoc Store.commit} */
  async commit(ops: readonly StoreOp[]): Promise<CommitOutcome> {
    return this.commitSync(ops);
  }

  /** {@inheritDoc SyncStore.getSync} */
  getSync(key: string): StoreEntry | undefined {
    const entry = this.#entries.get(key);
    // A key the store holds passed the check when it was written.
    if (entry === undefined) checkKey(key);
    return entry;
  }

  /** {@inheritDoc SyncStore.listSync} */
  listSync(prefix: string): readonly StoreEntry[] {
    checkStorePrefix(prefix);
    const found: StoreEntry[] = [];
    // forEach, not for-of: a listing runs too seldom to be optimized, and unoptimized
    // for-of makes an iterator result per entry of the store.
    this.#entries.forEach((entry) => {
      if (isDirectlyUnder(entry.key, prefix)) found.push(entry);
    });
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return found;
  }

  /** {@inheritDoc Store.close} */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** How many entries the store holds (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** {@inheritDoc SyncStore.commitSync} */
  commitSync(ops: readonly SyncStoreOp[]): CommitOutcome {
    let conflicts: string[] | undefined;
    // Indexed loops: for-of made an iterator object per loop in the ipam-pool bench.
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as SyncStoreOp;
      const current = this.#entries.get(op.key);
      // A key the store holds passed the check when it was written.
      if (current === undefined) checkKey(op.key);
      if (!conditionHolds(current, op)) (conflicts ??= []).push(op.key);
    }
    if (conflicts !== undefined) return { ok: false, conflicts };
    const revision = ++this.#counter;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as SyncStoreOp;
      if (op.type === 'delete') this.#entries.delete(op.key);
      else if ('document' in op) this.#entries.set(op.key, documentEntry(op.key, op.document, revision));
      else this.#entries.set(op.key, new TextEntry(op.key, op.value, revision));
    }
    return { ok: true };
  }
}

// A key is valid when its segments are non-empty, hold no NUL, and are not "." or "..":
// checked in one pass over the characters; anything else goes to checkStoreKey, which
// decides and names the key. (checkStoreKey's split and per-segment test were 6% of the
// ipam-pool bench's CPU profile; two regular expressions per new key were still 2%.)
function checkKey(key: string): void {
  let segment = 0; // length of the current segment
  let dots = 0; // how many of its characters are "."
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x2f) {
      if (segment === 0 || (dots === segment && segment <= 2)) return checkStoreKey(key);
      segment = 0;
      dots = 0;
    } else if (c === 0) {
      return checkStoreKey(key);
    } else {
      segment++;
      if (c === 0x2e) dots++;
    }
  }
  // "..." is a valid segment; only "." and ".." are not.
  if (segment === 0 || (dots === segment && segment <= 2)) checkStoreKey(key);
}

/** Whether an op's condition holds for the current entry (shared by the adapters). */
export function conditionHolds(current: StoreEntry | undefined, op: StoreOp | SyncStoreOp): boolean {
  const expect = op.expect;
  if (expect === undefined) return true;
  if ('absent' in expect) return current === undefined;
  // The entry read is still the current one: unchanged (entries never change, and this
  // store makes a new one per write). Otherwise compare revisions: an entry read from
  // another adapter, or none given.
  if (current !== undefined && expect.entry === current) return true;
  return current !== undefined && current.revision === expect.revision;
}
