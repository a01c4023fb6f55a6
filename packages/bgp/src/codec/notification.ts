// The NOTIFICATION message (RFC 4271 §4.5) and the shutdown communication carried by
// Cease / Administrative Shutdown and Administrative Reset (RFC 9003, obsoleting RFC 8203).
import { BgpInvalidArgument, type BgpNotification } from '../errors.js';

import { HEADER_LENGTH, MESSAGE_TYPE } from './constants.js';
import { decodeHeader, frameMessage } from './header.js';
import { ByteWriter, checkUint } from './internal/bytes.js';
import { INITIAL_NEGOTIATED_STATE, type NegotiatedState } from './negotiated.js';
import { CEASE, NOTIFICATION_CODE, describeNotification } from './notification-codes.js';

/** A NOTIFICATION message. */
export interface BgpNotificationMessage {
  /** Discriminant of {@link BgpMessage}; message type 3 on the wire. */
  readonly type: 'notification';
  /** The Error Code, 0..255 (RFC 4271 §4.5; {@link NOTIFICATION_CODE}). Decoding accepts any value. */
  readonly errorCode: number;
  /** The Error Subcode, 0..255; 0 is "Unspecific" (RFC 4271 §4.5). */
  readonly errorSubcode: number;
  /** The Data field: the rest of the message after code and subcode; empty when there is none. */
  readonly data: Uint8Array;
  /**
   * On decode, the shutdown communication of a Cease / Administrative Shutdown or Reset
   * (RFC 9003 §2) when `data` holds a well-formed one. Ignored by the encoder: build
   * `data` with {@link encodeShutdownCommunication}.
   */
  readonly shutdownCommunication?: string;
}

/** The longest shutdown communication, in UTF-8 octets (RFC 9003 §2). */
export const MAX_SHUTDOWN_COMMUNICATION_LENGTH = 255;

function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return code === NOTIFICATION_CODE.CEASE && (subcode === CEASE.ADMINISTRATIVE_SHUTDOWN || subcode === CEASE.ADMINISTRATIVE_RESET);
}

/**
 * The Data field for a shutdown communication: a length octet and the UTF-8 text (RFC 9003 §2).
 * @throws {BgpInvalidArgument} when the text is longer than 255 octets in UTF-8.
 */
export function encodeShutdownCommunication(text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  if (utf8.length > MAX_SHUTDOWN_COMMUNICATION_LENGTH) throw new BgpInvalidArgument(`shutdown communication is ${utf8.length} octets of UTF-8, more than 255`);
  return new ByteWriter(utf8.length + 1).u8(utf8.length).bytes(utf8).finish();
}

/**
 * The text of a shutdown communication, or undefined when `data` does not hold a
 * well-formed one (RFC 9003 §2: length beyond the data, or invalid UTF-8; the receiver
 * then logs the data as it is). Octets after the communication are ignored.
 */
export function decodeShutdownCommunication(data: Uint8Array): string | undefined {
  const length = data[0];
  if (length === undefined || 1 + length > data.length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(1, 1 + length));
  } catch {
    return undefined;
  }
}

/**
 * Decodes a NOTIFICATION message (header included). Any code, subcode and data are
 * accepted: a NOTIFICATION is never answered with another (RFC 4271 §6.4).
 * @throws {BgpNotification} only for a bad header (1/x).
 */
export function decodeNotification(bytes: Uint8Array, state: NegotiatedState = INITIAL_NEGOTIATED_STATE): BgpNotificationMessage {
  decodeHeader(bytes, state);
  const errorCode = bytes[HEADER_LENGTH] ?? 0;
  const errorSubcode = bytes[HEADER_LENGTH + 1] ?? 0;
  const data = bytes.slice(HEADER_LENGTH + 2);
  const message: BgpNotificationMessage = { type: 'notification', errorCode, errorSubcode, data };
  if (!carriesShutdownCommunication(errorCode, errorSubcode)) return message;
  const text = decodeShutdownCommunication(data);
  return text === undefined ? message : { ...message, shutdownCommunication: text };
}

/**
 * Encodes a NOTIFICATION message.
 * @throws {BgpInvalidArgument} for a code or subcode out of range, or data too long for `state`.
 */
export function encodeNotification(message: BgpNotificationMessage, state: NegotiatedState = INITIAL_NEGOTIATED_STATE): Uint8Array {
  const body = new ByteWriter(2 + message.data.length)
    .u8(checkUint(message.errorCode, 0xff, 'error code'))
    .u8(checkUint(message.errorSubcode, 0xff, 'error subcode'))
    .bytes(message.data);
  return frameMessage(MESSAGE_TYPE.NOTIFICATION, body.finish(), state);
}

/** The NOTIFICATION message to send for a decode error. */
export function notificationFromError(error: BgpNotification): BgpNotificationMessage {
  return { type: 'notification', errorCode: error.errorCode, errorSubcode: error.errorSubcode, data: error.data };
}

/** A NOTIFICATION in words: `"Cease / Administrative Shutdown: \"maintenance\""`. */
export function notificationToText(message: BgpNotificationMessage): string {
  const { text } = describeNotification(message.errorCode, message.errorSubcode);
  if (message.shutdownCommunication !== undefined) return `${text}: ${JSON.stringify(message.shutdownCommunication)}`;
  if (message.data.length === 0) return text;
  const hex = Array.from(message.data.subarray(0, 64), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${text} (data ${hex}${message.data.length > 64 ? '…' : ''})`;
}
