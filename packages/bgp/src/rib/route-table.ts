// The per-prefix path lists (RFC 4271 §3.2): for every prefix a singly linked list of
// paths whose head is the best, which is at once every peer's Adj-RIB-In and the
// Loc-RIB. Every change records the prefix's FIB state before its first change since
// the last flush, on the prefix's own entry, so that a flush visits the changed
// prefixes without looking them up again and pushes only what really changed.
import { type AttributeSet, AttributeTable } from './attributes.js';
import { type DecisionOptions, selectBest } from './decision.js';
import { PATH_FLAG, Path } from './path.js';
import { type PeerEntry } from './peer.js';
import { type PrefixKey, keyFamily } from './prefix-key.js';

/** One prefix: its path list and its place in the current batch of changes. */
export class PrefixEntry {
  /** The first path; the best one when it has the BEST flag. Undefined: no path (removed at the next flush). */
  head: Path | undefined = undefined;
  /**
   * Changed since the last flush: the attributes the FIB had before the first change
   * (null: no route). Undefined: not changed.
   */
  before: AttributeSet | null | undefined = undefined;

  constructor(readonly key: PrefixKey) {}

  /** The best path, or undefined. */
  get best(): Path | undefined {
    const head = this.head;
    return head !== undefined && (head.flags & PATH_FLAG.BEST) !== 0 ? head : undefined;
  }
}

/** What the FIB holds for a prefix whose list starts at `head`: the best path's attributes, or null. */
function fibState(head: Path | undefined): AttributeSet | null {
  return head !== undefined && (head.flags & PATH_FLAG.BEST) !== 0 && !head.peer.local ? head.attrs : null;
}

/** The paths of every prefix, the decision process over them, and the changes since the last flush. */
export class RouteTable {
  readonly attributes = new AttributeTable();
  private readonly entries = new Map<PrefixKey, PrefixEntry>();
  private changes: PrefixEntry[] = [];
  private count = 0;

  constructor(private readonly decision: DecisionOptions) {}

  /** Prefixes with at least one path. */
  get size(): number {
    return this.count;
  }

  /** The first path of a prefix's list (the best when it has the BEST flag). */
  head(key: PrefixKey): Path | undefined {
    return this.entries.get(key)?.head;
  }

  /** The best path for a prefix, or undefined. */
  best(key: PrefixKey): Path | undefined {
    return this.entries.get(key)?.best;
  }

  /** Every prefix with at least one path. */
  *prefixes(): Generator<PrefixEntry> {
    for (const entry of this.entries.values()) if (entry.head !== undefined) yield entry;
  }

  /**
   * The prefixes changed since the last call, each with `before` set; the caller
   * compares and then calls {@link RouteTable.settle} on each.
   */
  takeChanges(): PrefixEntry[] {
    const out = this.changes;
    this.changes = [];
    return out;
  }

  /** Ends a change: forgets `before` and drops the entry when no path is left. */
  settle(entry: PrefixEntry): void {
    entry.before = undefined;
    if (entry.head === undefined && this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  /** Adds or replaces the path of `peer` (and `pathId`); true when something changed. */
  upsert(peer: PeerEntry, key: PrefixKey, pathId: number, attrs: AttributeSet, received: AttributeSet): boolean {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = new PrefixEntry(key);
      this.entries.set(key, entry);
    }
    const head = entry.head;
    if (head === undefined) {
      // A prefix without paths (most routes of an initial table): nothing to search or compare.
      this.touch(entry);
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      this.count += 1;
      const path = new Path(peer, pathId, attrs, received, undefined, 0);
      entry.head = path;
      if (path.peer.local || this.decision.igpCost(attrs.value.nextHop) !== undefined) path.flags = PATH_FLAG.BEST;
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
      this.touch(entry);
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
      this.touch(entry);
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      head.next = new Path(peer, pathId, attrs, received, head.next, 0);
    }
    this.decide(entry);
    return true;
  }

  /** Removes the path of `peer` (and `pathId`); true when there was one. */
  remove(peer: PeerEntry, key: PrefixKey, pathId: number): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    let prev: Path | undefined;
    for (let p = entry.head; p; prev = p, p = p.next) {
      if (p.peer !== peer || p.pathId !== pathId) continue;
      this.unlink(entry, p, prev);
      return true;
    }
    return false;
  }

  /** Visits a peer's paths (optionally of one family); removes those for which `fn` returns true. */
  removeWhere(peer: PeerEntry, family: 4 | 6 | undefined, fn: (path: Path) => boolean): number {
    const doomed: [PrefixEntry, Path][] = [];
    for (const entry of this.entries.values()) {
      if (family !== undefined && keyFamily(entry.key) !== family) continue;
      for (let p = entry.head; p; p = p.next) if (p.peer === peer && fn(p)) doomed.push([entry, p]);
    }
    for (const [entry, path] of doomed) {
      let prev: Path | undefined;
      for (let p = entry.head; p; prev = p, p = p.next) {
        if (p !== path) continue;
        this.unlink(entry, p, prev);
        break;
      }
    }
    return doomed.length;
  }

  /** Records the FIB state of a prefix before its first change in this batch. */
  private touch(entry: PrefixEntry): void {
    if (entry.before !== undefined) return;
    entry.before = fibState(entry.head);
    this.changes.push(entry);
  }

  private unlink(entry: PrefixEntry, p: Path, prev: Path | undefined): void {
    this.touch(entry);
    if (prev) prev.next = p.next;
    else entry.head = p.next;
    if (entry.head === undefined) this.count -= 1;
    p.peer.count -= 1;
    if ((p.flags & PATH_FLAG.STALE) !== 0) p.peer.stale -= 1;
    this.attributes.release(p.attrs);
    this.attributes.release(p.received);
    this.decide(entry);
  }

  /** Runs the decision process for a prefix and moves the best path to the head. */
  private decide(entry: PrefixEntry): void {
    const head = entry.head;
    if (!head) return;
    const best = selectBest(head, this.decision);
    head.flags &= ~PATH_FLAG.BEST;
    if (!best) return;
    if (best !== head) {
      let prev = head;
      while (prev.next !== best && prev.next) prev = prev.next;
      prev.next = best.next;
      best.next = head;
      entry.head = best;
    }
    best.flags |= PATH_FLAG.BEST;
  }
}
