// Small checks and conversions shared by the message converters. Encoding checks each
// number against what its field can hold (protobufjs would silently wrap a negative
// uint32); decoding reads protobufjs messages, where a scalar is an own property only
// when it was on the wire, and uint64 values arrive as Long.
import type protobuf from 'protobufjs';

import { FlowCodecError } from '../errors.js';
import type { FlowTime } from '../model.js';

/** A decoded protobufjs message, or a plain object to encode. */
export type Message = Record<string, unknown>;

const hasOwn = (m: object, key: string): boolean => Object.prototype.hasOwnProperty.call(m, key);

/** Whether a decoded message carries `key` (a scalar present on the wire, a set message, an optional field). */
export function has(m: Message, key: string): boolean {
  return hasOwn(m, key) && m[key] !== null && m[key] !== undefined;
}

/** An unsigned integer below 2^bits, or a FlowCodecError naming `path`. */
export function checkUnsigned(value: unknown, path: string, max: number, what = 'an unsigned integer'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new FlowCodecError(path, `${describe(value)} is not ${what} (0 to ${max})`);
  }
  return value;
}

/** Max of a uint32 field. */
export const U32_MAX = 0xffff_ffff;

/** A string, or a FlowCodecError naming `path`. */
export function checkString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new FlowCodecError(path, `${describe(value)} is not a string`);
  return value;
}

/** A boolean, or a FlowCodecError naming `path`. */
export function checkBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new FlowCodecError(path, `${describe(value)} is not a boolean`);
  return value;
}

/** An array of strings, or a FlowCodecError naming the bad element. */
export function checkStrings(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) throw new FlowCodecError(path, `${describe(value)} is not an array`);
  return value.map((v, i) => checkString(v, `${path}[${i}]`));
}

/** The enum number for a model string, or a FlowCodecError naming `path`. */
export function enumNumber(type: protobuf.Enum, value: unknown, path: string): number {
  const n = typeof value === 'string' && hasOwn(type.values, value) ? type.values[value] : undefined;
  if (n === undefined) throw new FlowCodecError(path, `${describe(value)} is not one of ${Object.keys(type.values).join(', ')}`);
  return n;
}

/** The model string for a decoded enum number, or a FlowCodecError naming `path`. */
export function enumName(type: protobuf.Enum, value: unknown, path: string): string {
  const name = typeof value === 'number' ? type.valuesById[value] : undefined;
  if (name === undefined) throw new FlowCodecError(path, `${describe(value)} is not a ${type.name} value Twill knows`);
  return name;
}

/** A decoded uint64 (a Long or a number) as a safe JS number, or a FlowCodecError naming `path`. */
export function longToNumber(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high, unsigned } = value as { low: number; high: number; unsigned?: boolean };
    const hi = unsigned === true ? high >>> 0 : high;
    const n = hi * 0x1_0000_0000 + (low >>> 0);
    if (!Number.isSafeInteger(n)) throw new FlowCodecError(path, `${n} does not fit a JavaScript number exactly`);
    return n;
  }
  throw new FlowCodecError(path, `${describe(value)} is not an integer`);
}

/** A FlowTime as a google.protobuf.Timestamp object, checked. */
export function timeToMessage(time: FlowTime, path: string): Message {
  if (time === null || typeof time !== 'object') throw new FlowCodecError(path, `${describe(time)} is not a time`);
  const { seconds, nanos } = time;
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds)) {
    throw new FlowCodecError(`${path}.seconds`, `${describe(seconds)} is not an integer`);
  }
  checkUnsigned(nanos, `${path}.nanos`, 999_999_999, 'a count of nanoseconds');
  const m: Message = {};
  if (seconds !== 0) m.seconds = seconds;
  if (nanos !== 0) m.nanos = nanos;
  return m;
}

/** A decoded Timestamp as a FlowTime. */
export function timeFromMessage(m: Message, path: string): FlowTime {
  const seconds = has(m, 'seconds') ? longToNumber(m.seconds, `${path}.seconds`) : 0;
  const nanos = has(m, 'nanos') ? (m.nanos as number) : 0;
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new FlowCodecError(`${path}.nanos`, `${nanos} is not a count of nanoseconds (0 to 999999999)`);
  }
  return { seconds, nanos };
}

/** A short description of a value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return 'an object';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Sets `m[key]` unless `value` is a proto3 default (`''`, `0`, `false`), as a canonical
 * proto3 encoder leaves those off the wire (protobufjs writes any property that is set).
 * Not for `optional` fields, whose zero values are meaningful.
 */
export function put(m: Message, key: string, value: string | number | boolean): void {
  if (value !== '' && value !== 0 && value !== false) m[key] = value;
}
