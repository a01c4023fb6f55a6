// `/v1/kinds` and `/v1/resources`: the datastore's kinds, and reading, applying and
// deleting resources. A batch is validated whole (the datastore's own validation, each
// error with its item's index) before anything is written: a 422 writes nothing.
import { isDeepStrictEqual } from 'node:util';

import { UnknownResourceKindError } from '../datastore/errors.js';
import { dnsLabelProblem } from '../datastore/fields.js';
import { RESOURCE_KINDS, resolveKind, type ResourceKind } from '../datastore/kinds.js';
import { validateResource, type ValidatedResource } from '../datastore/validate.js';
import { type AgentResource, type StoredResource } from '../ports.js';
import { type ApiAnswer, type ApiRoute, isObject, jsonAnswer, type RouteCall } from './answer.js';
import { ApiError, toApiError } from './errors.js';
import { type ApiSource } from './source.js';

type Call = RouteCall<ApiSource>;

/** What one item of an apply did (or, with `dryRun`, would do). */
export interface ApplyResult {
  /** The kind's id (`networkpolicies.projectcalico.org`). */
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly action: 'created' | 'configured' | 'unchanged';
}

function kindOf(text: string): ResourceKind {
  try {
    return resolveKind(text);
  } catch (error) {
    if (error instanceof UnknownResourceKindError) throw new ApiError('UnknownKind', error.reason, { cause: error });
    throw error;
  }
}

// The namespace a read or delete is limited to: only for namespaced kinds, and a DNS label.
function namespaceOf(kind: ResourceKind, call: Call): string | undefined {
  const namespace = call.query.text('namespace');
  if (namespace === undefined) return undefined;
  if (!kind.namespaced) throw new ApiError('BadRequest', `namespace: ${kind.kind} (${kind.id}) is cluster-wide: drop the namespace`);
  const problem = dnsLabelProblem(namespace);
  if (problem !== undefined) throw new ApiError('BadRequest', `namespace: ${problem}`);
  return namespace;
}

function nameOf(call: Call): string {
  const name = call.params['name'] ?? '';
  if (name === '' || name.includes('/')) throw new ApiError('BadRequest', `invalid object name ${JSON.stringify(name)}`);
  return name;
}

function describe(kind: ResourceKind, namespace: string | undefined, name: string): string {
  const effective = kind.namespaced ? (namespace ?? 'default') : undefined;
  return `${kind.kind} ${effective === undefined ? '' : `${effective}/`}${name} (${kind.id})`;
}

function ref(kind: ResourceKind, namespace: string | undefined, name: string): { kind: string; namespace?: string; name: string } {
  return { kind: kind.id, ...(namespace === undefined ? {} : { namespace }), name };
}

async function listKinds(): Promise<ApiAnswer> {
  return jsonAnswer(200, {
    kinds: RESOURCE_KINDS.map((k) => ({ id: k.id, kind: k.kind, apiVersions: k.apiVersions, plural: k.plural, singular: k.singular, shortNames: k.shortNames, namespaced: k.namespaced })),
  });
}

async function listResources(call: Call): Promise<ApiAnswer> {
  const kind = kindOf(call.params['kind'] ?? '');
  const items = await call.source.datastore.list(kind.id, namespaceOf(kind, call));
  return jsonAnswer(200, { items });
}

async function getResource(call: Call): Promise<ApiAnswer> {
  const kind = kindOf(call.params['kind'] ?? '');
  const namespace = namespaceOf(kind, call);
  const name = nameOf(call);
  const resource = await call.source.datastore.get(kind.id, name, namespace);
  if (resource === undefined) throw new ApiError('NotFound', `no ${describe(kind, namespace, name)}`);
  return jsonAnswer(200, resource);
}

async function deleteResource(call: Call): Promise<ApiAnswer> {
  const kind = kindOf(call.params['kind'] ?? '');
  const namespace = namespaceOf(kind, call);
  const name = nameOf(call);
  if (!(await call.source.datastore.delete(kind.id, name, namespace))) throw new ApiError('NotFound', `no ${describe(kind, namespace, name)}`);
  return jsonAnswer(200, { deleted: ref(kind, kind.namespaced ? (namespace ?? 'default') : undefined, name) });
}

// The items of `{"items": [...]}`, or why the body is not that.
function itemsOf(body: unknown): readonly unknown[] {
  if (!isObject(body)) throw new ApiError('BadRequest', 'the body must be an object {"items": [resource, ...]}');
  for (const key of Object.keys(body)) {
    if (key !== 'items') throw new ApiError('BadRequest', `unknown body field "${key}": the body is {"items": [resource, ...]}`);
  }
  const items = body['items'];
  if (!Array.isArray(items)) throw new ApiError('BadRequest', `"items" must be a list of resources (got ${items === undefined ? 'nothing' : typeof items})`);
  return items;
}

// Every item validated, and no object twice: a problem stops the batch before any write.
function validateAll(items: readonly unknown[]): ValidatedResource[] {
  const seen = new Map<string, number>();
  return items.map((item, index) => {
    let valid: ValidatedResource;
    try {
      valid = validateResource(item);
    } catch (error) {
      throw toApiError(error, 'POST /v1/resources', index);
    }
    const key = `${valid.kind.id}\n${valid.namespace ?? ''}\n${valid.name}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new ApiError('Invalid', `${describe(valid.kind, valid.namespace, valid.name)} is also items[${earlier}]: one object once per batch`, { field: 'metadata.name', index });
    }
    seen.set(key, index);
    return valid;
  });
}

// The stored object as a user wrote it (what the datastore compares an apply with).
function userPart(stored: StoredResource): unknown {
  const { resourceVersion: _version, uid: _uid, creationTimestamp: _created, ...metadata } = stored.metadata;
  return { ...stored, metadata };
}

// What applying `valid` would do now; a stale resourceVersion is a conflict.
async function plan(call: Call, valid: ValidatedResource, index: number): Promise<ApplyResult['action']> {
  const current = await call.source.datastore.get(valid.kind.id, valid.name, valid.namespace);
  if (valid.resourceVersion !== undefined && current?.metadata.resourceVersion !== valid.resourceVersion) {
    const what = describe(valid.kind, valid.namespace, valid.name);
    const message =
      current === undefined
        ? `${what}: resourceVersion ${valid.resourceVersion} was given but the object does not exist`
        : `${what}: the object has been modified (resourceVersion ${current.metadata.resourceVersion}, not ${valid.resourceVersion}): read it again and reapply`;
    throw new ApiError('Conflict', message, { index });
  }
  if (current === undefined) return 'created';
  return isDeepStrictEqual(userPart(current), valid.object) ? 'unchanged' : 'configured';
}

async function applyResources(call: Call): Promise<ApiAnswer> {
  const dryRun = call.query.flag('dryRun');
  const items = itemsOf(call.json());
  const valid = validateAll(items);
  const results: ApplyResult[] = [];
  // Conflicts are looked for before the first write too, so a stale item writes nothing.
  const planned: ApplyResult['action'][] = [];
  try {
    for (const [index, item] of valid.entries()) planned.push(await plan(call, item, index));
  } catch (error) {
    const failed = toApiError(error, 'POST /v1/resources');
    throw new ApiError(failed.code, failed.message, { ...(failed.field === undefined ? {} : { field: failed.field }), ...(failed.index === undefined ? {} : { index: failed.index }), applied: 0, cause: error });
  }
  for (const [index, item] of valid.entries()) {
    let action = planned[index]!;
    if (!dryRun) {
      try {
        // The document as sent: the datastore validates it again and owns resourceVersion.
        action = (await call.source.datastore.apply(items[index] as AgentResource)).action;
      } catch (error) {
        const failed = toApiError(error, 'POST /v1/resources', index);
        // Something changed the object since the check: say what was written before it.
        const field = failed.field === undefined ? {} : { field: failed.field };
        if (index > 0) throw new ApiError(failed.code, `${failed.message} (items 0 to ${index - 1} were applied)`, { ...field, index, applied: index, cause: error });
        throw new ApiError(failed.code, failed.message, { ...field, index, applied: 0, cause: error });
      }
    }
    results.push({ ...ref(item.kind, item.namespace, item.name), action });
  }
  return jsonAnswer(200, { results });
}

/** The routes of `/v1/kinds` and `/v1/resources`. */
export const RESOURCE_ROUTES: readonly ApiRoute<ApiSource>[] = [
  { method: 'GET', path: '/v1/kinds', query: [], answer: listKinds },
  { method: 'GET', path: '/v1/resources/{kind}', query: ['namespace'], answer: listResources },
  { method: 'POST', path: '/v1/resources', query: ['dryRun'], answer: applyResources },
  { method: 'GET', path: '/v1/resources/{kind}/{name}', query: ['namespace'], answer: getResource },
  { method: 'DELETE', path: '/v1/resources/{kind}/{name}', query: ['namespace'], answer: deleteResource },
];
