// Byte helpers shared by the codec. Pure; big-endian (network order) throughout.
import ipaddr from 'ipaddr.js';

import { BgpInvalidArgument } from '../../errors.js';

/** A growable big-endian byte writer. */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  /** Bytes written so far. */
  length = 0;

  constructor(capacity = 64) {
    this.buffer = new Uint8Array(capacity);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): this {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
    return this;
  }

  u16(value: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, value);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** A length octet and the first `(length + 7) / 8` octets of `address` (an NLRI prefix, RFC 4271 §4.3), without a copy of the address. */
  prefix(length: number, address: Uint8Array): this {
    const octets = (length + 7) >> 3;
    this.reserve(1 + octets);
    const buffer = this.buffer;
    let at = this.length;
    buffer[at] = length;
    at += 1;
    for (let i = 0; i < octets; i += 1) buffer[at + i] = address[i] ?? 0;
    this.length = at + octets;
    return this;
  }

  /** Overwrites a 16-bit value already written at `offset` (for length fields). */
  patchU16(offset: number, value: number): void {
    this.view.setUint16(offset, value);
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** A DataView over exactly `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Dotted-quad text of 4 bytes. */
export function ipv4ToText(bytes: Uint8Array): string {
  return ipaddr.fromByteArray(Array.from(bytes)).toString();
}

/** RFC 5952 text of 16 bytes. */
export function ipv6ToText(bytes: Uint8Array): string {
  return ipaddr.fromByteArray(Array.from(bytes)).toString();
}

/**
 * The 4 bytes of a dotted-quad address (four-part decimal only).
 * @throws {BgpInvalidArgument} when `text` is not one.
 */
export function ipv4FromText(text: string, what: string): Uint8Array {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) {
    throw new BgpInvalidArgument(`${what}: ${JSON.stringify(text)} is not an IPv4 address`);
  }
  return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
}

/**
 * The 16 bytes of an IPv6 address (no zone id).
 * @throws {BgpInvalidArgument} when `text` is not one.
 */
export function ipv6FromText(text: string, what: string): Uint8Array {
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) {
    throw new BgpInvalidArgument(`${what}: ${JSON.stringify(text)} is not an IPv6 address`);
  }
  return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
}

/**
 * Checks that `value` is an integer in 0..`max`, for encoders.
 * @throws {BgpInvalidArgument} otherwise.
 */
export function checkUint(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new BgpInvalidArgument(`${what}: ${value} is not an integer in 0..${max}`);
  }
  return value;
}
