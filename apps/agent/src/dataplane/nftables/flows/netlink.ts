// Netlink framing for the flow readers: messages in a datagram (netlink(7): struct
// nlmsghdr, NLMSG_ALIGN to 4 bytes), attributes (struct nlattr, NLA_ALIGN), and the
// nfnetlink header that follows every NETLINK_NETFILTER message (struct nfgenmsg,
// include/uapi/linux/netfilter/nfnetlink.h). Pure: bytes in, values out.

import { NFTABLES_ERROR_CODE, NftablesDataplaneError } from '../errors.js';

/** `nlmsghdr` flags and types used here (include/uapi/linux/netlink.h). */
export const NLM = {
  F_REQUEST: 0x1,
  F_ACK: 0x4,
  /** Message types below 16 are netlink's own. */
  NOOP: 1,
  ERROR: 2,
  DONE: 3,
  OVERRUN: 4,
  HEADER_SIZE: 16,
} as const;

/** `NLA_F_NESTED | NLA_F_NET_BYTEORDER`: flag bits of an attribute type. */
const NLA_TYPE_MASK = 0x3fff;

/** One netlink message of a datagram. */
export interface NetlinkFrame {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly portId: number;
  /** What follows the 16-byte header, `nlmsg_len - 16` bytes. */
  readonly payload: Uint8Array;
}

/** A message or attribute that does not parse, with what and where. */
export function badMessage(where: string, reason: string): NftablesDataplaneError {
  return new NftablesDataplaneError(NFTABLES_ERROR_CODE.BAD_FLOW_MESSAGE, `${where}: ${reason}`);
}

const align4 = (n: number): number => (n + 3) & ~3;

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * The messages of one netlink datagram, in order. A malformed message ends the walk:
 * the messages before it are returned with the error (`error` names the byte offset).
 */
export function decodeFrames(datagram: Uint8Array): { readonly frames: NetlinkFrame[]; readonly error?: NftablesDataplaneError } {
  const frames: NetlinkFrame[] = [];
  const data = view(datagram);
  let offset = 0;
  while (offset < datagram.length) {
    if (datagram.length - offset < NLM.HEADER_SIZE) {
      return { frames, error: badMessage(`netlink message at byte ${offset}`, `${datagram.length - offset} bytes left, shorter than the 16-byte header`) };
    }
    const length = data.getUint32(offset, true);
    if (length < NLM.HEADER_SIZE || length > datagram.length - offset) {
      return { frames, error: badMessage(`netlink message at byte ${offset}`, `length ${length} is outside 16..${datagram.length - offset}`) };
    }
    frames.push({
      type: data.getUint16(offset + 4, true),
      flags: data.getUint16(offset + 6, true),
      seq: data.getUint32(offset + 8, true),
      portId: data.getUint32(offset + 12, true),
      payload: datagram.subarray(offset + NLM.HEADER_SIZE, offset + length),
    });
    offset += align4(length);
  }
  return { frames };
}

/**
 * The attributes of `bytes` by type (flag bits cleared; a repeated type keeps the last).
 * @throws {NftablesDataplaneError} `bad-flow-message` naming `where` and the offset of an attribute whose length does not fit.
 */
export function decodeAttributes(bytes: Uint8Array, where: string): Map<number, Uint8Array> {
  const attributes = new Map<number, Uint8Array>();
  const data = view(bytes);
  let offset = 0;
  while (offset + 4 <= bytes.length) {
    const length = data.getUint16(offset, true);
    const type = data.getUint16(offset + 2, true) & NLA_TYPE_MASK;
    if (length < 4 || length > bytes.length - offset) throw badMessage(`${where} attribute at byte ${offset}`, `length ${length} is outside 4..${bytes.length - offset}`);
    attributes.set(type, bytes.subarray(offset + 4, offset + length));
    offset += align4(length);
  }
  return attributes;
}

/** `struct nfgenmsg`: the address family, version and resource id (big-endian: an nflog group) of a netfilter message. */
export interface NfGenHeader {
  readonly family: number;
  readonly version: number;
  readonly resourceId: number;
}

/** The nfnetlink header of a NETLINK_NETFILTER payload and its attributes. @throws {NftablesDataplaneError} `bad-flow-message`. */
export function decodeNfGen(payload: Uint8Array, where: string): { readonly header: NfGenHeader; readonly attributes: Map<number, Uint8Array> } {
  if (payload.length < 4) throw badMessage(where, `${payload.length} bytes, shorter than the 4-byte nfgenmsg`);
  const header = { family: payload[0] as number, version: payload[1] as number, resourceId: view(payload).getUint16(2, false) };
  return { header, attributes: decodeAttributes(payload.subarray(4), where) };
}

/** The errno of an NLMSG_ERROR message (0: an acknowledgement). @throws {NftablesDataplaneError} when it is too short. */
export function decodeErrorFrame(frame: NetlinkFrame): number {
  if (frame.payload.length < 4) throw badMessage('NLMSG_ERROR', `${frame.payload.length} bytes, shorter than its 4-byte error code`);
  const code = view(frame.payload).getInt32(0, true);
  return code === 0 ? 0 : -code;
}

/** A netlink attribute: `type` and `value`, padded to 4 bytes. */
export function encodeAttribute(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(4 + value.length));
  const data = view(out);
  data.setUint16(0, 4 + value.length, true);
  data.setUint16(2, type, true);
  out.set(value, 4);
  return out;
}

/** A NETLINK_NETFILTER message: header, nfgenmsg (version 0) and attributes. */
export function encodeNfMessage(options: { readonly type: number; readonly flags: number; readonly seq: number; readonly family: number; readonly resourceId: number; readonly attributes: readonly Uint8Array[] }): Uint8Array {
  const body = options.attributes.reduce((n, a) => n + a.length, 0);
  const out = new Uint8Array(NLM.HEADER_SIZE + 4 + body);
  const data = view(out);
  data.setUint32(0, out.length, true);
  data.setUint16(4, options.type, true);
  data.setUint16(6, options.flags, true);
  data.setUint32(8, options.seq, true);
  data.setUint32(12, 0, true);
  out[16] = options.family;
  out[17] = 0;
  data.setUint16(18, options.resourceId, false);
  let offset = 20;
  for (const a of options.attributes) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** A big-endian unsigned integer attribute value of 1, 2 or 4 bytes. @throws {NftablesDataplaneError} on another length. */
export function readBigEndian(value: Uint8Array, where: string): number {
  const data = view(value);
  switch (value.length) {
    case 1:
      return data.getUint8(0);
    case 2:
      return data.getUint16(0, false);
    case 4:
      return data.getUint32(0, false);
    default:
      throw badMessage(where, `${value.length} bytes, not a 1, 2 or 4-byte integer`);
  }
}
