// A map from RIB prefix keys (prefix-key.ts) to values, for the tables that hold one
// entry per route: the path lists and the per-peer Adj-RIB-Outs. IPv4 keys, numbers, live
// in an open-addressing hash table with linear probing: a lookup is one multiplication
// and, mostly, one or two adjacent slots, and a table of a million entries is a few flat
// arrays rather than a million hash-chain entries (V8's Map). IPv6 keys, strings, go to
// an ordinary Map beside it.
//
// The hash table is a PrefixIntMap (prefix-int-map.ts) from each IPv4 key to the index of
// its entry; entries hold the values, and their keys whole, in chunks of 8,192, and stay
// put: growing the table copies only its slots (two 32-bit words each), never a value. A
// deleted entry's index is reused; when few of the entries ever used are left, they are
// packed.
//
// Iteration order is the entries' order (insertion order until entries are reused), IPv4
// keys first, then IPv6 keys. The map must not change while it is iterated.
import { PrefixIntMap } from './prefix-int-map.js';
import { type PrefixKey } from './prefix-key.js';

const EMPTY = 0; // no key is 0: IPv4 keys start at 1 (the default route)
const MIN_BITS = 4;
/** Entries per chunk of values: 64 KiB arrays, ordinary (not large) heap objects. */
const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

/** The map; see the file comment. */
export class PrefixMap<V> {
  /** Each IPv4 key's entry. */
  private index = new PrefixIntMap();
  /** Per entry, its key (EMPTY when the entry is free). */
  private entryKeys = new Float64Array(1 << MIN_BITS);
  /** Per entry, its value, in chunks. */
  private chunks: (V | undefined)[][] = [];
  /** Entries ever used: 0..used-1 (some may be free). */
  private used = 0;
  /** Free entries below `used`, to reuse: a stack of `freeCount`. */
  private free = new Int32Array(1 << MIN_BITS);
  private freeCount = 0;
  private readonly text = new Map<string, V>();

  /** Entries held. */
  get size(): number {
    return this.index.size + this.text.size;
  }

  /**
   * The most slots an insertion walked past its key's home slot since the map was made
   * or cleared: how far its probe runs got (for diagnosis and tests).
   */
  get longestProbe(): number {
    return this.index.longestProbe;
  }

  private valueOf(entry: number): V {
    return (this.chunks[entry >> CHUNK_BITS] as (V | undefined)[])[entry & CHUNK_MASK] as V;
  }

  /** The value of `key`, or undefined when it is absent. */
  get(key: PrefixKey): V | undefined {
    if (typeof key !== 'number') return this.text.get(key);
    const entry = this.index.get(key);
    return entry < 0 ? undefined : this.valueOf(entry);
  }

  /** Whether `key` is in the map. */
  has(key: PrefixKey): boolean {
    return typeof key === 'number' ? this.index.get(key) >= 0 : this.text.has(key);
  }

  /** Sets `key` to `value` (a new key goes after the others in iteration order, or into a freed entry). */
  set(key: PrefixKey, value: V): this {
    if (typeof key !== 'number') {
      this.text.set(key, value);
      return this;
    }
    const entry = this.index.get(key);
    if (entry >= 0) (this.chunks[entry >> CHUNK_BITS] as (V | undefined)[])[entry & CHUNK_MASK] = value;
    else this.index.set(key, this.newEntry(key, value));
    return this;
  }

  /**
   * Sets `key` to `value` and returns what it had (undefined: absent), with one lookup
   * where `get` then `set` take two (three for a new key): once per route exported.
   */
  swap(key: PrefixKey, value: V): V | undefined {
    if (typeof key !== 'number') {
      const previous = this.text.get(key);
      this.text.set(key, value);
      return previous;
    }
    const entry = this.index.get(key);
    if (entry < 0) {
      this.index.set(key, this.newEntry(key, value));
      return undefined;
    }
    const chunk = this.chunks[entry >> CHUNK_BITS] as (V | undefined)[];
    const previous = chunk[entry & CHUNK_MASK];
    chunk[entry & CHUNK_MASK] = value;
    return previous;
  }

  /** Removes a key and returns its value (undefined: it was absent), as `get` then `delete` would. */
  take(key: PrefixKey): V | undefined {
    if (typeof key !== 'number') {
      const previous = this.text.get(key);
      this.text.delete(key);
      return previous;
    }
    const entry = this.index.get(key);
    if (entry < 0) return undefined;
    const previous = this.valueOf(entry);
    this.remove(key, entry);
    return previous;
  }

  /** Removes a key; true when it was there. */
  delete(key: PrefixKey): boolean {
    if (typeof key !== 'number') return this.text.delete(key);
    const entry = this.index.get(key);
    if (entry < 0) return false;
    this.remove(key, entry);
    return true;
  }

  /** Removes an IPv4 key known to be in `entry`. */
  private remove(key: number, entry: number): void {
    this.index.delete(key);
    this.freeEntry(entry);
    // Few of the entries ever used left (a table mostly withdrawn): packed, so their
    // arrays shrink with the slots. Amortised: a pack follows at least 3/4 of `used` deletions.
    if (this.used > 1 << MIN_BITS && this.index.size * 4 < this.used) this.pack();
  }

  /** Removes every entry and gives back the memory of the slots and entries. */
  clear(): void {
    this.index = new PrefixIntMap();
    this.entryKeys = new Float64Array(1 << MIN_BITS);
    this.chunks = [];
    this.used = 0;
    this.free = new Int32Array(1 << MIN_BITS);
    this.freeCount = 0;
    this.text.clear();
  }
  /** Calls `fn` for every entry (no tuple per entry, unlike {@link PrefixMap.entries}). */
  forEach(fn: (value: V, key: PrefixKey) => void): void {
    const keys = this.entryKeys;
    for (let e = 0; e < this.used; e += 1) {
      const k = keys[e] as number;
      if (k !== EMPTY) fn(this.valueOf(e), k);
    }
    for (const [k, v] of this.text) fn(v, k);
  }

  /** Every entry as a `[key, value]` pair (one array per entry), in the order of the file comment. */
  *entries(): IterableIterator<[PrefixKey, V]> {
    const keys = this.entryKeys;
    for (let e = 0; e < this.used; e += 1) {
      const k = keys[e] as number;
      if (k !== EMPTY) yield [k, this.valueOf(e)];
    }
    yield* this.text.entries();
  }

  /** Every key, in the order of {@link PrefixMap.entries}. */
  *keys(): IterableIterator<PrefixKey> {
    for (const [k] of this.entries()) yield k;
  }

  /** Every value, in the order of {@link PrefixMap.entries}. */
  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  /** The same as {@link PrefixMap.entries}. */
  [Symbol.iterator](): IterableIterator<[PrefixKey, V]> {
    return this.entries();
  }

  /** An entry for a new key: a free one, or the next. */
  private newEntry(key: number, value: V): number {
    let entry: number;
    if (this.freeCount > 0) {
      this.freeCount -= 1;
      entry = this.free[this.freeCount] as number;
    } else {
      entry = this.used;
      this.used += 1;
      if (entry === this.entryKeys.length) {
        const grown = new Float64Array(this.entryKeys.length * 2);
        grown.set(this.entryKeys);
        this.entryKeys = grown;
      }
      if (entry >> CHUNK_BITS === this.chunks.length) this.chunks.push(new Array<V | undefined>(CHUNK).fill(undefined));
    }
    this.entryKeys[entry] = key;
    (this.chunks[entry >> CHUNK_BITS] as (V | undefined)[])[entry & CHUNK_MASK] = value;
    return entry;
  }

  private freeEntry(entry: number): void {
    this.entryKeys[entry] = EMPTY;
    (this.chunks[entry >> CHUNK_BITS] as (V | undefined)[])[entry & CHUNK_MASK] = undefined;
    if (entry === this.used - 1) {
      this.used -= 1;
      return;
    }
    if (this.freeCount === this.free.length) {
      const grown = new Int32Array(this.free.length * 2);
      grown.set(this.free);
      this.free = grown;
    }
    this.free[this.freeCount] = entry;
    this.freeCount += 1;
  }

  /** Moves the entries in use to 0..size-1, in their order, and points the index at them. */
  private pack(): void {
    const count = this.index.size;
    const keys = new Float64Array(Math.max(1 << MIN_BITS, 2 ** Math.ceil(Math.log2(count + 1))));
    const chunks: (V | undefined)[][] = [];
    let n = 0;
    for (let e = 0; e < this.used; e += 1) {
      const k = this.entryKeys[e] as number;
      if (k === EMPTY) continue;
      if (n >> CHUNK_BITS === chunks.length) chunks.push(new Array<V | undefined>(CHUNK).fill(undefined));
      keys[n] = k;
      (chunks[n >> CHUNK_BITS] as (V | undefined)[])[n & CHUNK_MASK] = this.valueOf(e);
      if (n !== e) this.index.set(k, n);
      n += 1;
    }
    this.entryKeys = keys;
    this.chunks = chunks;
    this.used = n;
    this.free = new Int32Array(1 << MIN_BITS);
    this.freeCount = 0;
  }
}
