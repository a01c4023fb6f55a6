// The per-prefix path lists (RFC 4271 §3.2): for every prefix a singly linked list of
// paths whose head is the best, which is at once every peer's Adj-RIB-In and the
// Loc-RIB. Every change records the prefix's FIB state before its first change since
// the last flush, so that a flush pushes only what really changed. Whether a prefix is
// already recorded is a flag on the head of its list (moved along when the head
// changes), so that a route costs one Path and one Map entry, and no lookup beyond
// those of the list itself.
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
  /** One path of each changed prefix (its head when the change was recorded); see {@link RouteTable.settle}. */
  readonly paths: readonly Path[];
  /** The attributes the FIB had (null: no route), per path. */
  readonly before: readonly (AttributeSet | null)[];
}

/** The paths of every prefix, the decision process over them, and the changes since the last flush. */
export class RouteTable {
  readonly attributes = new AttributeTable();
  /** Per prefix, the head of its path list (the best path when it has the BEST flag). */
  private readonly heads = new PrefixMap<Path>();
  private changedPaths: Path[] = [];
  private changedBefore: (AttributeSet | null)[] = [];
  /** Changed prefixes whose last path left during the batch (no head to carry the CHANGED flag). */
  private readonly emptied = new PrefixMap<true>();

  constructor(private readonly decision: DecisionOptions) {}

  /** Prefixes with at least one path. */
  get size(): number {
    return this.heads.size;
  }

  /** Changes recorded since the last {@link RouteTable.takeChanges}. */
  get changeCount(): number {
    return this.changedPaths.length;
  }

  /** The first path of a prefix's list (the best when it has the BEST flag). */
  head(key: PrefixKey): Path | undefined {
    return this.heads.get(key);
  }

  /** The best path for a prefix, or undefined. */
  best(key: PrefixKey): Path | undefined {
    const head = this.heads.get(key);
    return head !== undefined && (head.flags & PATH_FLAG.BEST) !== 0 ? head : undefined;
  }

  /** Every prefix with its list's head (in no particular order). */
  entries(): IterableIterator<[PrefixKey, Path]> {
    return this.heads.entries();
  }

  /** Calls `fn` for every prefix with its list's head; the table must not change meanwhile. */
  forEachHead(fn: (head: Path, key: PrefixKey) => void): void {
    this.heads.forEach(fn);
  }

  /**
   * The prefixes changed since the last call. The caller passes each path to
   * {@link RouteTable.settle} (all before any other change to the table, then
   * {@link RouteTable.forgetEmptied}; or in slices between changes, with `sliced`),
   * and settles one list completely before taking the next.
   */
  takeChanges(): Changes {
    const changes = { paths: this.changedPaths, before: this.changedBefore };
    this.changedPaths = [];
    this.changedBefore = [];
    return changes;
  }

  /**
   * The best path now of the prefix of a changed path, or undefined; ends the change.
   * The recorded path is usually still the head (it carries the CHANGED mark); only
   * when the head changed is the prefix looked up.
   */
  settle(path: Path, sliced = false): Path | undefined {
    const head = (path.flags & PATH_FLAG.CHANGED) !== 0 ? path : this.heads.get(path.key);
    if (head === undefined) {
      // The prefix's emptiness is dealt with here: a route added later is a new change.
      // (A flush that settles a whole change list at once calls forgetEmptied instead.)
      if (sliced && this.emptied.size > 0) this.emptied.delete(path.key);
      return undefined;
    }
    head.flags &= ~PATH_FLAG.CHANGED;
    return (head.flags & PATH_FLAG.BEST) !== 0 ? head : undefined;
  }

  /** Every change list taken has been settled: no prefix emptied during them is still waiting. */
  forgetEmptied(): void {
    if (this.emptied.size > 0) this.emptied.clear();
  }

  /** Adds or replaces the path of `peer` (and `pathId`); true when something changed. */
  upsert(peer: PeerEntry, key: PrefixKey, pathId: number, attrs: AttributeSet, received: AttributeSet): boolean {
    const head = this.heads.get(key);
    if (head === undefined) {
      // A prefix without paths (most routes of an initial table): nothing to search or compare.
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      let flags = PATH_FLAG.CHANGED;
      if (peer.local || this.decision.igpCost(attrs.value.nextHop) !== undefined) flags |= PATH_FLAG.BEST;
      const path = newPath(peer, pathId, key, attrs, received, undefined, flags);
      this.heads.set(key, path);
      if (this.emptied.size === 0 || !this.emptied.delete(key)) this.record(path, null);
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
      this.touch(head);
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
      this.touch(head);
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      head.next = newPath(peer, pathId, key, attrs, received, head.next, 0);
    }
    this.decide(key, head);
    return true;
  }

  /** Removes the path of `peer` (and `pathId`); true when there was one. */
  remove(peer: PeerEntry, key: PrefixKey, pathId: number): boolean {
    const head = this.heads.get(key);
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
    this.heads.forEach((head, key) => {
      if (family !== undefined && keyFamily(key) !== family) return;
      for (let p: Path | undefined = head; p; p = p.next) if (p.peer === peer && fn(p)) doomed.push(p);
    });
    for (const path of doomed) {
      const key = path.key;
      const head = this.heads.get(key);
      let prev: Path | undefined;
      for (let p = head; p; prev = p, p = p.next) {
        if (p !== path) continue;
        this.unlink(key, head as Path, p, prev);
        break;
      }
    }
    return doomed.length;
  }

  private record(path: Path, before: AttributeSet | null): void {
    this.changedPaths.push(path);
    this.changedBefore.push(before);
  }

  /** Records the FIB state of a prefix before its first change in this batch. */
  private touch(head: Path): void {
    if ((head.flags & PATH_FLAG.CHANGED) !== 0) return;
    head.flags |= PATH_FLAG.CHANGED;
    this.record(head, fibState(head));
  }

  private unlink(key: PrefixKey, head: Path, p: Path, prev: Path | undefined): void {
    this.touch(head);
    let first = head;
    if (prev) prev.next = p.next;
    else if (p.next) {
      first = p.next;
      first.flags |= PATH_FLAG.CHANGED;
      this.heads.set(key, first);
    } else {
      this.heads.delete(key);
      this.emptied.set(key, true);
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
