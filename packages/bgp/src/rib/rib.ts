// The RIBs of RFC 4271 §3.2: per prefix a linked list of paths (head = best), which is
// at once every peer's Adj-RIB-In and the Loc-RIB; per peer an Adj-RIB-Out map. Changes
// are queued per prefix and `flush()` turns them into minimal batches: FIB add/remove
// and, per peer, withdrawals plus announcements grouped by identical attributes.
import { type AfiSafi, BgpInvalidArgument, BgpNotification } from '../errors.js';
import { type Asn } from '../codec/asn.js';
import { AFI, ORIGIN, SAFI } from '../codec/constants.js';
import { CEASE, NOTIFICATION_CODE } from '../codec/notification-codes.js';
import { type BgpPrefix, type Nlri } from '../codec/prefix.js';
import { type DecodedUpdate, endOfRibFamily } from '../codec/update.js';
import { type PeerId, type RouterId } from '../ids.js';
import { type CompiledPolicy, applyPolicy, evaluatePolicy } from '../policy/policy.js';

import { type AttributeSet, AttributeTable, type RouteAttributes, ipv4ToNumber } from './attributes.js';
import { type DecisionOptions, selectBest } from './decision.js';
import { type FibRoute, type FibSink } from './fib.js';
import { PATH_FLAG, Path } from './path.js';
import { PeerEntry, type RibPeerConfig } from './peer.js';
import { type PrefixKey, keyFamily, prefixFromKey, prefixKey } from './prefix-key.js';
import { type SpeakerIdentity, exportRewrite, importProblem, mayAdvertise, normalizeReceived } from './propagation.js';

/** Options of a {@link Rib}. */
export interface RibOptions {
  readonly localAs: Asn;
  readonly routerId: RouterId;
  /** The CLUSTER_ID when reflecting routes (RFC 4456 §7); default the router id. */
  readonly clusterId?: string;
  /** Where best-path changes go. */
  readonly fib: FibSink;
  /** Interior cost to a next hop; undefined makes the route ineligible. Default: 0 for every next hop. */
  readonly igpCost?: (nextHop: string) => number | undefined;
  readonly alwaysCompareMed?: boolean;
  /** Most routes per FibSink batch (default 8192): bounds the memory a batch holds. */
  readonly fibBatchSize?: number;
}

/** Announcements with identical attributes: one UPDATE can carry them all. */
export interface AnnouncementGroup {
  readonly attributes: RouteAttributes;
  readonly nlri: readonly Nlri[];
}

/** What to send one peer after a flush. */
export interface OutgoingDelta {
  readonly withdrawn: readonly Nlri[];
  readonly announced: readonly AnnouncementGroup[];
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
  readonly fibAdded: number;
  readonly fibRemoved: number;
  /** Per peer with something to send. */
  readonly updates: ReadonlyMap<PeerId, OutgoingDelta>;
}

/** One path, as the query methods show it. */
export interface RouteView {
  readonly prefix: BgpPrefix;
  /** The peer it came from; undefined for a locally originated route. */
  readonly peer: PeerId | undefined;
  readonly pathId: number;
  /** After import policy. */
  readonly attributes: RouteAttributes;
  /** As the peer sent them. */
  readonly received: RouteAttributes;
  readonly best: boolean;
  readonly stale: boolean;
}

/** Per-peer counters, for diagnosis. */
export interface RibPeerStats {
  readonly received: number;
  readonly stale: number;
  readonly filtered: number;
  readonly advertised: number;
}

const LOCAL_ID = '(local)' as PeerId;

/**
 * Adj-RIB-In, Loc-RIB and Adj-RIB-Out for all peers of one speaker. Pure: no I/O, no
 * timers; the speaker feeds it decoded UPDATEs and session events and sends what
 * {@link Rib.flush} returns.
 */
export class Rib {
  private readonly table = new Map<PrefixKey, Path>();
  private readonly attributes = new AttributeTable();
  private readonly peers = new Map<PeerId, PeerEntry>();
  private readonly peerList: PeerEntry[] = [];
  /** Prefixes changed since the last flush, with the attributes installed in the FIB before (null: none). */
  private readonly pending = new Map<PrefixKey, AttributeSet | null>();
  private readonly local: PeerEntry;
  private readonly me: SpeakerIdentity;
  private readonly decision: DecisionOptions;
  private readonly fib: FibSink;
  private readonly fibBatchSize: number;
  private readonly policyCache = new Map<string, AttributeSet>();

  constructor(options: RibOptions) {
    this.me = {
      localAs: options.localAs,
      routerId: options.routerId,
      routerIdNumber: ipv4ToNumber(options.routerId),
      clusterId: options.clusterId ?? options.routerId,
    };
    this.decision = { localAs: options.localAs, alwaysCompareMed: options.alwaysCompareMed ?? false, igpCost: options.igpCost ?? (() => 0) };
    this.fib = options.fib;
    this.fibBatchSize = options.fibBatchSize ?? 8192;
    this.local = new PeerEntry(0, { id: LOCAL_ID, address: '0.0.0.0', asn: options.localAs, routerId: options.routerId, localAddress: '0.0.0.0' }, options.localAs, true);
    this.local.up = false;
  }

  /** Prefixes in the Loc-RIB (with at least one path). */
  get size(): number {
    return this.table.size;
  }

  /** Distinct interned attribute sets. */
  get attributeSetCount(): number {
    return this.attributes.size;
  }

  /**
   * A peer's session reached Established: its routes may arrive and the next flush
   * sends it the whole Loc-RIB. Routes kept stale from its previous session stay until
   * it sends them again or they are swept.
   */
  peerUp(config: RibPeerConfig): void {
    let entry = this.peers.get(config.id);
    if (entry) entry.configure(config, this.me.localAs);
    else {
      entry = new PeerEntry(this.peerList.length + 1, config, this.me.localAs);
      this.peers.set(config.id, entry);
      this.peerList.push(entry);
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
    for (const set of peer.adjRibOut.values()) this.attributes.release(set);
    peer.adjRibOut.clear();
    if (options.gracefulRestart) {
      this.forEachPathOf(peer, undefined, (_key, path) => {
        if ((path.flags & PATH_FLAG.STALE) === 0) peer.stale += 1;
        path.flags |= PATH_FLAG.STALE;
        return false;
      });
    } else {
      this.forEachPathOf(peer, undefined, () => true);
    }
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
    return this.forEachPathOf(peer, family, (_key, path) => (path.flags & PATH_FLAG.STALE) !== 0);
  }

  /** Announces a locally originated route (e.g. this node's pod address block). */
  originate(prefix: BgpPrefix, attributes: Partial<RouteAttributes> = {}): void {
    const value: RouteAttributes = { origin: ORIGIN.IGP, asPath: [], ...attributes, nextHop: attributes.nextHop ?? (prefix.family === 4 ? '0.0.0.0' : '::') };
    const set = this.attributes.intern(value);
    this.upsert(this.local, prefixKey(prefix), 0, set, set);
    this.attributes.collect();
  }

  /** Withdraws a locally originated route. */
  withdrawOriginated(prefix: BgpPrefix): void {
    this.remove(this.local, prefixKey(prefix), 0);
  }

  /**
   * Applies a decoded UPDATE from a peer whose session is up: withdrawals, then
   * announcements (through the import checks and policy), IPv4 in the NLRI fields and
   * any family in MP_REACH/MP_UNREACH. An RFC 7606 `treat-as-withdraw` error withdraws
   * what the message announced. An End-of-RIB sweeps the family's stale routes.
   * @throws {BgpInvalidArgument} when the peer is unknown or down.
   */
  receive(id: PeerId, update: DecodedUpdate): ReceiveResult {
    const peer = this.requirePeer(id);
    if (!peer.up) throw new BgpInvalidArgument(`peer ${id} is down`);
    let accepted = 0;
    let withdrawn = 0;
    let filtered = 0;
    let problem: string | undefined;
    if (peer.limitReached) return { accepted, withdrawn, filtered };
    const eor = endOfRibFamily(update);
    if (eor) {
      const family = eor.afi === AFI.IPV4 ? 4 : eor.afi === AFI.IPV6 ? 6 : undefined;
      if (family !== undefined && eor.safi === SAFI.UNICAST) withdrawn += this.sweepStale(id, family);
      return { accepted, withdrawn, filtered, endOfRib: eor };
    }
    const attrs = update.attributes;
    const withdraw = (list: readonly Nlri[]): void => {
      for (const n of list) if (this.remove(peer, prefixKey(n.prefix), n.pathId ?? 0)) withdrawn += 1;
    };
    withdraw(update.withdrawn);
    if (attrs.mpUnreach) withdraw(attrs.mpUnreach.withdrawn);
    const treatAsWithdraw = update.error?.action === 'treat-as-withdraw';
    const groups: [readonly Nlri[], string | undefined, string | undefined][] = [];
    if (update.nlri.length > 0) groups.push([update.nlri, attrs.nextHop, undefined]);
    if (attrs.mpReach && attrs.mpReach.nlri.length > 0) groups.push([attrs.mpReach.nlri, attrs.mpReach.nextHops[0], attrs.mpReach.nextHops[1]]);
    let limitExceeded: BgpNotification | undefined;
    for (const [nlri, nextHop, linkLocal] of groups) {
      if (treatAsWithdraw || nextHop === undefined) {
        withdraw(nlri);
        continue;
      }
      const { mpReach: _r, mpUnreach: _u, nextHop: _n, ...rest } = attrs;
      const base: RouteAttributes = linkLocal === undefined ? { ...rest, nextHop } : { ...rest, nextHop, linkLocalNextHop: linkLocal };
      const received = this.attributes.intern(base);
      problem = importProblem(received, peer, this.me);
      if (problem !== undefined) {
        filtered += nlri.length;
        peer.filtered += nlri.length;
        withdraw(nlri);
        continue;
      }
      const normalized = normalizeReceived(received.value, peer);
      const stored = normalized === received.value ? received : this.attributes.intern(normalized);
      const policy = peer.config.importPolicy;
      for (const n of nlri) {
        const key = prefixKey(n.prefix);
        const pathId = n.pathId ?? 0;
        let set = stored;
        if (policy) {
          const outcome = evaluatePolicy(policy, { prefix: n.prefix, attributes: stored });
          if (!outcome.accept) {
            filtered += 1;
            peer.filtered += 1;
            if (this.remove(peer, key, pathId)) withdrawn += 1;
            continue;
          }
          if (outcome.applied.length > 0) set = this.policed(policy, stored, outcome.applied);
        }
        if (this.upsert(peer, key, pathId, set, received)) accepted += 1;
        const limit = peer.config.prefixLimit;
        if (limit !== undefined && peer.count > limit) {
          peer.limitReached = true;
          limitExceeded = prefixLimitNotification(n.prefix.family, limit, id);
          break;
        }
      }
      if (limitExceeded) break;
    }
    this.policyCache.clear();
    this.attributes.collect();
    return { accepted, withdrawn, filtered, ...(problem === undefined ? {} : { problem }), ...(limitExceeded ? { limitExceeded } : {}) };
  }

  /**
   * Turns the changes since the last flush into FibSink batches (pushed now) and the
   * UPDATE content for each peer (returned): withdrawals, and announcements grouped by
   * identical attributes. Peers that just came up or asked for a refresh get the whole
   * Loc-RIB.
   */
  flush(): FlushResult {
    let add: FibRoute[] = [];
    let remove: BgpPrefix[] = [];
    let fibAdded = 0;
    let fibRemoved = 0;
    const push = (): void => {
      if (add.length === 0 && remove.length === 0) return;
      this.fib.apply({ add, remove });
      fibAdded += add.length;
      fibRemoved += remove.length;
      add = [];
      remove = [];
    };
    const outgoing = new Map<PeerEntry, { withdrawn: PrefixKey[]; groups: Map<AttributeSet, PrefixKey[]> }>();
    const deltaOf = (peer: PeerEntry): { withdrawn: PrefixKey[]; groups: Map<AttributeSet, PrefixKey[]> } => {
      let d = outgoing.get(peer);
      if (!d) outgoing.set(peer, (d = { withdrawn: [], groups: new Map() }));
      return d;
    };
    const incremental = this.peerList.filter((p) => p.up && !p.fullExport);
    for (const [key, before] of this.pending) {
      const best = this.bestPath(key);
      const now = best && !best.peer.local ? best.attrs : null;
      if (now !== before && !(now && before && sameNextHops(now.value, before.value))) {
        if (now) add.push({ prefix: prefixFromKey(key), nextHops: nextHopsOf(now.value) });
        else remove.push(prefixFromKey(key));
        if (add.length + remove.length >= this.fibBatchSize) push();
      }
      for (const peer of incremental) this.exportTo(peer, key, best, deltaOf);
    }
    push();
    this.pending.clear();
    for (const peer of this.peerList) {
      if (!peer.up || !peer.fullExport) continue;
      peer.fullExport = false;
      for (const key of this.table.keys()) this.exportTo(peer, key, this.bestPath(key), deltaOf);
      // What was advertised before and is no longer in the table.
      for (const key of peer.adjRibOut.keys()) if (!this.table.has(key)) this.exportTo(peer, key, undefined, deltaOf);
    }
    this.policyCache.clear();
    this.attributes.collect();
    const updates = new Map<PeerId, OutgoingDelta>();
    for (const [peer, d] of outgoing) {
      if (d.withdrawn.length === 0 && d.groups.size === 0) continue;
      updates.set(peer.config.id, {
        withdrawn: d.withdrawn.map((k) => ({ prefix: prefixFromKey(k) })),
        announced: Array.from(d.groups, ([set, keys]) => ({ attributes: set.value, nlri: keys.map((k) => ({ prefix: prefixFromKey(k) })) })),
      });
    }
    return { fibAdded, fibRemoved, updates };
  }

  /** The best path for a prefix, or undefined. */
  best(prefix: BgpPrefix): RouteView | undefined {
    const key = prefixKey(prefix);
    const path = this.bestPath(key);
    return path && this.view(key, path);
  }

  /** Every path for a prefix, best first. */
  paths(prefix: BgpPrefix): RouteView[] {
    const key = prefixKey(prefix);
    const out: RouteView[] = [];
    for (let p = this.table.get(key); p; p = p.next) out.push(this.view(key, p));
    return out;
  }

  /** A peer's Adj-RIB-In: the routes held from it. */
  *adjRibIn(id: PeerId): Generator<RouteView> {
    const peer = this.requirePeer(id);
    for (const [key, head] of this.table) for (let p: Path | undefined = head; p; p = p.next) if (p.peer === peer) yield this.view(key, p);
  }

  /** A peer's Adj-RIB-Out: what was last advertised to it. */
  *adjRibOut(id: PeerId): Generator<{ prefix: BgpPrefix; attributes: RouteAttributes }> {
    for (const [key, set] of this.requirePeer(id).adjRibOut) yield { prefix: prefixFromKey(key), attributes: set.value };
  }

  /** Counters of one peer. */
  peerStats(id: PeerId): RibPeerStats {
    const p = this.requirePeer(id);
    return { received: p.count, stale: p.stale, filtered: p.filtered, advertised: p.adjRibOut.size };
  }

  private requirePeer(id: PeerId): PeerEntry {
    const peer = this.peers.get(id);
    if (!peer) throw new BgpInvalidArgument(`peer ${id} is not known to the RIB`);
    return peer;
  }

  private view(key: PrefixKey, p: Path): RouteView {
    return {
      prefix: prefixFromKey(key),
      peer: p.peer.local ? undefined : p.peer.config.id,
      pathId: p.pathId,
      attributes: p.attrs.value,
      received: p.received.value,
      best: (p.flags & PATH_FLAG.BEST) !== 0,
      stale: (p.flags & PATH_FLAG.STALE) !== 0,
    };
  }

  private bestPath(key: PrefixKey): Path | undefined {
    const head = this.table.get(key);
    return head && (head.flags & PATH_FLAG.BEST) !== 0 ? head : undefined;
  }

  private policed(policy: CompiledPolicy, set: AttributeSet, applied: readonly number[]): AttributeSet {
    const cacheKey = `${set.id}:${applied.join(',')}`;
    let out = this.policyCache.get(cacheKey);
    if (out === undefined || out.refs <= 0) {
      out = this.attributes.intern(applyPolicy(policy, applied, set.value));
      this.policyCache.set(cacheKey, out);
    }
    return out;
  }

  /** Records the FIB state of a prefix before its first change in this batch. */
  private touch(key: PrefixKey, head: Path | undefined): void {
    if (this.pending.has(key)) return;
    this.pending.set(key, head && (head.flags & PATH_FLAG.BEST) !== 0 && !head.peer.local ? head.attrs : null);
  }

  /** Adds or replaces a path; true when something changed. */
  private upsert(peer: PeerEntry, key: PrefixKey, pathId: number, attrs: AttributeSet, received: AttributeSet): boolean {
    const head = this.table.get(key);
    let found: Path | undefined;
    for (let p = head; p; p = p.next) {
      if (p.peer === peer && p.pathId === pathId) {
        found = p;
        break;
      }
    }
    if (found) {
      const wasStale = (found.flags & PATH_FLAG.STALE) !== 0;
      if (found.attrs === attrs && found.received === received && !wasStale) return false;
      this.touch(key, head);
      this.attributes.retain(attrs);
      this.attributes.retain(received);
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
      this.attributes.retain(attrs);
      this.attributes.retain(received);
      peer.count += 1;
      if (head === undefined) {
        this.table.set(key, new Path(peer, pathId, attrs, received, undefined, 0));
      } else {
        head.next = new Path(peer, pathId, attrs, received, head.next, 0);
      }
    }
    this.decide(key);
    return true;
  }

  /** Removes a path; true when there was one. */
  private remove(peer: PeerEntry, key: PrefixKey, pathId: number): boolean {
    const head = this.table.get(key);
    let prev: Path | undefined;
    for (let p = head; p; prev = p, p = p.next) {
      if (p.peer !== peer || p.pathId !== pathId) continue;
      this.touch(key, head);
      this.unlink(key, p, prev);
      this.decide(key);
      return true;
    }
    return false;
  }

  private unlink(key: PrefixKey, p: Path, prev: Path | undefined): void {
    if (prev) prev.next = p.next;
    else if (p.next) this.table.set(key, p.next);
    else this.table.delete(key);
    p.peer.count -= 1;
    if ((p.flags & PATH_FLAG.STALE) !== 0) p.peer.stale -= 1;
    this.attributes.release(p.attrs);
    this.attributes.release(p.received);
  }

  /** Runs the decision process for a prefix and moves the best path to the head. */
  private decide(key: PrefixKey): void {
    const head = this.table.get(key);
    if (!head) return;
    const best = selectBest(head, this.decision);
    head.flags &= ~PATH_FLAG.BEST;
    if (!best) return;
    if (best !== head) {
      let prev = head;
      while (prev.next !== best && prev.next) prev = prev.next;
      prev.next = best.next;
      best.next = head;
      this.table.set(key, best);
    }
    best.flags |= PATH_FLAG.BEST;
  }

  /** Visits a peer's paths (optionally of one family); removes those for which `fn` returns true. */
  private forEachPathOf(peer: PeerEntry, family: 4 | 6 | undefined, fn: (key: PrefixKey, path: Path) => boolean): number {
    let removed = 0;
    const doomed: PrefixKey[] = [];
    for (const [key, head] of this.table) {
      if (family !== undefined && keyFamily(key) !== family) continue;
      for (let p: Path | undefined = head; p; p = p.next) if (p.peer === peer && fn(key, p)) doomed.push(key);
    }
    for (const key of doomed) {
      const head = this.table.get(key);
      let prev: Path | undefined;
      for (let p = head; p; prev = p, p = p.next) {
        if (p.peer !== peer) continue;
        this.touch(key, head);
        this.unlink(key, p, prev);
        this.decide(key);
        removed += 1;
        break;
      }
    }
    return removed;
  }

  /** Brings a peer's Adj-RIB-Out entry for a prefix in line with the best path. */
  private exportTo(
    peer: PeerEntry,
    key: PrefixKey,
    best: Path | undefined,
    deltaOf: (peer: PeerEntry) => { withdrawn: PrefixKey[]; groups: Map<AttributeSet, PrefixKey[]> },
  ): void {
    const out = best ? this.exportSet(peer, key, best) : undefined;
    const previous = peer.adjRibOut.get(key);
    if (out === previous) return;
    const delta = deltaOf(peer);
    if (out) {
      this.attributes.retain(out);
      peer.adjRibOut.set(key, out);
      let group = delta.groups.get(out);
      if (!group) delta.groups.set(out, (group = []));
      group.push(key);
    } else {
      peer.adjRibOut.delete(key);
      delta.withdrawn.push(key);
    }
    if (previous) this.attributes.release(previous);
  }

  private exportSet(peer: PeerEntry, key: PrefixKey, best: Path): AttributeSet | undefined {
    const families = peer.config.families;
    if (families && !(keyFamily(key) === 4 ? families.ipv4 : families.ipv6)) return undefined;
    if (!mayAdvertise(best, peer)) return undefined;
    let policed = best.attrs;
    const policy = peer.config.exportPolicy;
    if (policy) {
      const outcome = evaluatePolicy(policy, { prefix: key, attributes: best.attrs });
      if (!outcome.accept) return undefined;
      if (outcome.applied.length > 0) policed = this.policed(policy, best.attrs, outcome.applied);
    }
    const cacheKey = `x${peer.index}:${best.peer.index}:${best.attrs.id}:${policed.id}:${keyFamily(key)}`;
    let out = this.policyCache.get(cacheKey);
    if (out === undefined) {
      out = this.attributes.intern(exportRewrite(best, best.attrs.value, policed.value, peer, this.me, keyFamily(key)));
      this.policyCache.set(cacheKey, out);
    }
    return out;
  }
}

function sameNextHops(a: RouteAttributes, b: RouteAttributes): boolean {
  return a.nextHop === b.nextHop && a.linkLocalNextHop === b.linkLocalNextHop;
}

function nextHopsOf(v: RouteAttributes): string[] {
  return v.linkLocalNextHop === undefined ? [v.nextHop] : [v.nextHop, v.linkLocalNextHop];
}

/**
 * Cease / Maximum Number of Prefixes Reached with the RFC 4486 §4 data: AFI (2
 * octets), SAFI (1) and the upper bound (4).
 */
export function prefixLimitNotification(family: 4 | 6, limit: number, peer: string): BgpNotification {
  const data = new Uint8Array(7);
  const view = new DataView(data.buffer);
  view.setUint16(0, family === 4 ? AFI.IPV4 : AFI.IPV6);
  view.setUint8(2, SAFI.UNICAST);
  view.setUint32(3, limit);
  return new BgpNotification({
    errorCode: NOTIFICATION_CODE.CEASE,
    errorSubcode: CEASE.MAXIMUM_NUMBER_OF_PREFIXES_REACHED,
    data,
    reason: `peer ${peer} sent more than ${limit} prefixes (IPv${family} unicast), the configured limit`,
  });
}
