// Any BGP message: decode by the header's type, encode by the message's `type`.
import { decodeHeader } from './header.js';
import { type NegotiatedState } from './negotiated.js';
import { type BgpNotificationMessage, decodeNotification, encodeNotification } from './notification.js';
import { type BgpOpen, decodeOpen, encodeOpen } from './open.js';
import { type BgpKeepalive, type BgpRouteRefresh, decodeRouteRefresh, encodeKeepalive, encodeRouteRefresh } from './route-refresh.js';
import { type BgpUpdate, type DecodedUpdate, decodeUpdate, encodeUpdate } from './update.js';
import { MESSAGE_TYPE } from './constants.js';

/** A BGP message, as given to {@link encodeMessage}. */
export type BgpMessage = BgpOpen | BgpUpdate | BgpNotificationMessage | BgpKeepalive | BgpRouteRefresh;

/** A decoded BGP message; an UPDATE may carry an RFC 7606 `error`. */
export type DecodedMessage = BgpOpen | DecodedUpdate | BgpNotificationMessage | BgpKeepalive | BgpRouteRefresh;

/**
 * Decodes one whole message (as {@link splitMessages} yields them). Terminates on any
 * input and throws nothing but {@link BgpNotification}.
 * @throws {BgpNotification} with the NOTIFICATION to send (see the per-type decoders).
 */
export function decodeMessage(bytes: Uint8Array, state: NegotiatedState): DecodedMessage {
  const { type } = decodeHeader(bytes, state);
  switch (type) {
    case MESSAGE_TYPE.OPEN:
      return decodeOpen(bytes);
    case MESSAGE_TYPE.UPDATE:
      return decodeUpdate(bytes, state);
    case MESSAGE_TYPE.NOTIFICATION:
      return decodeNotification(bytes, state);
    case MESSAGE_TYPE.ROUTE_REFRESH:
      return decodeRouteRefresh(bytes, state);
    default:
      // decodeHeader admits only the five known types; KEEPALIVE is exactly 19 octets.
      return { type: 'keepalive' };
  }
}

/**
 * Encodes one message.
 * @throws {BgpInvalidArgument} for values out of range or a message too long for `state`.
 */
export function encodeMessage(message: BgpMessage, state: NegotiatedState): Uint8Array {
  switch (message.type) {
    case 'open':
      return encodeOpen(message);
    case 'update':
      return encodeUpdate(message, state);
    case 'notification':
      return encodeNotification(message, state);
    case 'keepalive':
      return encodeKeepalive();
    case 'route-refresh':
      return encodeRouteRefresh(message);
  }
}
