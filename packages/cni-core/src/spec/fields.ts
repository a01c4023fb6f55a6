// Field readers shared by the result and config decoders. Each one names the JSON path
// of the field it reads (`ips[1].address`), so every decode error says where it is.
import { CNI_ERROR, CniError } from '../errors.js';
import { parseCidr, parseIpAddress, type ParsedCidr, type ParsedIp } from './ip.js';

/** A decoded JSON object. */
export type JsonObject = Record<string, unknown>;

/** `base.key`, or `key` at the top level. */
export function fieldPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/** `base[index]`. */
export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** Quotes a value for an error message, cut short so a huge input cannot flood stdout. */
export function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 76)}..."` : text;
}

/** What a JSON value is, for "expected X, got Y" messages. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * A decode error (code 6 unless told otherwise): `msg` is `path: problem`, the form
 * every CNI error of this package uses (`ips[1].address: invalid CIDR "10.1/33"`).
 */
export function fieldError(path: string, problem: string, code: number = CNI_ERROR.DECODE_FAILURE): CniError {
  return new CniError(code, path === '' ? problem : `${path}: ${problem}`);
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as an object; throws code 6 naming `path` otherwise. */
export function expectObject(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) throw fieldError(path, `expected an object, got ${describeJson(value)}`);
  return value;
}

// Go's encoding/json leaves a field unset when the JSON says null, and libcni-produced
// documents are read by Go, so null and absent mean the same for optional fields.
function present(object: JsonObject, key: string): unknown {
  const value = object[key];
  return value === null ? undefined : value;
}

/** An optional string field. */
export function optionalString(object: JsonObject, key: string, base: string): string | undefined {
  const value = present(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw fieldError(fieldPath(base, key), `expected a string, got ${describeJson(value)}`);
  return value;
}

/** A required string field. */
export function requiredString(object: JsonObject, key: string, base: string): string {
  const value = optionalString(object, key, base);
  if (value === undefined) throw fieldError(fieldPath(base, key), 'missing required field');
  return value;
}

/** An optional boolean field. */
export function optionalBoolean(object: JsonObject, key: string, base: string): boolean | undefined {
  const value = present(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw fieldError(fieldPath(base, key), `expected a boolean, got ${describeJson(value)}`);
  return value;
}

/** An optional unsigned integer field, at most `max` (Go's uint/uint32 fields). */
export function optionalUint(object: JsonObject, key: string, base: string, max = 0xffff_ffff): number | undefined {
  const value = present(object, key);
  if (value === undefined) return undefined;
  const path = fieldPath(base, key);
  if (typeof value !== 'number') throw fieldError(path, `expected a number, got ${describeJson(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw fieldError(path, `expected an integer from 0 to ${max}, got ${value}`);
  }
  return value;
}

/** An optional object field. */
export function optionalObject(object: JsonObject, key: string, base: string): JsonObject | undefined {
  const value = present(object, key);
  return value === undefined ? undefined : expectObject(value, fieldPath(base, key));
}

/** An optional array field, each element read by `read` with its indexed path. */
export function optionalArray<T>(
  object: JsonObject,
  key: string,
  base: string,
  read: (element: unknown, path: string) => T,
): T[] | undefined {
  const value = present(object, key);
  if (value === undefined) return undefined;
  const path = fieldPath(base, key);
  if (!Array.isArray(value)) throw fieldError(path, `expected an array, got ${describeJson(value)}`);
  return value.map((element, index) => read(element, indexPath(path, index)));
}

/** Reads one array element as a string. */
export function stringElement(element: unknown, path: string): string {
  if (typeof element !== 'string') throw fieldError(path, `expected a string, got ${describeJson(element)}`);
  return element;
}

/** Checks that a string is an IP address (Go `net.ParseIP` rules) and returns it parsed. */
export function checkIp(text: string, path: string): ParsedIp {
  const ip = parseIpAddress(text);
  if (ip === undefined) throw fieldError(path, `invalid IP address ${quote(text)}`);
  return ip;
}

/** Checks that a string is a CIDR (Go `net.ParseCIDR` rules) and returns it parsed. */
export function checkCidr(text: string, path: string): ParsedCidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) throw fieldError(path, `invalid CIDR ${quote(text)}`);
  return cidr;
}

/** Copies `source` without its `undefined` values, so encoded JSON has no empty keys. */
export function compact<T extends object>(source: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}
