/** Compound layouts: structs, arrays, raw bytes, padding, addresses and LPM trie keys. */
import { LayoutError } from '../errors.js';
import { type Layout, type LayoutValue, alignUp, u32 } from './layout.js';

/** Explicit padding: `n` zero bytes, absent from decoded values. */
export interface Padding extends Layout<undefined> {
  /** Marks the layout as padding: its bytes are zero on encode and skipped on decode. */
  readonly padding: true;
}

/** `n` bytes of explicit padding (C `__u8 pad[n]` you never read). Encodes zeros. */
export function pad(n: number): Padding {
  return {
    padding: true,
    size: n,
    align: 1,
    encode(view, offset) {
      for (let i = 0; i < n; i++) view.setUint8(offset + i, 0);
    },
    decode: () => undefined,
  };
}

/** The fields of a {@link struct}, in declaration order. */
export type StructFields = Record<string, Layout<unknown>>;

/** The decoded value of a struct: every field but padding. */
export type StructValue<F extends StructFields> = {
  [K in keyof F as F[K] extends Padding ? never : K]: LayoutValue<F[K]>;
};

/** A struct layout, with the offset of each field as C would place it. */
export interface StructLayout<F extends StructFields> extends Layout<StructValue<F>> {
  /** The byte offset of each field, with C's alignment. */
  readonly offsets: { readonly [K in keyof F]: number };
}

/**
 * A C struct: fields in declaration order, each at the next offset aligned to its own
 * alignment, the size rounded up to the largest alignment (no `packed`), or laid out
 * back to back with `{ packed: true }` (`__attribute__((packed))`). Padding bytes
 * are written as zeros, which hash maps need: the kernel hashes every key byte.
 */
export function struct<F extends StructFields>(fields: F, options: { packed?: boolean } = {}): StructLayout<F> {
  const entries = Object.entries(fields);
  const offsets: Record<string, number> = {};
  let offset = 0;
  let align = 1;
  for (const [name, field] of entries) {
    const fieldAlign = options.packed ? 1 : field.align;
    offset = alignUp(offset, fieldAlign);
    offsets[name] = offset;
    offset += field.size;
    align = Math.max(align, fieldAlign);
  }
  const size = alignUp(offset, align);
  return {
    size,
    align,
    offsets: offsets as { [K in keyof F]: number },
    encode(view, base, value) {
      // Zero the whole struct first so implicit padding is deterministic.
      for (let i = 0; i < size; i++) view.setUint8(base + i, 0);
      const record = value as Record<string, unknown>;
      for (const [name, field] of entries) {
        if ((field as Partial<Padding>).padding) continue;
        if (!(name in record)) throw new LayoutError(`struct field ${name} is missing`);
        try {
          field.encode(view, base + (offsets[name] ?? 0), record[name]);
        } catch (error) {
          if (error instanceof LayoutError) throw new LayoutError(`${name}: ${error.message}`, { cause: error });
          throw error;
        }
      }
    },
    decode(view, base) {
      const out: Record<string, unknown> = {};
      for (const [name, field] of entries) {
        if ((field as Partial<Padding>).padding) continue;
        out[name] = field.decode(view, base + (offsets[name] ?? 0));
      }
      return out as StructValue<F>;
    },
  };
}

/** A fixed-length C array `T name[length]`, as a JavaScript array of exactly `length` items. */
export function array<T>(element: Layout<T>, length: number): Layout<T[]> {
  const stride = alignUp(element.size, element.align);
  return {
    size: stride * length,
    align: element.align,
    encode(view, offset, value) {
      if (!Array.isArray(value) || value.length !== length) {
        throw new LayoutError(`array of ${length}: got ${Array.isArray(value) ? value.length : typeof value} items`);
      }
      value.forEach((item, i) => element.encode(view, offset + i * stride, item));
    },
    decode(view, offset) {
      return Array.from({ length }, (_, i) => element.decode(view, offset + i * stride));
    },
  };
}

/** `__u8 name[length]` as raw bytes; encode accepts a `Uint8Array` or a byte array. */
export function bytes(length: number): Layout<Uint8Array> {
  return {
    size: length,
    align: 1,
    encode(view, offset, value) {
      if (value.length !== length) throw new LayoutError(`bytes(${length}): got ${value.length} bytes`);
      new Uint8Array(view.buffer, view.byteOffset + offset, length).set(value);
    },
    decode(view, offset) {
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + length));
    },
  };
}

/**
 * An IPv4 address in network byte order (`__be32` / `struct in_addr`) as its 4 bytes,
 * for example from ipaddr.js `toByteArray()`. Alignment 1, as a `__u8[4]`; declare a
 * `be32` instead where the C field is a `__be32` that needs 4-byte alignment.
 */
export const ipv4: Layout<Uint8Array> = bytes(4);
/** An IPv6 address in network byte order (`struct in6_addr`) as its 16 bytes. */
export const ipv6: Layout<Uint8Array> = bytes(16);

/** An LPM trie key: `struct bpf_lpm_trie_key { __u32 prefixlen; __u8 data[]; }` (4.11). */
export interface LpmKey<T> {
  /** Significant leading bits of `data`. */
  prefixLen: number;
  /** The key's data (an address, for LPM tries of IP prefixes). */
  data: T;
}

/**
 * The key layout of an LPM trie over `data` (such as {@link ipv4}): `prefixlen` in host
 * order, then the data in network order, at offset 4 (include/uapi/linux/bpf.h,
 * `struct bpf_lpm_trie_key_hdr`).
 */
export function lpmKey<T>(data: Layout<T>): Layout<LpmKey<T>> {
  const dataOffset = alignUp(4, data.align);
  const align = Math.max(4, data.align);
  return {
    // key_size is exactly 4 + the data size: the kernel derives the maximum prefix from it.
    size: dataOffset + data.size,
    align,
    encode(view, offset, value) {
      if (value.prefixLen > data.size * 8) {
        throw new LayoutError(`prefix length ${value.prefixLen} is longer than ${data.size * 8} bits`);
      }
      u32.encode(view, offset, value.prefixLen);
      data.encode(view, offset + dataOffset, value.data);
    },
    decode(view, offset) {
      return { prefixLen: u32.decode(view, offset), data: data.decode(view, offset + dataOffset) };
    },
  };
}
