/**
 * Rewriting global variables of a spec before load: `const volatile` constants in
 * `.rodata` (and initial values in `.data` and `.bss`), by symbol name. Pure: gives a
 * new spec and leaves the given one alone.
 */
import { CollectionError } from '../errors.js';
import type { CollectionSpec, MapSpec } from './spec.js';

/** A value for a variable: an integer of its size (little-endian), a boolean, or its exact bytes. */
export type ConstantValue = number | bigint | boolean | Uint8Array;

function encode(name: string, size: number, value: ConstantValue): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.byteLength !== size) throw new CollectionError(`constant ${name} is ${size} bytes, the value given is ${value.byteLength}`);
    return value;
  }
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw new CollectionError(`constant ${name} is ${size} bytes: give its bytes as a Uint8Array`);
  const integer = typeof value === 'boolean' ? (value ? 1n : 0n) : typeof value === 'bigint' ? value : Number.isInteger(value) ? BigInt(value) : undefined;
  const bits = BigInt(size * 8);
  if (integer === undefined || integer < -(1n << (bits - 1n)) || integer >= 1n << bits) {
    throw new CollectionError(`constant ${name}: ${String(value)} does not fit ${size} bytes`);
  }
  const out = new Uint8Array(size);
  const unsigned = BigInt.asUintN(size * 8, integer);
  for (let i = 0; i < size; i += 1) out[i] = Number((unsigned >> BigInt(8 * i)) & 0xffn);
  return out;
}

/**
 * A copy of `spec` whose data sections hold the given values: `{ verdict: 1 }` sets the
 * variable `verdict` (declared `const volatile __u32 verdict` in C) to 1 in `.rodata`.
 * Integers are written little-endian in the variable's size; signed values wrap.
 * @throws {CollectionError} for a name that is no variable of a data section, or a value
 *   that does not fit it.
 */
export function rewriteConstants(spec: CollectionSpec, values: Readonly<Record<string, ConstantValue>>): CollectionSpec {
  const maps: Record<string, MapSpec> = { ...spec.maps };
  for (const [name, value] of Object.entries(values)) {
    const map = Object.values(maps).find((m) => m.variables && Object.hasOwn(m.variables, name));
    const variable = map?.variables?.[name];
    if (!map?.contents || !variable) throw new CollectionError(`no global variable ${JSON.stringify(name)} in .rodata, .data or .bss`);
    const contents = map.contents.slice();
    contents.set(encode(name, variable.size, value), variable.offset);
    maps[map.name] = { ...map, contents };
  }
  return { ...spec, maps };
}
