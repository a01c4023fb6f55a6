// The list of prefixes changed since the last flush (route-table.ts), in typed-array
// chunks, and a growable stack of path indices.
import { type PrefixKey } from './prefix-key.js';

/** The prefixes changed since the last flush, each with its FIB state before the first change. */
export interface Changes {
  /** Changes recorded: entries 0 to `count - 1`. */
  readonly count: number;
  /** The changed prefix of entry `i`. */
  key(i: number): PrefixKey;
  /** One path of the prefix of entry `i` (its head when the change was recorded); see `RouteTable.settle`. */
  path(i: number): number;
  /** The slot of the attribute set the FIB had for the prefix of entry `i` (-1: no route); the list holds a reference to it. */
  before(i: number): number;
}

/** Entries per chunk of a change list: 16 octets each (key, path, before). */
const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
/** Chunks a settled list keeps for reuse (16,384 entries, 256 KiB); the rest are dropped, bounding what it holds. */
const REUSED_CHUNKS = 2;

/**
 * A change list that is filled, taken, settled and then reused, in typed-array chunks:
 * a list of a million changes (a full table originated) grows by adding chunks, not by
 * copying. IPv4 keys are numbers of at least 1, so a 0 in `keys` stands for an IPv6
 * key, kept in the chunk's `texts`.
 */
export class ChangeList implements Changes {
  count = 0;
  private readonly keys: Float64Array[] = [];
  private readonly texts: (string[] | undefined)[] = [];
  private readonly paths: Int32Array[] = [];
  private readonly befores: Int32Array[] = [];

  add(key: PrefixKey, path: number, before: number): void {
    const i = this.count;
    const c = i >> CHUNK_BITS;
    if (c === this.keys.length) {
      this.keys.push(new Float64Array(CHUNK));
      this.texts.push(undefined);
      this.paths.push(new Int32Array(CHUNK));
      this.befores.push(new Int32Array(CHUNK));
    }
    const o = i & CHUNK_MASK;
    if (typeof key === 'number') (this.keys[c] as Float64Array)[o] = key;
    else {
      (this.keys[c] as Float64Array)[o] = 0;
      (this.texts[c] ??= [])[o] = key;
    }
    (this.paths[c] as Int32Array)[o] = path;
    (this.befores[c] as Int32Array)[o] = before;
    this.count = i + 1;
  }

  key(i: number): PrefixKey {
    const k = (this.keys[i >> CHUNK_BITS] as Float64Array)[i & CHUNK_MASK] as number;
    return k !== 0 ? k : ((this.texts[i >> CHUNK_BITS] as string[])[i & CHUNK_MASK] as string);
  }

  path(i: number): number {
    return (this.paths[i >> CHUNK_BITS] as Int32Array)[i & CHUNK_MASK] as number;
  }

  before(i: number): number {
    return (this.befores[i >> CHUNK_BITS] as Int32Array)[i & CHUNK_MASK] as number;
  }

  /** Forgets the entries and all but {@link REUSED_CHUNKS} chunks. */
  clear(): void {
    const kept = Math.min(this.keys.length, REUSED_CHUNKS);
    this.keys.length = kept;
    this.paths.length = kept;
    this.befores.length = kept;
    this.texts.length = kept;
    this.texts.fill(undefined);
    this.count = 0;
  }
}

/** A stack of path indices that grows by doubling. */
export class IndexStack {
  length = 0;
  private items = new Int32Array(64);

  push(value: number): void {
    if (this.length === this.items.length) {
      const grown = new Int32Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.length] = value;
    this.length += 1;
  }

  at(i: number): number {
    return this.items[i] as number;
  }

  /** Empties the stack; gives its memory back when it had grown large. */
  clear(): void {
    this.length = 0;
    if (this.items.length > 65_536) this.items = new Int32Array(64);
  }
}
