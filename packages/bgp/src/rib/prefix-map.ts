// A map from RIB prefix keys (prefix-key.ts) to values, for the tables that hold one
// entry per route: the path lists and the per-peer Adj-RIB-Outs. IPv4 keys, numbers, live
// in an open-addressing hash table with linear probing: a lookup is one multiplication
// and, mostly, one or two adjacent slots, and a table of a million entries is a few flat
// arrays rather than a million hash-chain entries (V8's Map). IPv6 keys, strings, go to
// an ordinary Map beside it.
//
// Each slot is two 32-bit words of one Int32Array, side by side (8 octets, half what two
// doubles took: a million routes' slots are 16 MiB instead of 32, fewer cache lines and
// pages to miss on every lookup and to fault in at every doubling): the key's low 32
// bits, and a word holding a TAKEN bit, the key's 33rd bit (IPv4 keys are below 2^33:
// prefix-key.ts) and the index of its entry (below 2^30). Entries hold the values, and
// their keys whole, in chunks of 8,192, and stay put:
// growing the table copies only the slots (typed arrays are cheap to make; a JavaScript
// array of two million slots cost ~5 times as much to allocate, at every doubling, and
// was most of a full table's growth). A deleted entry's index is reused.
//
// Iteration order is the entries' order (insertion order until entries are reused), IPv4
// keys first, then IPv6 keys. The map must not change while it is iterated.
//
// The home slot is a Fibonacci hash of the key (its top bits after one multiplication),
// which spreads runs of consecutive prefixes evenly. It has one bad case: keys inserted
// sorted by their home slot in a larger table (in another map's slot order) pile into one
// run that every insertion walks to its end: quadratic. A map whose insertion probes that
// far switches to a mixed hash with a seed of its own (uncorrelated with any other map's
// order) and puts its keys back in place. (A resize is not that case: its table has its
// final size before the first key goes in.)

import { type PrefixKey } from './prefix-key.js';

const EMPTY = 0; // no key is 0: IPv4 keys start at 1 (the default route)
/** In a slot's second word: the slot holds a key (a free slot's second word is 0). */
const TAKEN = 0x8000_0000 | 0;
/** In a slot's second word: the key's bit 32 (an IPv4 /32's key). */
const HIGH = 0x4000_0000;
/** A slot's second word: these bits tell the key's bit 32 of a taken slot. */
const TAG = TAKEN | HIGH;
/** A slot's second word: the entry index. */
const ENTRY = HIGH - 1;
const MIN_BITS = 4;
const TWO_32 = 0x1_0000_0000;
/** Slots an insertion may probe before the map switches to its mixed hash (see the file comment). */
const LONG_PROBE = 64;
/** Entries per chunk of values: 64 KiB arrays, ordinary (not large) heap objects. */
const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

/** Seeds of mixed hashes: a different one per map that needs one. */
let seeds = 0;

/** A seed for a map that switches to the mixed hash: a new one at every call. */
export function nextSeed(): number {
  seeds += 1;
  return Math.imul(seeds, 0x9e3779b9) | 1;
}

/**
 * The slot where an IPv4 key's probe sequence starts in a table of 2^`bits` slots, from
 * the key's low 32 bits and its bit 32 (`high`): a Fibonacci hash of the low bits, xor
 * a constant for the 33rd; with a `seed` (not 0), the product's low bits mixed into
 * the top ones by a second multiplication, and the seed.
 */
export function homeSlot(low32: number, high: number, bits: number, seed: number): number {
  const low = high === 0 ? low32 : low32 ^ 0x5bd1e995;
  const h = Math.imul(low, 0x9e3779b1);
  if (seed === 0) return h >>> (32 - bits);
  const m = h ^ seed;
  return Math.imul(m ^ (m >>> 15), 0x2c1b3c6d) >>> (32 - bits);
}

/** The map; see the file comment. */
export class PrefixMap<V> {
  private bits = MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  /** Slot i: the key's low 32 bits at 2i; at 2i + 1, 0 when free, else TAKEN, HIGH and the entry index. */
  private slots = new Int32Array(2 << MIN_BITS);
  /** Per entry, its key (EMPTY when the entry is free). */
  private entryKeys = new Float64Array(1 << MIN_BITS);
  /** Per entry, its value, in chunks. */
  private chunks: (V | undefined)[][] = [];
  /** Entries ever used: 0..used-1 (some may be free). */
  private used = 0;
  /** Free entries below `used`, to reuse: a stack of `freeCount`. */
  private free = new Int32Array(1 << MIN_BITS);
  private freeCount = 0;
  private count = 0;
  /** 0: Fibonacci hashing; otherwise the seed of the mixed hash (see the file comment). */
  private seed = 0;
  private longest = 0;
  private readonly text = new Map<string, V>();

  /** Entries held. */
  get size(): number {
    return this.count + this.text.size;
  }

  /**
   * The most slots an insertion walked past its key's home slot since the map was made
   * or cleared: how far its probe runs got (for diagnosis and tests).
   */
  get longestProbe(): number {
    return this.longest;
  }

  /**
   * The slot where an IPv4 key's probe sequence starts, from the key's low 32 bits and
   * its bit 32: a hash of the low bits, xor a constant for the 33rd.
   */
  private home(low32: number, high: number): number {
    return homeSlot(low32, high, this.bits, this.seed);
  }

  private valueOf(entry: number): V {
    return (this.chunks[entry >> CHUNK_BITS] as (V | undefined)[])[entry & CHUNK_MASK] as V;
  }

  /** The value of `key`, or undefined when it is absent. */
  get(key: PrefixKey): V | undefined {
    if (typeof key !== 'number') return this.text.get(key);
    const slots = this.slots;
    const mask = this.mask;
    const low = key | 0;
    const tag = key < TWO_32 ? TAKEN : TAG;
    for (let i = this.home(low, key < TWO_32 ? 0 : 1); ; i = (i + 1) & mask) {
      const w = slots[2 * i + 1] as number;
      if (w === 0) return undefined;
      if (slots[2 * i] === low && (w & TAG) === tag) return this.valueOf(w & ENTRY);
    }
  }

  /** Whether `key` is in the map. */
  has(key: PrefixKey): boolean {
    if (typeof key !== 'number') return this.text.has(key);
    const slots = this.slots;
    const mask = this.mask;
    const low = key | 0;
    const tag = key < TWO_32 ? TAKEN : TAG;
    for (let i = this.home(low, key < TWO_32 ? 0 : 1); ; i = (i + 1) & mask) {
      const w = slots[2 * i + 1] as number;
      if (w === 0) return false;
      if (slots[2 * i] === low && (w & TAG) === tag) return true;
    }
  }

  /** Sets `key` to `value` (a new key goes after the others in iteration order, or into a freed entry). */
  set(key: PrefixKey, value: V): this {
    if (typeof key !== 'number') {
      this.text.set(key, value);
      return this;
    }
    const slots = this.slots;
    const mask = this.mask;
    const low = key | 0;
    const tag = key < TWO_32 ? TAKEN : TAG;
    const home = this.home(low, key < TWO_32 ? 0 : 1);
    for (let i = home; ; i = (i + 1) & mask) {
      const w = slots[2 * i + 1] as number;
      if (w === 0) {
        const entry = this.newEntry(key, value);
        slots[2 * i] = low;
        slots[2 * i + 1] = tag | entry;
        this.count += 1;
        const probe = (i - home) & mask;
        if (probe > this.longest) this.longest = probe;
        // At most 5/8 full: probe runs stay short.
        if (this.count * 8 > (mask + 1) * 5) this.resize(this.bits + 1);
        else if (this.seed === 0 && probe > LONG_PROBE) {
          this.seed = nextSeed();
          this.resize(this.bits);
        }
        return this;
      }
      if (slots[2 * i] === low && (w & TAG) === tag) {
        const entry = w & ENTRY;
        (this.chunks[entry >> CHUNK_BITS] as (V | undefined)[])[entry & CHUNK_MASK] = value;
        return this;
      }
    }
  }

  /** Removes a key; true when it was there. */
  delete(key: PrefixKey): boolean {
    if (typeof key !== 'number') return this.text.delete(key);
    const slots = this.slots;
    const mask = this.mask;
    const low = key | 0;
    const tag = key < TWO_32 ? TAKEN : TAG;
    let i = this.home(low, key < TWO_32 ? 0 : 1);
    for (; ; i = (i + 1) & mask) {
      const w = slots[2 * i + 1] as number;
      if (w === 0) return false;
      if (slots[2 * i] === low && (w & TAG) === tag) break;
    }
    this.freeEntry((slots[2 * i + 1] as number) & ENTRY);
    // Backward-shift deletion: later entries of the run move into the hole when their
    // home slot does not lie (cyclically) between the hole and themselves.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const w = slots[2 * j + 1] as number;
      if (w === 0) break;
      const h = this.home(slots[2 * j] as number, (w >>> 30) & 1);
      const between = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (between) continue;
      slots[2 * hole] = slots[2 * j] as number;
      slots[2 * hole + 1] = w;
      hole = j;
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    this.count -= 1;
    // Shrinks only when nearly empty (1/64 full), and then at once to a quarter full: a
    // table emptied and filled again (a full table withdrawn, then re-sent) is not
    // rebuilt at every halving.
    if (this.bits > MIN_BITS && this.count * 64 < mask + 1) this.resize(Math.max(MIN_BITS, 32 - Math.clz32(this.count * 4)));
    return true;
  }

  /** Removes every entry and gives back the memory of the slots and entries. */
  clear(): void {
    this.seed = 0;
    this.longest = 0;
    this.bits = MIN_BITS;
    this.mask = (1 << MIN_BITS) - 1;
    this.slots = new Int32Array(2 << MIN_BITS);
    this.entryKeys = new Float64Array(1 << MIN_BITS);
    this.chunks = [];
    this.used = 0;
    this.free = new Int32Array(1 << MIN_BITS);
    this.freeCount = 0;
    this.count = 0;
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

  /**
   * Rebuilds the slots with `bits` bits, taking the old ones in slot order: under the
   * same hash their homes come in increasing order into a table already of its final
   * size, so the writes go forward through memory. When the entries in use are few
   * against those ever used (after a shrink), they are packed first.
   */
  private resize(bits: number): void {
    const remap = this.count * 2 < this.used ? this.pack() : undefined;
    const old = this.slots;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    const slots = new Int32Array(2 << bits);
    const mask = this.mask;
    for (let s = 0; s < old.length; s += 2) {
      const w = old[s + 1] as number;
      if (w === 0) continue;
      const low = old[s] as number;
      let i = this.home(low, (w >>> 30) & 1);
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = low;
      slots[2 * i + 1] = remap === undefined ? w : (w & TAG) | (remap[w & ENTRY] as number);
    }
    this.slots = slots;
  }

  /** Moves the entries in use to 0..count-1; returns where each old entry went. */
  private pack(): Int32Array {
    const remap = new Int32Array(this.used);
    const keys = new Float64Array(Math.max(1 << MIN_BITS, 2 ** Math.ceil(Math.log2(this.count + 1))));
    const chunks: (V | undefined)[][] = [];
    let n = 0;
    for (let e = 0; e < this.used; e += 1) {
      const k = this.entryKeys[e] as number;
      if (k === EMPTY) continue;
      if (n >> CHUNK_BITS === chunks.length) chunks.push(new Array<V | undefined>(CHUNK).fill(undefined));
      keys[n] = k;
      (chunks[n >> CHUNK_BITS] as (V | undefined)[])[n & CHUNK_MASK] = this.valueOf(e);
      remap[e] = n;
      n += 1;
    }
    this.entryKeys = keys;
    this.chunks = chunks;
    this.used = n;
    this.free = new Int32Array(1 << MIN_BITS);
    this.freeCount = 0;
    return remap;
  }
}
