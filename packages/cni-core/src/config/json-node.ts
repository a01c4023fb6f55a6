import { describeJsonType, fieldError, type FieldPath } from './field-error.js';

/** A JSON object, its entries in document order, each key once. */
export interface JsonObjectNode {
  /** Always `'object'`. */
  readonly kind: 'object';
  /** The entries, as `[key, value]` in document order. */
  readonly entries: readonly (readonly [string, JsonNode])[];
}

/**
 * A JSON value as read by {@link decodeJson}: lossless, so that writing it back gives
 * the same values. A number keeps its source text in `raw` (`1.0`, `1e400` and
 * `12345678901234567890` survive, which a JavaScript number would not).
 */
export type JsonNode =
  | { readonly kind: 'null' }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'number'; readonly raw: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  | JsonObjectNode;

/**
 * Encodes a {@link JsonNode} as compact JSON text. Numbers are written from their source
 * text, so values round-trip exactly.
 */
export function encodeJson(node: JsonNode): string {
  switch (node.kind) {
    case 'null': return 'null';
    case 'boolean': return node.value ? 'true' : 'false';
    case 'number': return node.raw;
    case 'string': return JSON.stringify(node.value);
    case 'array': return `[${node.items.map(encodeJson).join(',')}]`;
    case 'object':
      return `{${node.entries.map(([key, value]) => `${JSON.stringify(key)}:${encodeJson(value)}`).join(',')}}`;
  }
}

/**
 * The plain JavaScript value of a node, as `JSON.parse` would give it (numbers become
 * `number`, so `12345678901234567890` loses digits here; the node itself keeps them).
 * Objects are ordinary objects whose own keys may include `__proto__` safely.
 */
export function jsonToPlain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'null': return null;
    case 'boolean':
    case 'string': return node.value;
    case 'number': return Number(node.raw);
    case 'array': return node.items.map(jsonToPlain);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, value] of node.entries) {
        // defineProperty, not assignment: a "__proto__" key must stay data.
        Object.defineProperty(out, key, { value: jsonToPlain(value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/**
 * Converts a plain JavaScript value (such as a result object or capability arguments) to
 * a {@link JsonNode}, following `JSON.stringify`'s rules: `toJSON` is honoured, object
 * properties that are `undefined` or functions are left out, and array holes become
 * `null`. A `bigint` is written as an exact integer.
 *
 * @param path - where the value goes, for error messages.
 * @throws CniError code 7 `<path>: not representable in JSON (...)` for a non-finite
 *   number, a function or symbol where a value is needed, or nesting deeper than 512
 *   levels (which is also how a cycle shows up).
 */
export function plainToJson(value: unknown, path: FieldPath = [], depth = 0): JsonNode {
  if (depth > 512) throw fieldError(path, 'not representable in JSON (nested too deeply, or a cycle)');
  const v = hasToJson(value) ? value.toJSON() : value;
  switch (typeof v) {
    case 'string': return { kind: 'string', value: v };
    case 'boolean': return { kind: 'boolean', value: v };
    case 'bigint': return { kind: 'number', raw: v.toString() };
    case 'number':
      if (!Number.isFinite(v)) throw fieldError(path, `not representable in JSON (${v})`);
      return { kind: 'number', raw: JSON.stringify(v) };
    case 'object': {
      if (v === null) return { kind: 'null' };
      if (Array.isArray(v)) {
        const items: JsonNode[] = [];
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          items.push(item === undefined || typeof item === 'function' || typeof item === 'symbol'
            ? { kind: 'null' }
            : plainToJson(item, [...path, i], depth + 1));
        }
        return { kind: 'array', items };
      }
      const entries: [string, JsonNode][] = [];
      for (const [key, item] of Object.entries(v)) {
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        entries.push([key, plainToJson(item, [...path, key], depth + 1)]);
      }
      return { kind: 'object', entries };
    }
    default:
      throw fieldError(path, `not representable in JSON (${describeJsonType(v)})`);
  }
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/** The value of `key` in an object node, or `undefined` when the key is absent. */
export function getEntry(node: JsonObjectNode, key: string): JsonNode | undefined {
  for (const [k, v] of node.entries) if (k === key) return v;
  return undefined;
}

/**
 * A copy of an object node with some keys set and some removed. A key that exists keeps
 * its position; a new key goes at the end, in the order given.
 */
export function withEntries(
  node: JsonObjectNode,
  set: readonly (readonly [string, JsonNode])[],
  remove: readonly string[] = [],
): JsonObjectNode {
  const entries = new Map<string, JsonNode>(node.entries);
  for (const key of remove) entries.delete(key);
  for (const [key, value] of set) entries.set(key, value);
  return { kind: 'object', entries: [...entries] };
}
