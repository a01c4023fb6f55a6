// A map from RIB prefix keys (prefix-key.ts) to small integers (0 to 2^30 - 1), for the
// route table's heads: per prefix, the index of the first path of its list. An IPv4 key
// and its value live in one hash slot of two 32-bit words, nothing else: the key's low
// 32 bits, and a word holding a TAKEN bit, the key's 33rd bit (IPv4 keys are below 2^33)
// and the value. A million prefixes are one Int32Array of 16 MiB, against PrefixMap's
// slots plus its per-entry keys and value chunks (~1.8 times as much; PrefixMap keeps its
// entries' indices in one of these), and a lookup reads one slot, not a slot and then its
// entry. IPv6 keys, strings, go to an ordinary Map beside it.
//
// Iteration follows the slots (the keys' hash order), IPv4 keys first, then IPv6 keys
// in insertion order. The map must not change while it is iterated.
//
// Growth keeps the table at most 5/8 full (four times over while small, see
// QUADRUPLE_BELOW_BITS). Deleting keys one by one shrinks it only when nearly empty
// (1/64 full), and then at once to a quarter full, so a table emptied and filled again
// is not rebuilt at every halving. A sweep (the route table's tombstones) never shrinks
// it: the slots stay as standby memory for the next table (usually the same peer's,
// after a session flap), which then fills them without growing from nothing in fresh
// pages, until `releaseStandby` gives them back.
//
// Keys that differ only in their low three bits (eight adjacent prefixes of one length:
// /24s of one /21, a node's /26 blocks from one IPAM pool) share a block of eight slots,
// 64 octets, and go in by those bits: the block is a Fibonacci hash of the rest of the
// key (its top bits after one multiplication), which spreads the blocks evenly. Tables
// often arrive in prefix order (BIRD sends a static table in the order it was added: a
// million /24s in a row, seen in the benchmark), so eight new prefixes in a row touch
// one cache line of the slots (two where a block straddles lines), not eight anywhere in
// 16 MiB: a speaker takes a million /24s in order with half the CPU time (140 against
// 280 ms, bench/bgp-speaker-cpu.ts; the probes' cache misses were most of it). Blocks
// make runs of taken slots longer where many are full (an average probe of 2-3 slots,
// where single keys have 0.4), and change nothing for keys looked up in a random order
// (one miss either way).
//
// It has one bad case: keys inserted sorted by their home slot in a larger table (in
// another map's slot order) pile into one run that every insertion walks to its end:
// quadratic. A map whose insertion probes that far switches to a mixed hash with a seed
// of its own (uncorrelated with any other map's order) and puts its keys back in place.
// (A resize is not that case: its table has its final size before the first key goes
// in.)

import { type PrefixKey } from './prefix-key.js';

/** In a slot's second word: the slot holds a key (a free slot's second word is 0). */
const TAKEN = 0x8000_0000 | 0;
/** In a slot's second word: the key's bit 32 (an IPv4 /32's key). */
const HIGH = 0x4000_0000;
/** A slot's second word: these bits tell the key's bit 32 of a taken slot. */
const TAG = TAKEN | HIGH;
/** A slot's second word: the value. */
const VALUE = HIGH - 1;
const MIN_BITS = 4;
/**
 * Below this many bits (2^18 slots, 2 MiB) a full table grows four times over, not two:
 * a table filled from empty (a peer's first table, or one after a session flap) moves
 * a third as many entries on its way to 100k, for at most 1.5 MiB more than doubling
 * would hold; from there on it doubles, so a million entries take what they did.
 */
const QUADRUPLE_BELOW_BITS = 18;
const TWO_32 = 0x1_0000_0000;
/** A key's low bits that place it within its block (see the file comment): blocks of 8 slots, 64 octets. */
const BLOCK_BITS = 3;
const BLOCK_MASK = (1 << BLOCK_BITS) - 1;
/**
 * Slots an insertion may probe before the map switches to its seeded hash. At 5/8 full
 * the longest run of a million keys reaches 60-90 slots on its own (random keys) and a
 * few hundred with blocks of adjacent prefixes (measured), which must not cost a map its
 * blocks; a pile-up passes this within ~1000 insertions (half a million slot reads).
 */
const LONG_PROBE = 1024;

/** Seeds of mixed hashes: a different one per map that needs one. */
let seeds = 0;

/** A seed for a map that switches to the mixed hash: a new one at every call. */
function nextSeed(): number {
  seeds += 1;
  return Math.imul(seeds, 0x9e3779b9) | 1;
}

/**
 * The slot where an IPv4 key's probe sequence starts in a table of 2^`bits` slots
 * (`bits` > BLOCK_BITS), from the key's low 32 bits and its bit 32 (`high`, which
 * flips bits of the low ones by a constant): its block, a Fibonacci hash of all but its
 * BLOCK_BITS lowest bits, and those bits within the block; with a `seed` (not 0), no
 * blocks: a Fibonacci hash of the whole key with its low bits mixed into the top ones
 * by a second multiplication, and the seed.
 */
function homeSlot(low32: number, high: number, bits: number, seed: number): number {
  const low = high === 0 ? low32 : low32 ^ 0x5bd1e995;
  if (seed === 0) return ((Math.imul(low >>> BLOCK_BITS, 0x9e3779b1) >>> (32 - bits + BLOCK_BITS)) << BLOCK_BITS) | (low & BLOCK_MASK);
  const m = Math.imul(low, 0x9e3779b1) ^ seed;
  return Math.imul(m ^ (m >>> 15), 0x2c1b3c6d) >>> (32 - bits);
}

/** The map; see the file comment. Values must be integers from 0 to 2^30 - 1. */
export class PrefixIntMap {
  private bits = MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  /** Slot i: the key's low 32 bits at 2i; at 2i + 1, 0 when free, else TAKEN, HIGH and the value. */
  private slots = new Int32Array(2 << MIN_BITS);
  private count = 0;
  /** 0: Fibonacci hashing; otherwise the seed of the mixed hash. */
  private seed = 0;
  private longest = 0;
  private readonly text = new Map<string, number>();

  /** Entries held. */
  get size(): number {
    return this.count + this.text.size;
  }

  /** Hash slots (for IPv4 keys), free or taken. */
  get capacity(): number {
    return this.mask + 1;
  }

  /** One more IPv4 key would make the slots grow. */
  get full(): boolean {
    return (this.count + 1) * 8 > (this.mask + 1) * 5;
  }

  /** The most slots an insertion walked past its key's home slot (for diagnosis and tests). */
  get longestProbe(): number {
    return this.longest;
  }

  /**
   * Reads the home slots of `count` IPv4 keys of `keys` and nothing more: independent
   * loads, whose cache misses the CPU overlaps, ahead of the lookups that follow (see
   * RouteTable.warm). Returns a number made of what it read, so that the reads stay.
   */
  touch(keys: Float64Array, count: number): number {
    const slots = this.slots;
    const bits = this.bits;
    const seed = this.seed;
    let sum = 0;
    for (let i = 0; i < count; i += 1) {
      const key = keys[i] as number;
      sum += slots[2 * homeSlot(key | 0, key < TWO_32 ? 0 : 1, bits, seed) + 1] as number;
    }
    return sum;
  }

  /** The value of `key`, or -1 when it is absent. */
  get(key: PrefixKey): number {
    if (typeof key !== 'number') return this.text.get(key) ?? -1;
    const slots = this.slots;
    const mask = this.mask;
    const low = key | 0;
    const high = key < TWO_32 ? 0 : 1;
    const tag = high === 0 ? TAKEN : TAG;
    for (let i = homeSlot(low, high, this.bits, this.seed); ; i = (i + 1) & mask) {
      const w = slots[2 * i + 1] as number;
      if (w === 0) return -1;
      if (slots[2 * i] === low && (w & TAG) === tag) return w & VALUE;
    }
  }

  /** Sets `key` to `value`. */
  set(key: PrefixKey, value: number): void {
    this.put(key, value, true);
  }

  /**
   * The value of `key`; when it is absent, adds it with `value` and returns -1: one
   * probe where a lookup and then a `set` take two (a table's new prefixes).
   */
  getOrAdd(key: PrefixKey, value: number): number {
    return this.put(key, value, false);
  }

  /** Adds `key` with `value`, or finds it and (with `replace`) sets it; its value before, or -1. */
  private put(key: PrefixKey, value: number, replace: boolean): number {
    if (typeof key !== 'number') {
      const before = this.text.get(key);
      if (before === undefined || replace) this.text.set(key, value);
      return before ?? -1;
    }
    const slots = this.slots;
    const mask = this.mask;
    const low = key | 0;
    const high = key < TWO_32 ? 0 : 1;
    const tag = high === 0 ? TAKEN : TAG;
    const home = homeSlot(low, high, this.bits, this.seed);
    for (let i = home; ; i = (i + 1) & mask) {
      const w = slots[2 * i + 1] as number;
      if (w === 0) {
        slots[2 * i] = low;
        slots[2 * i + 1] = tag | value;
        this.count += 1;
        const probe = (i - home) & mask;
        if (probe > this.longest) this.longest = probe;
        if (this.count * 8 > (mask + 1) * 5) this.resize(this.bits + (this.bits < QUADRUPLE_BELOW_BITS ? 2 : 1));
        else if (this.seed === 0 && probe > LONG_PROBE) {
          this.seed = nextSeed();
          this.resize(this.bits);
        }
        return -1;
      }
      if (slots[2 * i] === low && (w & TAG) === tag) {
        if (replace) slots[2 * i + 1] = tag | value;
        return w & VALUE;
      }
    }
  }

  /** Removes a key; true when it was there. */
  delete(key: PrefixKey): boolean {
    if (typeof key !== 'number') return this.text.delete(key);
    const slots = this.slots;
    const mask = this.mask;
    const low = key | 0;
    const high = key < TWO_32 ? 0 : 1;
    const tag = high === 0 ? TAKEN : TAG;
    let i = homeSlot(low, high, this.bits, this.seed);
    for (; ; i = (i + 1) & mask) {
      const w = slots[2 * i + 1] as number;
      if (w === 0) return false;
      if (slots[2 * i] === low && (w & TAG) === tag) break;
    }
    // Backward-shift deletion: later entries of the run move into the hole when their
    // home slot does not lie (cyclically) between the hole and themselves.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const w = slots[2 * j + 1] as number;
      if (w === 0) break;
      const h = homeSlot(slots[2 * j] as number, (w >>> 30) & 1, this.bits, this.seed);
      const between = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (between) continue;
      slots[2 * hole] = slots[2 * j] as number;
      slots[2 * hole + 1] = w;
      hole = j;
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    this.count -= 1;
    if (this.bits > MIN_BITS && this.count * 64 < mask + 1) this.resize(Math.max(MIN_BITS, 32 - Math.clz32(this.count * 4)));
    return true;
  }

  /**
   * Removes every entry whose value `drop` accepts, in one pass over the slots, then
   * moves the entries left back toward their home slots in a second, in place (where
   * deleting them one by one would be a random access each, and a rebuild a new array).
   */
  sweep(drop: (value: number) => boolean): void {
    const slots = this.slots;
    let kept = 0;
    let freed = 0;
    /** A slot that was free before this sweep: no probe sequence runs through it. */
    let empty = -1;
    for (let s = 0; s < slots.length; s += 2) {
      const w = slots[s + 1] as number;
      if (w === 0) {
        if (empty < 0) empty = s >> 1;
        continue;
      }
      if (drop(w & VALUE)) {
        slots[s] = 0;
        slots[s + 1] = 0;
        freed += 1;
      } else kept += 1;
    }
    for (const [k, v] of this.text) if (drop(v)) this.text.delete(k);
    this.count = kept;
    // The table keeps its size (standby, see the file comment).
    // Growth keeps a table at most 5/8 full, so a slot was free before the sweep.
    if (freed > 0 && kept > 0) this.closeGaps(empty);
  }

  /**
   * After slots were freed in bulk: moves each entry to the first free slot of its probe
   * sequence, if that lies before it, so that no lookup stops at a freed slot short of
   * its key. The walk starts after `start`, a slot that was free before the slots were
   * freed (so no run of entries crosses it, and no entry moves into it), and goes once
   * around the table: each run is walked from its first slot, and the entries before
   * each one in its run are in place when it is looked at. (A slot freed by the sweep
   * would not do: an entry of a run crossing it could move into it, and a later one
   * leave a hole before it at the end of the walk.)
   */
  private closeGaps(start: number): void {
    const slots = this.slots;
    const mask = this.mask;
    for (let n = 1; n <= mask; n += 1) {
      const j = (start + n) & mask;
      const w = slots[2 * j + 1] as number;
      if (w === 0) continue;
      const low = slots[2 * j] as number;
      let i = homeSlot(low, (w >>> 30) & 1, this.bits, this.seed);
      while (i !== j && slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      if (i === j) continue;
      slots[2 * i] = low;
      slots[2 * i + 1] = w;
      slots[2 * j] = 0;
      slots[2 * j + 1] = 0;
    }
  }

  /** Removes every entry; the slots stay (standby, as after a sweep). */
  clear(): void {
    this.slots.fill(0);
    this.count = 0;
    this.text.clear();
  }

  /**
   * Shrinks the slots to the smallest table at most 5/8 full, as growth keeps it (the
   * size a {@link PrefixIntMap.sweep} kept); true when they shrank.
   */
  releaseStandby(): boolean {
    let bits = MIN_BITS;
    while (this.count * 8 > (1 << bits) * 5) bits += 1;
    if (bits >= this.bits) return false;
    this.resize(bits);
    return true;
  }

  /** Calls `fn` for every entry, in the order of the file comment. */
  forEach(fn: (value: number, key: PrefixKey) => void): void {
    const slots = this.slots;
    for (let s = 0; s < slots.length; s += 2) {
      const w = slots[s + 1] as number;
      if (w !== 0) fn(w & VALUE, keyOf(slots[s] as number, w));
    }
    for (const [k, v] of this.text) fn(v, k);
  }

  /** Every entry as a `[key, value]` pair (one array per entry), in the order of the file comment. */
  *entries(): IterableIterator<[PrefixKey, number]> {
    const slots = this.slots;
    for (let s = 0; s < slots.length; s += 2) {
      const w = slots[s + 1] as number;
      if (w !== 0) yield [keyOf(slots[s] as number, w), w & VALUE];
    }
    yield* this.text.entries();
  }

  /**
   * Rebuilds the slots with `bits` bits, taking the old ones in slot order: under the
   * same hash their homes come in increasing order into a table already of its final
   * size, so the writes go forward through memory.
   */
  private resize(bits: number): void {
    const old = this.slots;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    const slots = new Int32Array(2 << bits);
    const mask = this.mask;
    for (let s = 0; s < old.length; s += 2) {
      const w = old[s + 1] as number;
      if (w === 0) continue;
      const low = old[s] as number;
      let i = homeSlot(low, (w >>> 30) & 1, bits, this.seed);
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = low;
      slots[2 * i + 1] = w;
    }
    this.slots = slots;
  }
}

/** The IPv4 key of a taken slot: its low 32 bits, and bit 32 from the tag. */
function keyOf(low: number, w: number): number {
  return (w & HIGH) !== 0 ? TWO_32 + (low >>> 0) : low >>> 0;
}
