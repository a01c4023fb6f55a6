// The keys one attempt touched: per key, what was read and what is staged. Most
// attempts touch two or three keys (a block, a handle, sometimes an affinity), so a
// linear table of parallel arrays costs less than two Maps per attempt (whose backing
// stores were a good part of the ipam-pool bench's garbage), and can be reset and used
// again; past eight keys (gc, a listing) a Map indexes it.
import { type StoreEntry } from '../store/store.js';

/** Marks a key touched but not read yet. */
export const NOT_READ: unique symbol = Symbol('not read');

const LINEAR_LIMIT = 8;

/** Per-key slots of one attempt: slots `0 .. count - 1` of the arrays are in use. */
export class KeyTable<W> {
  readonly keys: string[] = [];
  readonly reads: (StoreEntry | undefined | typeof NOT_READ)[] = [];
  readonly writes: (W | undefined)[] = [];
  count = 0;
  #index: Map<string, number> | undefined;

  /** The slot of `key`, or -1. */
  find(key: string): number {
    if (this.#index !== undefined) return this.#index.get(key) ?? -1;
    const keys = this.keys;
    for (let i = 0; i < this.count; i++) if (keys[i] === key) return i;
    return -1;
  }

  /** The slot of `key`, added (not read, nothing staged) when new. */
  slot(key: string): number {
    const found = this.find(key);
    if (found >= 0) return found;
    const i = this.count++;
    this.keys[i] = key;
    this.reads[i] = NOT_READ;
    this.writes[i] = undefined;
    if (this.#index !== undefined) this.#index.set(key, i);
    else if (this.count > LINEAR_LIMIT) this.#index = new Map(this.keys.slice(0, this.count).map((k, j) => [k, j]));
    return i;
  }

  /** Whether `key` was read (or recorded as read). */
  wasRead(key: string): boolean {
    const i = this.find(key);
    return i >= 0 && this.reads[i] !== NOT_READ;
  }

  /** Records what a read of `key` found, unless it was read before. */
  recordRead(key: string, entry: StoreEntry | undefined): void {
    const i = this.slot(key);
    if (this.reads[i] === NOT_READ) this.reads[i] = entry;
  }

  /** Whether any write is staged. */
  hasWrites(): boolean {
    for (let i = 0; i < this.count; i++) if (this.writes[i] !== undefined) return true;
    return false;
  }

  /** Forgets every staged write. */
  clearWrites(): void {
    for (let i = 0; i < this.count; i++) this.writes[i] = undefined;
  }

  /** Forgets everything (keeping the arrays' storage, small ones only). */
  reset(): void {
    if (this.count > LINEAR_LIMIT) {
      this.keys.length = 0;
      this.reads.length = 0;
      this.writes.length = 0;
    } else {
      // Drop references, so that a reset table keeps no document alive.
      for (let i = 0; i < this.count; i++) {
        this.reads[i] = NOT_READ;
        this.writes[i] = undefined;
      }
    }
    this.count = 0;
    this.#index = undefined;
  }
}
