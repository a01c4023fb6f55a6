// One route in the Loc-RIB's per-prefix list. A plain class with a fixed shape and no
// closures: at a million routes every field costs 4 MB.
import { type AttributeSet } from './attributes.js';
import { type PeerEntry } from './peer.js';

/** Bits of {@link Path.flags}. */
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
   * a route to it comes back meanwhile. Never seen outside the route table.
   */
  GONE: 8,
} as const;

/**
 * A path: the route to one prefix from one peer (and one ADD-PATH path identifier,
 * RFC 7911). The prefix's paths form a singly linked list whose head is the best path.
 * Together, a peer's paths are its Adj-RIB-In (after import policy; `received` keeps
 * the attributes as the peer sent them, for soft reconfiguration).
 */
export interface Path {
  readonly peer: PeerEntry;
  readonly pathId: number;
  attrs: AttributeSet;
  received: AttributeSet;
  next: Path | undefined;
  flags: number;
}

/**
 * A new path. One object literal, made here only: V8 tracks its allocation site and,
 * seeing that paths live long, allocates them in the old generation directly
 * (allocation-site pretenuring), which spares the young-generation copies of a
 * full table.
 */
export function newPath(peer: PeerEntry, pathId: number, attrs: AttributeSet, received: AttributeSet, next: Path | undefined, flags: number): Path {
  return { peer, pathId, attrs, received, next, flags };
}
