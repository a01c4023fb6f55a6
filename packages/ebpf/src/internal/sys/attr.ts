/**
 * Encoders for `union bpf_attr` (include/uapi/linux/bpf.h). This folder is the one place
 * that knows its layout. Encoders are pure: pointer fields get their address from an
 * injected {@link AddressOf}, so tests check the bytes with fake addresses, and every
 * buffer an address points into is returned in `keep` for the caller to hold across the
 * call.
 */

/** Gives the address of a view's first byte (`addressOf` from `@twill/sys` at run time). */
export type AddressOf = (view: ArrayBufferView) => bigint;

/** An encoded attribute and the buffers its pointer fields reference. */
export interface EncodedAttr {
  readonly attr: DataView;
  readonly keep: readonly ArrayBufferView[];
}

/** Writes the fields of one attribute, little-endian (every BPF target here is). */
export class AttrWriter {
  readonly view: DataView;
  readonly #keep: ArrayBufferView[] = [];

  constructor(
    size: number,
    private readonly addressOf: AddressOf,
  ) {
    this.view = new DataView(new ArrayBuffer(size));
  }

  u32(offset: number, value: number): this {
    this.view.setUint32(offset, value >>> 0, true);
    return this;
  }

  i32(offset: number, value: number): this {
    this.view.setInt32(offset, value, true);
    return this;
  }

  u64(offset: number, value: bigint): this {
    this.view.setBigUint64(offset, BigInt.asUintN(64, value), true);
    return this;
  }

  /** A `__aligned_u64` pointer to `target`'s first byte; 0 (NULL) when absent or empty. */
  pointer(offset: number, target: ArrayBufferView | undefined): this {
    if (target === undefined || target.byteLength === 0) return this;
    this.#keep.push(target);
    return this.u64(offset, this.addressOf(target));
  }

  /** A NUL-padded `char[length]` (object names: at most length - 1 bytes). */
  chars(offset: number, length: number, text: string): this {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length >= length) throw new RangeError(`name ${JSON.stringify(text)} is longer than ${length - 1} bytes`);
    new Uint8Array(this.view.buffer, offset, length).set(bytes);
    return this;
  }

  done(): EncodedAttr {
    return { attr: this.view, keep: this.#keep };
  }
}

/** A NUL-terminated copy of a string, for `license` and `pathname` pointers. */
export function cString(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.includes(0)) throw new RangeError(`${JSON.stringify(text)} contains a NUL byte`);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Object names (maps, programs): at most 15 characters of `[A-Za-z0-9_.]` (4.15). */
export function checkObjectName(name: string): string {
  if (!/^[A-Za-z0-9_.]{0,15}$/.test(name)) {
    throw new RangeError(`object name ${JSON.stringify(name)} must be at most 15 of [A-Za-z0-9_.]`);
  }
  return name;
}
