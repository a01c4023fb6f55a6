// The ROUTE-REFRESH message (RFC 2918 §3) with the subtypes of enhanced route refresh
// (RFC 7313 §3.2), and KEEPALIVE (RFC 4271 §4.4).
import { HEADER_LENGTH, MESSAGE_TYPE, ROUTE_REFRESH_SUBTYPE } from './constants.js';
import { decodeHeader, frameMessage } from './header.js';
import { ByteWriter, checkUint } from './internal/bytes.js';
import { INITIAL_NEGOTIATED_STATE, type NegotiatedState } from './negotiated.js';

/** A ROUTE-REFRESH message. */
export interface BgpRouteRefresh {
  /** Discriminant of {@link BgpMessage}; message type 5 on the wire. */
  readonly type: 'route-refresh';
  /** Address Family Identifier of the routes asked for, 0..65535 (see {@link AFI}). */
  readonly afi: number;
  /** Subsequent Address Family Identifier, 0..255 (see {@link SAFI}). */
  readonly safi: number;
  /**
   * 0 request (RFC 2918), 1 Beginning of Route Refresh, 2 End of Route Refresh (RFC 7313
   * §3.2). RFC 7313 §5: a message with any other subtype MUST be ignored.
   */
  readonly subtype: number;
}

/** A KEEPALIVE message: the header alone (RFC 4271 §4.4). */
export interface BgpKeepalive {
  /** Discriminant of {@link BgpMessage}; message type 4 on the wire. */
  readonly type: 'keepalive';
}

/** Whether a ROUTE-REFRESH has a subtype RFC 7313 §5 asks the receiver to act on. */
export function isKnownRouteRefreshSubtype(subtype: number): boolean {
  return subtype === ROUTE_REFRESH_SUBTYPE.REQUEST || subtype === ROUTE_REFRESH_SUBTYPE.BEGIN || subtype === ROUTE_REFRESH_SUBTYPE.END;
}

/**
 * Decodes a ROUTE-REFRESH message (header included).
 * @throws {BgpNotification} 7/1 with the whole message as data when the length is not 23 (RFC 7313 §5); 1/x for a bad header.
 */
export function decodeRouteRefresh(bytes: Uint8Array, state: NegotiatedState = INITIAL_NEGOTIATED_STATE): BgpRouteRefresh {
  decodeHeader(bytes, state);
  const at = HEADER_LENGTH;
  return { type: 'route-refresh', afi: ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0), subtype: bytes[at + 2] ?? 0, safi: bytes[at + 3] ?? 0 };
}

/**
 * Encodes a ROUTE-REFRESH message: AFI (2), subtype (1, "Reserved" in RFC 2918), SAFI (1).
 * @throws {BgpInvalidArgument} for fields out of range.
 */
export function encodeRouteRefresh(message: BgpRouteRefresh): Uint8Array {
  const body = new ByteWriter(4)
    .u16(checkUint(message.afi, 0xffff, 'AFI'))
    .u8(checkUint(message.subtype, 0xff, 'subtype'))
    .u8(checkUint(message.safi, 0xff, 'SAFI'));
  return frameMessage(MESSAGE_TYPE.ROUTE_REFRESH, body.finish(), INITIAL_NEGOTIATED_STATE);
}

/** Encodes a KEEPALIVE message (19 octets, RFC 4271 §4.4). */
export function encodeKeepalive(): Uint8Array {
  return frameMessage(MESSAGE_TYPE.KEEPALIVE, new Uint8Array(0), INITIAL_NEGOTIATED_STATE);
}
