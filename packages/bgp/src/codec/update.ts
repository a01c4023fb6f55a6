// The UPDATE message (RFC 4271 §4.3) with the revised error handling of RFC 7606, and
// End-of-RIB markers (RFC 4724 §2).
import { type AfiSafi, BgpNotification, ERROR_ACTION } from '../errors.js';

import { type PathAttributes, type UpdateProblem, decodePathAttributes, encodePathAttributes } from './attributes/path-attributes.js';
import { AFI, ATTRIBUTE_TYPE, HEADER_LENGTH, MESSAGE_TYPE, SAFI } from './constants.js';
import { decodeHeader, frameMessage } from './header.js';
import { ByteWriter } from './internal/bytes.js';
import { type NegotiatedState, hasFamily } from './negotiated.js';
import { NOTIFICATION_CODE, UPDATE_ERROR } from './notification-codes.js';
import { type PackedNlri, checkNlriField, unpackNlri } from './packed-nlri.js';
import { type Nlri, encodeNlriList } from './prefix.js';

/** An UPDATE message. `withdrawn` and `nlri` are IPv4 unicast; other families travel in MP attributes. */
export interface BgpUpdate {
  /** Discriminant of {@link BgpMessage}; message type 2 on the wire. */
  readonly type: 'update';
  /** Withdrawn Routes field (IPv4 unicast). */
  readonly withdrawn: readonly Nlri[];
  /**
   * The path attributes (RFC 4271 §4.3), MP_REACH_NLRI/MP_UNREACH_NLRI included. Empty
   * (`{}`) in a message that only withdraws IPv4 routes, and in the IPv4 End-of-RIB.
   */
  readonly attributes: PathAttributes;
  /** NLRI field (IPv4 unicast). */
  readonly nlri: readonly Nlri[];
}

/**
 * The non-fatal problems of a received UPDATE and the one action to take (RFC 7606 §2):
 * `treat-as-withdraw` (every route announced by the message, in the NLRI field and in
 * MP_REACH_NLRI, is handled as withdrawn) or `attribute-discard` (use the message; the
 * malformed attributes are already left out).
 */
export interface UpdateError {
  /** The strongest action over `problems`. */
  readonly action: UpdateProblem['action'];
  /** Every problem found, in the order met; never empty. */
  readonly problems: readonly UpdateProblem[];
}

/** A decoded UPDATE, with `error` when RFC 7606 asks for treat-as-withdraw or attribute discard. */
export interface DecodedUpdate extends BgpUpdate {
  /** Absent when the message has no RFC 7606 problem that the decoder let through. */
  readonly error?: UpdateError;
}

function malformedList(reason: string): BgpNotification {
  return new BgpNotification({ errorCode: NOTIFICATION_CODE.UPDATE_MESSAGE_ERROR, errorSubcode: UPDATE_ERROR.MALFORMED_ATTRIBUTE_LIST, reason });
}

/**
 * An UPDATE decoded except for its IPv4 Withdrawn Routes and NLRI fields, which stay as
 * checked wire bytes ({@link PackedNlri}, walked with `Ipv4NlriCursor`): what a
 * receiver of a full table uses. The attributes (MP_REACH/MP_UNREACH included) are
 * decoded once per message.
 */
export interface PackedUpdate {
  /** Always `'update'`, as in {@link BgpUpdate}. */
  readonly type: 'update';
  /** The Withdrawn Routes field (IPv4 unicast), checked; ADD-PATH per the negotiated receive state. */
  readonly withdrawn: PackedNlri;
  /** The decoded path attributes, as in {@link BgpUpdate.attributes}. */
  readonly attributes: PathAttributes;
  /** The NLRI field (IPv4 unicast), checked; ADD-PATH per the negotiated receive state. */
  readonly nlri: PackedNlri;
  /** As in {@link DecodedUpdate.error}. */
  readonly error?: UpdateError;
}

/**
 * Decodes an UPDATE message (header included), leaving the IPv4 NLRI fields packed.
 * Checks and errors are those of {@link decodeUpdate}.
 * @throws {BgpNotification} as {@link decodeUpdate}.
 */
export function decodeUpdatePacked(bytes: Uint8Array, state: NegotiatedState): PackedUpdate {
  decodeHeader(bytes, state);
  if (bytes[18] !== MESSAGE_TYPE.UPDATE) throw malformedList(`message type ${bytes[18]} is not UPDATE`);
  const body = bytes.subarray(HEADER_LENGTH);
  const withdrawnLength = ((body[0] ?? 0) << 8) | (body[1] ?? 0);
  // RFC 4271 §6.3: lengths that exceed the message are a Malformed Attribute List.
  if (2 + withdrawnLength + 2 > body.length) throw malformedList(`Withdrawn Routes Length ${withdrawnLength} exceeds the message`);
  const attributesLength = ((body[2 + withdrawnLength] ?? 0) << 8) | (body[3 + withdrawnLength] ?? 0);
  const attributesStart = 4 + withdrawnLength;
  if (attributesStart + attributesLength > body.length) throw malformedList(`Total Path Attribute Length ${attributesLength} exceeds the message`);

  const addPath = hasFamily(state.addPathReceive, AFI.IPV4, SAFI.UNICAST);
  const withdrawn: PackedNlri = { family: 4, addPath, bytes: body.subarray(2, 2 + withdrawnLength) };
  // RFC 7606 §5.3: a Withdrawn Routes field that cannot be parsed resets the session.
  const withdrawnProblem = checkNlriField(withdrawn.bytes, 4, addPath);
  if (withdrawnProblem !== undefined) throw malformedList(`Withdrawn Routes: ${withdrawnProblem}`);
  const nlri: PackedNlri = { family: 4, addPath, bytes: body.subarray(attributesStart + attributesLength) };
  // RFC 4271 §6.3 / RFC 7606 §5.3: a malformed NLRI field is "Invalid Network Field".
  const nlriProblem = checkNlriField(nlri.bytes, 4, addPath);
  if (nlriProblem !== undefined) {
    throw new BgpNotification({ errorCode: NOTIFICATION_CODE.UPDATE_MESSAGE_ERROR, errorSubcode: UPDATE_ERROR.INVALID_NETWORK_FIELD, reason: `NLRI: ${nlriProblem}` });
  }

  const problems: UpdateProblem[] = [];
  const { attributes, present } = decodePathAttributes(body.subarray(attributesStart, attributesStart + attributesLength), state, problems);

  // RFC 7606 §3.d (RFC 4271 §5): announcing routes needs ORIGIN and AS_PATH, and NEXT_HOP
  // for NLRI in the NLRI field (RFC 4760 §3: not for MP_REACH_NLRI alone).
  const reach = attributes.mpReach;
  const inNlriField = nlri.bytes.length > 0;
  const announces = inNlriField || (reach !== undefined && (reach.nlri.length > 0 || reach.opaque !== undefined));
  if (announces) {
    const required: number[] = [ATTRIBUTE_TYPE.ORIGIN, ATTRIBUTE_TYPE.AS_PATH];
    if (inNlriField) required.push(ATTRIBUTE_TYPE.NEXT_HOP);
    for (const type of required) {
      if (!present.has(type)) {
        // RFC 4271 §6.3: the data is the type code of the missing attribute.
        problems.push({ action: ERROR_ACTION.TREAT_AS_WITHDRAW, typeCode: type, errorSubcode: UPDATE_ERROR.MISSING_WELL_KNOWN_ATTRIBUTE, data: Uint8Array.of(type), reason: `well-known attribute ${type} is missing` });
      }
    }
  }
  const update: PackedUpdate = { type: 'update', withdrawn, attributes, nlri };
  if (problems.length === 0) return update;
  const action = problems.some((p) => p.action === ERROR_ACTION.TREAT_AS_WITHDRAW) ? ERROR_ACTION.TREAT_AS_WITHDRAW : ERROR_ACTION.ATTRIBUTE_DISCARD;
  return { ...update, error: { action, problems } };
}

/**
 * Decodes an UPDATE message (header included).
 *
 * Throws only for the session-reset cases of RFC 7606: lengths that do not add up
 * (RFC 4271 §6.3 Malformed Attribute List), a malformed Withdrawn Routes or NLRI field
 * (RFC 7606 §5.3: 3/1 and 3/10), a malformed or repeated MP attribute (3/9, 3/1; with
 * `afiSafi` when AFI/SAFI disable may be used instead), an unrecognized well-known
 * attribute (3/2). Every other problem comes back in `error`.
 * @throws {BgpNotification} as above, or for a bad header (1/x).
 */
export function decodeUpdate(bytes: Uint8Array, state: NegotiatedState): DecodedUpdate {
  const packed = decodeUpdatePacked(bytes, state);
  const update: BgpUpdate = { type: 'update', withdrawn: unpackNlri(packed.withdrawn), attributes: packed.attributes, nlri: unpackNlri(packed.nlri) };
  return packed.error === undefined ? update : { ...update, error: packed.error };
}

/**
 * Encodes an UPDATE message.
 * @throws {BgpInvalidArgument} for values out of range, or a message longer than `state` allows (RFC 4271 §4.1, RFC 8654 §4).
 */
export function encodeUpdate(update: BgpUpdate, state: NegotiatedState): Uint8Array {
  const v4AddPath = hasFamily(state.addPathSend, AFI.IPV4, SAFI.UNICAST);
  const withdrawn = new ByteWriter(16);
  encodeNlriList(withdrawn, update.withdrawn, 4, v4AddPath);
  const attributes = encodePathAttributes(update.attributes, state);
  const body = new ByteWriter(4 + withdrawn.length + attributes.length + update.nlri.length * 5);
  body.u16(withdrawn.length).bytes(withdrawn.finish()).u16(attributes.length).bytes(attributes);
  encodeNlriList(body, update.nlri, 4, v4AddPath);
  return frameMessage(MESSAGE_TYPE.UPDATE, body.finish(), state);
}

/**
 * The End-of-RIB marker for a family (RFC 4724 §2): an empty UPDATE for IPv4 unicast,
 * else an UPDATE with only an empty MP_UNREACH_NLRI.
 */
export function endOfRib(family: AfiSafi): BgpUpdate {
  if (family.afi === AFI.IPV4 && family.safi === SAFI.UNICAST) return { type: 'update', withdrawn: [], attributes: {}, nlri: [] };
  return { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: family.afi, safi: family.safi, withdrawn: [] } }, nlri: [] };
}

/** The family whose End-of-RIB this UPDATE is (RFC 4724 §2), or undefined when it is not one. */
export function endOfRibFamily(update: BgpUpdate | PackedUpdate): AfiSafi | undefined {
  const withdrawn = 'bytes' in update.withdrawn ? update.withdrawn.bytes.length : update.withdrawn.length;
  const nlri = 'bytes' in update.nlri ? update.nlri.bytes.length : update.nlri.length;
  if (withdrawn > 0 || nlri > 0) return undefined;
  const keys = Object.entries(update.attributes).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (keys.length === 0) return { afi: AFI.IPV4, safi: SAFI.UNICAST };
  const unreach = update.attributes.mpUnreach;
  if (keys.length === 1 && unreach !== undefined && unreach.withdrawn.length === 0 && (unreach.opaque === undefined || unreach.opaque.length === 0)) {
    return { afi: unreach.afi, safi: unreach.safi };
  }
  return undefined;
}
