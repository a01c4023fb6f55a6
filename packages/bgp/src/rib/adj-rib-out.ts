// Per-peer Adj-RIB-Out (RFC 4271 §3.2, §9.2): what each peer is sent for a prefix is the
// best path after the protocol's rules (split horizon, reflection, well-known
// communities), the export policy and the eBGP/iBGP rewrites; a change from what was
// last sent becomes a withdrawal or an announcement grouped with others of identical
// attributes (one UPDATE carries many NLRI).
import { type Nlri } from '../codec/prefix.js';
import { type PeerId } from '../ids.js';
import { type CompiledPolicy, evaluatePolicy } from '../policy/policy.js';

import { keepShape } from '../internal/keep-shape.js';

import { type AttributeSet, type RouteAttributes } from './attributes.js';
import { type PeerEntry } from './peer.js';
import { type PrefixKey, keyFamily, prefixFromKey } from './prefix-key.js';
import { type SpeakerIdentity, exportRewrite, mayAdvertise } from './propagation.js';
import { type RouteTable } from './route-table.js';

/** Announcements with identical attributes: one UPDATE can carry them all. */
export interface AnnouncementGroup {
  /** The attributes as sent to the peer (after export policy and the eBGP/iBGP rewrites). */
  readonly attributes: RouteAttributes;
  /** The prefixes announced with them. */
  readonly nlri: readonly Nlri[];
  /**
   * The same prefixes as RIB keys, when the RIB made the group: encoders that read them
   * need not build one prefix object per route.
   */
  readonly keys?: readonly PrefixKey[];
}

/** What to send one peer after a flush. */
export interface OutgoingDelta {
  /** Prefixes to withdraw: advertised before, with no route for the peer now. */
  readonly withdrawn: readonly Nlri[];
  /** Prefixes to announce (new, or with other attributes than last sent), by attributes. */
  readonly announced: readonly AnnouncementGroup[];
  /** The withdrawn prefixes as RIB keys, when the RIB made the delta (see {@link AnnouncementGroup.keys}). */
  readonly withdrawnKeys?: readonly PrefixKey[];
}

/** A group made by the RIB: its NLRI objects are built only when read. */
class KeyedGroup implements AnnouncementGroup {
  private list: readonly Nlri[] | undefined;

  constructor(
    readonly attributes: RouteAttributes,
    readonly keys: readonly PrefixKey[],
  ) {}

  get nlri(): readonly Nlri[] {
    return (this.list ??= this.keys.map(nlriOf));
  }
}

/** A delta made by the RIB: its withdrawn NLRI objects are built only when read. */
class KeyedDelta implements OutgoingDelta {
  private list: readonly Nlri[] | undefined;

  constructor(
    readonly withdrawnKeys: readonly PrefixKey[],
    readonly announced: readonly AnnouncementGroup[],
  ) {}

  get withdrawn(): readonly Nlri[] {
    return (this.list ??= this.withdrawnKeys.map(nlriOf));
  }
}

/** One peer's changes gathered during a flush, as prefix keys. */
class PeerDelta {
  readonly withdrawn: PrefixKey[] = [];
  readonly groups = new Map<AttributeSet, PrefixKey[]>();
  /** The group last added to: consecutive prefixes mostly share attributes. */
  private lastSet: AttributeSet | undefined;
  private lastGroup: PrefixKey[] = [];

  announce(set: AttributeSet, key: PrefixKey): void {
    if (set !== this.lastSet) {
      let group = this.groups.get(set);
      if (!group) this.groups.set(set, (group = []));
      this.lastSet = set;
      this.lastGroup = group;
    }
    this.lastGroup.push(key);
  }

  toOutgoing(): OutgoingDelta {
    return new KeyedDelta(
      this.withdrawn,
      Array.from(this.groups, ([set, keys]) => new KeyedGroup(set.value, keys)),
    );
  }
}

function nlriOf(key: PrefixKey): Nlri {
  return { prefix: prefixFromKey(key) };
}

/**
 * Brings Adj-RIB-Out entries in line with the Loc-RIB during one flush and gathers the
 * resulting changes per peer. Export results are cached per (peer, source, attributes,
 * policy result, family) for the flush: a full table with a few attribute sets is
 * rewritten a few times, not once per route.
 */
export class ExportRun {
  private readonly deltas = new Map<PeerEntry, PeerDelta>();
  /** Without an export policy: per target peer, keyed by a number made of the source peer, attribute set and family. */
  private readonly plain = new Map<PeerEntry, Map<number, AttributeSet>>();
  private readonly policedCache = new Map<string, AttributeSet>();
  // The last export without policy, and the last peer's delta: a table is mostly runs
  // of prefixes with the same best-path attributes, exported to one peer after another.
  private lastPeer: PeerEntry | undefined;
  private lastDelta: PeerDelta | undefined;
  private last: { target: PeerEntry; source: PeerEntry; attrs: AttributeSet; family: 4 | 6; out: AttributeSet } | undefined;

  constructor(
    private readonly table: RouteTable,
    private readonly me: SpeakerIdentity,
    private readonly policed: (policy: CompiledPolicy, set: AttributeSet, applied: readonly number[]) => AttributeSet,
  ) {}

  /** Makes `peer`'s Adj-RIB-Out entry for `key` follow the best path, from `source` with `attrs` (undefined: no route). */
  exportTo(peer: PeerEntry, key: PrefixKey, source: PeerEntry | undefined, attrs: AttributeSet | undefined): void {
    const out = source === undefined || attrs === undefined ? undefined : this.exportSet(peer, key, source, attrs);
    // Nothing to send and nothing sent before (the route's own source, mostly): no lookup.
    if (out === undefined && peer.adjRibOut.size === 0) return;
    // One lookup: the entry is set (or removed) as it is read; unchanged, it is as it was.
    const previous = out === undefined ? peer.adjRibOut.take(key) : peer.adjRibOut.swap(key, out);
    if (out === previous) return;
    let delta = peer === this.lastPeer ? this.lastDelta : this.deltas.get(peer);
    if (delta === undefined) this.deltas.set(peer, (delta = new PeerDelta()));
    this.lastPeer = peer;
    this.lastDelta = delta;
    if (out) {
      out.refs += 1;
      delta.announce(out, key);
    } else delta.withdrawn.push(key);
    if (previous) this.table.attributes.release(previous);
  }

  /** Per peer with something to send, its UPDATE content. */
  result(): Map<PeerId, OutgoingDelta> {
    const updates = new Map<PeerId, OutgoingDelta>();
    for (const [peer, d] of this.deltas) {
      if (d.withdrawn.length === 0 && d.groups.size === 0) continue;
      updates.set(peer.config.id, d.toOutgoing());
    }
    return updates;
  }

  private exportSet(peer: PeerEntry, key: PrefixKey, source: PeerEntry, attrs: AttributeSet): AttributeSet | undefined {
    const family = keyFamily(key);
    // RFC 4760 §6: a family the session does not carry stays out of its Adj-RIB-Out.
    const families = peer.config.families;
    if (families && !(family === 4 ? families.ipv4 : families.ipv6)) return undefined;
    if (!mayAdvertise(source, attrs, peer)) return undefined;
    const policy = peer.config.exportPolicy;
    if (policy === undefined) {
      const last = this.last;
      if (last !== undefined && last.attrs === attrs && last.source === source && last.target === peer && last.family === family) return last.out;
      // Attribute set ids count up from 1; a peer index has 16 bits (MAX_PEERS), a family one.
      const cacheKey = (attrs.id * 0x10000 + source.index) * 2 + (family === 6 ? 1 : 0);
      let cache = this.plain.get(peer);
      if (cache === undefined) this.plain.set(peer, (cache = new Map()));
      let out = cache.get(cacheKey);
      if (out === undefined) {
        out = this.table.attributes.intern(exportRewrite(source, attrs.value, attrs.value, peer, this.me, family));
        cache.set(cacheKey, out);
      }
      this.last = { target: peer, source: source, attrs: attrs, family, out };
      return out;
    }
    const outcome = evaluatePolicy(policy, { prefix: key, attributes: attrs });
    if (!outcome.accept) return undefined;
    const policed = outcome.applied.length > 0 ? this.policed(policy, attrs, outcome.applied) : attrs;
    const cacheKey = `x${peer.index}:${source.index}:${attrs.id}:${policed.id}:${family}`;
    let out = this.policedCache.get(cacheKey);
    if (out === undefined) {
      out = this.table.attributes.intern(exportRewrite(source, attrs.value, policed.value, peer, this.me, family));
      this.policedCache.set(cacheKey, out);
    }
    return out;
  }
}

// A flush's export run and its deltas live through that flush (keep-shape.ts); the
// run's fields hold nothing here (the flush gives it a table, an identity and a cache).
keepShape(new ExportRun(null as unknown as RouteTable, null as unknown as SpeakerIdentity, () => null as unknown as AttributeSet)).result();
keepShape(new PeerDelta()).toOutgoing();
