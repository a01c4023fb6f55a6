/**
 * Small typed readers over an untyped document (the output of a YAML or JSON parser),
 * each naming the field path in its error. Kubernetes decodes `null` as "not set", so
 * every optional reader treats `null` like an absent field.
 */
import { CalicoError, POLICY_ERROR_CODE, SelectorSyntaxError } from '../../errors.js';
import { parseSelector } from '../selector/parser.js';
import { type CalicoSelector } from '../types.js';

/** A JSON-like object read from a document. */
export type Fields = Readonly<Record<string, unknown>>;

/** `a.b` (or `b` at the root). */
export function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `a[3]`. */
export function item(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Throws a {@link CalicoError} for `path`. */
export function fail(path: string, reason: string, code: CalicoError['code'] = POLICY_ERROR_CODE.INVALID_VALUE): never {
  throw new CalicoError(code, path, reason);
}

/** How a value reads in an error message: `a string`, `a list`, `null`... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** The value as an object, or an error naming `path`. */
export function asObject(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `expected an object, found ${describeValue(value)}`);
  }
  return value as Fields;
}

/** Fails on the first key (in document order) that is not in `known`. */
export function checkKnownFields(fields: Fields, path: string, known: readonly string[]): void {
  for (const key of Object.keys(fields)) {
    if (!known.includes(key)) fail(child(path, key), `unknown field ${JSON.stringify(key)}`, POLICY_ERROR_CODE.UNKNOWN_FIELD);
  }
}

/** Reads `fields[key]`, treating `null` as absent. */
export function optional(fields: Fields, key: string): unknown {
  const value = fields[key];
  return value === null ? undefined : value;
}

/** An optional string field. */
export function optString(fields: Fields, key: string, path: string): string | undefined {
  const value = optional(fields, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(child(path, key), `expected a string, found ${describeValue(value)}`);
  return value;
}

/** A required, non-empty string field. */
export function reqString(fields: Fields, key: string, path: string): string {
  const value = optString(fields, key, path);
  if (value === undefined || value === '') fail(child(path, key), 'required', POLICY_ERROR_CODE.REQUIRED);
  return value;
}

/** An optional boolean field, `false` when absent. */
export function optBool(fields: Fields, key: string, path: string): boolean {
  const value = optional(fields, key);
  if (value === undefined) return false;
  if (typeof value !== 'boolean') fail(child(path, key), `expected true or false, found ${describeValue(value)}`);
  return value;
}

/** An optional finite number field. */
export function optNumber(fields: Fields, key: string, path: string): number | undefined {
  const value = optional(fields, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(child(path, key), `expected a number, found ${describeValue(value)}`);
  return value;
}

/** An optional integer field within `[min, max]`. */
export function optInteger(fields: Fields, key: string, path: string, min: number, max: number): number | undefined {
  const value = optional(fields, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(child(path, key), `expected an integer from ${min} to ${max}, found ${describeValue(value)}`);
  }
  return value;
}

/** An optional list field, `[]` when absent. */
export function optList(fields: Fields, key: string, path: string, maxItems = Infinity): readonly unknown[] {
  const value = optional(fields, key);
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(child(path, key), `expected a list, found ${describeValue(value)}`);
  if (value.length > maxItems) fail(child(path, key), `at most ${maxItems} items are allowed, found ${value.length}`);
  return value;
}

/** An optional list of strings, `[]` when absent. */
export function optStringList(fields: Fields, key: string, path: string): readonly string[] {
  const p = child(path, key);
  return optList(fields, key, path).map((v, i) => {
    if (typeof v !== 'string') fail(item(p, i), `expected a string, found ${describeValue(v)}`);
    return v;
  });
}

/** An optional map of strings to strings (labels, annotations), `{}` when absent. */
export function optStringMap(fields: Fields, key: string, path: string): Readonly<Record<string, string>> {
  const value = optional(fields, key);
  if (value === undefined) return {};
  const p = child(path, key);
  const map = asObject(value, p);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string') fail(child(p, k), `expected a string, found ${describeValue(v)}`);
    out[k] = v;
  }
  return out;
}

/**
 * An optional selector field. An absent field or the empty string gives `undefined` (Go's
 * `omitempty`: Calico treats `""` exactly like "not set").
 */
export function optSelector(fields: Fields, key: string, path: string): CalicoSelector | undefined {
  const source = optString(fields, key, path);
  if (source === undefined || source === '') return undefined;
  return selectorAt(source, child(path, key));
}

/** Parses `source` as a selector, locating a syntax error at `path`. */
export function selectorAt(source: string, path: string): CalicoSelector {
  try {
    return { source, ast: parseSelector(source) };
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw error.atPath(path);
    throw error;
  }
}
