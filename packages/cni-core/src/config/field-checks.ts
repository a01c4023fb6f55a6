import { parseCidr, parseIpAddress } from '../spec/ip.js';
import { describeJsonType, fieldError, type FieldPath } from './field-error.js';

// Reusable checks over plain JSON values (what `JSON.parse` or `jsonToPlain` gives).
// Each returns the value with a narrowed type or throws a CniError (code 7) naming the
// field, so a validator reads as a list of expectations.

/** A JSON object as a plain value. */
export type JsonRecord = Readonly<Record<string, unknown>>;

/** Whether `value` is a JSON object (not null, not an array). */
export function isJsonRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Expects a JSON object.
 * @throws CniError code 7 `<path>: must be an object (got <type>)`.
 */
export function expectObject(value: unknown, path: FieldPath): JsonRecord {
  if (!isJsonRecord(value)) throw fieldError(path, `must be an object (got ${describeJsonType(value)})`);
  return value;
}

/**
 * Expects a string.
 * @throws CniError code 7 `<path>: must be a string (got <type>)`.
 */
export function expectString(value: unknown, path: FieldPath): string {
  if (typeof value !== 'string') throw fieldError(path, `must be a string (got ${describeJsonType(value)})`);
  return value;
}

/**
 * Expects a non-empty string.
 * @throws CniError code 7 `<path>: must be a string` or `<path>: must not be empty`.
 */
export function expectNonEmptyString(value: unknown, path: FieldPath): string {
  const text = expectString(value, path);
  if (text === '') throw fieldError(path, 'must not be empty');
  return text;
}

/**
 * Expects a boolean.
 * @throws CniError code 7 `<path>: must be a boolean (got <type>)`.
 */
export function expectBoolean(value: unknown, path: FieldPath): boolean {
  if (typeof value !== 'boolean') throw fieldError(path, `must be a boolean (got ${describeJsonType(value)})`);
  return value;
}

/**
 * Expects an array.
 * @throws CniError code 7 `<path>: must be an array (got <type>)`.
 */
export function expectArray(value: unknown, path: FieldPath): readonly unknown[] {
  if (!Array.isArray(value)) throw fieldError(path, `must be an array (got ${describeJsonType(value)})`);
  return value;
}

/**
 * Expects an array of strings; the bad element is named by its index.
 * @throws CniError code 7 `<path>: must be an array` or `<path>[i]: must be a string`.
 */
export function expectStringArray(value: unknown, path: FieldPath): readonly string[] {
  return expectArray(value, path).map((item, i) => expectString(item, [...path, i]));
}

/**
 * Expects an IP address as Go's `net.ParseIP` reads it ({@link parseIpAddress}): IPv4 in
 * dotted-quad form or IPv6, no zone id. Legacy IPv4 forms such as `10.1` or `0x0a.0.0.1`
 * are refused, as the plugins that read the configuration refuse them.
 * @throws CniError code 7 `<path>: invalid IP address "<text>"`.
 */
export function expectIpAddress(value: unknown, path: FieldPath): string {
  const text = expectString(value, path);
  const ok = parseIpAddress(text) !== undefined;
  if (!ok) throw fieldError(path, `invalid IP address ${JSON.stringify(text)}`);
  return text;
}

/**
 * Expects a CIDR (`10.1.0.0/16`, `fd00::/64`), checked by ipaddr.js, with a dotted-quad
 * IPv4 part and a prefix length in range for the family.
 * @throws CniError code 7 `<path>: invalid CIDR "<text>"`.
 */
export function expectCidr(value: unknown, path: FieldPath): string {
  const text = expectString(value, path);
  const ok = parseCidr(text) !== undefined;
  if (!ok) throw fieldError(path, `invalid CIDR ${JSON.stringify(text)}`);
  return text;
}
