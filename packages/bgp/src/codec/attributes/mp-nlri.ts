// MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) for IPv4 and IPv6 unicast, with
// the IPv6 link-local next hop (RFC 2545 §3), IPv6 next hops for IPv4 (RFC 8950 §3),
// and ADD-PATH path identifiers (RFC 7911 §3). Other families are kept opaque.
import { type AfiSafi, BgpInvalidArgument, BgpNotification } from '../../errors.js';
import { AFI, SAFI } from '../constants.js';
import { ByteWriter, checkUint, ipv4FromText, ipv4ToText, ipv6FromText, ipv6ToText } from '../internal/bytes.js';
import { type NegotiatedState, hasFamily } from '../negotiated.js';
import { NOTIFICATION_CODE, UPDATE_ERROR } from '../notification-codes.js';
import { type IpFamily, type Nlri, decodeNlriList, encodeNlriList } from '../prefix.js';

/** MP_REACH_NLRI: routes announced for one AFI/SAFI (RFC 4760 §3). */
export interface MpReachNlri {
  /** Address Family Identifier, 0..65535: IPv4 (1) and IPv6 (2) are parsed, others kept in `opaque`. */
  readonly afi: number;
  /** Subsequent Address Family Identifier, 0..255: unicast (1) is parsed, others kept in `opaque`. */
  readonly safi: number;
  /**
   * Next hops as text: one IPv4 or IPv6 address, or an IPv6 global address followed by
   * its link-local address (RFC 2545 §3). Empty when `opaque` is set.
   */
  readonly nextHops: readonly string[];
  /** The announced routes; empty when `opaque` is set. */
  readonly nlri: readonly Nlri[];
  /** For a family this codec does not parse: the attribute value after AFI and SAFI, as received. */
  readonly opaque?: Uint8Array;
}

/** MP_UNREACH_NLRI: routes withdrawn for one AFI/SAFI (RFC 4760 §4). */
export interface MpUnreachNlri {
  /** Address Family Identifier, 0..65535: IPv4 (1) and IPv6 (2) are parsed, others kept in `opaque`. */
  readonly afi: number;
  /** Subsequent Address Family Identifier, 0..255: unicast (1) is parsed, others kept in `opaque`. */
  readonly safi: number;
  /** The withdrawn routes; empty when `opaque` is set. */
  readonly withdrawn: readonly Nlri[];
  /** For a family this codec does not parse: the attribute value after AFI and SAFI. */
  readonly opaque?: Uint8Array;
}

/** The IP family of an AFI/SAFI this codec parses (unicast only), or undefined. */
export function ipFamilyOf(afi: number, safi: number): IpFamily | undefined {
  if (safi !== SAFI.UNICAST) return undefined;
  if (afi === AFI.IPV4) return 4;
  if (afi === AFI.IPV6) return 6;
  return undefined;
}

function mpError(reason: string, attribute: Uint8Array, afiSafi?: AfiSafi): BgpNotification {
  // RFC 4760 §7: an incorrect MP attribute is an Optional Attribute Error; RFC 7606
  // §7.11 makes it a session reset or, when the family is known, AFI/SAFI disable.
  return new BgpNotification({
    errorCode: NOTIFICATION_CODE.UPDATE_MESSAGE_ERROR,
    errorSubcode: UPDATE_ERROR.OPTIONAL_ATTRIBUTE_ERROR,
    data: attribute.slice(),
    reason,
    ...(afiSafi ? { afiSafi } : {}),
  });
}

/**
 * Decodes an MP_REACH_NLRI value. `attribute` is the whole attribute, for the
 * NOTIFICATION data.
 * @throws {BgpNotification} 3/9 when the AFI/SAFI cannot be read, the next hop length is inconsistent, or the NLRI are malformed (RFC 7606 §7.11, §5.3); `afiSafi` is set when the family is known.
 */
export function decodeMpReach(value: Uint8Array, attribute: Uint8Array, state: NegotiatedState): MpReachNlri {
  if (value.length < 3) throw mpError(`MP_REACH_NLRI of ${value.length} octets has no AFI/SAFI`, attribute);
  const afi = ((value[0] ?? 0) << 8) | (value[1] ?? 0);
  const safi = value[2] ?? 0;
  const family = ipFamilyOf(afi, safi);
  if (family === undefined) return { afi, safi, nextHops: [], nlri: [], opaque: value.slice(3) };
  const afiSafi = { afi, safi };
  const nextHopLength = value[3];
  // RFC 7606 §7.11: with an inconsistent next hop length the NLRI cannot be located.
  if (nextHopLength === undefined || 4 + nextHopLength + 1 > value.length) {
    throw mpError(`MP_REACH_NLRI next hop length ${nextHopLength ?? 'missing'} overruns the attribute`, attribute, afiSafi);
  }
  const nh = value.subarray(4, 4 + nextHopLength);
  let nextHops: string[];
  if (nextHopLength === 4 && family === 4) nextHops = [ipv4ToText(nh)];
  else if (nextHopLength === 16) nextHops = [ipv6ToText(nh)]; // RFC 2545 §3; RFC 8950 §3 for IPv4
  else if (nextHopLength === 32) nextHops = [ipv6ToText(nh.subarray(0, 16)), ipv6ToText(nh.subarray(16))];
  else throw mpError(`next hop length ${nextHopLength} is not valid for AFI ${afi}`, attribute, afiSafi);
  // RFC 4760 §3: the Reserved octet is ignored on receipt.
  const nlri = decodeNlriList(value.subarray(4 + nextHopLength + 1), family, hasFamily(state.addPathReceive, afi, safi));
  if (typeof nlri === 'string') throw mpError(`MP_REACH_NLRI: ${nlri}`, attribute, afiSafi);
  return { afi, safi, nextHops, nlri };
}

/**
 * Decodes an MP_UNREACH_NLRI value.
 * @throws {BgpNotification} 3/9 when the AFI/SAFI cannot be read or the withdrawn routes are malformed (RFC 7606 §5.3).
 */
export function decodeMpUnreach(value: Uint8Array, attribute: Uint8Array, state: NegotiatedState): MpUnreachNlri {
  if (value.length < 3) throw mpError(`MP_UNREACH_NLRI of ${value.length} octets has no AFI/SAFI`, attribute);
  const afi = ((value[0] ?? 0) << 8) | (value[1] ?? 0);
  const safi = value[2] ?? 0;
  const family = ipFamilyOf(afi, safi);
  if (family === undefined) return { afi, safi, withdrawn: [], opaque: value.slice(3) };
  const withdrawn = decodeNlriList(value.subarray(3), family, hasFamily(state.addPathReceive, afi, safi));
  if (typeof withdrawn === 'string') throw mpError(`MP_UNREACH_NLRI: ${withdrawn}`, attribute, { afi, safi });
  return { afi, safi, withdrawn };
}

/**
 * Encodes an MP_REACH_NLRI value (RFC 4760 §3).
 * @throws {BgpInvalidArgument} for a bad next hop list or NLRI of another family.
 */
export function encodeMpReach(reach: MpReachNlri, state: NegotiatedState): Uint8Array {
  const out = new ByteWriter(64);
  out.u16(checkUint(reach.afi, 0xffff, 'AFI')).u8(checkUint(reach.safi, 0xff, 'SAFI'));
  if (reach.opaque) return out.bytes(reach.opaque).finish();
  const family = ipFamilyOf(reach.afi, reach.safi);
  if (family === undefined) throw new BgpInvalidArgument(`AFI ${reach.afi}/SAFI ${reach.safi} needs an opaque value`);
  const [first, second, ...more] = reach.nextHops;
  if (first === undefined || more.length > 0) throw new BgpInvalidArgument('MP_REACH_NLRI needs one or two next hops');
  let nh: Uint8Array;
  if (second !== undefined) {
    // RFC 2545 §3: global address, then link-local.
    nh = new Uint8Array(32);
    nh.set(ipv6FromText(first, 'next hop'));
    nh.set(ipv6FromText(second, 'link-local next hop'), 16);
  } else if (first.includes(':')) {
    nh = ipv6FromText(first, 'next hop');
  } else if (family === 4) {
    nh = ipv4FromText(first, 'next hop');
  } else {
    throw new BgpInvalidArgument(`IPv6 routes need an IPv6 next hop, not ${first}`);
  }
  out.u8(nh.length).bytes(nh).u8(0);
  encodeNlriList(out, reach.nlri, family, hasFamily(state.addPathSend, reach.afi, reach.safi));
  return out.finish();
}

/**
 * Encodes an MP_UNREACH_NLRI value (RFC 4760 §4).
 * @throws {BgpInvalidArgument} for NLRI of another family.
 */
export function encodeMpUnreach(unreach: MpUnreachNlri, state: NegotiatedState): Uint8Array {
  const out = new ByteWriter(32);
  out.u16(checkUint(unreach.afi, 0xffff, 'AFI')).u8(checkUint(unreach.safi, 0xff, 'SAFI'));
  if (unreach.opaque) return out.bytes(unreach.opaque).finish();
  const family = ipFamilyOf(unreach.afi, unreach.safi);
  if (family === undefined) throw new BgpInvalidArgument(`AFI ${unreach.afi}/SAFI ${unreach.safi} needs an opaque value`);
  encodeNlriList(out, unreach.withdrawn, family, hasFamily(state.addPathSend, unreach.afi, unreach.safi));
  return out.finish();
}
