// The in-memory adapter: one process, no persistence. The reference for the contract
// every other adapter follows, and the store of the property tests.
import { checkStoreKey, checkStorePrefix, isDirectlyUnder, type CommitOutcome, type Store, type StoreEntry, type StoreOp } from './store.js';

/**
 * A {@link Store} in memory. Revisions come from one counter, so a key deleted and
 * written again never repeats an earlier revision (no ABA).
 */
export class MemoryStore implements Store {
  readonly #entries = new Map<string, StoreEntry>();
  #counter = 0;

  /** {@inheritDoc Store.get} */
  async get(key: string): Promise<StoreEntry | undefined> {
    const entry = this.#entries.get(key);
    // A key the store holds passed the check when it was written.
    if (entry === undefined) checkKey(key);
    return entry;
  }

  /** {@inheritDoc Store.list} */
  async list(prefix: string): Promise<readonly StoreEntry[]> {
    checkStorePrefix(prefix);
    const found = [...this.#entries.values()].filter((entry) => isDirectlyUnder(entry.key, prefix));
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return found;
  }

  /** {@inheritDoc Store.commit} */
  async commit(ops: readonly StoreOp[]): Promise<CommitOutcome> {
    return this.#commitSync(ops);
  }

  /** {@inheritDoc Store.close} */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** How many entries the store holds (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #commitSync(ops: readonly StoreOp[]): CommitOutcome {
    let conflicts: string[] | undefined;
    for (const op of ops) {
      const current = this.#entries.get(op.key);
      // A key the store holds passed the check when it was written.
      if (current === undefined) checkKey(op.key);
      if (!conditionHolds(current, op)) (conflicts ??= []).push(op.key);
    }
    if (conflicts !== undefined) return { ok: false, conflicts };
    const revision = String(++this.#counter);
    for (const op of ops) {
      if (op.type === 'put') this.#entries.set(op.key, { key: op.key, value: op.value, revision });
      else this.#entries.delete(op.key);
    }
    return { ok: true };
  }
}

// Keys without a "." segment that match one regular expression are valid; anything else
// goes to checkStoreKey, which decides and names the key. checkStoreKey's split and
// per-segment test were 6% of the ipam-pool bench's CPU profile.
const PLAIN_KEY = /^[^/\0]+(?:\/[^/\0]+)*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

function checkKey(key: string): void {
  if (!PLAIN_KEY.test(key) || DOT_SEGMENT.test(key)) checkStoreKey(key);
}

/** Whether an op's condition holds for the current entry (shared by the adapters). */
export function conditionHolds(current: StoreEntry | undefined, op: StoreOp): boolean {
  const expect = op.expect;
  if (expect === undefined) return true;
  if ('absent' in expect) return current === undefined;
  return current !== undefined && current.revision === expect.revision;
}
