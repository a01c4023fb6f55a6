// The RIBs of one speaker (RFC 4271 §3.2): the route table (per prefix a path list that
// is every peer's Adj-RIB-In and the Loc-RIB, route-table.ts), receipt (receive.ts), the
// per-peer Adj-RIB-Out (adj-rib-out.ts). Changes are queued per prefix and `flush()`
// turns them into minimal batches: FIB add/remove and, per peer, withdrawals plus
// announcements grouped by identical attributes.
import { type AfiSafi, BgpInvalidArgument, type BgpNotification } from '../errors.js';
import { type Asn } from '../codec/asn.js';
import { AFI, ORIGIN, SAFI } from '../codec/constants.js';
import { type BgpPrefix, type Nlri } from '../codec/prefix.js';
import { type DecodedUpdate, type PackedUpdate, endOfRibFamily } from '../codec/update.js';
import { type PeerId, type RouterId } from '../ids.js';

import { type AttributeSet, type RouteAttributes, ipv4ToNumber } from './attributes.js';
import { type DecisionOptions } from './decision.js';
import { type FibSink, KeyedFibBatch } from './fib.js';
import { type OutgoingDelta, ExportRun } from './adj-rib-out.js';
import { MAX_PEERS, NO_PATH, PATH_FLAG } from './path.js';
import { PeerEntry, type RibPeerConfig } from './peer.js';
import { type PrefixKey, prefixFromKey, prefixKey } from './prefix-key.js';
import { type SpeakerIdentity } from './propagation.js';
import { type ReceiveTally, announceAll, policyCache, withdrawAll } from './receive.js';
import { type Changes } from './change-list.js';
import { RouteTable } from './route-table.js';

// Part of the RIB's API (the speaker and src/index.ts take them from here).
export { type AnnouncementGroup, type OutgoingDelta } from './adj-rib-out.js';
export { prefixLimitNotification } from './receive.js';

/** Options of a {@link Rib}. */
export interface RibOptions {
  /** This speaker's AS: peers with another AS are eBGP peers. */
  readonly localAs: Asn;
  /** This speaker's BGP Identifier (loop detection with route reflection, RFC 4456 §8). */
  readonly routerId: RouterId;
  /** The CLUSTER_ID when reflecting routes (RFC 4456 §7); default the router id. */
  readonly clusterId?: string;
  /** Where best-path changes go. */
  readonly fib: FibSink;
  /** Interior cost to a next hop; undefined makes the route ineligible. Default: 0 for every next hop. */
  readonly igpCost?: (nextHop: string) => number | undefined;
  /** Compare MED between routes from different neighbour ASes too (RFC 4271 §9.1.2.2 c); default false. */
  readonly alwaysCompareMed?: boolean;
  /** Most routes per FibSink batch (default 8192): bounds the memory a batch holds. */
  readonly fibBatchSize?: number;
}

/** The result of {@link Rib.receive}. */
export interface ReceiveResult {
  /** Routes that entered or replaced one in the Adj-RIB-In. */
  readonly accepted: number;
  /** Routes withdrawn (by the peer, by RFC 7606 treat-as-withdraw, or by the import rules/policy). */
  readonly withdrawn: number;
  /** Routes rejected by loop detection or the import policy. */
  readonly filtered: number;
  /** Why routes were rejected by the protocol's checks, when they were. */
  readonly problem?: string;
  /** The UPDATE was an End-of-RIB for this family (RFC 4724 §2); stale routes of it were swept. */
  readonly endOfRib?: AfiSafi;
  /** The peer went over its prefix limit: send this NOTIFICATION and stop the session (RFC 4486 §4). */
  readonly limitExceeded?: BgpNotification;
}

/** The result of {@link Rib.flush}. */
export interface FlushResult {
  /** Routes pushed to the FibSink as added or replaced by this call. */
  readonly fibAdded: number;
  /** Prefixes pushed to the FibSink as removed by this call. */
  readonly fibRemoved: number;
  /** Per peer with something to send. */
  readonly updates: ReadonlyMap<PeerId, OutgoingDelta>;
  /** Changes are left for the next call (`maxChanges` was reached); whole-table exports wait for the last slice. */
  readonly more: boolean;
}

/** Options of {@link Rib.flush}. */
export interface FlushOptions {
  /**
   * At most this many changed prefixes in this call (default: all). The rest stay for
   * the next call, which must come before any other use of the results, so that a large
   * change (a full table) can be sent in slices while the peers already read the first.
   */
  readonly maxChanges?: number;
}

/** One path, as the query methods show it. */
export interface RouteView {
  /** The destination. */
  readonly prefix: BgpPrefix;
  /** The peer it came from; undefined for a locally originated route. */
  readonly peer: PeerId | undefined;
  /** The ADD-PATH path identifier (RFC 7911); 0 without ADD-PATH. */
  readonly pathId: number;
  /** After import policy. */
  readonly attributes: RouteAttributes;
  /** As the peer sent them. */
  readonly received: RouteAttributes;
  /** The Loc-RIB's best path for the prefix (the one in the FIB and advertised). */
  readonly best: boolean;
  /** Kept from a restarting peer's previous session until its End-of-RIB (RFC 4724 §4.2). */
  readonly stale: boolean;
}

/** What {@link Rib.queryPaths} selects. */
export interface RouteQuery {
  /** The prefixes to look at, by key (a lookup each); absent: every prefix held (one pass over the table). */
  readonly keys?: Iterable<PrefixKey>;
  /** Without `keys`: only the prefixes whose key this accepts. */
  readonly keyFilter?: (key: PrefixKey) => boolean;
  /** Only paths from this peer; `null`: only locally originated routes; absent: every path. */
  readonly source?: PeerId | null;
}

/** One path as {@link Rib.queryPaths} shows it: a {@link RouteView} without its prefix. */
export type PathView = Omit<RouteView, 'prefix'>;

/** The paths of one prefix that {@link Rib.queryPaths} selected, best first. */
export interface PrefixPaths {
  /** The prefix's key (`prefixFromKey` gives the prefix). */
  readonly key: PrefixKey;
  /** The selected paths, best first. */
  readonly paths: readonly PathView[];
}

/** Per-peer counters, for diagnosis. */
export interface RibPeerStats {
  /** Routes held from the peer (its Adj-RIB-In after import policy), stale ones included. */
  readonly received: number;
  /** Of those, kept stale for graceful restart. */
  readonly stale: number;
  /** Routes rejected by the import checks or policy since the session came up. */
  readonly filtered: number;
  /** Prefixes in the peer's Adj-RIB-Out (advertised and not withdrawn). */
  readonly advertised: number;
}

const LOCAL_ID = '(local)' as PeerId;

/**
 * Adj-RIB-In, Loc-RIB and Adj-RIB-Out for all peers of one speaker. Pure: no I/O, no
 * timers; the speaker feeds it decoded UPDATEs and session events and sends what
 * {@link Rib.flush} returns.
 */
export class Rib {
  private readonly table: RouteTable;
  private readonly peers = new Map<PeerId, PeerEntry>();
  private readonly peerList: PeerEntry[] = [];
  /** Indices of removed peers, for reuse by new ones. */
  private readonly freeIndices: number[] = [];
  /** The lowest peer index never used (0 is the local pseudo-peer's). */
  private nextPeerIndex = 1;
  private readonly local: PeerEntry;
  private readonly me: SpeakerIdentity;
  private readonly fib: FibSink;
  private readonly fibBatchSize: number;
  private readonly policyResults = new Map<string, AttributeSet>();
  private readonly policed: ReturnType<typeof policyCache>;
  /** Changes taken from the table and not yet flushed (a sliced flush), and how far it got. */
  private pending: Changes | undefined;
  private pendingAt = 0;
  /** The attributes of local routes originated without any, per family (most of them). */
  private readonly localDefaults: { 4?: AttributeSet; 6?: AttributeSet } = {};

  constructor(options: RibOptions) {
    this.me = {
      localAs: options.localAs,
      routerId: options.routerId,
      routerIdNumber: ipv4ToNumber(options.routerId),
      clusterId: options.clusterId ?? options.routerId,
    };
    const decision: DecisionOptions = { localAs: options.localAs, alwaysCompareMed: options.alwaysCompareMed ?? false, igpCost: options.igpCost ?? (() => 0) };
    this.table = new RouteTable(decision);
    this.policed = policyCache(this.table, this.policyResults);
    this.fib = options.fib;
    this.fibBatchSize = options.fibBatchSize ?? 8192;
    this.local = new PeerEntry(0, { id: LOCAL_ID, address: '0.0.0.0', asn: options.localAs, routerId: options.routerId, localAddress: '0.0.0.0' }, options.localAs, true);
    this.local.up = false;
    this.table.addPeer(this.local);
  }

  /** Prefixes in the Loc-RIB (with at least one path). */
  get size(): number {
    return this.table.size;
  }

  /** Changed prefixes not flushed yet: the rest of a sliced flush, and changes since. */
  get pendingChanges(): number {
    return (this.pending ? this.pending.count - this.pendingAt : 0) + this.table.changeCount;
  }

  /** Distinct interned attribute sets. */
  get attributeSetCount(): number {
    return this.table.attributes.size;
  }

  /**
   * Gives back the memory kept after a table shrank, for the next large one (a table
   * withdrawn keeps its hash slots, and once no path is left its path records, so that
   * the same peer's table after a session flap fills them without growing them again);
   * true when something was released. Nothing is released while a sliced flush
   * (`maxChanges`) has slices left. The speaker calls it once it has not flushed for a
   * while (`BgpSpeakerOptions.standbyReleaseMs`).
   */
  releaseStandby(): boolean {
    return this.table.releaseStandby();
  }

  /**
   * A peer's session reached Established: its routes may arrive and the next flush
   * sends it the whole Loc-RIB. Routes kept stale from its previous session stay until
   * it sends them again or they are swept. A RIB holds at most 65,535 peers at once
   * (BgpInvalidArgument past that; removed peers' places are reused).
   */
  peerUp(config: RibPeerConfig): void {
    let entry = this.peers.get(config.id);
    if (entry) entry.configure(config, this.me.localAs);
    else {
      entry = new PeerEntry(this.freeIndex(), config, this.me.localAs);
      this.peers.set(config.id, entry);
      this.peerList.push(entry);
      this.table.addPeer(entry);
    }
    entry.up = true;
    entry.fullExport = true;
    entry.limitReached = false;
    entry.filtered = 0;
  }

  /**
   * A peer's session went down. Without graceful restart its routes are withdrawn;
   * with it (RFC 4724 §4.2, as helper) they are kept and marked stale until the peer's
   * End-of-RIB or {@link Rib.sweepStale} when the restart timer ends.
   */
  peerDown(id: PeerId, options: { gracefulRestart?: boolean } = {}): void {
    const peer = this.requirePeer(id);
    peer.up = false;
    peer.adjRibOut.forEach((set) => this.table.attributes.release(set));
    peer.adjRibOut.clear();
    if (options.gracefulRestart) this.table.markStale(peer);
    else this.table.removePaths(peer, undefined, false);
  }

  /**
   * Forgets a peer (it was removed from the configuration): its routes, stale ones
   * included, are withdrawn from the Loc-RIB (the next flush removes them from the
   * FibSink and withdraws them from the other peers) and its Adj-RIB-Out is dropped.
   * Unknown ids are ignored. A later {@link Rib.peerUp} with the same id starts afresh.
   * @returns how many of its routes were withdrawn.
   */
  removePeer(id: PeerId): number {
    const peer = this.peers.get(id);
    if (!peer) return 0;
    const removed = peer.count;
    this.peerDown(id);
    this.peers.delete(id);
    this.peerList.splice(this.peerList.indexOf(peer), 1);
    this.freeIndices.push(peer.index);
    return removed;
  }

  /** Asks for the whole Loc-RIB to be sent to a peer again at the next flush (ROUTE-REFRESH, RFC 2918). */
  refresh(id: PeerId): void {
    this.requirePeer(id).fullExport = true;
  }

  /**
   * Removes a peer's stale routes (all families, or one): at its End-of-RIB (done by
   * {@link Rib.receive}) or when the restart or stale timer runs out (RFC 4724 §4.2).
   * @returns how many routes were removed.
   */
  sweepStale(id: PeerId, family?: 4 | 6): number {
    const peer = this.requirePeer(id);
    return this.table.removePaths(peer, family, true);
  }

  /** Announces a locally originated route (e.g. this node's pod address block). */
  originate(prefix: BgpPrefix, attributes: Partial<RouteAttributes> = {}): void {
    let set: AttributeSet | undefined;
    const plain = isEmpty(attributes);
    if (plain) set = this.localDefaults[prefix.family];
    if (set === undefined || set.refs <= 0) {
      const value: RouteAttributes = { origin: ORIGIN.IGP, asPath: [], ...attributes, nextHop: attributes.nextHop ?? (prefix.family === 4 ? '0.0.0.0' : '::') };
      set = this.table.attributes.intern(value);
      if (plain) this.localDefaults[prefix.family] = set;
    }
    this.table.upsert(this.local, prefixKey(prefix), 0, set, set);
    this.table.attributes.collect();
  }

  /** Withdraws a locally originated route. */
  withdrawOriginated(prefix: BgpPrefix): void {
    this.table.remove(this.local, prefixKey(prefix), 0);
  }

  /**
   * Applies an UPDATE from a peer whose session is up (decoded, or with its IPv4 NLRI
   * fields packed): withdrawals, then announcements (through the import checks and
   * policy), IPv4 in the NLRI fields and any family in MP_REACH/MP_UNREACH. An RFC 7606
   * `treat-as-withdraw` error withdraws what the message announced. An End-of-RIB
   * sweeps the family's stale routes.
   * @throws {BgpInvalidArgument} when the peer is unknown or down.
   */
  receive(id: PeerId, update: DecodedUpdate | PackedUpdate): ReceiveResult {
    const peer = this.requirePeer(id);
    if (!peer.up) throw new BgpInvalidArgument(`peer ${id} is down`);
    const tally: ReceiveTally = { accepted: 0, withdrawn: 0, filtered: 0, problem: undefined, limitExceeded: undefined };
    if (peer.limitReached) return { accepted: 0, withdrawn: 0, filtered: 0 };
    const eor = endOfRibFamily(update);
    if (eor) {
      const family = eor.afi === AFI.IPV4 ? 4 : eor.afi === AFI.IPV6 ? 6 : undefined;
      const swept = family !== undefined && eor.safi === SAFI.UNICAST ? this.sweepStale(id, family) : 0;
      return { accepted: 0, withdrawn: swept, filtered: 0, endOfRib: eor };
    }
    const attrs = update.attributes;
    withdrawAll(this.table, peer, update.withdrawn, tally);
    if (attrs.mpUnreach) withdrawAll(this.table, peer, attrs.mpUnreach.withdrawn, tally);
    const treatAsWithdraw = update.error?.action === 'treat-as-withdraw';
    const groups: [readonly Nlri[] | PackedUpdate['nlri'], string | undefined, string | undefined][] = [];
    const nlri = update.nlri;
    if ('bytes' in nlri ? nlri.bytes.length > 0 : nlri.length > 0) groups.push([nlri, attrs.nextHop, undefined]);
    if (attrs.mpReach && attrs.mpReach.nlri.length > 0) groups.push([attrs.mpReach.nlri, attrs.mpReach.nextHops[0], attrs.mpReach.nextHops[1]]);
    const ctx = { table: this.table, me: this.me, policed: this.policed };
    for (const [list, nextHop, linkLocal] of groups) {
      if (treatAsWithdraw || nextHop === undefined) withdrawAll(this.table, peer, list, tally);
      else announceAll(ctx, peer, list, attrs, [nextHop, linkLocal], tally);
      if (tally.limitExceeded) break;
    }
    this.policyResults.clear();
    this.table.attributes.collect();
    const { accepted, withdrawn, filtered, problem, limitExceeded } = tally;
    return { accepted, withdrawn, filtered, ...(problem === undefined ? {} : { problem }), ...(limitExceeded ? { limitExceeded } : {}) };
  }

  /**
   * Turns the changes since the last flush into FibSink batches (pushed now) and the
   * UPDATE content for each peer (returned): withdrawals, and announcements grouped by
   * identical attributes. Peers that just came up or asked for a refresh get the whole
   * Loc-RIB.
   */
  flush(options: FlushOptions = {}): FlushResult {
    const run = new ExportRun(this.table, this.me, this.policed);
    const incremental = this.peerList.filter((p) => p.up && !p.fullExport);
    // Per incremental peer, its Adj-RIB-Out is empty: read once, and again after each
    // export to it (only an export changes it here), not once per route and peer.
    const nothingSent = incremental.map((p) => p.adjRibOut.size === 0);
    // A sliced flush goes on with the changes it took; new ones wait for the next (a
    // prefix changed again meanwhile still carries its mark and is settled once, here).
    const changes = this.pending ?? this.table.takeChanges();
    const start = this.pending ? this.pendingAt : 0;
    const end = Math.min(changes.count, start + (options.maxChanges ?? Infinity));
    // Batches with room for the changes at hand (at most one route each), not grown to it.
    let left = end - start;
    let batch = new KeyedFibBatch(Math.min(left, this.fibBatchSize));
    let fibAdded = 0;
    let fibRemoved = 0;
    const push = (): void => {
      if (batch.size === 0) return;
      this.fib.apply(batch);
      fibAdded += batch.addCount;
      fibRemoved += batch.removeCount;
      left -= batch.size;
      batch = new KeyedFibBatch(Math.min(left, this.fibBatchSize));
    };
    this.pending = end < changes.count ? changes : undefined;
    this.pendingAt = end;
    const table = this.table;
    for (let i = start; i < end; i += 1) {
      const key = changes.key(i);
      const before = table.beforeOf(changes, i);
      const best = table.settle(key, changes.path(i));
      const source = best === NO_PATH ? undefined : table.peerOf(best);
      const attrs = best === NO_PATH ? undefined : table.attrsOf(best);
      const now = attrs !== undefined && !(source as PeerEntry).local ? attrs : null;
      if (now !== before && !(now && before && sameNextHops(now.value, before.value))) {
        if (now) batch.pushAdd(key, now.nextHops);
        else batch.pushRemove(key);
        if (batch.size >= this.fibBatchSize) push();
      }
      // The list's reference to the FIB's former attributes, compared now.
      if (before) table.attributes.release(before);
      for (let j = 0; j < incremental.length; j += 1) {
        const peer = incremental[j] as PeerEntry;
        // Nothing to withdraw from a peer that was sent nothing (its Adj-RIB-Out empty: a
        // peer whose table is arriving or leaving), nor to send a route's own source
        // (mayAdvertise): no call.
        if ((source === undefined || peer === source) && nothingSent[j] === true) continue;
        run.exportTo(peer, key, source, attrs);
        nothingSent[j] = peer.adjRibOut.size === 0;
      }
    }
    push();
    const more = this.pending !== undefined;
    if (!more) this.table.releaseChanges(changes);
    for (const peer of this.peerList) {
      if (more || !peer.up || !peer.fullExport) continue;
      peer.fullExport = false;
      this.table.forEachHead((head, key) => {
        if ((this.table.flagsOf(head) & PATH_FLAG.BEST) !== 0) run.exportTo(peer, key, this.table.peerOf(head), this.table.attrsOf(head));
        else run.exportTo(peer, key, undefined, undefined);
      });
      // What was advertised before and is no longer in the table (collected first: exportTo changes the Adj-RIB-Out).
      const gone: PrefixKey[] = [];
      peer.adjRibOut.forEach((_set, key) => {
        if (this.table.head(key) === NO_PATH) gone.push(key);
      });
      for (const key of gone) run.exportTo(peer, key, undefined, undefined);
    }
    this.policyResults.clear();
    this.table.attributes.collect();
    return { fibAdded, fibRemoved, updates: run.result(), more };
  }

  /** The best path for a prefix, or undefined. */
  best(prefix: BgpPrefix): RouteView | undefined {
    const key = prefixKey(prefix);
    const path = this.table.best(key);
    return path === NO_PATH ? undefined : this.view(key, path);
  }

  /** Every path for a prefix, best first. */
  paths(prefix: BgpPrefix): RouteView[] {
    const key = prefixKey(prefix);
    const out: RouteView[] = [];
    for (let p = this.table.head(key); p !== NO_PATH; p = this.table.nextOf(p)) out.push(this.view(key, p));
    return out;
  }

  /**
   * Read-only, for route queries: the selected paths, one group per prefix (by its key,
   * no prefix object built), best first in each group. Prefixes come from `keys` (one
   * lookup each) or, without it, from one pass over the table, skipping the keys
   * `keyFilter` refuses before any path is looked at; only paths from `source` are kept
   * when it is given (`null`: locally originated routes). A view is built only for a kept
   * path; a prefix with none is left out. The table must not change during the call.
   */
  queryPaths(query: RouteQuery): PrefixPaths[] {
    const out: PrefixPaths[] = [];
    const source = query.source;
    const table = this.table;
    const visit = (head: number, key: PrefixKey): void => {
      let paths: PathView[] | undefined;
      for (let p = head; p !== NO_PATH; p = table.nextOf(p)) {
        const peer = table.peerOf(p);
        if (source !== undefined && (source === null ? !peer.local : peer.local || peer.config.id !== source)) continue;
        (paths ??= []).push(this.pathView(p));
      }
      if (paths) out.push({ key, paths });
    };
    if (query.keys) {
      for (const key of query.keys) {
        const head = this.table.head(key);
        if (head !== NO_PATH) visit(head, key);
      }
    } else {
      const keep = query.keyFilter;
      this.table.forEachHead((head, key) => {
        if (keep === undefined || keep(key)) visit(head, key);
      });
    }
    return out;
  }

  /** A peer's Adj-RIB-In: the routes held from it. */
  *adjRibIn(id: PeerId): Generator<RouteView> {
    const peer = this.requirePeer(id);
    const table = this.table;
    for (const [key, head] of table.entries()) for (let p = head; p !== NO_PATH; p = table.nextOf(p)) if (table.peerOf(p) === peer) yield this.view(key, p);
  }

  /** A peer's Adj-RIB-Out: what was last advertised to it. */
  *adjRibOut(
    id: PeerId,
  ): Generator<{
    /** The prefix advertised. */
    prefix: BgpPrefix;
    /** The attributes it was last advertised with. */
    attributes: RouteAttributes;
  }> {
    for (const [key, set] of this.requirePeer(id).adjRibOut) yield { prefix: prefixFromKey(key), attributes: set.value };
  }

  /** Counters of one peer. */
  peerStats(id: PeerId): RibPeerStats {
    const p = this.requirePeer(id);
    return { received: p.count, stale: p.stale, filtered: p.filtered, advertised: p.adjRibOut.size };
  }

  /** An index for a new peer (1 to MAX_PEERS): a removed peer's, or the next never used. */
  private freeIndex(): number {
    const reused = this.freeIndices.pop();
    if (reused !== undefined) return reused;
    // A path keeps its peer's index in 16 bits (path.ts); 0 is the local pseudo-peer's.
    if (this.nextPeerIndex > MAX_PEERS) throw new BgpInvalidArgument(`the RIB holds at most ${MAX_PEERS} peers; remove one (removePeer) before adding another`);
    this.nextPeerIndex += 1;
    return this.nextPeerIndex - 1;
  }

  private requirePeer(id: PeerId): PeerEntry {
    const peer = this.peers.get(id);
    if (!peer) throw new BgpInvalidArgument(`peer ${id} is not known to the RIB`);
    return peer;
  }

  private view(key: PrefixKey, p: number): RouteView {
    return { prefix: prefixFromKey(key), ...this.pathView(p) };
  }

  private pathView(p: number): PathView {
    const t = this.table;
    const peer = t.peerOf(p);
    const flags = t.flagsOf(p);
    return {
      peer: peer.local ? undefined : peer.config.id,
      pathId: t.pathIdOf(p),
      attributes: t.attrsOf(p).value,
      received: t.receivedOf(p).value,
      best: (flags & PATH_FLAG.BEST) !== 0,
      stale: (flags & PATH_FLAG.STALE) !== 0,
    };
  }
}

/** Whether an object has no own enumerable keys (without building the list of keys, once per originated route). */
function isEmpty(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

function sameNextHops(a: RouteAttributes, b: RouteAttributes): boolean {
  return a.nextHop === b.nextHop && a.linkLocalNextHop === b.linkLocalNextHop;
}
