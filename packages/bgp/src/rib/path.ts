// The Loc-RIB's paths, as a struct of arrays: a path is an index into typed arrays
// (its peer's index, ADD-PATH id, attribute set slots, next path, flags), ~19 octets a
// route and no JavaScript object. A million routes are six flat arrays instead of a
// million objects of ~72 octets that the collector would have to trace, move and, at
// every receipt, allocate. Attribute sets are referred to by their slot
// (attributes.ts), peers by their index (peer.ts).
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

/**
 * The storage of paths. Indices of removed paths are reused ({@link PathPool.free});
 * the arrays grow when full (a copy of each, ~19 octets a path). When the last path
 * is freed (a full table withdrawn, or its peer gone) the arrays stay, as standby
 * memory, for the table that usually follows (the same peer's, after a session flap):
 * it fills them again without growing them from nothing, in fresh pages the kernel
 * must fault in and zero. {@link PathPool.releaseStandby} gives them back.
 */
export class PathPool {
  /** Per path, its peer's index. */
  peers = new Uint16Array(INITIAL);
  /** Per path, its ADD-PATH path identifier. */
  pathIds = new Uint32Array(INITIAL);
  /** Per path, the slot of its attribute set after import policy. */
  attrs = new Int32Array(INITIAL);
  /** Per path, the slot of its attribute set as received. */
  received = new Int32Array(INITIAL);
  /** Per path, the next path of its list, or NO_PATH; for a free path, the next free one. */
  nexts = new Int32Array(INITIAL);
  /** Per path, its PATH_FLAG bits. */
  flags = new Uint8Array(INITIAL);
  /** Indices ever used: 0..used-1. */
  private used = 0;
  /** Paths added and not freed. */
  private live = 0;
  private freeHead = NO_PATH;

  /** Paths the arrays have room for. */
  get capacity(): number {
    return this.peers.length;
  }

  /** The index the next {@link PathPool.add} returns. */
  get nextIndex(): number {
    return this.freeHead !== NO_PATH ? this.freeHead : this.used;
  }

  /** A new path; its index ({@link PathPool.nextIndex}). */
  add(peer: number, pathId: number, attrs: number, received: number, next: number, flags: number): number {
    let p = this.freeHead;
    if (p !== NO_PATH) this.freeHead = this.nexts[p] as number;
    else {
      p = this.used;
      if (p === this.peers.length) this.grow();
      this.used = p + 1;
    }
    this.live += 1;
    this.peers[p] = peer;
    this.pathIds[p] = pathId;
    this.attrs[p] = attrs;
    this.received[p] = received;
    this.nexts[p] = next;
    this.flags[p] = flags;
    return p;
  }

  /** The PATH_FLAG bits of path `p`. */
  flagsOf(p: number): number {
    return this.flags[p] as number;
  }

  /** Sets `bits` in the flags of path `p`. */
  mark(p: number, bits: number): void {
    this.flags[p] = (this.flags[p] as number) | bits;
  }

  /** Clears `bits` in the flags of path `p`. */
  unmark(p: number, bits: number): void {
    this.flags[p] = (this.flags[p] as number) & ~bits;
  }

  /** Gives a path's index back for reuse. */
  free(p: number): void {
    this.live -= 1;
    this.flags[p] = 0;
    if (this.live === 0) {
      // Every path gone: the next table fills the arrays from the start, in index order
      // (the free list, in the order the paths were removed, would scatter it).
      this.used = 0;
      this.freeHead = NO_PATH;
      return;
    }
    this.nexts[p] = this.freeHead;
    this.freeHead = p;
  }

  /** With no path left, gives the arrays back (see the class comment); true when it did. */
  releaseStandby(): boolean {
    if (this.live > 0 || this.peers.length === INITIAL) return false;
    this.peers = new Uint16Array(INITIAL);
    this.pathIds = new Uint32Array(INITIAL);
    this.attrs = new Int32Array(INITIAL);
    this.received = new Int32Array(INITIAL);
    this.nexts = new Int32Array(INITIAL);
    this.flags = new Uint8Array(INITIAL);
    this.used = 0;
    this.freeHead = NO_PATH;
    return true;
  }

  private grow(): void {
    const length = this.peers.length;
    const size = length < QUADRUPLE_BELOW ? length * 4 : length + (length >> 1);
    const grown = <T extends Uint16Array | Uint32Array | Int32Array | Uint8Array>(old: T, make: new (n: number) => T): T => {
      const a = new make(size);
      a.set(old);
      return a;
    };
    this.peers = grown(this.peers, Uint16Array);
    this.pathIds = grown(this.pathIds, Uint32Array);
    this.attrs = grown(this.attrs, Int32Array);
    this.received = grown(this.received, Int32Array);
    this.nexts = grown(this.nexts, Int32Array);
    this.flags = grown(this.flags, Uint8Array);
  }
}
