// Turns what the RIB wants sent to one peer (withdrawals, announcements grouped by
// attributes) into UPDATE messages that each fit the negotiated length: 4096 octets, or
// 65535 with extended messages (RFC 4271 §4.1, RFC 8654 §4). IPv4 unicast travels in
// the Withdrawn Routes and NLRI fields, IPv6 unicast in MP_UNREACH/MP_REACH (RFC 4760).
import { AFI, SAFI } from '../codec/constants.js';
import { type NegotiatedState, hasFamily, maxMessageLength } from '../codec/negotiated.js';
import { type IpFamily, type Nlri } from '../codec/prefix.js';
import { type BgpUpdate, encodeUpdate, endOfRib } from '../codec/update.js';
import { type RouteAttributes } from '../rib/attributes.js';
import { type OutgoingDelta } from '../rib/rib.js';

/** The address families a session carries (RFC 4760 §6: without MP capabilities, IPv4 unicast only). */
export interface SessionFamilies {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/** Octets one NLRI entry takes: length octet, prefix octets, and a path identifier with ADD-PATH (RFC 7911 §3). */
function nlriSize(n: Nlri, addPath: boolean): number {
  return 1 + Math.ceil(n.prefix.length / 8) + (addPath ? 4 : 0);
}

/** Cuts `list` into runs whose encoded size stays within `budget` octets (at least one entry per run). */
function chunk(list: readonly Nlri[], budget: number, addPath: boolean): Nlri[][] {
  const out: Nlri[][] = [];
  let current: Nlri[] = [];
  let used = 0;
  for (const n of list) {
    const size = nlriSize(n, addPath);
    if (current.length > 0 && used + size > budget) {
      out.push(current);
      current = [];
      used = 0;
    }
    current.push(n);
    used += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function byFamily(list: readonly Nlri[], family: IpFamily): Nlri[] {
  return list.filter((n) => n.prefix.family === family);
}

function ipv4Update(attributes: RouteAttributes, nlri: readonly Nlri[]): BgpUpdate {
  const { linkLocalNextHop: _ll, ...rest } = attributes;
  return { type: 'update', withdrawn: [], attributes: rest, nlri };
}

function ipv6Update(attributes: RouteAttributes, nlri: readonly Nlri[]): BgpUpdate {
  const { nextHop, linkLocalNextHop, ...rest } = attributes;
  const nextHops = linkLocalNextHop === undefined ? [nextHop] : [nextHop, linkLocalNextHop];
  return { type: 'update', withdrawn: [], attributes: { ...rest, mpReach: { afi: AFI.IPV6, safi: SAFI.UNICAST, nextHops, nlri } }, nlri: [] };
}

function ipv6Withdrawal(nlri: readonly Nlri[]): BgpUpdate {
  return { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: AFI.IPV6, safi: SAFI.UNICAST, withdrawn: nlri } }, nlri: [] };
}

/**
 * Encodes one peer's share of a flush as UPDATE messages, withdrawals first, each no
 * longer than the session allows. Prefixes of a family the session does not carry are
 * left out.
 * @throws {BgpInvalidArgument} when one route's attributes alone exceed the message size.
 */
export function encodeOutgoing(delta: OutgoingDelta, state: NegotiatedState, families: SessionFamilies): Uint8Array[] {
  const max = maxMessageLength(state);
  const out: Uint8Array[] = [];
  const add4 = hasFamily(state.addPathSend, AFI.IPV4, SAFI.UNICAST);
  const add6 = hasFamily(state.addPathSend, AFI.IPV6, SAFI.UNICAST);
  // Each message's fixed part is measured by encoding it without NLRI; the budget keeps
  // 2 octets spare for an MP attribute whose length field grows to 2 octets (RFC 4271 §4.3).
  const emit = (make: (nlri: readonly Nlri[]) => BgpUpdate, list: readonly Nlri[], addPath: boolean): void => {
    if (list.length === 0) return;
    const base = encodeUpdate(make([]), state).length;
    for (const part of chunk(list, max - base - 2, addPath)) out.push(encodeUpdate(make(part), state));
  };
  if (families.ipv4) emit((nlri) => ({ type: 'update', withdrawn: nlri, attributes: {}, nlri: [] }), byFamily(delta.withdrawn, 4), add4);
  if (families.ipv6) emit(ipv6Withdrawal, byFamily(delta.withdrawn, 6), add6);
  for (const group of delta.announced) {
    if (families.ipv4) emit((nlri) => ipv4Update(group.attributes, nlri), byFamily(group.nlri, 4), add4);
    if (families.ipv6) emit((nlri) => ipv6Update(group.attributes, nlri), byFamily(group.nlri, 6), add6);
  }
  return out;
}

/** End-of-RIB markers for the families of a session (RFC 4724 §2), IPv4 first. */
export function encodeEndOfRib(state: NegotiatedState, families: SessionFamilies): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (families.ipv4) out.push(encodeUpdate(endOfRib({ afi: AFI.IPV4, safi: SAFI.UNICAST }), state));
  if (families.ipv6) out.push(encodeUpdate(endOfRib({ afi: AFI.IPV6, safi: SAFI.UNICAST }), state));
  return out;
}

