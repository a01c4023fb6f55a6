// Turns what the RIB wants sent to one peer (withdrawals, announcements grouped by
// attributes) into UPDATE messages that each fit the negotiated length: 4096 octets, or
// 65535 with extended messages (RFC 4271 §4.1, RFC 8654 §4). IPv4 unicast travels in
// the Withdrawn Routes and NLRI fields, IPv6 unicast in MP_UNREACH/MP_REACH (RFC 4760).
import { AFI, SAFI } from '../codec/constants.js';
import { type NegotiatedState, hasFamily, maxMessageLength } from '../codec/negotiated.js';
import { type IpFamily, type Nlri } from '../codec/prefix.js';
import { type BgpUpdate, encodeUpdate, endOfRib } from '../codec/update.js';
import { type RouteAttributes } from '../rib/attributes.js';
import { type PrefixKey, ipv4KeyNlriSize, prefixFromKey, writeIpv4KeyNlri } from '../rib/prefix-key.js';
import { type OutgoingDelta } from '../rib/rib.js';

/** The address families a session carries (RFC 4760 §6: without MP capabilities, IPv4 unicast only). */
export interface SessionFamilies {
  /** IPv4 unicast (AFI 1, SAFI 1) is exchanged; this speaker sends it in the Withdrawn Routes and NLRI fields. */
  readonly ipv4: boolean;
  /** IPv6 unicast (AFI 2, SAFI 1) is exchanged, in MP_REACH_NLRI / MP_UNREACH_NLRI. */
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

/** RIB keys split by family: IPv4 as numbers (encoded from the key), IPv6 as NLRI objects. */
function splitKeys(keys: readonly PrefixKey[]): { v4: readonly number[]; v6: Nlri[] } {
  let strings = 0;
  for (const key of keys) if (typeof key === 'string') strings += 1;
  if (strings === 0) return { v4: keys as readonly number[], v6: [] };
  const v4: number[] = [];
  const v6: Nlri[] = [];
  for (const key of keys) {
    if (typeof key === 'number') v4.push(key);
    else v6.push({ prefix: prefixFromKey(key) });
  }
  return { v4, v6 };
}

/** Offset of the length field in the BGP header (RFC 4271 §4.1), after the 16-octet marker. */
const LENGTH_OFFSET = 16;
/** Octets of the header and the Withdrawn Routes Length field. */
const WITHDRAWN_FIELD = 21;

/**
 * Encodes IPv4 prefixes given as RIB keys as UPDATEs of at most `max` octets, without
 * building a prefix per route: each message is `empty` (an UPDATE without NLRI) with
 * the entries appended, in the NLRI field (`announce`) or in the Withdrawn Routes
 * field, whose length sits before the Total Path Attribute Length.
 */
function emitIpv4Keys(out: Uint8Array[], empty: Uint8Array, keys: readonly number[], max: number, announce: boolean): void {
  if (keys.length === 0) return;
  const scratch = new Uint8Array(max);
  // A withdrawal: header and Withdrawn Routes Length, entries, then the empty attributes' length (2 octets).
  const start = announce ? empty.length : WITHDRAWN_FIELD;
  const tail = announce ? 0 : empty.length - WITHDRAWN_FIELD;
  scratch.set(announce ? empty : empty.subarray(0, WITHDRAWN_FIELD));
  let used = start;
  const finish = (): void => {
    const message = new Uint8Array(used + tail);
    message.set(scratch.subarray(0, used));
    if (!announce) {
      message.set(empty.subarray(WITHDRAWN_FIELD), used);
      const field = used - WITHDRAWN_FIELD;
      message[WITHDRAWN_FIELD - 2] = field >> 8;
      message[WITHDRAWN_FIELD - 1] = field & 0xff;
    }
    message[LENGTH_OFFSET] = message.length >> 8;
    message[LENGTH_OFFSET + 1] = message.length & 0xff;
    out.push(message);
    used = start;
  };
  for (const key of keys) {
    // At least one entry per message; the caller checked that the empty message fits.
    if (used > start && used + ipv4KeyNlriSize(key) + tail > max) finish();
    used = writeIpv4KeyNlri(key, scratch, used);
  }
  finish();
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
  // `list` is called only when the keys cannot be used (the RIB's NLRI objects are built on demand).
  const keyed = (list: () => readonly Nlri[], keys: readonly PrefixKey[] | undefined, make4: (nlri: readonly Nlri[]) => BgpUpdate, make6: (nlri: readonly Nlri[]) => BgpUpdate, announce: boolean): void => {
    // With RIB keys and without ADD-PATH, IPv4 is written straight from the keys.
    if (keys !== undefined && !add4) {
      const { v4, v6 } = splitKeys(keys);
      if (families.ipv4 && v4.length > 0) {
        const empty = encodeUpdate(make4([]), state);
        // An IPv4 entry takes at most 5 octets: when even that may not fit, the general path says why.
        if (empty.length + 5 > max) emit(make4, v4.map((key) => ({ prefix: prefixFromKey(key) })), false);
        else emitIpv4Keys(out, empty, v4, max, announce);
      }
      if (families.ipv6) emit(make6, v6, add6);
      return;
    }
    const all = list();
    if (families.ipv4) emit(make4, byFamily(all, 4), add4);
    if (families.ipv6) emit(make6, byFamily(all, 6), add6);
  };
  const withdraw4 = (nlri: readonly Nlri[]): BgpUpdate => ({ type: 'update', withdrawn: nlri, attributes: {}, nlri: [] });
  keyed(() => delta.withdrawn, delta.withdrawnKeys, withdraw4, ipv6Withdrawal, false);
  for (const group of delta.announced) {
    keyed(
      () => group.nlri,
      group.keys,
      (nlri) => ipv4Update(group.attributes, nlri),
      (nlri) => ipv6Update(group.attributes, nlri),
      true,
    );
  }
  return out;
}

/**
 * Joins consecutive messages into writes of about `limit` octets (a message is never
 * split), so that a full table goes to the socket in a few hundred writes rather than
 * one per UPDATE: fewer system calls here, fewer segments and reads at the peer.
 */
export function coalesce(messages: readonly Uint8Array[], limit = 65536): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < messages.length) {
    let end = i;
    let size = 0;
    while (end < messages.length && (end === i || size + (messages[end] as Uint8Array).length <= limit)) {
      size += (messages[end] as Uint8Array).length;
      end += 1;
    }
    if (end === i + 1) out.push(messages[i] as Uint8Array);
    else {
      const joined = new Uint8Array(size);
      let at = 0;
      for (let k = i; k < end; k += 1) {
        const m = messages[k] as Uint8Array;
        joined.set(m, at);
        at += m.length;
      }
      out.push(joined);
    }
    i = end;
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

