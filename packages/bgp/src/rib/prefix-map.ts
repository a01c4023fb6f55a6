// A map from RIB prefix keys (prefix-key.ts) to values, for the tables that hold one
// entry per route: the path lists and the per-peer Adj-RIB-Outs. IPv4 keys, numbers, live in an
// open-addressing hash table of typed arrays with linear probing: a lookup is one
// multiplication and, mostly, one or two adjacent slots, and a table of a million
// entries is two flat arrays rather than a million hash-chain entries (V8's Map). IPv6
// keys, strings, go to an ordinary Map beside it.
//
// Iteration order is not insertion order: IPv4 keys come in slot order, then IPv6 keys.
// The map must not change while it is iterated.
//
// The home slot is a Fibonacci hash of the key (its top bits after one multiplication),
// which spreads runs of consecutive prefixes evenly. It has one bad case: keys inserted
// in another map's slot order (a full table exported from the path lists into an empty
// Adj-RIB-Out) arrive sorted by home slot, more of them per slot than the smaller
// growing map has room for, and pile into one run that every insertion walks to its end:
// quadratic (a million routes took minutes). A map whose insertion probes that far
// switches to a mixed hash with a seed of its own (uncorrelated with any other map's
// order) and puts its keys back in place.

import { type PrefixKey } from './prefix-key.js';

const EMPTY = 0; // no key is 0: IPv4 keys start at 1 (the default route)
const MIN_BITS = 4;
const TWO_32 = 0x1_0000_0000;
/** Slots an insertion may probe before the map switches to its mixed hash (see the file comment). */
const LONG_PROBE = 64;

/** Seeds of mixed hashes: a different one per map that needs one. */
let seeds = 0;

/** An array of `n` undefined values (holey elements, not dictionary mode up to the sizes used here). */
function emptySlots<V>(n: number): (V | undefined)[] {
  return new Array<V | undefined>(n).fill(undefined);
}

/** The map; see the file comment. */
export class PrefixMap<V> {
  private bits = MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  private slots = new Float64Array(1 << MIN_BITS);
  private vals: (V | undefined)[] = emptySlots(1 << MIN_BITS);
  private count = 0;
  /** 0: Fibonacci hashing; otherwise the seed of the mixed hash (see the file comment). */
  private seed = 0;
  private longest = 0;
  private readonly text = new Map<string, V>();

  /** Entries held. */
  get size(): number {
    return this.count + this.text.size;
  }

  /** The slot where an IPv4 key's probe sequence starts: a hash of its 32 low bits, xor the 33rd. */
  private home(key: number): number {
    const low = key < TWO_32 ? key | 0 : (key - TWO_32) ^ 0x5bd1e995;
    const h = Math.imul(low, 0x9e3779b1);
    if (this.seed === 0) return h >>> (32 - this.bits);
    // The product's low bits, mixed into the top ones by a second multiplication, and the seed.
    const m = h ^ this.seed;
    return Math.imul(m ^ (m >>> 15), 0x2c1b3c6d) >>> (32 - this.bits);
  }

  /**
   * The most slots an insertion walked past its key's home slot since the map was made
   * or cleared: how far its probe runs got (for diagnosis and tests).
   */
  get longestProbe(): number {
    return this.longest;
  }

  get(key: PrefixKey): V | undefined {
    if (typeof key !== 'number') return this.text.get(key);
    const keys = this.slots;
    const mask = this.mask;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === key) return this.vals[i];
      if (k === EMPTY) return undefined;
    }
  }

  has(key: PrefixKey): boolean {
    if (typeof key !== 'number') return this.text.has(key);
    const keys = this.slots;
    const mask = this.mask;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === key) return true;
      if (k === EMPTY) return false;
    }
  }

  set(key: PrefixKey, value: V): this {
    if (typeof key !== 'number') {
      this.text.set(key, value);
      return this;
    }
    const keys = this.slots;
    const mask = this.mask;
    const home = this.home(key);
    for (let i = home; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === key) {
        this.vals[i] = value;
        return this;
      }
      if (k === EMPTY) {
        keys[i] = key;
        this.vals[i] = value;
        this.count += 1;
        // At most 5/8 full: probe runs stay short.
        const probe = (i - home) & mask;
        if (probe > this.longest) this.longest = probe;
        if (this.count * 8 > (mask + 1) * 5) this.resize(this.bits + 1);
        else if (this.seed === 0 && probe > LONG_PROBE) {
          seeds += 1;
          this.seed = Math.imul(seeds, 0x9e3779b9) | 1;
          this.resize(this.bits);
        }
        return this;
      }
    }
  }

  /** Removes a key; true when it was there. */
  delete(key: PrefixKey): boolean {
    if (typeof key !== 'number') return this.text.delete(key);
    const keys = this.slots;
    const vals = this.vals;
    const mask = this.mask;
    let i = this.home(key);
    for (; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === key) break;
      if (k === EMPTY) return false;
    }
    // Backward-shift deletion: later entries of the run move into the hole when their
    // home slot does not lie (cyclically) between the hole and themselves.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j] as number;
      if (k === EMPTY) break;
      const h = this.home(k);
      const between = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (between) continue;
      keys[hole] = k;
      vals[hole] = vals[j];
      hole = j;
    }
    keys[hole] = EMPTY;
    vals[hole] = undefined;
    this.count -= 1;
    // Shrinks only when nearly empty (1/64 full), and then at once to a quarter full: a
    // table emptied and filled again (a full table withdrawn, then re-sent) is not
    // rebuilt at every halving. New large arrays are slow to make (page faults).
    if (this.bits > MIN_BITS && this.count * 64 < mask + 1) this.resize(Math.max(MIN_BITS, 32 - Math.clz32(this.count * 4)));
    return true;
  }

  clear(): void {
    this.seed = 0;
    this.longest = 0;
    this.bits = MIN_BITS;
    this.mask = (1 << MIN_BITS) - 1;
    this.slots = new Float64Array(1 << MIN_BITS);
    this.vals = emptySlots(1 << MIN_BITS);
    this.count = 0;
    this.text.clear();
  }

  /** Calls `fn` for every entry (no tuple per entry, unlike {@link PrefixMap.entries}). */
  forEach(fn: (value: V, key: PrefixKey) => void): void {
    const keys = this.slots;
    const vals = this.vals;
    for (let i = 0; i < keys.length; i += 1) {
      const k = keys[i] as number;
      if (k !== EMPTY) fn(vals[i] as V, k);
    }
    for (const [k, v] of this.text) fn(v, k);
  }

  *entries(): IterableIterator<[PrefixKey, V]> {
    const keys = this.slots;
    const vals = this.vals;
    for (let i = 0; i < keys.length; i += 1) {
      const k = keys[i] as number;
      if (k !== EMPTY) yield [k, vals[i] as V];
    }
    yield* this.text.entries();
  }

  *keys(): IterableIterator<PrefixKey> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[PrefixKey, V]> {
    return this.entries();
  }

  private resize(bits: number): void {
    const oldKeys = this.slots;
    const oldVals = this.vals;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.slots = new Float64Array(1 << bits);
    this.vals = emptySlots(1 << bits);
    const keys = this.slots;
    const vals = this.vals;
    const mask = this.mask;
    for (let s = 0; s < oldKeys.length; s += 1) {
      const k = oldKeys[s] as number;
      if (k === EMPTY) continue;
      let i = this.home(k);
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = k;
      vals[i] = oldVals[s];
    }
  }
}
