// A reader of untyped documents (parsed JSON or YAML) that collects every problem with
// its field path, so one apply reports everything wrong at once. Paths are written as
// Kubernetes writes them: `spec.ingress[0].from[1].podSelector`.
import ipaddr from 'ipaddr.js';

import { type ResourceFieldProblem } from './errors.js';

/** `parent.key`, or `key` at the top. */
export function fieldPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** `parent[index]`. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** How a value reads in a message: `the string "x"`, `the number 5`, `a list`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `value` is not a DNS-1123 label (namespace names), or `undefined`. */
export function dnsLabelProblem(value: string): string | undefined {
  if (value.length > 63) return `${JSON.stringify(value)} is longer than 63 characters`;
  if (!DNS1123_LABEL.test(value)) return `${JSON.stringify(value)} is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)`;
  return undefined;
}

/** Why `value` is not a DNS-1123 subdomain (most object names), or `undefined`. */
export function dnsSubdomainProblem(value: string): string | undefined {
  if (value.length > 253) return `${JSON.stringify(value)} is longer than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return `${JSON.stringify(value)} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

/** Why `key` is not a label key (`[prefix/]name`), or `undefined`. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix === '' || dnsSubdomainProblem(prefix) !== undefined)) {
    return `invalid label key ${JSON.stringify(key)}: the prefix before "/" must be a DNS-1123 subdomain`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `invalid label key ${JSON.stringify(key)}: the name must be 1-63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `value` is not a label value (empty is fine), or `undefined`. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !QUALIFIED_NAME.test(value)) {
    return `invalid label value ${JSON.stringify(value)}: at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `name` is not a port name (IANA_SVC_NAME, RFC 6335 §5.1), or `undefined`. */
export function portNameProblem(name: string): string | undefined {
  if (name.length > 15 || !PORT_NAME.test(name) || name.includes('--') || !/[a-z]/.test(name)) {
    return `invalid port name ${JSON.stringify(name)}: 1-15 lowercase letters, digits and single '-', with at least one letter (RFC 6335)`;
  }
  return undefined;
}

/** An IP address parsed strictly (dotted quad for IPv4, no zone for IPv6). */
export interface ParsedIp {
  readonly family: 4 | 6;
  readonly address: ipaddr.IPv4 | ipaddr.IPv6;
}

/** The address `text` is, or `undefined` (`10.1`, `0x0a.0.0.1` and `fe80::1%eth0` are refused). */
export function parseIp(text: string): ParsedIp | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return { family: 4, address: ipaddr.IPv4.parse(text) };
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  return { family: 6, address: ipaddr.IPv6.parse(text) };
}

/** A CIDR parsed strictly: the address as written, its prefix length, and its network. */
export interface ParsedCidr extends ParsedIp {
  readonly prefixLength: number;
  /** The network in canonical form: `10.0.0.0/16`. */
  readonly network: string;
}

/** The CIDR `text` is (`10.0.0.0/16`, `fd00::/64`, `10.0.0.1/24`), or `undefined`. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > (ip.family === 4 ? 32 : 128)) return undefined;
  const network = ip.family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  return { ...ip, prefixLength, network: `${network.toString()}/${prefixLength}` };
}

/** Collects problems while reading a document. */
export class FieldReader {
  readonly problems: ResourceFieldProblem[] = [];

  /** Records a problem; returns `undefined` so callers can `return reader.fail(...)`. */
  fail(path: string, reason: string): undefined {
    this.problems.push({ path, reason });
    return undefined;
  }

  /** `value` as a plain object, or a problem at `path`. */
  object(value: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    return this.fail(path, `must be an object, not ${describeValue(value)}`);
  }

  /** An optional object field: `undefined` when absent. */
  optionalObject(parent: Record<string, unknown>, key: string, path: string): Record<string, unknown> | undefined {
    const value = parent[key];
    return value === undefined ? undefined : this.object(value, fieldPath(path, key));
  }

  /** Each field of `object` not in `known` is a problem naming the known ones (strict decoding). */
  knownFields(object: Record<string, unknown>, known: readonly string[], path: string): void {
    for (const key of Object.keys(object)) {
      if (!known.includes(key)) this.fail(fieldPath(path, key), `unknown field (known fields here: ${known.join(', ')})`);
    }
  }

  /** `value` as a string, or a problem. */
  string(value: unknown, path: string): string | undefined {
    if (typeof value === 'string') return value;
    return this.fail(path, `must be a string, not ${describeValue(value)}`);
  }

  /** An optional string field. */
  optionalString(parent: Record<string, unknown>, key: string, path: string): string | undefined {
    const value = parent[key];
    return value === undefined ? undefined : this.string(value, fieldPath(path, key));
  }

  /** An optional boolean field. */
  optionalBoolean(parent: Record<string, unknown>, key: string, path: string): boolean | undefined {
    const value = parent[key];
    if (value === undefined || typeof value === 'boolean') return value;
    return this.fail(fieldPath(path, key), `must be true or false, not ${describeValue(value)}`);
  }

  /** An optional integer field within `[min, max]`. */
  optionalInteger(parent: Record<string, unknown>, key: string, path: string, min: number, max: number): number | undefined {
    const value = parent[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.fail(fieldPath(path, key), `must be an integer from ${min} to ${max}, not ${describeValue(value)}`);
    }
    return value;
  }

  /** An optional string field that must be one of `allowed`. */
  optionalChoice<T extends string>(parent: Record<string, unknown>, key: string, path: string, allowed: readonly T[]): T | undefined {
    const value = parent[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    return this.fail(fieldPath(path, key), `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, not ${describeValue(value)}`);
  }

  /** An optional list field; `each` reads every item at its indexed path. */
  optionalList(parent: Record<string, unknown>, key: string, path: string, each: (item: unknown, itemPath: string) => void): unknown[] | undefined {
    const value = parent[key];
    if (value === undefined) return undefined;
    const listPath = fieldPath(path, key);
    if (!Array.isArray(value)) return this.fail(listPath, `must be a list, not ${describeValue(value)}`);
    value.forEach((item, index) => each(item, indexPath(listPath, index)));
    return value;
  }

  /** A map of strings to strings (`labels`, `annotations`), each entry checked by `check`. */
  optionalStringMap(parent: Record<string, unknown>, key: string, path: string, check?: (key: string, value: string) => string | undefined): void {
    const map = this.optionalObject(parent, key, path);
    if (map === undefined) return;
    const mapPath = fieldPath(path, key);
    for (const [entryKey, value] of Object.entries(map)) {
      const entryPath = fieldPath(mapPath, entryKey);
      if (typeof value !== 'string') {
        this.fail(entryPath, `must be a string, not ${describeValue(value)}`);
        continue;
      }
      const problem = check?.(entryKey, value);
      if (problem !== undefined) this.fail(entryPath, problem);
    }
  }
}

/** Deep equality of JSON values, key order ignored (an apply that changes nothing is `unchanged`). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  return ak.every((key) => Object.hasOwn(b, key) && sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
