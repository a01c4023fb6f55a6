// Reading an untyped document (parsed JSON or YAML) field by field, collecting every
// error with its path rather than stopping at the first: a user fixing a manifest wants
// the whole list. Shared by the front ends.

import { FieldError, POLICY_ERROR_CODE, type PolicyErrorCode } from '../errors.js';

/** Collects field errors while a front end walks a document. */
export class DocumentReader {
  readonly errors: FieldError[] = [];

  /** Records an error at `path`. */
  fail(code: PolicyErrorCode, path: string, reason: string): undefined {
    this.errors.push(new FieldError(code, path, reason));
    return undefined;
  }

  /** `value` as a plain object, or an error. */
  object(value: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    return this.fail(POLICY_ERROR_CODE.INVALID_TYPE, path, `must be an object, not ${describe(value)}`);
  }

  /** `value` as an array, or an error. */
  array(value: unknown, path: string): readonly unknown[] | undefined {
    if (Array.isArray(value)) return value;
    return this.fail(POLICY_ERROR_CODE.INVALID_TYPE, path, `must be a list, not ${describe(value)}`);
  }

  /**
   * `value` as a list read entry by entry (`path[i]` for each), keeping the entries that
   * read without error; undefined when absent, and an error when it is not a list.
   */
  list<T>(value: unknown, path: string, readEntry: (entry: unknown, entryPath: string) => T | undefined): T[] | undefined {
    if (value === undefined) return undefined;
    const result: T[] = [];
    this.array(value, path)?.forEach((entry, index) => {
      const read = readEntry(entry, `${path}[${index}]`);
      if (read !== undefined) result.push(read);
    });
    return result;
  }

  /** `value` as a string, or an error. */
  string(value: unknown, path: string): string | undefined {
    if (typeof value === 'string') return value;
    return this.fail(POLICY_ERROR_CODE.INVALID_TYPE, path, `must be a string, not ${describe(value)}`);
  }

  /** `value` as an integer, or an error. */
  integer(value: unknown, path: string): number | undefined {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    return this.fail(POLICY_ERROR_CODE.INVALID_TYPE, path, `must be an integer, not ${describe(value)}`);
  }

  /** `value` as a map of strings to strings, or errors (one per bad entry). */
  stringMap(value: unknown, path: string): Record<string, string> | undefined {
    const object = this.object(value, path);
    if (object === undefined) return undefined;
    const result: Record<string, string> = {};
    let ok = true;
    for (const [key, entry] of Object.entries(object)) {
      const text = this.string(entry, `${path}[${JSON.stringify(key)}]`);
      if (text === undefined) ok = false;
      else result[key] = text;
    }
    return ok ? result : undefined;
  }

  /** Reports every key of `object` not in `known` (strict decoding). */
  knownFields(object: Record<string, unknown>, known: readonly string[], path: string): void {
    for (const key of Object.keys(object)) {
      if (!known.includes(key)) this.fail(POLICY_ERROR_CODE.UNKNOWN_FIELD, join(path, key), 'unknown field');
    }
  }

  /** The value at `key` when present and not null (absent and null read the same, as in Go's decoder). */
  field(object: Record<string, unknown>, key: string): unknown {
    const value = Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
    return value === null ? undefined : value;
  }
}

/** `path.key`, or `key` at the root. */
export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** A short description of a JSON value's type, for messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}
