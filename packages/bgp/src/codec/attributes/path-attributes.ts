// The path attributes of an UPDATE (RFC 4271 §4.3, §5), decoded with the revised error
// handling of RFC 7606: each malformed attribute gets the action §7 assigns it, and
// only what cannot be parsed around resets the session.
import { BgpInvalidArgument, BgpNotification, ERROR_ACTION } from '../../errors.js';
import { type Asn } from '../asn.js';
import { AS_TRANS, ATTRIBUTE_FLAG, ATTRIBUTE_TYPE, type Origin } from '../constants.js';
import { ByteWriter, checkUint, ipv4FromText, ipv4ToText } from '../internal/bytes.js';
import { type NegotiatedState } from '../negotiated.js';
import { NOTIFICATION_CODE, UPDATE_ERROR } from '../notification-codes.js';

import { type AsPathSegment, as4PathOf, decodeAsPath, encodeAsPath, mergeAs4Path, needsAs4Path } from './as-path.js';
import { type LargeCommunity, decodeCommunities, decodeLargeCommunities } from './communities.js';
import { type MpReachNlri, type MpUnreachNlri, decodeMpReach, decodeMpUnreach, encodeMpReach, encodeMpUnreach } from './mp-nlri.js';

/** AGGREGATOR: the AS and BGP Identifier of the speaker that aggregated (RFC 4271 §5.1.7). */
export interface Aggregator {
  /**
   * The aggregating speaker's AS, always the real 4-octet value: on a 2-octet session it is
   * taken from AS4_AGGREGATOR when present, and written as AS_TRANS plus AS4_AGGREGATOR on
   * encode (RFC 6793 §4.2). Never 0 when decoded (RFC 7607 §2).
   */
  readonly asn: Asn;
  /** Dotted quad. */
  readonly address: string;
}

/**
 * An optional transitive attribute this codec does not know. It is passed on with the
 * Partial bit set (RFC 4271 §5); unknown non-transitive attributes are dropped on receipt.
 */
export interface UnknownAttribute {
  /** The attribute type code, 0..255; the encoder refuses a code this codec knows (use its field instead). */
  readonly typeCode: number;
  /** The attribute value as received (a copy), without the flags, type and length octets. */
  readonly value: Uint8Array;
}

/**
 * The path attributes of an UPDATE. AS numbers are always 4-octet: on a session without
 * the 4-octet AS capability, AS4_PATH and AS4_AGGREGATOR are merged in on decode and
 * produced on encode (RFC 6793 §4.2).
 */
export interface PathAttributes {
  /** ORIGIN (RFC 4271 §5.1.1): 0 IGP, 1 EGP, 2 INCOMPLETE ({@link ORIGIN}). */
  readonly origin?: Origin;
  /**
   * AS_PATH segments (RFC 4271 §5.1.2), nearest AS first, with 4-octet AS numbers (see
   * above). An empty list is an empty AS_PATH (a route originated inside the AS), which
   * differs from an absent one. A decoded path never contains AS 0 (RFC 7607 §2).
   */
  readonly asPath?: readonly AsPathSegment[];
  /** NEXT_HOP, dotted quad (for IPv4 NLRI in the NLRI field). */
  readonly nextHop?: string;
  /** MULTI_EXIT_DISC, 0..4294967295. */
  readonly med?: number;
  /** LOCAL_PREF, 0..4294967295 (iBGP only: RFC 7606 §7.5 has the session discard it from eBGP peers). */
  readonly localPref?: number;
  /** ATOMIC_AGGREGATE is present (RFC 4271 §5.1.6). */
  readonly atomicAggregate?: boolean;
  /** AGGREGATOR (RFC 4271 §5.1.7), merged with AS4_AGGREGATOR per RFC 6793 §4.2.3 on a 2-octet session. */
  readonly aggregator?: Aggregator;
  /** COMMUNITIES values (RFC 1997); an empty list is not sent. */
  readonly communities?: readonly number[];
  /** ORIGINATOR_ID, dotted quad (RFC 4456 §8). */
  readonly originatorId?: string;
  /** CLUSTER_LIST, dotted quads, nearest first (RFC 4456 §8); an empty list is not sent. */
  readonly clusterList?: readonly string[];
  /** MP_REACH_NLRI (RFC 4760 §3): routes announced for a family other than the NLRI field's IPv4 unicast. Encoded first (RFC 7606 §5.1). */
  readonly mpReach?: MpReachNlri;
  /** MP_UNREACH_NLRI (RFC 4760 §4): routes withdrawn for such a family. Encoded right after `mpReach` (RFC 7606 §5.1). */
  readonly mpUnreach?: MpUnreachNlri;
  /** LARGE_COMMUNITY values (RFC 8092); an empty list is not sent. */
  readonly largeCommunities?: readonly LargeCommunity[];
  /** Unknown optional transitive attributes, in type order. */
  readonly unknown?: readonly UnknownAttribute[];
}

/** A non-fatal problem in an UPDATE and what RFC 7606 says to do about it. */
export interface UpdateProblem {
  /** `treat-as-withdraw` or `attribute-discard` (RFC 7606 §2). */
  readonly action: typeof ERROR_ACTION.TREAT_AS_WITHDRAW | typeof ERROR_ACTION.ATTRIBUTE_DISCARD;
  /** The attribute concerned, when there is one. */
  readonly typeCode?: number;
  /** The UPDATE Message Error subcode RFC 4271 §6.3 would have sent, for logs. */
  readonly errorSubcode: number;
  /** The NOTIFICATION data RFC 4271 §6.3 would have sent (usually the attribute), for logs. */
  readonly data: Uint8Array;
  /** Why, in words. */
  readonly reason: string;
}

const W = ERROR_ACTION.TREAT_AS_WITHDRAW;
const D = ERROR_ACTION.ATTRIBUTE_DISCARD;
const O = ATTRIBUTE_FLAG.OPTIONAL;
const T = ATTRIBUTE_FLAG.TRANSITIVE;

/** Per known attribute: its Optional/Transitive flags (RFC 4271 §5) and its RFC 7606 §7 action when malformed. */
const KNOWN: Readonly<Record<number, { readonly flags: number; readonly action: UpdateProblem['action']; readonly name: string }>> = {
  [ATTRIBUTE_TYPE.ORIGIN]: { flags: T, action: W, name: 'ORIGIN' }, // §7.1
  [ATTRIBUTE_TYPE.AS_PATH]: { flags: T, action: W, name: 'AS_PATH' }, // §7.2
  [ATTRIBUTE_TYPE.NEXT_HOP]: { flags: T, action: W, name: 'NEXT_HOP' }, // §7.3
  [ATTRIBUTE_TYPE.MULTI_EXIT_DISC]: { flags: O, action: W, name: 'MULTI_EXIT_DISC' }, // §7.4
  [ATTRIBUTE_TYPE.LOCAL_PREF]: { flags: T, action: W, name: 'LOCAL_PREF' }, // §7.5
  [ATTRIBUTE_TYPE.ATOMIC_AGGREGATE]: { flags: T, action: D, name: 'ATOMIC_AGGREGATE' }, // §7.6
  [ATTRIBUTE_TYPE.AGGREGATOR]: { flags: O | T, action: D, name: 'AGGREGATOR' }, // §7.7
  [ATTRIBUTE_TYPE.COMMUNITIES]: { flags: O | T, action: W, name: 'COMMUNITIES' }, // §7.8
  [ATTRIBUTE_TYPE.ORIGINATOR_ID]: { flags: O, action: W, name: 'ORIGINATOR_ID' }, // §7.9
  [ATTRIBUTE_TYPE.CLUSTER_LIST]: { flags: O, action: W, name: 'CLUSTER_LIST' }, // §7.10
  [ATTRIBUTE_TYPE.MP_REACH_NLRI]: { flags: O, action: W, name: 'MP_REACH_NLRI' }, // §7.11
  [ATTRIBUTE_TYPE.MP_UNREACH_NLRI]: { flags: O, action: W, name: 'MP_UNREACH_NLRI' }, // §7.12
  [ATTRIBUTE_TYPE.AS4_PATH]: { flags: O | T, action: D, name: 'AS4_PATH' }, // RFC 6793 §6
  [ATTRIBUTE_TYPE.AS4_AGGREGATOR]: { flags: O | T, action: D, name: 'AS4_AGGREGATOR' }, // RFC 6793 §6
  [ATTRIBUTE_TYPE.LARGE_COMMUNITY]: { flags: O | T, action: W, name: 'LARGE_COMMUNITY' }, // RFC 8092 §6
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What the attribute loop found, before the RFC 6793 merge. */
export interface DecodedAttributes {
  readonly attributes: PathAttributes;
  /** Type codes present in the message, including malformed ones. */
  readonly present: ReadonlySet<number>;
}

function hasAsZero(path: readonly AsPathSegment[]): boolean {
  return path.some((segment) => segment.asns.includes(0 as Asn));
}

/** Not 0.0.0.0, multicast (224/4) or class E and broadcast (240/4): RFC 4271 §6.3 "valid IP host address". */
function isHostAddress(address: Uint8Array): boolean {
  const first = address[0] ?? 0;
  return first < 224 && !address.every((b) => b === 0);
}

function u32(value: Uint8Array, at = 0): number {
  return (((value[at] ?? 0) << 24) | ((value[at + 1] ?? 0) << 16) | ((value[at + 2] ?? 0) << 8) | (value[at + 3] ?? 0)) >>> 0;
}

/**
 * Decodes the Path Attributes field. Non-fatal problems are pushed on `problems`.
 * @throws {BgpNotification} for the session-reset cases: a repeated MP_REACH_NLRI or
 * MP_UNREACH_NLRI (RFC 7606 §3.g), an unrecognized well-known attribute (RFC 4271
 * §6.3), an MP attribute that cannot be parsed (RFC 7606 §7.11, §5.3).
 */
export function decodePathAttributes(field: Uint8Array, state: NegotiatedState, problems: UpdateProblem[]): DecodedAttributes {
  const attrs: Mutable<PathAttributes> = {};
  const unknown: UnknownAttribute[] = [];
  const present = new Set<number>();
  let aggregator2: Aggregator | undefined;
  let as4Path: AsPathSegment[] | undefined;
  let as4Aggregator: Aggregator | undefined;
  let at = 0;
  while (at < field.length) {
    // RFC 7606 §4: fewer octets left than an attribute header, or an attribute that
    // overruns the field: treat-as-withdraw, and the Total Path Attribute Length still
    // locates the NLRI.
    const flags = field[at] ?? 0;
    const headerSize = flags & ATTRIBUTE_FLAG.EXTENDED_LENGTH ? 4 : 3;
    if (field.length - at < headerSize) {
      problems.push({ action: W, errorSubcode: UPDATE_ERROR.MALFORMED_ATTRIBUTE_LIST, data: new Uint8Array(0), reason: `${field.length - at} octets left at the end of the path attributes, too few for an attribute` });
      break;
    }
    const type = field[at + 1] ?? 0;
    const length = headerSize === 4 ? ((field[at + 2] ?? 0) << 8) | (field[at + 3] ?? 0) : (field[at + 2] ?? 0);
    if (at + headerSize + length > field.length) {
      problems.push({ action: W, typeCode: type, errorSubcode: UPDATE_ERROR.ATTRIBUTE_LENGTH_ERROR, data: field.slice(at), reason: `attribute ${type} of ${length} octets overruns the path attributes` });
      break;
    }
    const raw = field.subarray(at, at + headerSize + length);
    const value = field.subarray(at + headerSize, at + headerSize + length);
    at += headerSize + length;

    const known = KNOWN[type];
    if (present.has(type)) {
      // RFC 7606 §3.g: a repeated MP_REACH_NLRI/MP_UNREACH_NLRI resets the session; other
      // repeats are discarded, keeping the first.
      if (type === ATTRIBUTE_TYPE.MP_REACH_NLRI || type === ATTRIBUTE_TYPE.MP_UNREACH_NLRI) {
        throw new BgpNotification({ errorCode: NOTIFICATION_CODE.UPDATE_MESSAGE_ERROR, errorSubcode: UPDATE_ERROR.MALFORMED_ATTRIBUTE_LIST, reason: `${known?.name ?? type} appears more than once` });
      }
      problems.push({ action: D, typeCode: type, errorSubcode: UPDATE_ERROR.MALFORMED_ATTRIBUTE_LIST, data: raw.slice(), reason: `attribute ${known?.name ?? type} repeated; the first is kept` });
      continue;
    }
    present.add(type);

    if (known === undefined) {
      // RFC 4271 §6.3: an unrecognized well-known attribute resets the session.
      if ((flags & ATTRIBUTE_FLAG.OPTIONAL) === 0) {
        throw new BgpNotification({ errorCode: NOTIFICATION_CODE.UPDATE_MESSAGE_ERROR, errorSubcode: UPDATE_ERROR.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, data: raw.slice(), reason: `well-known attribute ${type} is not recognized` });
      }
      // RFC 4271 §5: unknown optional transitive attributes are passed on; non-transitive ones are ignored.
      if (flags & ATTRIBUTE_FLAG.TRANSITIVE) unknown.push({ typeCode: type, value: value.slice() });
      continue;
    }

    const problem = (reason: string, errorSubcode: number = UPDATE_ERROR.ATTRIBUTE_LENGTH_ERROR, action = known.action): void => {
      problems.push({ action, typeCode: type, errorSubcode, data: raw.slice(), reason: `${known.name}: ${reason}` });
    };
    // RFC 7606 §3.c: Optional/Transitive bits in conflict with the type make the attribute malformed.
    if ((flags & (O | T)) !== known.flags) {
      problem(`flags 0x${flags.toString(16)} conflict with the attribute type`, UPDATE_ERROR.ATTRIBUTE_FLAGS_ERROR);
      // MP attributes are still parsed: treat-as-withdraw needs their NLRI (RFC 7606 §5.3).
      if (type !== ATTRIBUTE_TYPE.MP_REACH_NLRI && type !== ATTRIBUTE_TYPE.MP_UNREACH_NLRI) continue;
    }
    const asSize = state.fourOctetAs ? 4 : 2;
    switch (type) {
      case ATTRIBUTE_TYPE.ORIGIN:
        if (value.length !== 1) problem(`length ${value.length}, expected 1`);
        else if ((value[0] ?? 0) > 2) problem(`value ${value[0]} is undefined`, UPDATE_ERROR.INVALID_ORIGIN_ATTRIBUTE);
        else attrs.origin = (value[0] ?? 0) as Origin;
        break;
      case ATTRIBUTE_TYPE.AS_PATH: {
        const path = decodeAsPath(value, asSize);
        if (typeof path === 'string') problem(path, UPDATE_ERROR.MALFORMED_AS_PATH);
        // RFC 7607 §2: AS 0 in AS_PATH makes it malformed (RFC 7606 §7.2).
        else if (hasAsZero(path)) problem('contains AS 0', UPDATE_ERROR.MALFORMED_AS_PATH);
        else attrs.asPath = path;
        break;
      }
      case ATTRIBUTE_TYPE.NEXT_HOP:
        if (value.length !== 4) problem(`length ${value.length}, expected 4`);
        // RFC 4271 §6.3: the NEXT_HOP must be a valid host address; RFC 7606 §7.3: treat-as-withdraw.
        else if (!isHostAddress(value)) problem(`${ipv4ToText(value)} is not a host address`, UPDATE_ERROR.INVALID_NEXT_HOP_ATTRIBUTE);
        else attrs.nextHop = ipv4ToText(value);
        break;
      case ATTRIBUTE_TYPE.MULTI_EXIT_DISC:
        if (value.length !== 4) problem(`length ${value.length}, expected 4`);
        else attrs.med = u32(value);
        break;
      case ATTRIBUTE_TYPE.LOCAL_PREF:
        if (value.length !== 4) problem(`length ${value.length}, expected 4`);
        else attrs.localPref = u32(value);
        break;
      case ATTRIBUTE_TYPE.ATOMIC_AGGREGATE:
        if (value.length !== 0) problem(`length ${value.length}, expected 0`);
        else attrs.atomicAggregate = true;
        break;
      case ATTRIBUTE_TYPE.AGGREGATOR:
        // RFC 7606 §7.7: 6 octets with 2-octet ASes, 8 with 4-octet ASes.
        if (value.length !== asSize + 4) problem(`length ${value.length}, expected ${asSize + 4}`);
        else {
          const asn = (asSize === 4 ? u32(value) : ((value[0] ?? 0) << 8) | (value[1] ?? 0)) as Asn;
          // RFC 7607 §2: AS 0 in AGGREGATOR makes it malformed (RFC 7606 §7.7: discard).
          if (asn === 0) problem('AS 0', UPDATE_ERROR.OPTIONAL_ATTRIBUTE_ERROR);
          else aggregator2 = { asn, address: ipv4ToText(value.subarray(asSize)) };
        }
        break;
      case ATTRIBUTE_TYPE.COMMUNITIES: {
        const communities = decodeCommunities(value);
        if (typeof communities === 'string') problem(communities);
        else attrs.communities = communities;
        break;
      }
      case ATTRIBUTE_TYPE.ORIGINATOR_ID:
        if (value.length !== 4) problem(`length ${value.length}, expected 4`);
        else attrs.originatorId = ipv4ToText(value);
        break;
      case ATTRIBUTE_TYPE.CLUSTER_LIST:
        if (value.length === 0 || value.length % 4 !== 0) problem(`length ${value.length} is not a non-zero multiple of 4`);
        else attrs.clusterList = Array.from({ length: value.length / 4 }, (_, i) => ipv4ToText(value.subarray(i * 4, i * 4 + 4)));
        break;
      case ATTRIBUTE_TYPE.MP_REACH_NLRI:
        attrs.mpReach = decodeMpReach(value, raw, state);
        break;
      case ATTRIBUTE_TYPE.MP_UNREACH_NLRI:
        attrs.mpUnreach = decodeMpUnreach(value, raw, state);
        break;
      case ATTRIBUTE_TYPE.AS4_PATH: {
        // RFC 6793 §4.1: between NEW speakers AS4_PATH is not sent; one received is discarded.
        if (state.fourOctetAs) {
          problem('received on a session with 4-octet AS numbers', UPDATE_ERROR.OPTIONAL_ATTRIBUTE_ERROR);
          break;
        }
        const path = decodeAsPath(value, 4);
        if (typeof path === 'string') problem(path, UPDATE_ERROR.OPTIONAL_ATTRIBUTE_ERROR);
        // RFC 7607 §2: AS 0 in AS4_PATH is handled as RFC 6793 §6 says (discard).
        else if (hasAsZero(path)) problem('contains AS 0', UPDATE_ERROR.OPTIONAL_ATTRIBUTE_ERROR);
        // RFC 6793 §6: confederation segments in AS4_PATH are removed.
        else as4Path = as4PathOf(path);
        break;
      }
      case ATTRIBUTE_TYPE.AS4_AGGREGATOR:
        if (state.fourOctetAs) problem('received on a session with 4-octet AS numbers', UPDATE_ERROR.OPTIONAL_ATTRIBUTE_ERROR);
        else if (value.length !== 8) problem(`length ${value.length}, expected 8`);
        else if (u32(value) === 0) problem('AS 0', UPDATE_ERROR.OPTIONAL_ATTRIBUTE_ERROR); // RFC 7607 §2
        else as4Aggregator = { asn: u32(value) as Asn, address: ipv4ToText(value.subarray(4)) };
        break;
      case ATTRIBUTE_TYPE.LARGE_COMMUNITY: {
        const large = decodeLargeCommunities(value);
        if (typeof large === 'string') problem(large);
        else attrs.largeCommunities = large;
        break;
      }
    }
  }

  // RFC 6793 §4.2.3: with both AGGREGATOR and AS4_AGGREGATOR, an AGGREGATOR AS other
  // than AS_TRANS means an OLD speaker aggregated, so AS4_AGGREGATOR and AS4_PATH are
  // ignored (as BIRD reads it: the rule governs the pair of aggregator attributes).
  if (aggregator2 !== undefined && as4Aggregator !== undefined && aggregator2.asn !== AS_TRANS) {
    attrs.aggregator = aggregator2;
  } else {
    const aggregator = as4Aggregator ?? aggregator2;
    if (aggregator) attrs.aggregator = aggregator;
    if (as4Path && attrs.asPath) attrs.asPath = mergeAs4Path(attrs.asPath, as4Path);
  }
  if (unknown.length > 0) attrs.unknown = unknown.sort((a, b) => a.typeCode - b.typeCode);
  return { attributes: attrs, present };
}

function writeAttribute(out: ByteWriter, flags: number, type: number, value: Uint8Array): void {
  if (value.length > 0xffff) throw new BgpInvalidArgument(`attribute ${type} is ${value.length} octets, more than 65535`);
  // RFC 4271 §4.3: the Extended Length bit gives a 2-octet length.
  if (value.length > 255) out.u8(flags | ATTRIBUTE_FLAG.EXTENDED_LENGTH).u8(type).u16(value.length);
  else out.u8(flags).u8(type).u8(value.length);
  out.bytes(value);
}

function u32Bytes(value: number, what: string): Uint8Array {
  checkUint(value, 0xffffffff, what);
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function aggregatorBytes(aggregator: Aggregator, asSize: 2 | 4): Uint8Array {
  const out = new ByteWriter(8);
  checkUint(aggregator.asn, 0xffffffff, 'AGGREGATOR AS');
  if (asSize === 4) out.u32(aggregator.asn);
  else out.u16(aggregator.asn > 0xffff ? AS_TRANS : aggregator.asn);
  return out.bytes(ipv4FromText(aggregator.address, 'AGGREGATOR address')).finish();
}

/**
 * Encodes the Path Attributes field: MP_REACH_NLRI and MP_UNREACH_NLRI first (RFC 7606
 * §5.1), the others in ascending type order (RFC 4271 §5). Without the 4-octet AS
 * capability, AS_TRANS stands in and AS4_PATH/AS4_AGGREGATOR carry the real values
 * (RFC 6793 §4.2.2).
 * @throws {BgpInvalidArgument} for values out of range, or an unknown attribute that reuses a known type code.
 */
export function encodePathAttributes(attrs: PathAttributes, state: NegotiatedState): Uint8Array {
  const out = new ByteWriter(128);
  const asSize = state.fourOctetAs ? 4 : 2;
  if (attrs.mpReach) writeAttribute(out, O, ATTRIBUTE_TYPE.MP_REACH_NLRI, encodeMpReach(attrs.mpReach, state));
  if (attrs.mpUnreach) writeAttribute(out, O, ATTRIBUTE_TYPE.MP_UNREACH_NLRI, encodeMpUnreach(attrs.mpUnreach, state));
  const rest: [number, number, Uint8Array][] = [];
  if (attrs.origin !== undefined) rest.push([T, ATTRIBUTE_TYPE.ORIGIN, Uint8Array.of(checkUint(attrs.origin, 2, 'ORIGIN'))]);
  if (attrs.asPath !== undefined) {
    rest.push([T, ATTRIBUTE_TYPE.AS_PATH, encodeAsPath(attrs.asPath, asSize)]);
    if (asSize === 2 && needsAs4Path(attrs.asPath)) rest.push([O | T, ATTRIBUTE_TYPE.AS4_PATH, encodeAsPath(as4PathOf(attrs.asPath), 4)]);
  }
  if (attrs.nextHop !== undefined) rest.push([T, ATTRIBUTE_TYPE.NEXT_HOP, ipv4FromText(attrs.nextHop, 'NEXT_HOP')]);
  if (attrs.med !== undefined) rest.push([O, ATTRIBUTE_TYPE.MULTI_EXIT_DISC, u32Bytes(attrs.med, 'MULTI_EXIT_DISC')]);
  if (attrs.localPref !== undefined) rest.push([T, ATTRIBUTE_TYPE.LOCAL_PREF, u32Bytes(attrs.localPref, 'LOCAL_PREF')]);
  if (attrs.atomicAggregate) rest.push([T, ATTRIBUTE_TYPE.ATOMIC_AGGREGATE, new Uint8Array(0)]);
  if (attrs.aggregator !== undefined) {
    rest.push([O | T, ATTRIBUTE_TYPE.AGGREGATOR, aggregatorBytes(attrs.aggregator, asSize)]);
    if (asSize === 2 && attrs.aggregator.asn > 0xffff) rest.push([O | T, ATTRIBUTE_TYPE.AS4_AGGREGATOR, aggregatorBytes(attrs.aggregator, 4)]);
  }
  if (attrs.communities?.length) {
    const w = new ByteWriter(attrs.communities.length * 4);
    for (const c of attrs.communities) w.u32(checkUint(c, 0xffffffff, 'community'));
    rest.push([O | T, ATTRIBUTE_TYPE.COMMUNITIES, w.finish()]);
  }
  if (attrs.originatorId !== undefined) rest.push([O, ATTRIBUTE_TYPE.ORIGINATOR_ID, ipv4FromText(attrs.originatorId, 'ORIGINATOR_ID')]);
  if (attrs.clusterList?.length) {
    const w = new ByteWriter(attrs.clusterList.length * 4);
    for (const id of attrs.clusterList) w.bytes(ipv4FromText(id, 'CLUSTER_LIST'));
    rest.push([O, ATTRIBUTE_TYPE.CLUSTER_LIST, w.finish()]);
  }
  if (attrs.largeCommunities?.length) {
    const w = new ByteWriter(attrs.largeCommunities.length * 12);
    for (const c of attrs.largeCommunities) {
      w.u32(checkUint(c.globalAdministrator, 0xffffffff, 'large community')).u32(checkUint(c.localData1, 0xffffffff, 'large community')).u32(checkUint(c.localData2, 0xffffffff, 'large community'));
    }
    rest.push([O | T, ATTRIBUTE_TYPE.LARGE_COMMUNITY, w.finish()]);
  }
  for (const u of attrs.unknown ?? []) {
    checkUint(u.typeCode, 0xff, 'attribute type code');
    if (KNOWN[u.typeCode] !== undefined) throw new BgpInvalidArgument(`attribute type ${u.typeCode} is known; use its field`);
    // RFC 4271 §5: an unrecognized optional transitive attribute is passed on with Partial set.
    rest.push([O | T | ATTRIBUTE_FLAG.PARTIAL, u.typeCode, u.value]);
  }
  rest.sort((a, b) => a[1] - b[1]);
  for (const [flags, type, value] of rest) writeAttribute(out, flags, type, value);
  return out.finish();
}
