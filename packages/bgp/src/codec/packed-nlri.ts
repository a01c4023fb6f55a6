// NLRI fields kept as wire bytes (RFC 4271 §4.3, RFC 7911 §3), for receivers that take
// a full table: a million prefixes as objects cost more to build and collect than the
// RIB's own work. A field is checked once (`checkNlriField`); a cursor then walks it
// without allocating, giving each prefix as numbers.
import { type BgpPrefix, type IpFamily, type Nlri, addressLength, decodeNlriList } from './prefix.js';

/** A syntactically valid NLRI field of one family, as received. */
export interface PackedNlri {
  /** The family of every prefix in the field. */
  readonly family: IpFamily;
  /** Each entry starts with a 4-octet path identifier (ADD-PATH, RFC 7911 §3). */
  readonly addPath: boolean;
  /** The field's octets (a view into the message). */
  readonly bytes: Uint8Array;
}

/**
 * Why `bytes` is not a valid NLRI field (RFC 7606 §5.3: a length beyond the address
 * size, a prefix or path identifier running past the end), or undefined when it is.
 * Same reasons, in the same words, as the list decoder behind {@link decodeUpdate}.
 */
export function checkNlriField(bytes: Uint8Array, family: IpFamily, addPath: boolean): string | undefined {
  const max = addressLength(family) * 8;
  let offset = 0;
  while (offset < bytes.length) {
    if (addPath) {
      if (offset + 4 > bytes.length) return `path identifier at octet ${offset} overruns the field`;
      offset += 4;
      if (offset >= bytes.length) return `prefix length missing after path identifier at octet ${offset}`;
    }
    const length = bytes[offset] ?? 0;
    offset += 1;
    if (length > max) return `prefix length ${length} exceeds ${max} for IPv${family}`;
    const octets = (length + 7) >> 3;
    if (offset + octets > bytes.length) return `prefix of /${length} at octet ${offset - 1} overruns the field`;
    offset += octets;
  }
  return undefined;
}

/** The entries of a packed field as {@link Nlri} objects. */
export function unpackNlri(field: PackedNlri): Nlri[] {
  const list = decodeNlriList(field.bytes, field.family, field.addPath);
  // A packed field was checked when it was made.
  return typeof list === 'string' ? [] : list;
}

/**
 * Walks an IPv4 packed field: after each `next()` that returns true, `address` (the
 * network as an unsigned 32-bit number, host bits cleared), `length` and `pathId` (0
 * without ADD-PATH) describe the entry. One cursor per field; nothing is allocated.
 */
export class Ipv4NlriCursor {
  /** The current entry's network as an unsigned 32-bit number (`10.0.0.0` is `0x0a000000`), host bits cleared; 0 before the first `next()`. */
  address = 0;
  /** The current entry's prefix length in bits, 0..32. */
  length = 0;
  /** The current entry's ADD-PATH Path Identifier (RFC 7911 §3); 0 when the field has none. */
  pathId = 0;
  private offset = 0;

  constructor(private readonly field: PackedNlri) {}

  /** Moves to the next entry; false at the end. */
  next(): boolean {
    const b = this.field.bytes;
    let o = this.offset;
    if (o >= b.length) return false;
    if (this.field.addPath) {
      this.pathId = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      o += 4;
    }
    const length = b[o]!;
    o += 1;
    let address = 0;
    // Octets beyond the field's prefix octets read as zero (RFC 4271 §4.3 trailing bits).
    if (length > 0) address = b[o]! << 24;
    if (length > 8) address |= b[o + 1]! << 16;
    if (length > 16) address |= b[o + 2]! << 8;
    if (length > 24) address |= b[o + 3]!;
    this.address = length === 0 ? 0 : (address & (-1 << (32 - length))) >>> 0;
    this.length = length;
    this.offset = o + ((length + 7) >> 3);
    return true;
  }

  /** The current entry as a prefix (allocates). */
  prefix(): BgpPrefix {
    const a = this.address;
    return { family: 4, length: this.length, bytes: Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff) };
  }
}
