// The protocol's rules for routes entering and leaving the speaker, around the
// policies: loop detection on receipt (RFC 4271 §9.1.2, RFC 4456 §8), and on export the
// iBGP split horizon (RFC 4271 §9.2.1), route reflection (RFC 4456 §6, §8), the
// well-known communities (RFC 1997) and the eBGP/iBGP attribute rewrites (RFC 4271
// §5.1: AS_PATH prepend, NEXT_HOP, LOCAL_PREF, MED).
import { type Asn } from '../codec/asn.js';
import { AS_PATH_SEGMENT } from '../codec/constants.js';
import { type AsPathSegment } from '../codec/attributes/as-path.js';

import { type AttributeSet, type RouteAttributes } from './attributes.js';
import { DEFAULT_LOCAL_PREF } from './decision.js';
import { type PeerEntry } from './peer.js';

/** What the propagation rules need to know about this speaker. */
export interface SpeakerIdentity {
  readonly localAs: Asn;
  readonly routerId: string;
  readonly routerIdNumber: number;
  /** The CLUSTER_ID (RFC 4456 §7), the router id unless configured. */
  readonly clusterId: string;
}

/**
 * Why a route received from `peer` must be ignored (treated as withdrawn), or
 * undefined when it may enter the RIB.
 */
export function importProblem(attrs: AttributeSet, peer: PeerEntry, me: SpeakerIdentity): string | undefined {
  const v = attrs.value;
  if (peer.ebgp) {
    // RFC 4271 §9.1.2: a route whose AS_PATH holds our own AS is a loop.
    if (v.asPath?.some((s) => s.asns.includes(me.localAs))) return `AS_PATH ${attrs.asPathText} contains our AS ${me.localAs}`;
    // RFC 4271 §6.3: the leftmost AS of an eBGP route should be the peer's.
    if ((peer.config.enforceFirstAs ?? true) && attrs.neighborAs !== peer.config.asn) {
      return `AS_PATH ${JSON.stringify(attrs.asPathText)} does not start with the peer's AS ${peer.config.asn}`;
    }
  } else {
    // RFC 4456 §8: our own ORIGINATOR_ID or CLUSTER_ID means the route looped through us.
    if (attrs.originatorId !== 0 && attrs.originatorId === me.routerIdNumber) return `ORIGINATOR_ID ${v.originatorId} is our router id`;
    if (v.clusterList?.includes(me.clusterId)) return `CLUSTER_LIST ${v.clusterList.join(' ')} contains our cluster id ${me.clusterId}`;
  }
  return undefined;
}

/** The attributes a route from `peer` keeps: LOCAL_PREF from an eBGP peer is ignored (RFC 4271 §5.1.5). */
export function normalizeReceived(value: RouteAttributes, peer: PeerEntry): RouteAttributes {
  if (!peer.ebgp || value.localPref === undefined) return value;
  const { localPref: _ignored, ...rest } = value;
  return rest;
}

/**
 * Whether the best path (from `source`, with `attrs`) may be advertised to `target` at all, before its export policy:
 * not back to its source; NO_ADVERTISE never, NO_EXPORT(_SUBCONFED) not to eBGP
 * (RFC 1997); an iBGP-learned route to an iBGP peer only when reflecting: from a client
 * to everyone, from a non-client to clients (RFC 4456 §6); never to its originator.
 */
export function mayAdvertise(source: PeerEntry, attrs: AttributeSet, target: PeerEntry): boolean {
  if (source === target) return false;
  if (attrs.noAdvertise || (target.ebgp && attrs.noExport)) return false;
  if (!target.ebgp && !source.ebgp && !source.local) {
    if (!(source.config.routeReflectorClient ?? false) && !(target.config.routeReflectorClient ?? false)) return false;
    const originator = attrs.originatorId || source.routerIdNumber;
    if (originator === target.routerIdNumber) return false;
  }
  return true;
}

function prepend(path: readonly AsPathSegment[] | undefined, asn: Asn): AsPathSegment[] {
  const segments = path ?? [];
  const first = segments[0];
  // RFC 4271 §5.1.2: add to a leading AS_SEQUENCE unless it is full (255), else a new segment.
  if (first?.type === AS_PATH_SEGMENT.AS_SEQUENCE && first.asns.length < 255) {
    return [{ type: AS_PATH_SEGMENT.AS_SEQUENCE, asns: [asn, ...first.asns] }, ...segments.slice(1)];
  }
  return [{ type: AS_PATH_SEGMENT.AS_SEQUENCE, asns: [asn] }, ...segments];
}

/**
 * The attributes sent to `target` for a best path from `source` whose Loc-RIB attributes are `stored`
 * and whose export policy produced `policed`. A next hop or MED the policy set is kept.
 * - eBGP: our AS prepended; NEXT_HOP ours; no LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST;
 *   MED only when set here (RFC 4271 §5.1.4: a neighbour AS's MED is not passed on).
 * - iBGP: LOCAL_PREF present; NEXT_HOP ours for local routes, and with next-hop-self
 *   for eBGP-learned ones; reflected routes get ORIGINATOR_ID and our CLUSTER_ID in
 *   front of CLUSTER_LIST (RFC 4456 §8), next hop unchanged (RFC 4456 §10).
 */
export function exportRewrite(source: PeerEntry, stored: RouteAttributes, policed: RouteAttributes, target: PeerEntry, me: SpeakerIdentity, family: 4 | 6): RouteAttributes {
  const own = family === 6 ? (target.config.localAddress6 ?? target.config.localAddress) : target.config.localAddress;
  const nextHopSetByPolicy = policed.nextHop !== stored.nextHop;
  const out: { -readonly [K in keyof RouteAttributes]: RouteAttributes[K] } = { ...policed };
  if (target.ebgp) {
    out.asPath = prepend(policed.asPath, me.localAs);
    delete out.localPref;
    delete out.originatorId;
    delete out.clusterList;
    if (!source.local && policed.med === stored.med) delete out.med;
    if (!nextHopSetByPolicy) {
      out.nextHop = own;
      delete out.linkLocalNextHop;
    }
    return out;
  }
  out.localPref ??= DEFAULT_LOCAL_PREF;
  if (!nextHopSetByPolicy && (source.local || (source.ebgp && (target.config.nextHopSelf ?? false)))) {
    out.nextHop = own;
    delete out.linkLocalNextHop;
  }
  if (!source.local && !source.ebgp) {
    out.originatorId ??= source.config.routerId;
    out.clusterList = [me.clusterId, ...(policed.clusterList ?? [])];
  }
  return out;
}
