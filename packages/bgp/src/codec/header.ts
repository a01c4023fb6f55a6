// The fixed header (RFC 4271 §4.1) and a framer that cuts a TCP byte stream into
// messages, rejecting a bad marker or length with the NOTIFICATION of RFC 4271 §6.1.
import { BgpInvalidArgument, BgpNotification } from '../errors.js';

import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MESSAGE_TYPE } from './constants.js';
import { ByteWriter } from './internal/bytes.js';
import { type NegotiatedState, INITIAL_NEGOTIATED_STATE, maxMessageLength } from './negotiated.js';
import { HEADER_ERROR, NOTIFICATION_CODE, ROUTE_REFRESH_ERROR } from './notification-codes.js';

/** The header fields that vary: total length in octets (header included) and type. */
export interface BgpHeader {
  /** The Length field: octets in the whole message, the 19-octet header included (RFC 4271 §4.1). */
  readonly length: number;
  /** The Type field: one of {@link MESSAGE_TYPE} once {@link decodeHeader} has accepted it. */
  readonly type: number;
}

function lengthError(length: number, reason: string): BgpNotification {
  // RFC 4271 §6.1: Bad Message Length carries the erroneous Length field.
  return new BgpNotification({
    errorCode: NOTIFICATION_CODE.MESSAGE_HEADER_ERROR,
    errorSubcode: HEADER_ERROR.BAD_MESSAGE_LENGTH,
    data: Uint8Array.of(length >> 8, length & 0xff),
    reason,
  });
}

/**
 * Checks the marker and the length field of the header at the start of `bytes` (which
 * must hold at least 19 octets) against the largest message allowed in `state`.
 * @throws {BgpNotification} 1/1 for a marker that is not all ones, 1/2 for a length out of range.
 */
export function decodeHeaderPrefix(bytes: Uint8Array, state: NegotiatedState): BgpHeader {
  // RFC 4271 §6.1: a marker that is not all ones is "Connection Not Synchronized".
  for (let i = 0; i < 16; i += 1) {
    if (bytes[i] !== 0xff) {
      throw new BgpNotification({
        errorCode: NOTIFICATION_CODE.MESSAGE_HEADER_ERROR,
        errorSubcode: HEADER_ERROR.CONNECTION_NOT_SYNCHRONIZED,
        reason: `marker octet ${i} is 0x${(bytes[i] ?? 0).toString(16).padStart(2, '0')}, not 0xff`,
      });
    }
  }
  const length = ((bytes[16] ?? 0) << 8) | (bytes[17] ?? 0);
  const type = bytes[18] ?? 0;
  const max = maxMessageLength(state);
  if (length < HEADER_LENGTH || length > max) {
    throw lengthError(length, `length ${length} is outside ${HEADER_LENGTH}..${max}`);
  }
  return { length, type };
}

/** Smallest and largest length of each message type (RFC 4271 §4.2–4.4, §6.1; RFC 2918 §3; RFC 8654 §4). */
const LENGTH_LIMITS: Readonly<Record<number, readonly [number, number | undefined]>> = {
  [MESSAGE_TYPE.OPEN]: [29, MAX_MESSAGE_LENGTH],
  [MESSAGE_TYPE.UPDATE]: [23, undefined],
  [MESSAGE_TYPE.NOTIFICATION]: [21, undefined],
  [MESSAGE_TYPE.KEEPALIVE]: [19, 19],
  [MESSAGE_TYPE.ROUTE_REFRESH]: [23, undefined],
};

/**
 * Decodes and checks the header of one whole message (`bytes` is exactly the message):
 * marker, length within the type's limits and equal to `bytes.length`, known type.
 * @throws {BgpNotification} with the RFC 4271 §6.1 code/subcode/data, or RFC 7313 §5 for ROUTE-REFRESH.
 */
export function decodeHeader(bytes: Uint8Array, state: NegotiatedState): BgpHeader {
  if (bytes.length < HEADER_LENGTH) throw lengthError(bytes.length, `only ${bytes.length} octets, a header has ${HEADER_LENGTH}`);
  const header = decodeHeaderPrefix(bytes, state);
  if (header.length !== bytes.length) {
    throw lengthError(header.length, `length field says ${header.length} octets, the message has ${bytes.length}`);
  }
  const limits = LENGTH_LIMITS[header.type];
  // RFC 4271 §6.1: an unknown type is "Bad Message Type", with the type octet as data.
  if (limits === undefined) {
    throw new BgpNotification({
      errorCode: NOTIFICATION_CODE.MESSAGE_HEADER_ERROR,
      errorSubcode: HEADER_ERROR.BAD_MESSAGE_TYPE,
      data: Uint8Array.of(header.type),
      reason: `message type ${header.type} is not known`,
    });
  }
  const [min, max] = limits;
  if (header.type === MESSAGE_TYPE.ROUTE_REFRESH) {
    // RFC 7313 §5: a ROUTE-REFRESH of the wrong length; the data is the whole message.
    if (header.length !== 23) {
      throw new BgpNotification({
        errorCode: NOTIFICATION_CODE.ROUTE_REFRESH_MESSAGE_ERROR,
        errorSubcode: ROUTE_REFRESH_ERROR.INVALID_MESSAGE_LENGTH,
        data: bytes.slice(),
        reason: `ROUTE-REFRESH is ${header.length} octets, not 23`,
      });
    }
  } else if (header.length < min || (max !== undefined && header.length > max)) {
    // RFC 4271 §6.1 minimum lengths; RFC 8654 §4 keeps OPEN and KEEPALIVE within 4096.
    throw lengthError(header.length, `length ${header.length} is not allowed for message type ${header.type}`);
  }
  return header;
}

/**
 * Prepends the header to a message body.
 * @throws {BgpInvalidArgument} when the message would exceed the largest length allowed in `state`.
 */
export function frameMessage(type: number, body: Uint8Array, state: NegotiatedState, max = maxMessageLength(state)): Uint8Array {
  const length = HEADER_LENGTH + body.length;
  if (length > max) throw new BgpInvalidArgument(`message of type ${type} would be ${length} octets, more than ${max}`);
  const out = new ByteWriter(length);
  for (let i = 0; i < 16; i += 1) out.u8(0xff);
  return out.u16(length).u8(type).bytes(body).finish();
}

/** The whole messages found at the start of a byte stream, and the bytes left over. */
export interface SplitMessages {
  /** Whole messages, header included, in order (views into the input). */
  readonly messages: readonly Uint8Array[];
  /** The incomplete tail, to be prepended to the next bytes read. */
  readonly rest: Uint8Array;
}

/**
 * Cuts `buffer` into whole messages by their length fields (RFC 4271 §4.1). Checks the
 * marker and the length as soon as a header is complete; the type is checked by
 * {@link decodeHeader} when a message is decoded.
 * @throws {BgpNotification} 1/1 for a bad marker, 1/2 for a length out of range (RFC 4271 §6.1).
 */
export function splitMessages(buffer: Uint8Array, state: NegotiatedState = INITIAL_NEGOTIATED_STATE): SplitMessages {
  const messages: Uint8Array[] = [];
  let offset = 0;
  while (buffer.length - offset >= HEADER_LENGTH) {
    const { length } = decodeHeaderPrefix(buffer.subarray(offset), state);
    if (buffer.length - offset < length) break;
    messages.push(buffer.subarray(offset, offset + length));
    offset += length;
  }
  return { messages, rest: buffer.subarray(offset) };
}
