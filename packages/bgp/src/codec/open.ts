// The OPEN message (RFC 4271 §4.2) with optional parameters (RFC 5492 §4, extended
// length per RFC 9072), and its checks (RFC 4271 §6.2).
import { BgpNotification } from '../errors.js';

import { type Asn } from './asn.js';
import { type Capability, decodeCapabilities, encodeCapability } from './capabilities.js';
import { AS_TRANS, MAX_MESSAGE_LENGTH, MESSAGE_TYPE, OPTIONAL_PARAMETER_TYPE } from './constants.js';
import { decodeHeader, frameMessage } from './header.js';
import { ByteWriter, checkUint, ipv4FromText, ipv4ToText } from './internal/bytes.js';
import { INITIAL_NEGOTIATED_STATE } from './negotiated.js';
import { NOTIFICATION_CODE, OPEN_ERROR } from './notification-codes.js';

/** The BGP version this codec speaks (RFC 4271 §4.2). */
export const BGP_VERSION = 4;

/** An OPEN message. */
export interface BgpOpen {
  /** Discriminant of {@link BgpMessage}; message type 1 on the wire. */
  readonly type: 'open';
  /** Always 4 (RFC 4271 §4.2). */
  readonly version: number;
  /**
   * The 2-octet "My Autonomous System" field: AS_TRANS (23456) when the speaker's AS
   * needs 4 octets (RFC 6793 §4.1). {@link openAsn} gives the speaker's real AS.
   */
  readonly myAs: Asn;
  /** Proposed hold time in seconds: 0, or at least 3 (RFC 4271 §4.2). */
  readonly holdTime: number;
  /** The BGP Identifier, dotted quad (RFC 4271 §4.2, RFC 6286). */
  readonly bgpIdentifier: string;
  /** Capabilities, in order, flattened over every Capabilities parameter (RFC 5492 §4). */
  readonly capabilities: readonly Capability[];
}

/** The speaker's AS: the 4-octet AS capability's, else the My Autonomous System field (RFC 6793 §4.1). */
export function openAsn(open: BgpOpen): Asn {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.asn;
  return open.myAs;
}

/** The My Autonomous System field for an AS: itself, or AS_TRANS when it needs 4 octets (RFC 6793 §4.1). */
export function myAsField(asn: Asn): Asn {
  return (asn > 0xffff ? AS_TRANS : asn) as Asn;
}

function openError(subcode: number, reason: string, data?: Uint8Array): BgpNotification {
  return new BgpNotification({ errorCode: NOTIFICATION_CODE.OPEN_MESSAGE_ERROR, errorSubcode: subcode, reason, ...(data ? { data } : {}) });
}

/**
 * Decodes an OPEN message (the whole message, header included) and applies the checks
 * that need no configuration (RFC 4271 §6.2): version, hold time, BGP Identifier, AS 0
 * (RFC 7607 §2), optional parameters. The peer AS and the identifier's uniqueness are
 * the session's checks.
 * @throws {BgpNotification} header errors (1/x) or OPEN Message Error (2/x) with the RFC's data.
 */
export function decodeOpen(bytes: Uint8Array): BgpOpen {
  // OPEN is exchanged before any capability is in force (RFC 8654 §4: at most 4096 octets).
  decodeHeader(bytes, INITIAL_NEGOTIATED_STATE);
  if (bytes[18] !== MESSAGE_TYPE.OPEN) throw openError(OPEN_ERROR.UNSPECIFIC, `message type ${bytes[18]} is not OPEN`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(19);
  // RFC 4271 §6.2: the data is the largest version we support, as 2 octets.
  if (version !== BGP_VERSION) {
    throw openError(OPEN_ERROR.UNSUPPORTED_VERSION_NUMBER, `version ${version}, this speaker runs 4`, Uint8Array.of(0, BGP_VERSION));
  }
  const myAs = view.getUint16(20) as Asn;
  // RFC 7607 §2: AS 0 is "Bad Peer AS".
  if (myAs === 0) throw openError(OPEN_ERROR.BAD_PEER_AS, 'My Autonomous System is 0');
  const holdTime = view.getUint16(22);
  // RFC 4271 §6.2: a hold time of 1 or 2 seconds MUST be rejected.
  if (holdTime === 1 || holdTime === 2) throw openError(OPEN_ERROR.UNACCEPTABLE_HOLD_TIME, `hold time ${holdTime} s (must be 0 or at least 3)`);
  // RFC 6286 §2.2: the identifier is a non-zero 4-octet unsigned integer.
  if (view.getUint32(24) === 0) throw openError(OPEN_ERROR.BAD_BGP_IDENTIFIER, 'BGP Identifier is 0.0.0.0');
  const bgpIdentifier = ipv4ToText(bytes.subarray(24, 28));

  let paramLength = view.getUint8(28);
  let at = 29;
  let extended = false;
  // RFC 9072 §2: a length of 255 followed by parameter type 255 switches to 2-octet lengths.
  if (paramLength === 255 && bytes.length > 29 && bytes[29] === OPTIONAL_PARAMETER_TYPE.EXTENDED_LENGTH) {
    if (bytes.length < 32) throw openError(OPEN_ERROR.UNSPECIFIC, 'extended optional parameters length is truncated');
    paramLength = view.getUint16(30);
    at = 32;
    extended = true;
  }
  if (at + paramLength !== bytes.length) {
    throw openError(OPEN_ERROR.UNSPECIFIC, `optional parameters length ${paramLength} does not match the ${bytes.length - at} octets left`);
  }
  const capabilities: Capability[] = [];
  const headerSize = extended ? 3 : 2;
  while (at < bytes.length) {
    if (at + headerSize > bytes.length) throw openError(OPEN_ERROR.UNSPECIFIC, 'optional parameter header overruns the message');
    const type = view.getUint8(at);
    const length = extended ? view.getUint16(at + 1) : view.getUint8(at + 1);
    const start = at + headerSize;
    if (start + length > bytes.length) throw openError(OPEN_ERROR.UNSPECIFIC, `optional parameter ${type} of ${length} octets overruns the message`);
    // RFC 4271 §6.2 / RFC 5492 §4: only the Capabilities parameter is defined.
    if (type !== OPTIONAL_PARAMETER_TYPE.CAPABILITIES) throw openError(OPEN_ERROR.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${type} is not supported`);
    capabilities.push(...decodeCapabilities(bytes.subarray(start, start + length)));
    at = start + length;
  }
  return { type: 'open', version, myAs, holdTime, bgpIdentifier, capabilities };
}

/**
 * Encodes an OPEN message, one Capabilities parameter per capability (as FRR and GoBGP
 * do), switching to the RFC 9072 extended length when the parameters exceed 255 octets.
 * @throws {BgpInvalidArgument} for out-of-range fields, or a message over 4096 octets.
 */
export function encodeOpen(open: BgpOpen): Uint8Array {
  const params = open.capabilities.map((c) => encodeCapability(c));
  const total = params.reduce((sum, p) => sum + 2 + p.length, 0);
  const extended = total > 255;
  const body = new ByteWriter(10 + total + params.length + 3);
  body
    .u8(checkUint(open.version, 0xff, 'version'))
    .u16(checkUint(open.myAs, 0xffff, 'My Autonomous System'))
    .u16(checkUint(open.holdTime, 0xffff, 'hold time'))
    .bytes(ipv4FromText(open.bgpIdentifier, 'BGP Identifier'));
  if (extended) {
    body.u8(255).u8(OPTIONAL_PARAMETER_TYPE.EXTENDED_LENGTH).u16(total + params.length);
    for (const p of params) body.u8(OPTIONAL_PARAMETER_TYPE.CAPABILITIES).u16(p.length).bytes(p);
  } else {
    body.u8(total);
    for (const p of params) body.u8(OPTIONAL_PARAMETER_TYPE.CAPABILITIES).u8(p.length).bytes(p);
  }
  return frameMessage(MESSAGE_TYPE.OPEN, body.finish(), INITIAL_NEGOTIATED_STATE, MAX_MESSAGE_LENGTH);
}
