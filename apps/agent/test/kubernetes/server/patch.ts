// PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902). Strategic merge
// patch (built-in types only) is applied as a merge patch: maps merge the same way, but
// lists are replaced whole instead of merged by their patchMergeKey, and `$patch`/`$retainKeys`
// directives are not understood (they would be stored as fields).

import { badRequest, KubernetesStatusError } from './status.js';

/** RFC 7386 §2: objects merge recursively, null removes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

interface JsonPatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function unprocessable(message: string): KubernetesStatusError {
  return new KubernetesStatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Invalid', details: {}, code: 422 });
}

/** RFC 6901 reference tokens of a JSON pointer. */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw unprocessable(`JSON Pointer ${JSON.stringify(pointer)} must start with '/'`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function container(doc: unknown, tokens: string[], path: string): unknown {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(token) && Number(token) < node.length) node = node[Number(token)];
    else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, token)) node = (node as Record<string, unknown>)[token];
    else throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return node;
}

function read(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const parent = container(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent) && /^(0|[1-9]\d*)$/.test(last) && Number(last) < parent.length) return parent[Number(last)];
  if (parent !== null && typeof parent === 'object' && !Array.isArray(parent) && Object.hasOwn(parent, last)) return (parent as Record<string, unknown>)[last];
  throw unprocessable(`doc is missing path: "${path}": missing value`);
}

function remove(doc: unknown, path: string): void {
  const tokens = parsePointer(path);
  const parent = container(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent) && /^(0|[1-9]\d*)$/.test(last) && Number(last) < parent.length) parent.splice(Number(last), 1);
  else if (parent !== null && typeof parent === 'object' && !Array.isArray(parent) && Object.hasOwn(parent, last)) delete (parent as Record<string, unknown>)[last];
  else throw unprocessable(`Unable to remove nonexistent key: ${last}: missing value`);
}

function add(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return structuredClone(value);
  const parent = container(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const index = last === '-' && !replace ? parent.length : /^(0|[1-9]\d*)$/.test(last) ? Number(last) : -1;
    if (index < 0 || index > parent.length || (replace && index >= parent.length)) throw unprocessable(`Unable to access invalid index: ${last}: invalid index referenced`);
    if (replace) parent[index] = structuredClone(value);
    else parent.splice(index, 0, structuredClone(value));
  } else if (parent !== null && typeof parent === 'object') {
    if (replace && !Object.hasOwn(parent, last)) throw unprocessable(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    (parent as Record<string, unknown>)[last] = structuredClone(value);
  } else {
    throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  return value;
}

/** Applies an RFC 6902 patch to a copy of `target`; a malformed patch is 400, a failing one 422. */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(target);
  for (const raw of patch as JsonPatchOperation[]) {
    if (raw === null || typeof raw !== 'object' || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('the server rejected our request due to an error in our request: a JSON patch operation needs "op" and "path"');
    }
    switch (raw.op) {
      case 'add': doc = add(doc, raw.path, raw.value, false); break;
      case 'replace': doc = add(doc, raw.path, raw.value, true); break;
      case 'remove': remove(doc, raw.path); break;
      case 'move': { const v = read(doc, raw.from ?? ''); remove(doc, raw.from ?? ''); doc = add(doc, raw.path, v, false); break; }
      case 'copy': { const v = read(doc, raw.from ?? ''); doc = add(doc, raw.path, v, false); break; }
      case 'test':
        if (!deepEqual(read(doc, raw.path), raw.value)) throw unprocessable(`testing value ${raw.path} failed: test failed`);
        break;
      default: throw unprocessable(`Unexpected kind: ${raw.op}`);
    }
  }
  return doc;
}
