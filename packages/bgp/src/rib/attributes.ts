// Route attributes as the RIB keeps them, interned: every distinct attribute set is
// one shared, frozen object, so a million routes with a few thousand distinct sets
// cost a pointer each for their attributes (BIRD does the same with its rta cache).
import { type PathAttributes } from '../codec/attributes/path-attributes.js';
import { WELL_KNOWN_COMMUNITY } from '../codec/attributes/communities.js';
import { AS_PATH_SEGMENT } from '../codec/constants.js';
import { asPathLength } from '../codec/attributes/as-path.js';
import { RecentShapes, keepShape } from '../internal/keep-shape.js';

/**
 * The attributes of one route: the UPDATE's path attributes without the MP_REACH /
 * MP_UNREACH carriers, and the next hop of the route's own family (the NEXT_HOP for
 * IPv4 in the NLRI field, the MP_REACH_NLRI next hop otherwise, RFC 4760 §3).
 */
export interface RouteAttributes extends Omit<PathAttributes, 'mpReach' | 'mpUnreach' | 'nextHop'> {
  /** The next hop, as text. */
  readonly nextHop: string;
  /** The IPv6 link-local next hop that may follow the global one (RFC 2545 §3). */
  readonly linkLocalNextHop?: string;
}

/** A dotted quad as an unsigned 32-bit number, or 0 when it is not one. */
export function ipv4ToNumber(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return 0;
  let n = 0;
  for (const p of parts) n = n * 256 + (Number(p) & 0xff);
  return n;
}

/** The text form of an AS_PATH, as BIRD and FRR print it: `"65001 65002 {65003,65004}"`. */
export function asPathToText(value: RouteAttributes): string {
  const out: string[] = [];
  for (const s of value.asPath ?? []) {
    if (s.type === AS_PATH_SEGMENT.AS_SEQUENCE) out.push(s.asns.join(' '));
    else if (s.type === AS_PATH_SEGMENT.AS_SET) out.push(`{${s.asns.join(',')}}`);
    else if (s.type === AS_PATH_SEGMENT.AS_CONFED_SEQUENCE) out.push(`(${s.asns.join(' ')})`);
    else out.push(`[${s.asns.join(',')}]`);
  }
  return out.join(' ');
}

function attributesKey(v: RouteAttributes): string {
  // A canonical text of every field; only computed once per distinct UPDATE/policy result.
  let k = `${v.origin ?? ''}|${asPathToText(v)}|${v.nextHop}|${v.linkLocalNextHop ?? ''}|${v.med ?? ''}|${v.localPref ?? ''}|`;
  k += `${v.atomicAggregate === true ? 1 : ''}|${v.aggregator ? `${v.aggregator.asn}@${v.aggregator.address}` : ''}|`;
  k += `${(v.communities ?? []).join(',')}|`;
  for (const c of v.largeCommunities ?? []) k += `${c.globalAdministrator}:${c.localData1}:${c.localData2},`;
  k += `|${v.originatorId ?? ''}|${(v.clusterList ?? []).join(',')}|`;
  for (const u of v.unknown ?? []) k += `${u.typeCode}:${Array.from(u.value, (b) => b.toString(16).padStart(2, '0')).join('')},`;
  return k;
}

/**
 * One interned attribute set, with what the decision process needs precomputed
 * (RFC 4271 §9.1.2.2). Never build one directly: the RIB interns them (one instance per distinct set of attributes).
 */
export class AttributeSet {
  /** Routes and Adj-RIB-Out entries that use this set; at 0 it leaves the table. */
  refs = 0;
  /** The AS_PATH length as §9.1.2.2 a counts it (AS_SET 1, confederation segments 0). */
  readonly pathLength: number;
  /**
   * The neighbour AS for the MED comparison (§9.1.2.2 c): the first AS of a leading
   * AS_SEQUENCE; undefined for an empty path or one starting with an AS_SET (local AS).
   */
  readonly neighborAs: number | undefined;
  /** ORIGINATOR_ID as a number, 0 when absent (RFC 4456 §9). */
  readonly originatorId: number;
  /**
   * Where its table keeps it (a small number, reused once the set has left the table):
   * the RIB's route table refers to a set by this number, not by a pointer. -1 once
   * given back.
   */
  slot = -1;
  private pathText: string | undefined;
  /**
   * The next hops as a FIB route lists them: the global one, then the link-local one
   * when known. Kept on the set, not read from `value` per route: code that reads the
   * set's own fields depends on one hidden class, the set's, and not on those of the
   * attribute objects, which come and go with the tables (keep-shape.ts).
   */
  readonly nextHops: readonly string[];
  /**
   * The set carries NO_ADVERTISE (RFC 1997): the route goes to no peer. Read per route
   * exported, so kept on the set like `nextHops`.
   */
  readonly noAdvertise: boolean;
  /** The set carries NO_EXPORT or NO_EXPORT_SUBCONFED (RFC 1997): the route goes to no eBGP peer. */
  readonly noExport: boolean;

  constructor(
    /** A small number unique in its table, for cache keys. */
    readonly id: number,
    /** The attributes, frozen. */
    readonly value: RouteAttributes,
    /** The canonical text the table interns by. */
    readonly key: string,
  ) {
    this.pathLength = asPathLength(value.asPath ?? []);
    const first = value.asPath?.[0];
    this.neighborAs = first?.type === AS_PATH_SEGMENT.AS_SEQUENCE ? first.asns[0] : undefined;
    this.originatorId = value.originatorId === undefined ? 0 : ipv4ToNumber(value.originatorId);
    this.nextHops = Object.freeze(value.linkLocalNextHop === undefined ? [value.nextHop] : [value.nextHop, value.linkLocalNextHop]);
    const communities = value.communities ?? [];
    this.noAdvertise = communities.includes(WELL_KNOWN_COMMUNITY.NO_ADVERTISE);
    this.noExport = communities.includes(WELL_KNOWN_COMMUNITY.NO_EXPORT) || communities.includes(WELL_KNOWN_COMMUNITY.NO_EXPORT_SUBCONFED);
  }

  /** The global next hop (`value.nextHop`). */
  get nextHop(): string {
    return this.nextHops[0] as string;
  }

  /** The AS_PATH as text (computed once), for AS path regular expressions. */
  get asPathText(): string {
    this.pathText ??= asPathToText(this.value);
    return this.pathText;
  }
}

// Withdrawing a table releases all of its attribute sets (keep-shape.ts).
keepShape(new AttributeSet(0, Object.freeze({ nextHop: '0.0.0.0' }), ''));

// The last sets to leave the table, with their frozen values: a withdrawn table takes
// every set with it, and with them the hidden classes of their values (keep-shape.ts).
const recentlyLeft = new RecentShapes(64);

/**
 * The table of interned attribute sets. Each set has a slot, by which the route table
 * refers to it ({@link AttributeTable.at}). A set that leaves the table (no more
 * references) gives its slot back only at the next {@link AttributeTable.collect}, at
 * the end of the receipt or flush that released it: until then a cache of that
 * operation may still hand it out again, and a slot must never name two sets while
 * either is in use.
 */
export class AttributeTable {
  private readonly byKey = new Map<string, AttributeSet>();
  private readonly fresh: AttributeSet[] = [];
  /** Sets whose references fell to 0 since the last collect: their slots go back then. */
  private readonly left: AttributeSet[] = [];
  private readonly bySlot: (AttributeSet | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private nextId = 1;

  /** Distinct attribute sets held. */
  get size(): number {
    return this.byKey.size;
  }

  /** The set in `slot` (a slot of a set still referenced). */
  at(slot: number): AttributeSet {
    return this.bySlot[slot] as AttributeSet;
  }

  /**
   * The shared set equal to `value`. A new set starts with no references; one that is
   * still unreferenced at the next {@link AttributeTable.collect} leaves the table.
   */
  intern(value: RouteAttributes): AttributeSet {
    const key = attributesKey(value);
    const found = this.byKey.get(key);
    if (found) return found;
    const set = new AttributeSet(this.nextId, Object.freeze({ ...value }), key);
    this.nextId += 1;
    set.slot = this.freeSlots.pop() ?? this.bySlot.length;
    this.bySlot[set.slot] = set;
    this.byKey.set(key, set);
    this.fresh.push(set);
    return set;
  }

  /** Adds a reference. */
  retain(set: AttributeSet): void {
    set.refs += 1;
  }

  /** Drops a reference; the set leaves the table at zero (its slot at the next collect). */
  release(set: AttributeSet): void {
    set.refs -= 1;
    if (set.refs > 0) return;
    if (this.byKey.get(set.key) === set) this.byKey.delete(set.key);
    this.left.push(set);
  }

  /** Removes sets interned since the last call that nothing references, and gives back the slots of the sets that left. */
  collect(): void {
    // Called after every originated route: with nothing to do, no write to either array's
    // length (a call into the runtime each, ~5% of originating a table).
    if (this.fresh.length > 0) {
      for (const set of this.fresh) {
        if (set.refs > 0) continue;
        if (this.byKey.get(set.key) === set) this.byKey.delete(set.key);
        this.freeSlot(set);
      }
      this.fresh.length = 0;
    }
    if (this.left.length > 0) {
      for (const set of this.left) if (set.refs <= 0) this.freeSlot(set);
      this.left.length = 0;
    }
  }

  private freeSlot(set: AttributeSet): void {
    if (set.slot < 0) return;
    recentlyLeft.keep(set);
    this.bySlot[set.slot] = undefined;
    this.freeSlots.push(set.slot);
    set.slot = -1;
  }
}
