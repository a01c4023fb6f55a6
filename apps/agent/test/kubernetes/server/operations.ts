// The write and read operations of the API server on one resource type, independent of
// HTTP: what the registry's REST storage does (defaulting the metadata, validation,
// optimistic concurrency, status subresource rules, finalizers) on top of the store.

import { randomBytes, randomUUID } from 'node:crypto';

import { crdResourceType, establishedStatus, validateCrd } from './crd.js';
import { groupVersion, type KubeObject, type ResourceRegistry, type ResourceType, splitApiVersion, typeKey } from './resources.js';
import {
  alreadyExists, badRequest, conflict, type FieldError, invalid, modifiedMessage, notFound, requiredValue,
} from './status.js';
import { cloneObject, objectKey, type ObjectStore } from './store.js';
import { normalizeSecret, validateObjectMeta, validatePodSpec, validatePodUpdate } from './validation.js';

const crdKey = 'apiextensions.k8s.io/customresourcedefinitions';
const namespaceType = { group: '', resource: 'namespaces' };

/** Where a request points: the type, the version asked for, and the namespace (if any). */
export interface Target {
  readonly type: ResourceType;
  readonly version: string;
  readonly namespace?: string;
}

/** DELETE options the server honours. */
export interface DeleteOptions {
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

/** Which part of the object a write may change: the main resource or its status. */
export type Part = 'main' | 'status' | 'all';

function gr(t: ResourceType): { group: string; resource: string } {
  return { group: t.group, resource: t.plural };
}

/** RFC 3339 with seconds, as metav1.Time serializes. */
export function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withoutVolatile(object: KubeObject): unknown {
  const { resourceVersion: _rv, ...metadata } = object.metadata;
  return { ...object, metadata };
}

function sameContent(a: KubeObject, b: KubeObject): boolean {
  return JSON.stringify(canonical(withoutVolatile(a))) === JSON.stringify(canonical(withoutVolatile(b)));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  return value;
}

/** The fields other than metadata (and status, when it is a subresource): a change bumps generation. */
function specPart(t: ResourceType, object: KubeObject): string {
  const { metadata: _m, status, ...rest } = object;
  return JSON.stringify(canonical(t.statusSubresource ? rest : { ...rest, status }));
}

/** The API operations over the store, shared by the HTTP handlers and the test's direct calls. */
export class Operations {
  constructor(
    readonly store: ObjectStore,
    readonly registry: ResourceRegistry,
    /** Called when a CRD's type is gone, to end the watches on it. */
    private readonly onTypeRemoved: (key: string) => void,
  ) {}

  #dryRun = false;

  /** Runs one operation with `dryRun=All`: validated and answered as usual, nothing written. */
  dryRun<T>(operation: () => T): T {
    this.#dryRun = true;
    try {
      return operation();
    } finally {
      this.#dryRun = false;
    }
  }

  /** The object as the client sees it at `version` (custom resources are converted by apiVersion only). */
  present(t: ResourceType, version: string, object: KubeObject): KubeObject {
    const out = cloneObject(object);
    out.apiVersion = groupVersion(t.group, version);
    out.kind = t.kind;
    return out;
  }

  get(target: Target, name: string): KubeObject {
    const object = this.store.get(typeKey(target.type), objectKey(target.namespace, name));
    if (object === undefined) throw notFound(gr(target.type), name);
    return this.present(target.type, target.version, object);
  }

  /** Checks the body's apiVersion and kind against the path, filling them in for built-ins. */
  #checkTypeMeta(target: Target, body: KubeObject): void {
    const expected = groupVersion(target.type.group, target.version);
    if ((body.apiVersion === undefined || body.apiVersion === '') && (body.kind === undefined || body.kind === '') && target.type.builtIn) {
      body.apiVersion = expected;
      body.kind = target.type.kind;
      return;
    }
    if (body.kind === undefined || body.kind === '') throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    if (body.apiVersion === undefined || body.apiVersion === '') throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(body)}'`);
    if (body.apiVersion !== expected) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${expected})`);
    }
    if (body.kind !== target.type.kind) {
      throw badRequest(`${body.kind} in version "${target.version}" cannot be handled as a ${target.type.kind}: the kind in the data (${body.kind}) does not match the expected kind (${target.type.kind})`);
    }
  }

  #checkNamespace(target: Target, body: KubeObject): void {
    if (!target.type.namespaced) {
      delete body.metadata.namespace;
      return;
    }
    const ns = body.metadata.namespace;
    if (ns === undefined || ns === '') body.metadata.namespace = target.namespace;
    else if (ns !== target.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const namespace = body.metadata.namespace!;
    if (this.store.get('/namespaces', namespace) === undefined) throw notFound(namespaceType, namespace);
  }

  /** Kind-specific normalization and validation; throws 422/400. */
  #validate(target: Target, object: KubeObject): void {
    const t = target.type;
    const errors: FieldError[] = validateObjectMeta(t.nameRule, object);
    if (typeKey(t) === '/secrets') normalizeSecret(object);
    if (typeKey(t) === '/pods') errors.push(...validatePodSpec(object));
    if (typeKey(t) === crdKey) errors.push(...validateCrd(object));
    const validator = t.schemas?.get(target.version);
    if (validator !== undefined) errors.push(...validator.check(object));
    if (errors.length > 0) throw invalid(t.kind, t.group, object.metadata.name ?? '', errors);
  }

  #parseBody(body: unknown): KubeObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`the body of the request must be a JSON object`);
    const object = cloneObject(body) as KubeObject;
    if (object.metadata === undefined || object.metadata === null) object.metadata = {};
    if (typeof object.metadata !== 'object' || Array.isArray(object.metadata)) throw badRequest('metadata must be an object');
    return object;
  }

  /** POST: a new object (409 AlreadyExists, 404 for a missing namespace, 422 when invalid). */
  create(target: Target, body: unknown, part: Part = 'main'): KubeObject {
    const t = target.type;
    const object = this.#parseBody(body);
    this.#checkTypeMeta(target, object);
    const meta = object.metadata;
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
      meta.name = `${meta.generateName}${randomBytes(5).toString('hex').replace(/[^a-z0-9]/g, 'x').slice(0, 5)}`;
    }
    if (meta.name === undefined || meta.name === '') {
      throw invalid(t.kind, t.group, '', [requiredValue('metadata.name', 'name or generateName is required')]);
    }
    this.#checkNamespace(target, object);
    if (part === 'main' && t.statusSubresource && !t.builtIn) delete object.status;
    if (typeKey(t) === '/namespaces') {
      object.spec = { finalizers: ['kubernetes'], ...((object.spec as object | undefined) ?? {}) };
      object.status = { phase: 'Active' };
      meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': meta.name };
    }
    if (typeKey(t) === '/pods' && part === 'main') object.status = { phase: 'Pending', qosClass: 'BestEffort' };
    this.#validate(target, object);
    const key = objectKey(meta.namespace, meta.name);
    if (this.store.get(typeKey(t), key) !== undefined) throw alreadyExists(gr(t), meta.name);
    const now = timestamp();
    meta.uid = randomUUID();
    meta.creationTimestamp = now;
    meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (typeKey(t) === crdKey) {
      // The CRD controllers would set this shortly after; here it is set at once.
      object.status = establishedStatus(object, now);
    }
    object.apiVersion = groupVersion(t.group, t.versions[0]!);
    if (this.#dryRun) return this.present(t, target.version, object);
    const stored = this.store.write(typeKey(t), key, object);
    if (typeKey(t) === crdKey) this.registry.define(crdResourceType(stored));
    return this.present(t, target.version, stored);
  }

  /**
   * PUT: replaces an object (404 when missing; 409 Conflict when the body's
   * resourceVersion is given and stale; without one the update is unconditional).
   */
  update(target: Target, name: string, body: unknown, part: Part = 'main'): KubeObject {
    const t = target.type;
    const object = this.#parseBody(body);
    this.#checkTypeMeta(target, object);
    const meta = object.metadata;
    if (meta.name !== undefined && meta.name !== '' && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    meta.name = name;
    if (t.namespaced && meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== target.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const key = objectKey(target.namespace, name);
    const existing = this.store.get(typeKey(t), key);
    if (existing === undefined) throw notFound(gr(t), name);
    this.#checkNamespace(target, object);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '' && meta.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(gr(t), name, modifiedMessage);
    }
    if (meta.uid !== undefined && meta.uid !== '' && meta.uid !== existing.metadata.uid) {
      throw conflict(gr(t), name, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${existing.metadata.uid ?? ''}`);
    }
    let next: KubeObject;
    if (part === 'status') {
      // The status subresource changes status only (and nothing else of the object); a Pod's
      // and a Node's also take metadata (labels, annotations), as the real pod and node
      // status strategies keep everything but the spec: how calico-node writes annotations.
      next = { ...cloneObject(existing), status: object.status };
      if (object.status === undefined) delete next.status;
      if (typeKey(t) === '/pods' || typeKey(t) === '/nodes') {
        next.metadata = { ...next.metadata, labels: object.metadata.labels, annotations: object.metadata.annotations };
        if (next.metadata.labels === undefined) delete next.metadata.labels;
        if (next.metadata.annotations === undefined) delete next.metadata.annotations;
      }
    } else {
      next = object;
      if (part === 'main' && t.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = cloneObject(existing.status);
      }
    }
    // Metadata the server owns.
    next.metadata.uid = existing.metadata.uid;
    next.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    next.metadata.generation = existing.metadata.generation;
    next.metadata.namespace = existing.metadata.namespace;
    if (existing.metadata.deletionTimestamp !== undefined) next.metadata.deletionTimestamp = existing.metadata.deletionTimestamp;
    else delete next.metadata.deletionTimestamp;
    if (next.metadata.namespace === undefined) delete next.metadata.namespace;
    if (typeKey(t) === '/namespaces') {
      next.metadata.labels = { ...(next.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
    }
    this.#validate(target, next);
    // Through HTTP a Pod's spec is (mostly) immutable; the test's direct writes may move a Pod.
    if (typeKey(t) === '/pods' && part === 'main') {
      const forbidden = validatePodUpdate(next, existing);
      if (forbidden.length > 0) throw invalid(t.kind, t.group, name, forbidden);
    }
    if (typeKey(t) === crdKey) next.status = existing.status;
    if (specPart(t, next) !== specPart(t, existing)) next.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    next.apiVersion = existing.apiVersion;
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
    // An update that changes nothing writes nothing (GuaranteedUpdate skips a no-op).
    if (sameContent(next, existing)) return this.present(t, target.version, existing);
    // The last finalizer removed from an object being deleted: the update becomes the
    // deletion (registry Store.Update's ShouldDeleteDuringUpdate), one DELETED event.
    if (next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0) {
      return this.present(t, target.version, this.#remove(t, key, existing));
    }
    if (this.#dryRun) return this.present(t, target.version, next);
    const stored = this.store.write(typeKey(t), key, next);
    if (typeKey(t) === crdKey) this.#redefine(stored);
    return this.present(t, target.version, stored);
  }

  #redefine(crd: KubeObject): void {
    const type = crdResourceType(crd);
    const key = typeKey(type);
    const before = this.registry.byKey(key);
    this.registry.define(type);
    if (before !== undefined && before.versions.some((v) => !type.versions.includes(v))) this.onTypeRemoved(key);
  }

  /** DELETE: 404 when missing, 409 Conflict when a precondition fails; objects with finalizers are only marked. */
  delete(target: Target, name: string, options: DeleteOptions = {}): KubeObject {
    const t = target.type;
    const key = objectKey(target.namespace, name);
    const existing = this.store.get(typeKey(t), key);
    if (existing === undefined) throw notFound(gr(t), name);
    const pre = options.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== existing.metadata.uid) {
      throw conflict(gr(t), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid ?? ''}`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(gr(t), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion ?? ''}`);
    }
    if ((existing.metadata.finalizers ?? []).length > 0) {
      if (existing.metadata.deletionTimestamp !== undefined) return this.present(t, target.version, existing);
      const marked = cloneObject(existing);
      marked.metadata.deletionTimestamp = timestamp();
      marked.metadata.deletionGracePeriodSeconds = 0;
      return this.present(t, target.version, this.#dryRun ? marked : this.store.write(typeKey(t), key, marked));
    }
    return this.present(t, target.version, this.#remove(t, key, existing));
  }

  /** Deletes one object and what depends on it (a namespace's objects, a CRD's resources). */
  #remove(t: ResourceType, key: string, existing: KubeObject): KubeObject {
    if (this.#dryRun) return existing;
    if (typeKey(t) === '/namespaces') {
      // The namespace controller deletes the contents before the namespace goes.
      for (const type of this.registry.all().filter((x) => x.namespaced)) {
        for (const [k] of this.store.current(typeKey(type))) {
          if (k.startsWith(`${existing.metadata.name!}/`)) this.store.write(typeKey(type), k, undefined);
        }
      }
    }
    if (typeKey(t) === crdKey) {
      const spec = existing.spec as { group: string; names: { plural: string } };
      const served = `${spec.group}/${spec.names.plural}`;
      for (const [k] of this.store.current(served)) this.store.write(served, k, undefined);
      this.registry.forget(served);
      this.onTypeRemoved(served);
    }
    const deleted = this.store.write(typeKey(t), key, undefined);
    return deleted;
  }

  /** The type of an object given as apiVersion + kind (for the test's direct calls). */
  targetOf(apiVersion: string, kind: string, namespace: string | undefined): Target {
    const type = this.registry.byKind(apiVersion, kind);
    if (type === undefined) throw badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`);
    return { type, version: splitApiVersion(apiVersion).version, ...(type.namespaced && namespace !== undefined ? { namespace } : {}) };
  }
}
