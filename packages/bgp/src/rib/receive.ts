// Receipt of an UPDATE into the Adj-RIB-In (RFC 4271 §9.1): withdrawals, then each
// announced route through the protocol's checks (loops, first AS, RFC 7606
// treat-as-withdraw), the import policy and the prefix limit. The attributes are
// interned once per UPDATE; IPv4 NLRI fields may arrive packed and are walked without
// building objects.
import { BgpNotification } from '../errors.js';
import { RecentShapes, keepShape } from '../internal/keep-shape.js';
import { AFI, SAFI } from '../codec/constants.js';
import { CEASE, NOTIFICATION_CODE } from '../codec/notification-codes.js';
import { type PathAttributes } from '../codec/attributes/path-attributes.js';
import { type PackedNlri, Ipv4NlriCursor } from '../codec/packed-nlri.js';
import { type Nlri } from '../codec/prefix.js';
import { type CompiledPolicy, applyPolicy, evaluatePolicy } from '../policy/policy.js';

import { type AttributeSet, type RouteAttributes } from './attributes.js';
import { type PeerEntry } from './peer.js';
import { type PrefixKey, ipv4Key, prefixKey } from './prefix-key.js';
import { type SpeakerIdentity, importProblem, normalizeReceived } from './propagation.js';
import { type RouteTable } from './route-table.js';

/** Counts of one receipt, and what went wrong. */
export interface ReceiveTally {
  accepted: number;
  withdrawn: number;
  filtered: number;
  problem: string | undefined;
  limitExceeded: BgpNotification | undefined;
}

/**
 * Walks NLRI given as objects or as a packed IPv4 field, one entry at a time, without
 * allocating for packed fields: its `key` and `pathId`.
 */
class NlriWalk {
  key: PrefixKey = 0;
  pathId = 0;
  private index = 0;
  private readonly cursor: Ipv4NlriCursor | undefined;
  private current: Nlri | undefined;

  constructor(private readonly list: readonly Nlri[] | PackedNlri) {
    this.cursor = 'bytes' in list ? new Ipv4NlriCursor(list) : undefined;
  }

  get family(): 4 | 6 {
    return 'bytes' in this.list ? this.list.family : (this.current?.prefix.family ?? 4);
  }

  next(): boolean {
    const c = this.cursor;
    if (c !== undefined) {
      if (!c.next()) return false;
      this.key = ipv4Key(c.address, c.length);
      this.pathId = c.pathId;
      return true;
    }
    const list = this.list as readonly Nlri[];
    const n = list[this.index];
    if (n === undefined) return false;
    this.index += 1;
    this.current = n;
    this.key = prefixKey(n.prefix);
    this.pathId = n.pathId ?? 0;
    return true;
  }
}

// A walk (and its cursor) lives through one call (keep-shape.ts).
keepShape(new NlriWalk({ family: 4, addPath: false, bytes: new Uint8Array(0) }));

// The attribute objects of the last 16 UPDATEs (two each), kept past a withdrawn table (keep-shape.ts).
const recentAttributes = new RecentShapes(32);

/** Withdraws every route of `list` from `peer`; adds to `tally.withdrawn`. */
export function withdrawAll(table: RouteTable, peer: PeerEntry, list: readonly Nlri[] | PackedNlri, tally: ReceiveTally): void {
  if ('bytes' in list && !list.addPath && list.bytes.length > 0) return withdrawPacked(table, peer, list, tally);
  const walk = new NlriWalk(list);
  while (walk.next()) if (table.remove(peer, walk.key, walk.pathId)) tally.withdrawn += 1;
}

/** Withdrawals looked up together: about as many misses as a CPU has in flight. */
const WARM_GROUP = 16;
const warmKeys = new Float64Array(WARM_GROUP);

/** {@link withdrawAll} of a packed field without path identifiers, in groups warmed first (RouteTable.warm). */
function withdrawPacked(table: RouteTable, peer: PeerEntry, list: PackedNlri, tally: ReceiveTally): void {
  const walk = new NlriWalk(list);
  for (;;) {
    let count = 0;
    while (count < WARM_GROUP && walk.next()) warmKeys[count++] = walk.key as number;
    table.warm(warmKeys, count);
    for (let i = 0; i < count; i += 1) if (table.remove(peer, warmKeys[i] as number, 0)) tally.withdrawn += 1;
    if (count < WARM_GROUP) return;
  }
}

/** What {@link announceAll} needs besides the table. */
export interface AnnounceContext {
  readonly table: RouteTable;
  readonly me: SpeakerIdentity;
  /** Policy results per (attribute set, applied terms), shared within one receipt or flush. */
  readonly policed: (policy: CompiledPolicy, set: AttributeSet, applied: readonly number[]) => AttributeSet;
}

/**
 * Announces the routes of `list` from `peer` with the UPDATE's attributes and the next
 * hop(s) of their family; routes that fail the checks or the import policy are
 * withdrawn. Stops at the prefix limit.
 */
export function announceAll(
  ctx: AnnounceContext,
  peer: PeerEntry,
  list: readonly Nlri[] | PackedNlri,
  attributes: PathAttributes,
  nextHops: readonly [string, string | undefined],
  tally: ReceiveTally,
): void {
  const { table, me } = ctx;
  const { mpReach: _r, mpUnreach: _u, nextHop: _n, ...rest } = attributes;
  const [nextHop, linkLocal] = nextHops;
  const base: RouteAttributes = linkLocal === undefined ? { ...rest, nextHop } : { ...rest, nextHop, linkLocalNextHop: linkLocal };
  const received = table.attributes.intern(base);
  recentAttributes.keep(rest);
  recentAttributes.keep(base);
  const problem = importProblem(received, peer, me);
  if (problem !== undefined) {
    tally.problem = problem;
    const walk = new NlriWalk(list);
    while (walk.next()) {
      tally.filtered += 1;
      peer.filtered += 1;
      if (table.remove(peer, walk.key, walk.pathId)) tally.withdrawn += 1;
    }
    return;
  }
  const normalized = normalizeReceived(received.value, peer);
  const stored = normalized === received.value ? received : table.attributes.intern(normalized);
  const policy = peer.config.importPolicy;
  const limit = peer.config.prefixLimit ?? Infinity;
  // The same for every route with the stored attributes (the interior cost of its next hop).
  const storedEligible = table.eligible(peer, stored);
  const walk = new NlriWalk(list);
  while (walk.next()) {
    let set = stored;
    if (policy) {
      const outcome = evaluatePolicy(policy, { prefix: walk.key, attributes: stored });
      if (!outcome.accept) {
        tally.filtered += 1;
        peer.filtered += 1;
        if (table.remove(peer, walk.key, walk.pathId)) tally.withdrawn += 1;
        continue;
      }
      if (outcome.applied.length > 0) set = ctx.policed(policy, stored, outcome.applied);
    }
    if (table.upsert(peer, walk.key, walk.pathId, set, received, set === stored ? storedEligible : table.eligible(peer, set))) tally.accepted += 1;
    if (peer.count > limit) {
      peer.limitReached = true;
      tally.limitExceeded = prefixLimitNotification(walk.family, limit, peer.config.id);
      return;
    }
  }
}

/** The policy result cache used by a receipt or a flush: `applyPolicy` once per (set, terms). */
export function policyCache(table: RouteTable, cache: Map<string, AttributeSet>): AnnounceContext['policed'] {
  return (policy, set, applied) => {
    const cacheKey = `${set.id}:${applied.join(',')}`;
    let out = cache.get(cacheKey);
    if (out === undefined || out.refs <= 0) {
      out = table.attributes.intern(applyPolicy(policy, applied, set.value));
      cache.set(cacheKey, out);
    }
    return out;
  };
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
