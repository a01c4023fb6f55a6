// Custom resources against their CRD's structural openAPIV3Schema, as apiextensions-apiserver
// does it: prune unknown fields (and nulls in non-nullable fields), apply defaults, then
// validate; a failure is a list of field errors worded as the real server words them.
// The OpenAPI v3 subset is translated to a JSON Schema ajv 8 compiles.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

import { type FieldError, invalidValue, renderValue, requiredValue } from './status.js';

/** An OpenAPI v3 schema node as CRDs write it (structural subset plus the x-kubernetes extensions). */
export interface OpenApiSchema {
  type?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  items?: OpenApiSchema;
  required?: string[];
  nullable?: boolean;
  format?: string;
  default?: unknown;
  allOf?: OpenApiSchema[];
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  not?: OpenApiSchema;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  [keyword: string]: unknown;
}

/** Prunes, defaults and validates one version's custom resources. */
export interface SchemaValidator {
  /** Mutates `object` (pruned, defaulted) and returns its field errors (empty when valid). */
  check(object: Record<string, unknown>): FieldError[];
}

const copied = ['enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'multipleOf', 'required', 'default'];

/** Formats the API server checks; the numeric ones (int32, int64, float, double) are accepted as is. */
const checkedFormats: Record<string, (value: string) => boolean> = {
  byte: (v) => /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0,
  'date-time': (v) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v),
  ipv4: (v) => /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(v),
  ipv6: (v) => isIpv6(v),
  cidr: (v) => {
    const [ip, prefix, extra] = v.split('/');
    if (ip === undefined || prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) return false;
    const max = ip.includes(':') ? 128 : 32;
    return Number(prefix) <= max && (ip.includes(':') ? isIpv6(ip) : checkedFormats.ipv4!(ip));
  },
  uuid: (v) => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(v),
};

function isIpv6(v: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(v) || v.split('::').length > 2) return false;
  const groups = v.split(':').filter((g) => g !== '');
  return groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) && (v.includes('::') ? groups.length < 8 : groups.length === 8);
}

/**
 * Subschemas repeated in a CRD (Cilium's repeats its rule schema dozens of times) become
 * one definition each, referenced: ajv then generates their code once, not per copy.
 */
interface SharedDefinitions {
  readonly counts: Map<string, number>;
  readonly names: Map<string, string>;
  readonly definitions: Record<string, unknown>;
}

const sharedMinimumLength = 256;

function countSubschemas(node: OpenApiSchema, counts: Map<string, number>): void {
  const text = JSON.stringify(node);
  if (text.length >= sharedMinimumLength) counts.set(text, (counts.get(text) ?? 0) + 1);
  for (const child of Object.values(node.properties ?? {})) countSubschemas(child, counts);
  if (typeof node.additionalProperties === 'object') countSubschemas(node.additionalProperties, counts);
  if (node.items !== undefined) countSubschemas(node.items, counts);
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) for (const child of node[k] ?? []) countSubschemas(child, counts);
  if (node.not !== undefined) countSubschemas(node.not, counts);
}

/** The JSON Schema ajv validates for one OpenAPI node. */
function translate(node: OpenApiSchema, shared?: SharedDefinitions): Record<string, unknown> {
  if (shared !== undefined) {
    const text = JSON.stringify(node);
    if ((shared.counts.get(text) ?? 0) > 1) {
      let name = shared.names.get(text);
      if (name === undefined) {
        name = `s${shared.names.size}`;
        shared.names.set(text, name);
        shared.definitions[name] = translateNode(node, shared);
      }
      return { $ref: `#/definitions/${name}` };
    }
  }
  return translateNode(node, shared);
}

function translateNode(node: OpenApiSchema, shared?: SharedDefinitions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of copied) if (node[k] !== undefined) out[k] = node[k];
  if (node['x-kubernetes-int-or-string'] === true) out.type = ['integer', 'string'];
  else if (node.type !== undefined) out.type = node.nullable === true ? [node.type, 'null'] : node.type;
  if (node.nullable === true && Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  if (node.exclusiveMinimum === true && node.minimum !== undefined) { out.exclusiveMinimum = node.minimum; delete out.minimum; }
  if (node.exclusiveMaximum === true && node.maximum !== undefined) { out.exclusiveMaximum = node.maximum; delete out.maximum; }
  if (node.format !== undefined && checkedFormats[node.format] !== undefined) out.format = node.format;
  if (node.properties !== undefined) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, translate(v, shared)]));
  if (typeof node.additionalProperties === 'object') out.additionalProperties = translate(node.additionalProperties, shared);
  if (node.items !== undefined) out.items = translate(node.items, shared);
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) if (node[k] !== undefined) out[k] = node[k].map((child) => translate(child, shared));
  if (node.not !== undefined) out.not = translate(node.not, shared);
  return out;
}

/** The root JSON Schema, with the repeated subschemas as definitions. */
function translateRoot(root: OpenApiSchema): Record<string, unknown> {
  const shared: SharedDefinitions = { counts: new Map(), names: new Map(), definitions: {} };
  countSubschemas(root, shared.counts);
  shared.counts.delete(JSON.stringify(root));
  const out = translateNode(root, shared);
  return Object.keys(shared.definitions).length === 0 ? out : { ...out, definitions: shared.definitions };
}

/** Drops what the structural schema does not declare (objectmeta.go / pruning.go). */
function prune(value: unknown, node: OpenApiSchema | undefined, root: boolean): void {
  if (node === undefined || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) prune(item, node.items, false);
    return;
  }
  const object = value as Record<string, unknown>;
  const keep = root || node['x-kubernetes-embedded-resource'] === true ? ['apiVersion', 'kind', 'metadata'] : [];
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(object)) {
    if (keep.includes(key)) continue;
    const child = node.properties?.[key] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    if (child === undefined) {
      if (!preserve && node.additionalProperties !== true) delete object[key];
      continue;
    }
    // v1 CRDs drop nulls of non-nullable fields before defaulting.
    if (object[key] === null && child.nullable !== true && child['x-kubernetes-preserve-unknown-fields'] !== true) {
      delete object[key];
      continue;
    }
    prune(object[key], child, false);
  }
}

function fieldPath(data: unknown, instancePath: string): { path: string; value: unknown } {
  let path = '';
  let value: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) path += `[${part}]`;
    else path += path === '' ? part : `.${part}`;
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return { path, value };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function toFieldError(data: unknown, e: ErrorObject): FieldError | undefined {
  const { path, value } = fieldPath(data, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const field = path === '' ? String(p.missingProperty) : `${path}.${String(p.missingProperty)}`;
      return requiredValue(field);
    }
    case 'type': {
      const expected = Array.isArray(p.type) ? (p.type as string[]).filter((t) => t !== 'null').join(',') : String(p.type);
      return { reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: ${JSON.stringify(typeName(value))}: ${path} in body must be of type ${expected}: ${JSON.stringify(typeName(value))}` };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(renderValue).join(', ');
      return { reason: 'FieldValueNotSupported', field: path, message: `Unsupported value: ${renderValue(value)}: supported values: ${allowed}` };
    }
    case 'pattern': return invalidValue(path, value, `${path} in body should match '${String(p.pattern)}'`);
    case 'minimum': return invalidValue(path, value, `${path} in body should be greater than or equal to ${String(p.limit)}`);
    case 'exclusiveMinimum': return invalidValue(path, value, `${path} in body should be greater than ${String(p.limit)}`);
    case 'maximum': return invalidValue(path, value, `${path} in body should be less than or equal to ${String(p.limit)}`);
    case 'exclusiveMaximum': return invalidValue(path, value, `${path} in body should be less than ${String(p.limit)}`);
    case 'minLength': return invalidValue(path, value, `${path} in body should be at least ${String(p.limit)} chars long`);
    case 'maxLength': return { reason: 'FieldValueTooLong', field: path, message: `Too long: may not be longer than ${String(p.limit)}` };
    case 'minItems': return invalidValue(path, (value as unknown[]).length, `${path} in body should have at least ${String(p.limit)} items`);
    case 'maxItems': return { reason: 'FieldValueTooMany', field: path, message: `Too many: ${(value as unknown[]).length}: must have at most ${String(p.limit)} items` };
    case 'uniqueItems': return { reason: 'FieldValueDuplicate', field: path, message: `Duplicate value: ${renderValue((value as unknown[])[Number(p.j)])}` };
    case 'format': return invalidValue(path, value, `${path} in body must be of type ${String(p.format)}: ${renderValue(value)}`);
    case 'multipleOf': return invalidValue(path, value, `${path} in body should be a multiple of ${String(p.multipleOf)}`);
    case 'minProperties': return invalidValue(path, value, `${path} in body should have at least ${String(p.limit)} properties`);
    case 'maxProperties': return { reason: 'FieldValueTooMany', field: path, message: `Too many: ${Object.keys(value as object).length}: must have at most ${String(p.limit)} items` };
    case 'anyOf': case 'oneOf': case 'allOf': case 'not':
      return invalidValue(path, value, `${path} in body ${e.message ?? 'is invalid'}`);
    default:
      return invalidValue(path, value, e.message ?? 'is invalid');
  }
}

/** Compiled validators by schema text, shared by every server in the process. */
const compiled = new Map<string, ValidateFunction>();

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, logger: false, inlineRefs: false });
for (const [name, validate] of Object.entries(checkedFormats)) ajv.addFormat(name, { type: 'string', validate });

/**
 * Compiles a CRD version's openAPIV3Schema. The root's apiVersion, kind and metadata are
 * the API server's (validated as ObjectMeta), so the schema's parts for them are ignored.
 */
export function compileSchema(schema: OpenApiSchema): SchemaValidator {
  const rootProperties = { ...(schema.properties ?? {}) };
  delete rootProperties.metadata;
  delete rootProperties.apiVersion;
  delete rootProperties.kind;
  const structural: OpenApiSchema = { ...schema, properties: rootProperties };
  // ajv compiles a big CRD schema (Calico's, Cilium's) in hundreds of milliseconds: compile
  // on the first custom resource, and once per distinct schema in the process.
  const text = JSON.stringify(structural);
  let validate: ValidateFunction | undefined;
  return {
    check(object) {
      if (validate === undefined) {
        validate = compiled.get(text);
        if (validate === undefined) {
          validate = ajv.compile(translateRoot(structural));
          compiled.set(text, validate);
        }
      }
      prune(object, structural, true);
      if (validate(object)) return [];
      const errors = (validate.errors ?? []).map((e) => toFieldError(object, e)).filter((e): e is FieldError => e !== undefined);
      // ajv reports the same failure once per failing branch; keep each field error once.
      const seen = new Set<string>();
      return errors.filter((e) => {
        const id = `${e.field}\u0000${e.message}`;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
    },
  };
}
