/**
 * Typed layouts for map keys and values: a small DSL that lays out fields as a C
 * compiler would for the BPF target (little-endian, natural alignment), so a struct
 * declared here matches the one in the program's C source byte for byte.
 * Pure: no kernel involved.
 */
import { LayoutError } from '../errors.js';

/** How values of type `T` are laid out in `size` bytes, aligned to `align`. */
export interface Layout<T> {
  /** Bytes the value takes, including trailing padding (C `sizeof`). */
  readonly size: number;
  /** Its alignment (C `_Alignof`): 1, 2, 4 or 8. */
  readonly align: number;
  /** Writes `value` at `offset`. @throws {LayoutError} when it does not fit. */
  encode(view: DataView, offset: number, value: T): void;
  /** Reads a value at `offset`. */
  decode(view: DataView, offset: number): T;
}

/** The type of the values a layout describes. */
export type LayoutValue<L> = L extends Layout<infer T> ? T : never;

function integer(name: string, size: 1 | 2 | 4, signed: boolean, bigEndian = false): Layout<number> {
  const bits = size * 8;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const little = !bigEndian;
  return {
    size,
    align: size,
    encode(view, offset, value) {
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new LayoutError(`${name}: ${String(value)} is not an integer in [${min}, ${max}]`);
      }
      if (size === 1) view.setUint8(offset, value & 0xff);
      else if (size === 2) view.setUint16(offset, value & 0xffff, little);
      else view.setUint32(offset, value >>> 0, little);
    },
    decode(view, offset) {
      if (size === 1) return signed ? view.getInt8(offset) : view.getUint8(offset);
      if (size === 2) return signed ? view.getInt16(offset, little) : view.getUint16(offset, little);
      return signed ? view.getInt32(offset, little) : view.getUint32(offset, little);
    },
  };
}

function integer64(name: string, signed: boolean): Layout<bigint> {
  const min = signed ? -(1n << 63n) : 0n;
  const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
  return {
    size: 8,
    align: 8,
    encode(view, offset, value) {
      if (typeof value !== 'bigint' || value < min || value > max) {
        throw new LayoutError(`${name}: ${String(value)} is not a bigint in [${min}, ${max}]`);
      }
      if (signed) view.setBigInt64(offset, value, true);
      else view.setBigUint64(offset, value, true);
    },
    decode(view, offset) {
      return signed ? view.getBigInt64(offset, true) : view.getBigUint64(offset, true);
    },
  };
}

/** `__u8`. */
export const u8: Layout<number> = integer('u8', 1, false);
/** `__u16`, little-endian (host order on BPF hosts). */
export const u16: Layout<number> = integer('u16', 2, false);
/** `__u32`, little-endian. */
export const u32: Layout<number> = integer('u32', 4, false);
/** `__u64`, little-endian, as a bigint. */
export const u64: Layout<bigint> = integer64('u64', false);
/** `__s8`. */
export const i8: Layout<number> = integer('i8', 1, true);
/** `__s16`, little-endian. */
export const i16: Layout<number> = integer('i16', 2, true);
/** `__s32`, little-endian. */
export const i32: Layout<number> = integer('i32', 4, true);
/** `__s64`, little-endian, as a bigint. */
export const i64: Layout<bigint> = integer64('i64', true);
/** `__be16`: network byte order, as ports are in packet headers. */
export const be16: Layout<number> = integer('be16', 2, false, true);
/** `__be32`: network byte order. */
export const be32: Layout<number> = integer('be32', 4, false, true);

/** Encodes one value into a new buffer of `layout.size` bytes. @throws {LayoutError} */
export function encodeLayout<T>(layout: Layout<T>, value: T): Uint8Array {
  const bytes = new Uint8Array(layout.size);
  layout.encode(new DataView(bytes.buffer), 0, value);
  return bytes;
}

/** Decodes one value from exactly `layout.size` bytes (or from `offset` in a larger buffer). */
export function decodeLayout<T>(layout: Layout<T>, bytes: Uint8Array, offset = 0): T {
  if (bytes.byteLength - offset < layout.size) {
    throw new LayoutError(`need ${layout.size} bytes at offset ${offset}, have ${bytes.byteLength - offset}`);
  }
  return layout.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
}

/** Rounds `n` up to a multiple of `align`. */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}
