// The per-prefix path lists (RFC 4271 §3.2): for every prefix a singly linked list of
// paths whose head is the best, which is at once every peer's Adj-RIB-In and the
// Loc-RIB. Every change records the prefix's FIB state before its first change since
// the last flush, so that a flush pushes only what really changed. Whether a prefix is
// already recorded is a flag on the head of its list (moved along when the head
// changes), so that a route costs one Path and one Map entry, and no lookup beyond
// those of the list itself. A prefix whose last path leaves keeps that path in the
// table, marked GONE, until the flush settles it: a route that comes back meanwhile
// finds the prefix already recorded. The change lists are reused from flush to flush
// (on a loaded machine, growing a new array of 100k entries costs more than filling it),
// and grow by chunks.
import { type AttributeSet, AttributeTable } from './attributes.js';
import { type DecisionOptions, selectBest } from './decision.js';
import { PATH_FLAG, type Path, newPath } from './path.js';
import { type PeerEntry } from './peer.js';
import { type PrefixKey, keyFamily } from './prefix-key.js';
import { PrefixMap } from './prefix-map.js';

/** What the FIB holds for a prefix whose list starts at `head`: the best path's attributes, or null. */
function fibState(head: Path | undefined): AttributeSet | null {
  return head !== undefined && (head.flags & PATH_FLAG.BEST) !== 0 && !head.peer.local ? head.attrs : null;
}

/** The prefixes changed since the last flush, each with its FIB state before the first change. */
export interface Changes {
  /** Changes recorded: entries 0 to `count - 1`. */
  readonly count: number;
  /** The changed prefix of entry `i`. */
  key(i: number): PrefixKey;
  /** One path of the prefix of entry `i` (its head when the change was recorded); see {@link RouteTable.settle}. */
  path(i: number): Path;
  /** The attributes the FIB had for the prefix of entry `i` (null: no route). */
  before(i: number): AttributeSet | null;
}

/** Entries per chunk of a change list: 64 KiB arrays, ordinary young-generation objects. */
const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
/** Chunks a settled list keeps for reuse (131,072 entries); the rest are dropped, bounding what it holds. */
const REUSED_CHUNKS = 16;

/**
 * A change list that is filled, taken, settled and then reused. Its entries live in
 * fixed chunks, so that a list of a million changes (a full table originated) grows by
 * adding chunks rather than by copying three arrays of a million entries again and
 * again, each a large object the collector must account for.
 */
class ChangeList implements Changes {
  count = 0;
  private readonly keys: PrefixKey[][] = [];
  private readonly paths: (Path | undefined)[][] = [];
  private readonly befores: (AttributeSet | null)[][] = [];

  add(key: PrefixKey, path: Path, before: AttributeSet | null): void {
    const i = this.count;
    const c = i >> CHUNK_BITS;
    if (c === this.keys.length) {
      this.keys.push(new Array<PrefixKey>(CHUNK).fill(0));
      this.paths.push(new Array<Path | undefined>(CHUNK).fill(undefined));
      this.befores.push(new Array<AttributeSet | null>(CHUNK).fill(null));
    }
    const o = i & CHUNK_MASK;
    (this.keys[c] as PrefixKey[])[o] = key;
    (this.paths[c] as (Path | undefined)[])[o] = path;
    (this.befores[c] as (AttributeSet | null)[])[o] = before;
    this.count = i + 1;
  }

  key(i: number): PrefixKey {
    return (this.keys[i >> CHUNK_BITS] as PrefixKey[])[i & CHUNK_MASK] as PrefixKey;
  }

  path(i: number): Path {
    return (this.paths[i >> CHUNK_BITS] as (Path | undefined)[])[i & CHUNK_MASK] as Path;
  }

  before(i: number): AttributeSet | null {
    return (this.befores[i >> CHUNK_BITS] as (AttributeSet | null)[])[i & CHUNK_MASK] ?? null;
  }

  /** Forgets the entries (no path or attribute set stays referenced) and all but {@link REUSED_CHUNKS} chunks. */
  clear(): void {
    const kept = Math.min(this.keys.length, REUSED_CHUNKS);
    const used = Math.min(this.count, kept * CHUNK);
    for (let c = 0; c * CHUNK < used; c += 1) {
      const n = Math.min(CHUNK, used - c * CHUNK);
      (this.keys[c] as PrefixKey[]).fill(0, 0, n);
      (this.paths[c] as (Path | undefined)[]).fill(undefined, 0, n);
      (this.befores[c] as (AttributeSet | null)[]).fill(null, 0, n);
    }
    this.keys.length = kept;
    this.paths.length = kept;
    this.befores.length = kept;
    this.count = 0;
  }
}

/** The paths of every prefix, the decision process over them, and the changes since the last flush. */
export class RouteTable {
  readonly attributes = new AttributeTable();
  /**
   * Per prefix, the head of its path list (the best path when it has the BEST flag), or
   * its last path marked GONE until the next flush settles the prefix.
   */
  private readonly heads = new PrefixMap<Path>();
  /** Heads marked GONE. */
  private gone = 0;
  private changes = new ChangeList();
  /** A settled list, ready for reuse. */
  private spare: ChangeList | undefined;

  constructor(private readonly decision: DecisionOptions) {}

  /** Prefixes with at least one path. */
  get size(): number {
    return this.heads.size - this.gone;
  }

  /** Changes recorded since the last {@link RouteTable.takeChanges}. */
  get changeCount(): number {
    return this.changes.count;
  }

  /** The first path of a prefix's list (the best when it has the BEST flag). */
  head(key: PrefixKey): Path | undefined {
    const head = this.heads.get(key);
    return head !== undefined && (head.flags & PATH_FLAG.GONE) === 0 ? head : undefined;
  }

  /** The best path for a prefix, or undefined. */
  best(key: PrefixKey): Path | undefined {
    const head = this.heads.get(key);
    return head !== undefined && (head.flags & PATH_FLAG.BEST) !== 0 ? head : undefined;
  }

  /** Every prefix with its list's head (in no particular order). */
  *entries(): IterableIterator<[PrefixKey, Path]> {
    for (const entry of this.heads.entries()) if ((entry[1].flags & PATH_FLAG.GONE) === 0) yield entry;
  }

  /** Calls `fn` for every prefix with its list's head; the table must not change meanwhile. */
  forEachHead(fn: (head: Path, key: PrefixKey) => void): void {
    if (this.gone === 0) return this.heads.forEach(fn);
    this.heads.forEach((head, key) => {
      if ((head.flags & PATH_FLAG.GONE) === 0) fn(head, key);
    });
  }

  /**
   * The prefixes changed since the last call. The caller passes each path to
   * {@link RouteTable.settle} (at once or in slices between changes), settles one list
   * completely before taking the next, and then gives it back with
   * {@link RouteTable.releaseChanges}.
   */
  takeChanges(): Changes {
    const taken = this.changes;
    this.changes = this.spare ?? new ChangeList();
    this.spare = undefined;
    return taken;
  }

  /** A list from {@link RouteTable.takeChanges}, settled: its first chunks are reused for a later list. */
  releaseChanges(changes: Changes): void {
    if (!(changes instanceof ChangeList) || changes === this.changes) return;
    changes.clear();
    this.spare = changes;
  }

  /**
   * The best path now of the prefix of a changed path, or undefined; ends the change.
   * The recorded path is usually still the head (it carries the CHANGED mark); only
   * when the head changed is the prefix looked up. A prefix left without paths leaves
   * the table here: a route added later is a new change.
   */
  settle(key: PrefixKey, path: Path): Path | undefined {
    const head = (path.flags & PATH_FLAG.CHANGED) !== 0 ? path : this.heads.get(key);
    if (head === undefined) return undefined;
    if ((head.flags & PATH_FLAG.GONE) !== 0) {
      this.heads.delete(key);
      this.gone -= 1;
      return undefined;
    }
    head.flags &= ~PATH_FLAG.CHANGED;
    return (head.flags & PATH_FLAG.BEST) !== 0 ? head : undefined;
  }

  /** Adds or replaces the path of `peer` (and `pathId`); true when something changed. */
  upsert(peer: PeerEntry, key: PrefixKey, pathId: number, attrs: AttributeSet, received: AttributeSet): boolean {
    const head = this.heads.get(key);
    if (head === undefined || (head.flags & PATH_FLAG.GONE) !== 0) {
      // A prefix without paths (most routes of an initial table): nothing to search or compare.
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      let flags = PATH_FLAG.CHANGED;
      if (peer.local || this.decision.igpCost(attrs.value.nextHop) !== undefined) flags |= PATH_FLAG.BEST;
      const path = newPath(peer, pathId, attrs, received, undefined, flags);
      this.heads.set(key, path);
      // A prefix emptied since the last flush is recorded already (by its GONE path).
      if (head === undefined) this.record(key, path, null);
      else this.gone -= 1;
      return true;
    }
    let found: Path | undefined;
    for (let p: Path | undefined = head; p; p = p.next) {
      if (p.peer === peer && p.pathId === pathId) {
        found = p;
        break;
      }
    }
    if (found) {
      const wasStale = (found.flags & PATH_FLAG.STALE) !== 0;
      if (found.attrs === attrs && found.received === received && !wasStale) return false;
      this.touch(key, head);
      attrs.refs += 1;
      received.refs += 1;
      this.attributes.release(found.attrs);
      this.attributes.release(found.received);
      found.attrs = attrs;
      found.received = received;
      if (wasStale) {
        found.flags &= ~PATH_FLAG.STALE;
        peer.stale -= 1;
      }
    } else {
      this.touch(key, head);
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      head.next = newPath(peer, pathId, attrs, received, head.next, 0);
    }
    this.decide(key, head);
    return true;
  }

  /** Removes the path of `peer` (and `pathId`); true when there was one. */
  remove(peer: PeerEntry, key: PrefixKey, pathId: number): boolean {
    const head = this.head(key);
    let prev: Path | undefined;
    for (let p = head; p; prev = p, p = p.next) {
      if (p.peer !== peer || p.pathId !== pathId) continue;
      this.unlink(key, head as Path, p, prev);
      return true;
    }
    return false;
  }

  /** Visits a peer's paths (optionally of one family); removes those for which `fn` returns true. */
  removeWhere(peer: PeerEntry, family: 4 | 6 | undefined, fn: (path: Path) => boolean): number {
    // `count` is every path of the peer, stale ones too: none, no table walk (a peer removed
    // after its session went down would otherwise walk a full table to find nothing).
    if (peer.count === 0) return 0;
    const doomed: Path[] = [];
    const doomedKeys: PrefixKey[] = [];
    this.forEachHead((head, key) => {
      if (family !== undefined && keyFamily(key) !== family) return;
      for (let p: Path | undefined = head; p; p = p.next) {
        if (p.peer === peer && fn(p)) {
          doomed.push(p);
          doomedKeys.push(key);
        }
      }
    });
    for (let i = 0; i < doomed.length; i += 1) {
      const path = doomed[i] as Path;
      const key = doomedKeys[i] as PrefixKey;
      const head = this.head(key);
      let prev: Path | undefined;
      for (let p = head; p; prev = p, p = p.next) {
        if (p !== path) continue;
        this.unlink(key, head as Path, p, prev);
        break;
      }
    }
    return doomed.length;
  }

  private record(key: PrefixKey, path: Path, before: AttributeSet | null): void {
    this.changes.add(key, path, before);
  }

  /** Records the FIB state of a prefix before its first change in this batch. */
  private touch(key: PrefixKey, head: Path): void {
    if ((head.flags & PATH_FLAG.CHANGED) !== 0) return;
    head.flags |= PATH_FLAG.CHANGED;
    this.record(key, head, fibState(head));
  }

  private unlink(key: PrefixKey, head: Path, p: Path, prev: Path | undefined): void {
    this.touch(key, head);
    let first = head;
    if (prev) prev.next = p.next;
    else if (p.next) {
      first = p.next;
      first.flags |= PATH_FLAG.CHANGED;
      this.heads.set(key, first);
    } else {
      // The last path: it stays as the prefix's GONE marker until the flush settles the prefix.
      p.flags |= PATH_FLAG.GONE;
      this.gone += 1;
    }
    // Out of the list, it no longer marks the prefix as changed (settle looks the prefix up).
    p.flags &= ~PATH_FLAG.CHANGED;
    p.peer.count -= 1;
    if ((p.flags & PATH_FLAG.STALE) !== 0) p.peer.stale -= 1;
    this.attributes.release(p.attrs);
    this.attributes.release(p.received);
    if (first !== p) this.decide(key, first);
  }

  /** Runs the decision process for a prefix and moves the best path to the head (with the CHANGED flag). */
  private decide(key: PrefixKey, head: Path): void {
    const best = selectBest(head, this.decision);
    head.flags &= ~PATH_FLAG.BEST;
    if (!best) return;
    if (best !== head) {
      let prev = head;
      while (prev.next !== best && prev.next) prev = prev.next;
      prev.next = best.next;
      best.next = head;
      best.flags |= head.flags & PATH_FLAG.CHANGED;
      head.flags &= ~PATH_FLAG.CHANGED;
      this.heads.set(key, best);
    }
    best.flags |= PATH_FLAG.BEST;
  }
}
