// The Loc-RIB's paths, as records in one typed array: a path is an index, and its four
// 32-bit words hold its next path, its attribute set slots (after import policy and as
// received) and its peer's index with its flags; 16 octets a route and no JavaScript
// object. A million routes are one flat array instead of a million objects of ~72
// octets that the collector would have to trace, move and, at every receipt, allocate.
// One record per path, not one array per field: a path read out of order (a table is
// withdrawn in the order of the sender's own hash table, which looks random) is one
// cache line, where six arrays were six misses. ADD-PATH identifiers (RFC 7911) have an
// array of their own, made when a path with one arrives. Attribute sets are referred to
// by their slot (attributes.ts), peers by their index (peer.ts).
import { type AttributeSet } from './attributes.js';
import { type PeerEntry } from './peer.js';

/** Bits of a path's flags. */
export const PATH_FLAG = {
  /** Kept for a restarting peer until its End-of-RIB or the restart timer (RFC 4724 §4.2). */
  STALE: 1,
  /** The Loc-RIB's best path for the prefix (always the head of the list). */
  BEST: 2,
  /**
   * On the head of a prefix's list: the prefix changed since the last flush (its FIB
   * state before the change is recorded in the route table's change list).
   */
  CHANGED: 4,
  /**
   * A prefix's last path, removed: it stays in the table, in place of the head, until
   * the flush settles the prefix, so that the prefix is recorded as changed once even if
   * a route to it comes back meanwhile; settled, it stays as a tombstone until the table
   * sweeps it. Never seen outside the route table.
   */
  GONE: 8,
} as const;

/** No path: the end of a list. */
export const NO_PATH = -1;

/** Peer indices a path can name besides the local pseudo-peer's 0: 16 bits of its record. */
export const MAX_PEERS = 0xffff;

/**
 * Read access to paths by index: the route table's. A prefix's paths form a singly
 * linked list whose head is the best path. Together, a peer's paths are its
 * Adj-RIB-In (after import policy; `receivedOf` keeps the attributes as the peer sent
 * them, for soft reconfiguration).
 */
export interface PathReader {
  /** The peer the path came from. */
  peerOf(p: number): PeerEntry;
  /** Its attributes after import policy. */
  attrsOf(p: number): AttributeSet;
  /** Its attributes as received. */
  receivedOf(p: number): AttributeSet;
  /** Its ADD-PATH path identifier (RFC 7911), 0 without ADD-PATH. */
  pathIdOf(p: number): number;
  /** Its {@link PATH_FLAG} bits. */
  flagsOf(p: number): number;
  /** The next path of the prefix's list, or {@link NO_PATH}. */
  nextOf(p: number): number;
}

/** Paths held before the first growth. */
const INITIAL = 1024;

/**
 * Below this many paths a full pool grows four times over, not by half: a table filled
 * from empty (a peer's first table, or one after a session flap) copies its paths
 * three times on its way to 100k rather than eleven; from there on it grows by half,
 * so a million paths take about what they did.
 */
const QUADRUPLE_BELOW = 65_536;

/** A path's record: 2^2 words. */
const SHIFT = 2;
/** Word of a record: the next path of the list, or NO_PATH; for a free path, the next free one. */
const NEXT = 0;
/** Word of a record: the slot of the attribute set after import policy. */
const ATTRS = 1;
/** Word of a record: the slot of the attribute set as received. */
const RECEIVED = 2;
/** Word of a record: the peer's index (low 16 bits) and the PATH_FLAG bits (from bit 16). */
const META = 3;
const PEER_MASK = MAX_PEERS;
const FLAGS_SHIFT = 16;

/**
 * The storage of paths. Indices of removed paths are reused ({@link PathPool.free});
 * the records grow when full (one copy). When the last path is freed (a full table
 * withdrawn, or its peer gone) the records stay, as standby memory, for the table that
 * usually follows (the same peer's, after a session flap): it fills them again without
 * growing them from nothing, in fresh pages the kernel must fault in and zero.
 * {@link PathPool.releaseStandby} gives them back.
 */
export class PathPool {
  /** The records, four words per path (see the file comment). */
  private records = new Int32Array(INITIAL << SHIFT);
  /** Per path, its ADD-PATH identifier; none until a path with one (not 0) is added. */
  private ids: Uint32Array | undefined;
  /** Indices ever used: 0..used-1. */
  private used = 0;
  /** Paths added and not freed. */
  private live = 0;
  private freeHead = NO_PATH;

  /** Paths added and not freed. */
  get size(): number {
    return this.live;
  }

  /** Paths the records have room for. */
  get capacity(): number {
    return this.records.length >> SHIFT;
  }

  /** The index the next {@link PathPool.add} returns. */
  get nextIndex(): number {
    return this.freeHead !== NO_PATH ? this.freeHead : this.used;
  }

  /** A new path (`peer` below 2^16, `flags` PATH_FLAG bits); its index ({@link PathPool.nextIndex}). */
  add(peer: number, pathId: number, attrs: number, received: number, next: number, flags: number): number {
    let p = this.freeHead;
    if (p !== NO_PATH) this.freeHead = this.records[(p << SHIFT) + NEXT] as number;
    else {
      p = this.used;
      if (p === this.capacity) this.grow();
      this.used = p + 1;
    }
    this.live += 1;
    const r = p << SHIFT;
    const records = this.records;
    records[r + NEXT] = next;
    records[r + ATTRS] = attrs;
    records[r + RECEIVED] = received;
    records[r + META] = peer | (flags << FLAGS_SHIFT);
    if (this.ids !== undefined) this.ids[p] = pathId;
    else if (pathId !== 0) {
      this.ids = new Uint32Array(this.capacity);
      this.ids[p] = pathId;
    }
    return p;
  }

  /** The index of the peer of path `p`. */
  peerOf(p: number): number {
    return (this.records[(p << SHIFT) + META] as number) & PEER_MASK;
  }

  /** The ADD-PATH identifier of path `p` (0 without one). */
  pathIdOf(p: number): number {
    return this.ids === undefined ? 0 : (this.ids[p] as number);
  }

  /** The slot of the attribute set of path `p` after import policy. */
  attrsOf(p: number): number {
    return this.records[(p << SHIFT) + ATTRS] as number;
  }

  /** The slot of the attribute set of path `p` as received. */
  receivedOf(p: number): number {
    return this.records[(p << SHIFT) + RECEIVED] as number;
  }

  /** Sets both attribute set slots of path `p`. */
  setAttrs(p: number, attrs: number, received: number): void {
    this.records[(p << SHIFT) + ATTRS] = attrs;
    this.records[(p << SHIFT) + RECEIVED] = received;
  }

  /** The path after `p` in its list, or NO_PATH. */
  nextOf(p: number): number {
    return this.records[(p << SHIFT) + NEXT] as number;
  }

  /** Sets the path after `p` in its list. */
  setNext(p: number, next: number): void {
    this.records[(p << SHIFT) + NEXT] = next;
  }

  /** The PATH_FLAG bits of path `p`. */
  flagsOf(p: number): number {
    return (this.records[(p << SHIFT) + META] as number) >>> FLAGS_SHIFT;
  }

  /** Sets `bits` in the flags of path `p`. */
  mark(p: number, bits: number): void {
    this.records[(p << SHIFT) + META] = (this.records[(p << SHIFT) + META] as number) | (bits << FLAGS_SHIFT);
  }

  /** Clears `bits` in the flags of path `p`. */
  unmark(p: number, bits: number): void {
    this.records[(p << SHIFT) + META] = (this.records[(p << SHIFT) + META] as number) & ~(bits << FLAGS_SHIFT);
  }

  /** Gives a path's index back for reuse. */
  free(p: number): void {
    this.live -= 1;
    this.records[(p << SHIFT) + META] = 0;
    if (this.live === 0) {
      // Every path gone: the next table fills the records from the start, in index order
      // (the free list, in the order the paths were removed, would scatter it).
      this.used = 0;
      this.freeHead = NO_PATH;
      return;
    }
    this.records[(p << SHIFT) + NEXT] = this.freeHead;
    this.freeHead = p;
  }

  /** Frees every path at once; the records stay (standby, as when the last path is freed). */
  clear(): void {
    this.live = 0;
    this.used = 0;
    this.freeHead = NO_PATH;
  }

  /** With no path left, gives the records back (see the class comment); true when it did. */
  releaseStandby(): boolean {
    if (this.live > 0 || (this.capacity === INITIAL && this.ids === undefined)) return false;
    this.records = new Int32Array(INITIAL << SHIFT);
    this.ids = undefined;
    this.used = 0;
    this.freeHead = NO_PATH;
    return true;
  }

  private grow(): void {
    const length = this.capacity;
    const size = length < QUADRUPLE_BELOW ? length * 4 : length + (length >> 1);
    const records = new Int32Array(size << SHIFT);
    records.set(this.records);
    this.records = records;
    if (this.ids !== undefined) {
      const ids = new Uint32Array(size);
      ids.set(this.ids);
      this.ids = ids;
    }
  }
}
