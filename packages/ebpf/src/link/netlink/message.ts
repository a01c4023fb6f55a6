/**
 * Netlink framing (RFC 3549 §2.3.2, include/uapi/linux/netlink.h): the 16-byte
 * `struct nlmsghdr`, `struct rtattr` attributes aligned to 4 bytes, and `NLMSG_ERROR`
 * replies. Pure: no sockets here; `../sys/route-socket.ts` sends what this encodes.
 */
import { constants } from 'node:os';

import { NetlinkError } from '../errors.js';

/** `nlmsg_type` values used here: control messages and rtnetlink (include/uapi/linux/rtnetlink.h). */
export const NlMsgType = {
  ERROR: 2,
  DONE: 3,
  RTM_NEWLINK: 16,
  RTM_GETLINK: 18,
  RTM_NEWQDISC: 36,
  RTM_DELQDISC: 37,
  RTM_NEWTFILTER: 44,
  RTM_DELTFILTER: 45,
} as const;

/** `nlmsg_flags` (include/uapi/linux/netlink.h). */
export const NlFlag = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  /** For new-requests: replace an existing object. */
  REPLACE: 0x100,
  /** For new-requests: fail with `EEXIST` when it exists. */
  EXCL: 0x200,
  /** For new-requests: create when missing. */
  CREATE: 0x400,
} as const;

/** `sizeof(struct nlmsghdr)`. */
export const NLMSG_HDRLEN = 16;

/** Rounds up to netlink's 4-byte alignment (`NLMSG_ALIGN`, `RTA_ALIGN`). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** One `struct rtattr`: a type and a payload (nested attributes are encoded payloads). */
export interface Attribute {
  readonly type: number;
  readonly value: Uint8Array;
}

/** A `u32` attribute payload in host (little-endian) order. */
export function u32Attr(type: number, value: number): Attribute {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return { type, value: bytes };
}

/** A NUL-terminated string attribute (`NLA_STRING` as the kernel's policies expect). */
export function stringAttr(type: number, text: string): Attribute {
  const bytes = new TextEncoder().encode(text);
  const value = new Uint8Array(bytes.length + 1);
  value.set(bytes);
  return { type, value };
}

/** A nested attribute: the encoded children as its payload. */
export function nestedAttr(type: number, children: readonly Attribute[]): Attribute {
  return { type, value: encodeAttributes(children) };
}

/**
 * `struct rtattr { u16 rta_len; u16 rta_type; }` then the payload, each padded to 4 bytes.
 * `rta_len` counts the header and the unpadded payload.
 */
export function encodeAttributes(attributes: readonly Attribute[]): Uint8Array {
  const size = attributes.reduce((n, a) => n + align4(4 + a.value.byteLength), 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const a of attributes) {
    view.setUint16(offset, 4 + a.value.byteLength, true);
    view.setUint16(offset + 2, a.type, true);
    out.set(a.value, offset + 4);
    offset += align4(4 + a.value.byteLength);
  }
  return out;
}

/**
 * Decodes attributes until the end of `bytes`. The `NLA_F_NESTED` and
 * `NLA_F_NET_BYTEORDER` bits are masked off the type.
 * @throws {NetlinkError} `EBADMSG` for a length that runs past the end or is below 4.
 */
export function decodeAttributes(bytes: Uint8Array): Attribute[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Attribute[] = [];
  let offset = 0;
  while (offset + 4 <= bytes.byteLength) {
    const length = view.getUint16(offset, true);
    if (length < 4 || offset + length > bytes.byteLength) {
      throw new NetlinkError('EBADMSG', 'decode attributes', `attribute at ${offset} has length ${length}`);
    }
    out.push({ type: view.getUint16(offset + 2, true) & 0x3fff, value: bytes.subarray(offset + 4, offset + length) });
    offset += align4(length);
  }
  return out;
}

/** One netlink message. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Everything after the 16-byte header. */
  readonly payload: Uint8Array;
}

/**
 * `struct nlmsghdr { u32 nlmsg_len; u16 nlmsg_type; u16 nlmsg_flags; u32 nlmsg_seq;
 * u32 nlmsg_pid; }` then the payload (already aligned by its encoder).
 */
export function encodeMessage(m: { type: number; flags: number; seq: number; payload: Uint8Array; pid?: number }): Uint8Array {
  const out = new Uint8Array(NLMSG_HDRLEN + align4(m.payload.byteLength));
  const view = new DataView(out.buffer);
  view.setUint32(0, NLMSG_HDRLEN + m.payload.byteLength, true);
  view.setUint16(4, m.type, true);
  view.setUint16(6, m.flags, true);
  view.setUint32(8, m.seq >>> 0, true);
  view.setUint32(12, m.pid ?? 0, true);
  out.set(m.payload, NLMSG_HDRLEN);
  return out;
}

/**
 * Splits a datagram the kernel sent into its messages.
 * @throws {NetlinkError} `EBADMSG` for a truncated header or a length past the end.
 */
export function decodeMessages(bytes: Uint8Array): NetlinkMessage[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: NetlinkMessage[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + NLMSG_HDRLEN > bytes.byteLength) {
      throw new NetlinkError('EBADMSG', 'decode message', `${bytes.byteLength - offset} bytes left, a header needs 16`);
    }
    const length = view.getUint32(offset, true);
    if (length < NLMSG_HDRLEN || offset + length > bytes.byteLength) {
      throw new NetlinkError('EBADMSG', 'decode message', `message at ${offset} has length ${length}`);
    }
    out.push({
      type: view.getUint16(offset + 4, true),
      flags: view.getUint16(offset + 6, true),
      seq: view.getUint32(offset + 8, true),
      pid: view.getUint32(offset + 12, true),
      payload: bytes.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += align4(length);
  }
  return out;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, number]) => [number, name]));

/** `EPERM` for 1, and so on; `errno N` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/**
 * The errno of an `NLMSG_ERROR` message (`struct nlmsgerr { int error; struct nlmsghdr
 * msg; }`): 0 for an acknowledgement, else the positive errno the request failed with.
 * @throws {NetlinkError} `EBADMSG` when the payload is shorter than the `error` field.
 */
export function decodeErrorCode(message: NetlinkMessage): number {
  if (message.payload.byteLength < 4) {
    throw new NetlinkError('EBADMSG', 'decode NLMSG_ERROR', `payload of ${message.payload.byteLength} bytes`);
  }
  const error = new DataView(message.payload.buffer, message.payload.byteOffset, 4).getInt32(0, true);
  return error === 0 ? 0 : -error;
}
