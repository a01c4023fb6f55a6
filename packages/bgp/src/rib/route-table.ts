// The per-prefix path lists (RFC 4271 §3.2): for every prefix a singly linked list of
// paths whose head is the best, which is at once every peer's Adj-RIB-In and the
// Loc-RIB. Paths are indices of records in a typed array (path.ts): receiving a route
// allocates no object. Every change records the prefix's FIB state before its first
// change since the last flush, so that a flush pushes only what really changed. Whether
// a prefix is already recorded is a flag on the head of its list (moved along when the
// head changes), so that a route costs one path and one map entry, and no lookup beyond
// those of the list itself. A prefix whose last path leaves keeps that path in the
// table, marked GONE, and still CHANGED until the flush settles it: a route that comes
// back meanwhile finds the prefix already recorded. Settled, the GONE path stays as a
// tombstone, so that neither the flush nor the withdrawal pays a second random access
// to the hash table per route. Tombstones are swept in one pass over the table (`sweep`)
// once every prefix is gone (then the table is emptied whole, no tombstone looked at),
// or when a new prefix would make the table grow while a quarter of it is tombstones;
// until then they take slots of the table, which keeps its size as standby memory. A
// quiet speaker's `releaseStandby` sweeps them too. (Sweeping a partly withdrawn table
// reads each tombstone's path, a cache miss each when the table was withdrawn in the
// sender's hash order: it waits until the slots are needed.)
//
// A change list names paths by index, so a removed path's index is reused only once no
// change list can still name it: it is retired, and freed when the list taken after
// its removal has been settled (see `retire`). Likewise the list keeps a reference to
// the attribute set the FIB had (the `before`), so that its slot names that set until
// the flush compares it.
import { type AttributeSet, AttributeTable } from './attributes.js';
import { type Changes, ChangeList, IndexStack } from './change-list.js';
import { type DecisionOptions, selectBest } from './decision.js';
import { NO_PATH, PATH_FLAG, type PathReader, PathPool } from './path.js';
import { type PeerEntry } from './peer.js';
import { type PrefixKey, keyFamily } from './prefix-key.js';
import { PrefixIntMap } from './prefix-int-map.js';

/** The paths of every prefix, the decision process over them, and the changes since the last flush. */
export class RouteTable implements PathReader {
  readonly attributes = new AttributeTable();
  private readonly pool = new PathPool();
  /** Peers by index (PeerEntry.index). */
  private readonly peers: PeerEntry[] = [];
  /**
   * Per prefix, the head of its path list (the best path when it has the BEST flag), or
   * its last path marked GONE: CHANGED until the next flush settles the prefix, then a
   * tombstone until swept.
   */
  private readonly heads = new PrefixIntMap();
  /** A list from {@link RouteTable.takeChanges} is out, not yet given back settled. */
  private taken = false;
  /** Heads marked GONE: pending (CHANGED) and settled (tombstones). */
  private gone = 0;
  /** Heads marked GONE and settled: the tombstones among `gone`. */
  private tombstones = 0;
  /** What `warm` read, kept so that its loads are not dropped. */
  private warmed = 0;
  private changes = new ChangeList();
  /** A settled list, ready for reuse. */
  private spare: ChangeList | undefined;
  /** Paths removed since the last takeChanges: a list taken later may not name them, the current one may. */
  private retired = new IndexStack();
  /** Paths removed before the taken list was taken: freed once it is settled. */
  private retiredTaken = new IndexStack();

  constructor(private readonly decision: DecisionOptions) {}

  /** Prefixes with at least one path. */
  get size(): number {
    return this.heads.size - this.gone;
  }

  /** Changes recorded since the last {@link RouteTable.takeChanges}. */
  get changeCount(): number {
    return this.changes.count;
  }

  /** Makes a peer known by its index (replacing a removed peer's entry of the same index). */
  addPeer(peer: PeerEntry): void {
    this.peers[peer.index] = peer;
  }

  peerOf(p: number): PeerEntry {
    return this.peers[this.pool.peerOf(p)] as PeerEntry;
  }

  attrsOf(p: number): AttributeSet {
    return this.attributes.at(this.pool.attrsOf(p));
  }

  receivedOf(p: number): AttributeSet {
    return this.attributes.at(this.pool.receivedOf(p));
  }

  pathIdOf(p: number): number {
    return this.pool.pathIdOf(p);
  }

  flagsOf(p: number): number {
    return this.pool.flagsOf(p);
  }

  nextOf(p: number): number {
    return this.pool.nextOf(p);
  }

  /** The first path of a prefix's list (the best when it has the BEST flag), or NO_PATH. */
  head(key: PrefixKey): number {
    const head = this.heads.get(key);
    return head !== NO_PATH && (this.pool.flagsOf(head) & PATH_FLAG.GONE) === 0 ? head : NO_PATH;
  }

  /** The best path for a prefix, or NO_PATH. */
  best(key: PrefixKey): number {
    const head = this.heads.get(key);
    return head !== NO_PATH && (this.pool.flagsOf(head) & (PATH_FLAG.BEST | PATH_FLAG.GONE)) === PATH_FLAG.BEST ? head : NO_PATH;
  }

  /** Every prefix with its list's head (in no particular order). */
  *entries(): IterableIterator<[PrefixKey, number]> {
    for (const entry of this.heads.entries()) if ((this.pool.flagsOf(entry[1]) & PATH_FLAG.GONE) === 0) yield entry;
  }

  /** Calls `fn` for every prefix with its list's head; the table must not change meanwhile. */
  forEachHead(fn: (head: number, key: PrefixKey) => void): void {
    if (this.gone === 0) return this.heads.forEach(fn);
    this.heads.forEach((head, key) => {
      if ((this.pool.flagsOf(head) & PATH_FLAG.GONE) === 0) fn(head, key);
    });
  }

  /**
   * The prefixes changed since the last call. The caller passes each entry to
   * {@link RouteTable.settle} and {@link RouteTable.beforeOf} (at once or in slices
   * between changes), settles one list completely before taking the next, and then
   * gives it back with {@link RouteTable.releaseChanges}.
   */
  takeChanges(): Changes {
    const taken = this.changes;
    this.taken = true;
    this.changes = this.spare ?? new ChangeList();
    this.spare = undefined;
    for (let i = 0; i < this.retired.length; i += 1) this.retiredTaken.push(this.retired.at(i));
    this.retired.clear();
    return taken;
  }

  /** A list from {@link RouteTable.takeChanges}, settled: its first chunks are reused for a later list. */
  releaseChanges(changes: Changes): void {
    if (!(changes instanceof ChangeList) || changes === this.changes) return;
    this.taken = false;
    changes.clear();
    this.spare = changes;
    for (let i = 0; i < this.retiredTaken.length; i += 1) this.pool.free(this.retiredTaken.at(i));
    this.retiredTaken.clear();
    if (this.sweepDue()) this.sweep();
    this.freeRetiredIfUnnamed();
  }

  /** With no list taken and no change recorded since, no list can name the paths retired meanwhile: they are freed. */
  private freeRetiredIfUnnamed(): void {
    if (this.changes.count > 0) return;
    for (let i = 0; i < this.retired.length; i += 1) this.pool.free(this.retired.at(i));
    this.retired.clear();
  }

  /**
   * Gives back the memory a larger table left for the next one (standby: the path
   * records once no path is left, the hash slots beyond what the prefixes held need);
   * true when something was released. The table works as before; the next large table
   * grows them again.
   */
  releaseStandby(): boolean {
    // A taken list not yet settled may name the paths that sweeping retires (and their
    // indices must not be reused before it is): nothing now; the next call, after it.
    if (this.taken) return false;
    if (this.gone > 0) {
      this.sweep();
      this.freeRetiredIfUnnamed();
    }
    const pool = this.pool.releaseStandby();
    return this.heads.releaseStandby() || pool;
  }

  /** Whether to sweep the tombstones once a list is settled (see the file comment): every prefix is gone. */
  private sweepDue(): boolean {
    return this.tombstones > 0 && this.gone === this.heads.size;
  }

  /** Removes the settled GONE heads (tombstones) from the table, in one pass. */
  private sweep(): void {
    const pool = this.pool;
    // Every prefix a settled tombstone (so no change list names one to be settled) and
    // no other path held (none retired and not yet freed): the slots and the paths are
    // emptied whole, with no look at each tombstone's path, which for a table withdrawn
    // in the sender's hash order is a cache miss each.
    if (this.tombstones === this.heads.size && pool.size === this.tombstones) {
      this.heads.clear();
      pool.clear();
      this.gone = 0;
      this.tombstones = 0;
      return;
    }
    this.heads.sweep((head) => {
      if ((pool.flagsOf(head) & (PATH_FLAG.GONE | PATH_FLAG.CHANGED)) !== PATH_FLAG.GONE) return false;
      this.gone -= 1;
      this.tombstones -= 1;
      this.retired.push(head);
      return true;
    });
  }

  /**
   * The attribute set the FIB had for the prefix of entry `i` of a taken list, or null;
   * the list's reference to it is handed to the caller, who releases it once compared.
   */
  beforeOf(changes: Changes, i: number): AttributeSet | null {
    const slot = changes.before(i);
    return slot < 0 ? null : this.attributes.at(slot);
  }

  /**
   * The best path now of the prefix of a changed path, or NO_PATH; ends the change.
   * The recorded path is usually still the head (it carries the CHANGED mark); only
   * when the head changed is the prefix looked up. A prefix left without paths leaves
   * the Loc-RIB here (its GONE path stays as a tombstone until swept): a route added
   * later is a new change.
   */
  settle(key: PrefixKey, path: number): number {
    const pool = this.pool;
    const head = (pool.flagsOf(path) & PATH_FLAG.CHANGED) !== 0 ? path : this.heads.get(key);
    if (head === NO_PATH) return NO_PATH;
    const flags = pool.flagsOf(head);
    pool.unmark(head, PATH_FLAG.CHANGED);
    // A GONE head is now a tombstone: the prefix has left the Loc-RIB.
    if ((flags & PATH_FLAG.GONE) !== 0) {
      if ((flags & PATH_FLAG.CHANGED) !== 0) this.tombstones += 1;
      return NO_PATH;
    }
    return (flags & PATH_FLAG.BEST) !== 0 ? head : NO_PATH;
  }

  /**
   * Whether a path from `peer` with `attrs` may be best: a local route, or a next hop
   * the interior cost function reaches. The same for every route of an UPDATE.
   */
  eligible(peer: PeerEntry, attrs: AttributeSet): boolean {
    return peer.local || this.decision.igpCost(attrs.nextHop) !== undefined;
  }

  /**
   * Adds or replaces the path of `peer` (and `pathId`); true when something changed.
   * `eligible` is {@link RouteTable.eligible} of the path, asked before anything
   * changes (a cost function that throws leaves the table as it was), and once per
   * UPDATE by a caller that passes it.
   */
  upsert(peer: PeerEntry, key: PrefixKey, pathId: number, attrs: AttributeSet, received: AttributeSet, eligible = this.eligible(peer, attrs)): boolean {
    const pool = this.pool;
    // As the path identifiers are held (RFC 7911 §3: 4 octets), so that they compare equal.
    pathId >>>= 0;
    // A new prefix that would make the slots grow while a quarter of the table is
    // tombstones sweeps them instead (see the file comment). Only a new one: a sweep
    // moves entries between slots, which a route to a prefix held must not do (a
    // caller may be iterating the table, as `Rib.adjRibIn` does lazily).
    if (this.tombstones !== 0 && this.tombstones * 4 > this.heads.size && this.heads.full && this.heads.get(key) === NO_PATH) this.sweep();
    // A new prefix (most routes of an initial table) goes in with the path it gets next,
    // found and added in one probe.
    const head = this.heads.getOrAdd(key, pool.nextIndex);
    if (head === NO_PATH || (pool.flagsOf(head) & PATH_FLAG.GONE) !== 0) {
      // A prefix without paths: nothing to search or compare.
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      const flags = eligible ? PATH_FLAG.CHANGED | PATH_FLAG.BEST : PATH_FLAG.CHANGED;
      const path = pool.add(peer.index, pathId, attrs.slot, received.slot, NO_PATH, flags);
      if (head !== NO_PATH) this.heads.set(key, path);
      // A prefix emptied since the last flush is recorded already (by its GONE path, still
      // CHANGED); a new one, or one whose GONE path is a settled tombstone, is not.
      if (head === NO_PATH || (pool.flagsOf(head) & PATH_FLAG.CHANGED) === 0) this.changes.add(key, path, -1);
      if (head !== NO_PATH) {
        if ((pool.flagsOf(head) & PATH_FLAG.CHANGED) === 0) this.tombstones -= 1;
        pool.unmark(head, PATH_FLAG.CHANGED);
        this.gone -= 1;
        this.retired.push(head);
      }
      return true;
    }
    let found = NO_PATH;
    for (let p = head; p !== NO_PATH; p = pool.nextOf(p)) {
      if (pool.peerOf(p) === peer.index && pool.pathIdOf(p) === pathId) {
        found = p;
        break;
      }
    }
    if (found !== NO_PATH) {
      const wasStale = (pool.flagsOf(found) & PATH_FLAG.STALE) !== 0;
      const oldAttrs = pool.attrsOf(found);
      const oldReceived = pool.receivedOf(found);
      if (oldAttrs === attrs.slot && oldReceived === received.slot && !wasStale) return false;
      this.touch(key, head);
      attrs.refs += 1;
      received.refs += 1;
      this.attributes.release(this.attributes.at(oldAttrs));
      this.attributes.release(this.attributes.at(oldReceived));
      pool.setAttrs(found, attrs.slot, received.slot);
      if (wasStale) {
        pool.unmark(found, PATH_FLAG.STALE);
        peer.stale -= 1;
      }
    } else {
      this.touch(key, head);
      attrs.refs += 1;
      received.refs += 1;
      peer.count += 1;
      const path = pool.add(peer.index, pathId, attrs.slot, received.slot, pool.nextOf(head), 0);
      pool.setNext(head, path);
    }
    this.decide(key, head);
    return true;
  }

  /**
   * Brings the hash slots, then the head paths, of `count` IPv4 keys of `keys` into the
   * cache in two passes of independent loads, ahead of removing them: a table withdrawn
   * in the sender's hash order has a cache miss at each, and the CPU overlaps misses
   * only between loads that do not wait on each other.
   */
  warm(keys: Float64Array, count: number): void {
    let sum = this.heads.touch(keys, count);
    for (let i = 0; i < count; i += 1) {
      const head = this.heads.get(keys[i] as number);
      if (head !== NO_PATH) sum += this.pool.flagsOf(head);
    }
    this.warmed = sum;
  }

  /** Removes the path of `peer` (and `pathId`); true when there was one. */
  remove(peer: PeerEntry, key: PrefixKey, pathId: number): boolean {
    const pool = this.pool;
    pathId >>>= 0;
    const head = this.head(key);
    let prev = NO_PATH;
    for (let p = head; p !== NO_PATH; prev = p, p = pool.nextOf(p)) {
      if (pool.peerOf(p) !== peer.index || pool.pathIdOf(p) !== pathId) continue;
      this.unlink(key, head, p, prev);
      return true;
    }
    return false;
  }

  /** Marks every path of `peer` stale (graceful restart, RFC 4724 §4.2). */
  markStale(peer: PeerEntry): void {
    if (peer.count === 0) return;
    const pool = this.pool;
    this.forEachHead((head) => {
      for (let p = head; p !== NO_PATH; p = pool.nextOf(p)) {
        if (pool.peerOf(p) !== peer.index || (pool.flagsOf(p) & PATH_FLAG.STALE) !== 0) continue;
        pool.mark(p, PATH_FLAG.STALE);
        peer.stale += 1;
      }
    });
  }

  /** Removes a peer's paths (optionally of one family, optionally only the stale ones); how many. */
  removePaths(peer: PeerEntry, family: 4 | 6 | undefined, onlyStale: boolean): number {
    // `count` is every path of the peer, stale ones too: none, no table walk (a peer removed
    // after its session went down would otherwise walk a full table to find nothing).
    if (peer.count === 0 || (onlyStale && peer.stale === 0)) return 0;
    const pool = this.pool;
    const doomed = new IndexStack();
    const doomedKeys: PrefixKey[] = [];
    this.forEachHead((head, key) => {
      if (family !== undefined && keyFamily(key) !== family) return;
      for (let p = head; p !== NO_PATH; p = pool.nextOf(p)) {
        if (pool.peerOf(p) === peer.index && (!onlyStale || (pool.flagsOf(p) & PATH_FLAG.STALE) !== 0)) {
          doomed.push(p);
          doomedKeys.push(key);
        }
      }
    });
    for (let i = 0; i < doomed.length; i += 1) {
      const path = doomed.at(i);
      const key = doomedKeys[i] as PrefixKey;
      const head = this.head(key);
      let prev = NO_PATH;
      for (let p = head; p !== NO_PATH; prev = p, p = pool.nextOf(p)) {
        if (p !== path) continue;
        this.unlink(key, head, p, prev);
        break;
      }
    }
    return doomed.length;
  }

  /** Records the FIB state of a prefix before its first change in this batch. */
  private touch(key: PrefixKey, head: number): void {
    const pool = this.pool;
    if ((pool.flagsOf(head) & PATH_FLAG.CHANGED) !== 0) return;
    pool.mark(head, PATH_FLAG.CHANGED);
    // What the FIB holds: the best path's attributes, none for a local route.
    let before = -1;
    if ((pool.flagsOf(head) & PATH_FLAG.BEST) !== 0 && !this.peerOf(head).local) {
      before = pool.attrsOf(head);
      this.attributes.retain(this.attributes.at(before));
    }
    this.changes.add(key, head, before);
  }

  private unlink(key: PrefixKey, head: number, p: number, prev: number): void {
    const pool = this.pool;
    this.touch(key, head);
    let first = head;
    if (prev !== NO_PATH) pool.setNext(prev, pool.nextOf(p));
    else if (pool.nextOf(p) !== NO_PATH) {
      first = pool.nextOf(p);
      pool.mark(first, PATH_FLAG.CHANGED);
      this.heads.set(key, first);
    } else {
      // The last path: it stays as the prefix's GONE marker (CHANGED, as the head) until the flush settles the prefix.
      pool.mark(p, PATH_FLAG.GONE);
      this.gone += 1;
    }
    // Out of the list (or GONE), it is not the best; out of the list, it no longer marks
    // the prefix as changed (settle looks the prefix up).
    pool.unmark(p, first === p ? PATH_FLAG.BEST : PATH_FLAG.CHANGED | PATH_FLAG.BEST);
    const peer = this.peerOf(p);
    peer.count -= 1;
    if ((pool.flagsOf(p) & PATH_FLAG.STALE) !== 0) peer.stale -= 1;
    this.attributes.release(this.attrsOf(p));
    this.attributes.release(this.receivedOf(p));
    if (first !== p) {
      this.retired.push(p);
      this.decide(key, first);
    }
  }

  /** Runs the decision process for a prefix and moves the best path to the head (with the CHANGED flag). */
  private decide(key: PrefixKey, head: number): void {
    const pool = this.pool;
    const best = selectBest(this, head, this.decision);
    pool.unmark(head, PATH_FLAG.BEST);
    if (best === NO_PATH) return;
    if (best !== head) {
      let prev = head;
      while (pool.nextOf(prev) !== best && pool.nextOf(prev) !== NO_PATH) prev = pool.nextOf(prev);
      pool.setNext(prev, pool.nextOf(best));
      pool.setNext(best, head);
      pool.mark(best, pool.flagsOf(head) & PATH_FLAG.CHANGED);
      pool.unmark(head, PATH_FLAG.CHANGED);
      this.heads.set(key, best);
    }
    pool.mark(best, PATH_FLAG.BEST);
  }
}
