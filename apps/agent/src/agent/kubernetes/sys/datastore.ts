// The resource datastore over the Kubernetes API: reads from informer caches
// (kind-caches.ts: one informer per API resource backing a kind, CRD-gated), writes to the
// API with compare-and-swap on resourceVersion, watches fed by the informers, and the ipam
// Store over Twill's CRDs (store.ts).
import type * as k8s from '@kubernetes/client-node';
import { type Store } from '@twill/ipam';

import { type AgentLogger, type AgentResource, type ApplyOutcome, type EntryEvent, type ResourceEvent, type ResourceKindId, type ResourceWatch, type StoredResource } from '../../ports.js';
import { RESOURCE_ERROR_CODE, ResourceConflictError, ResourceContendedError, ResourceDatastoreError } from '../../datastore/errors.js';
import { resolveKind, type ResourceKind } from '../../datastore/kinds.js';
import { type ClosableResourceDatastore } from '../../datastore/resource-store.js';
import { DEFAULT_NAMESPACE, validateResource, type ValidatedResource } from '../../datastore/validate.js';
import { type PollingWatch, startPollingWatch } from '../../datastore/watch.js';
import { type ApiBacking, apiBackings, collectionPath, fromApiObject, type KubeObject, objectKey, objectPath, sameUserFields, toApiBody, writeBacking } from '../kinds.js';
import { calicoNodeUnchanged, clearCalicoNodePatch, coreNodePatch } from '../node-translation.js';
import { WatchQueue } from '../watch-queue.js';
import { KubeApiClient, PATCH_TYPE } from './api-client.js';
import { datastoreErrorOf, isApiStatus, type RequestSubject } from './api-errors.js';
import { KindCaches } from './kind-caches.js';
import { openKubernetesStore } from './store.js';

/** Options of {@link openKubernetesDatastore}. */
export interface OpenKubernetesDatastoreOptions {
  /** Where the API server is and how to authenticate (sys/kubeconfig.ts `loadKubeConfig`). */
  readonly kubeConfig: k8s.KubeConfig;
  readonly logger?: AgentLogger;
  /** The agent's own namespace, where its Secrets are (default `twill-system`). */
  readonly namespace?: string;
  /** The ipam store; default: openKubernetesStore over the same API (closed with the datastore). A given store is left open. */
  readonly store?: Store;
  /** Milliseconds between `watchEntries` polls of the store (default datastore/watch.ts's). */
  readonly pollMs?: number;
  /** How long a write waits for the caches to show it, so a read after it sees it (default 10,000 ms). */
  readonly settleMs?: number;
  /** The informers' first retry delay in ms (default 200). */
  readonly initialBackoffMs?: number;
}

/** The Kubernetes datastore: every optional part of ResourceDatastore is there. */
export interface KubernetesDatastore extends ClosableResourceDatastore {
  readSecret(namespace: string, name: string, key: string): Promise<string | undefined>;
  annotate(
    kind: ResourceKindId,
    name: string,
    namespace: string | undefined,
    annotations: Readonly<Record<string, string | null>>,
    options?: { readonly resourceVersion?: string },
  ): Promise<boolean>;
  /** The API server's URL. */
  readonly location: string;
  /** The agent's own namespace (Secrets). */
  readonly namespace: string;
}

const SILENT: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const NODE_KIND = 'nodes.projectcalico.org';
const MAX_ATTEMPTS = 10;

interface Subscription {
  readonly kinds: ReadonlySet<ResourceKindId>;
  readonly queue: WatchQueue<ResourceEvent>;
}

// resourceVersions are etcd revisions in every API server there is; compared only to know
// when a cache has caught up with a write (never for correctness: a timeout ends the wait).
function atLeast(seen: string, written: string): boolean {
  return /^[0-9]+$/.test(seen) && /^[0-9]+$/.test(written) && BigInt(seen) >= BigInt(written);
}

const byNamespaceThenName = (a: StoredResource, b: StoredResource): number =>
  (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);

class KubernetesResourceDatastore implements KubernetesDatastore {
  readonly location: string;
  readonly namespace: string;
  readonly #client: KubeApiClient;
  readonly #options: OpenKubernetesDatastoreOptions;
  readonly #logger: AgentLogger;
  readonly #caches: KindCaches;
  readonly #watches = new Set<Subscription>();
  readonly #pollers = new Set<PollingWatch>();
  #store: Store | undefined;

  constructor(options: OpenKubernetesDatastoreOptions) {
    this.#options = options;
    this.#logger = options.logger ?? SILENT;
    this.#client = new KubeApiClient(options.kubeConfig);
    this.location = this.#client.server;
    this.namespace = options.namespace ?? 'twill-system';
    this.#caches = new KindCaches({
      client: this.#client,
      kubeConfig: options.kubeConfig,
      logger: this.#logger,
      ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
      onChanges: (kind, events) => {
        for (const subscription of this.#watches) if (subscription.kinds.has(kind)) subscription.queue.push(events);
      },
    });
  }

  get store(): Store {
    if (this.#store === undefined) throw new Error('the Kubernetes datastore is not open');
    return this.#store;
  }

  async open(): Promise<void> {
    await this.#caches.start();
    try {
      this.#store = this.#options.store ?? (await openKubernetesStore({ kubeConfig: this.#options.kubeConfig, logger: this.#logger }));
    } catch (error) {
      await this.#caches.stop();
      throw error;
    }
  }

  async get(kindName: ResourceKindId, name: string, namespace?: string): Promise<StoredResource | undefined> {
    const kind = resolveKind(kindName);
    return this.#caches.visible(kind.id, objectKey(this.#namespaceOf(kind, namespace), name));
  }

  async list(kindName: ResourceKindId, namespace?: string): Promise<readonly StoredResource[]> {
    const kind = resolveKind(kindName);
    const all = this.#caches.current(kind.id);
    return (namespace === undefined || !kind.namespaced ? all : all.filter((r) => r.metadata.namespace === namespace)).sort(byNamespaceThenName);
  }

  async apply(resource: AgentResource): Promise<ApplyOutcome> {
    const valid = validateResource(resource);
    const { kind, name, namespace } = valid;
    if (kind.id === NODE_KIND) return this.#applyNode(valid);
    const object = objectKey(namespace, name);
    const backing = writeBacking(kind.id, this.#caches.installedCrds());
    if (backing === undefined) {
      const crds = apiBackings(kind.id).map((b) => b.crd).join(' or ');
      throw new ResourceDatastoreError(RESOURCE_ERROR_CODE.UNAVAILABLE, `apply ${kind.id} ${object}: its CustomResourceDefinition (${crds}) is not installed`);
    }
    const subject = (verb: string): RequestSubject => ({ verb, kind: kind.id, object, backing, kindName: kind.kind });
    const path = objectPath(backing, name, namespace);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#call(subject('get'), () => this.#client.getOptional<KubeObject>(path));
      const currentVersion = current?.metadata?.resourceVersion;
      if (valid.resourceVersion !== undefined && currentVersion !== valid.resourceVersion) throw new ResourceConflictError(kind.id, object, valid.resourceVersion, currentVersion);
      if (current !== undefined && sameUserFields(current as AgentResource, valid.object)) return { action: 'unchanged', resource: fromApiObject(kind.id, backing, current) };
      let written: KubeObject;
      try {
        written = current === undefined
          ? await this.#client.request<KubeObject>('POST', collectionPath(backing, namespace), { body: toApiBody(backing, valid.object) })
          : await this.#client.request<KubeObject>('PUT', path, { body: keepingServerMetadata(toApiBody(backing, valid.object, currentVersion), current) });
      } catch (error) {
        // Another writer won (409), or deleted it meanwhile (404): read again, unless the caller gave a version.
        if (isApiStatus(error, 409) || (current !== undefined && isApiStatus(error, 404))) {
          if (valid.resourceVersion === undefined) continue;
          const now = await this.#call(subject('get'), () => this.#client.getOptional<KubeObject>(path));
          throw new ResourceConflictError(kind.id, object, valid.resourceVersion, now?.metadata?.resourceVersion);
        }
        throw datastoreErrorOf(error, subject(current === undefined ? 'create' : 'update'));
      }
      await this.#settle(kind.id, backing, object, written.metadata?.resourceVersion);
      return { action: current === undefined ? 'created' : 'configured', resource: fromApiObject(kind.id, backing, written) };
    }
    throw new ResourceContendedError(`apply ${kind.id} ${object}`);
  }

  async delete(kindName: ResourceKindId, name: string, namespace?: string): Promise<boolean> {
    const kind = resolveKind(kindName);
    const ns = this.#namespaceOf(kind, namespace);
    const object = objectKey(ns, name);
    if (kind.id === NODE_KIND) return this.#deleteNode(name);
    let deleted = false;
    for (const backing of apiBackings(kind.id).filter((b) => this.#caches.served(b))) {
      // Only where the cache holds it: a DELETE to every backing would need delete rights on
      // Calico's CRDs too, which the agent's ClusterRole does not grant (list and watch only).
      const cached = this.#caches.informer(kind.id, backing);
      if (cached !== undefined && cached.get(object) === undefined) continue;
      const before = cached?.get(object)?.metadata.resourceVersion;
      try {
        await this.#client.request('DELETE', objectPath(backing, name, ns));
      } catch (error) {
        if (isApiStatus(error, 404)) continue;
        throw datastoreErrorOf(error, { verb: 'delete', kind: kind.id, object, backing });
      }
      deleted = true;
      const informer = this.#caches.informer(kind.id, backing);
      await informer?.waitFor(() => informer.get(object)?.metadata.resourceVersion !== before || before === undefined, this.#options.settleMs ?? 10_000);
    }
    return deleted;
  }

  async watch(kindNames: readonly ResourceKindId[], handler: (events: readonly ResourceEvent[]) => void | Promise<void>): Promise<ResourceWatch> {
    const kinds = [...new Set(kindNames.map((name) => resolveKind(name).id))];
    const subscription: Subscription = { kinds: new Set(kinds), queue: new WatchQueue({ handler, logger: this.#logger, what: kinds.join(',') }) };
    // The snapshot and the subscription in one turn: no change falls between them.
    const first = kinds.flatMap((kind) => this.#caches.current(kind).sort(byNamespaceThenName).map((resource): ResourceEvent => ({ type: 'upsert', kind, resource })));
    this.#watches.add(subscription);
    await subscription.queue.start(first);
    return {
      close: async () => {
        this.#watches.delete(subscription);
        await subscription.queue.close();
      },
    };
  }

  async watchEntries(prefix: string, handler: (events: readonly EntryEvent[]) => void | Promise<void>): Promise<ResourceWatch> {
    const store = this.store;
    const poller = await startPollingWatch({
      store,
      list: () => store.list(prefix),
      handler: (changes) => handler(changes.map(({ type, entry }) => ({ type, key: entry.key, value: entry.value }))),
      logger: this.#logger,
      what: prefix,
      ...(this.#options.pollMs === undefined ? {} : { pollMs: this.#options.pollMs }),
    });
    this.#pollers.add(poller);
    return {
      close: async () => {
        this.#pollers.delete(poller);
        await poller.close();
      },
    };
  }

  async readSecret(namespace: string, name: string, key: string): Promise<string | undefined> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
    const secret = await this.#call({ verb: 'get', kind: 'secrets', object: `${namespace}/${name}` }, () => this.#client.getOptional<{ data?: Record<string, string> }>(path));
    const data = secret?.data?.[key];
    return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
  }

  async annotate(
    kindName: ResourceKindId,
    name: string,
    namespace: string | undefined,
    annotations: Readonly<Record<string, string | null>>,
    options: { readonly resourceVersion?: string } = {},
  ): Promise<boolean> {
    const kind = resolveKind(kindName);
    const object = objectKey(this.#namespaceOf(kind, namespace), name);
    // The backing that holds the object (the one shown), else where writes go.
    const backing = apiBackings(kind.id).find((b) => this.#caches.informer(kind.id, b)?.get(object) !== undefined) ?? writeBacking(kind.id, this.#caches.installedCrds());
    if (backing === undefined) return false;
    try {
      const written = await this.#client.request<KubeObject>('PATCH', annotationPath(backing, objectPath(backing, name, this.#namespaceOf(kind, namespace))), {
        // A resourceVersion in a merge patch is a precondition (409 when the object moved on).
        body: { metadata: { annotations, ...(options.resourceVersion === undefined ? {} : { resourceVersion: options.resourceVersion }) } },
        contentType: PATCH_TYPE.MERGE,
      });
      await this.#settle(kind.id, backing, object, written.metadata?.resourceVersion);
      return true;
    } catch (error) {
      if (isApiStatus(error, 404)) return false;
      if (isApiStatus(error, 409) && options.resourceVersion !== undefined) throw new ResourceConflictError(kind.id, object, options.resourceVersion, undefined);
      throw datastoreErrorOf(error, { verb: 'patch', kind: kind.id, object, backing });
    }
  }

  async close(): Promise<void> {
    const watches = [...this.#watches];
    const pollers = [...this.#pollers];
    this.#watches.clear();
    this.#pollers.clear();
    await Promise.all([...watches.map((w) => w.queue.close()), ...pollers.map((p) => p.close()), this.#caches.stop()]);
    const store = this.#store as (Store & { close?: () => Promise<void> }) | undefined;
    if (this.#options.store === undefined) await store?.close?.();
  }

  async #applyNode(valid: ValidatedResource): Promise<ApplyOutcome> {
    const backing = apiBackings(NODE_KIND)[0] as ApiBacking;
    const { name } = valid;
    const subject = (verb: string): RequestSubject => ({ verb, kind: NODE_KIND, object: name, backing, kindName: 'Node' });
    const path = objectPath(backing, name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#call(subject('get'), () => this.#client.getOptional<KubeObject>(path));
      if (current === undefined) {
        throw new ResourceDatastoreError(
          RESOURCE_ERROR_CODE.REJECTED,
          `apply ${NODE_KIND} ${name}: there is no Node ${JSON.stringify(name)} in the cluster (Nodes are registered by kubelet; a Calico Node is written on its Node's annotations)`,
        );
      }
      const currentVersion = current.metadata?.resourceVersion;
      if (valid.resourceVersion !== undefined && currentVersion !== valid.resourceVersion) throw new ResourceConflictError(NODE_KIND, name, valid.resourceVersion, currentVersion);
      const shown = fromApiObject(NODE_KIND, backing, current);
      if (calicoNodeUnchanged(shown, valid.object)) return { action: 'unchanged', resource: shown };
      const patch = coreNodePatch(valid.object, current);
      let written: KubeObject;
      try {
        // The resourceVersion in a merge patch is a precondition: the patch applies to what was read.
        written = await this.#client.request<KubeObject>('PATCH', annotationPath(backing, path), { body: { metadata: { ...patch.metadata, resourceVersion: currentVersion } }, contentType: PATCH_TYPE.MERGE });
      } catch (error) {
        if (isApiStatus(error, 409) && valid.resourceVersion === undefined) continue;
        if (isApiStatus(error, 409)) throw new ResourceConflictError(NODE_KIND, name, valid.resourceVersion ?? '', undefined);
        throw datastoreErrorOf(error, subject('patch'));
      }
      await this.#settle(NODE_KIND, backing, name, written.metadata?.resourceVersion);
      return { action: 'configured', resource: fromApiObject(NODE_KIND, backing, written) };
    }
    throw new ResourceContendedError(`apply ${NODE_KIND} ${name}`);
  }

  // A Calico Node is its Node's annotations: deleting it removes them (the Node is kubelet's and stays).
  async #deleteNode(name: string): Promise<boolean> {
    const backing = apiBackings(NODE_KIND)[0] as ApiBacking;
    const path = objectPath(backing, name);
    const current = await this.#call({ verb: 'get', kind: NODE_KIND, object: name, backing }, () => this.#client.getOptional<KubeObject>(path));
    if (current === undefined) return false;
    const patch = clearCalicoNodePatch(current);
    if (patch === undefined) return true;
    const written = await this.#call({ verb: 'patch', kind: NODE_KIND, object: name, backing }, () =>
      this.#client.request<KubeObject>('PATCH', annotationPath(backing, path), { body: patch, contentType: PATCH_TYPE.MERGE }),
    );
    await this.#settle(NODE_KIND, backing, name, written.metadata?.resourceVersion);
    return true;
  }

  async #call<T>(subject: RequestSubject, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw datastoreErrorOf(error, subject);
    }
  }

  // Waits until the backing's cache shows the write (or something newer), so a get after an apply sees it.
  async #settle(kindId: ResourceKindId, backing: ApiBacking, key: string, resourceVersion: string | undefined): Promise<void> {
    const informer = this.#caches.informer(kindId, backing);
    if (informer === undefined || resourceVersion === undefined) return;
    const seen = (): boolean => informer.get(key)?.metadata.resourceVersion === resourceVersion || atLeast(informer.resourceVersion, resourceVersion);
    if (!(await informer.waitFor(seen, this.#options.settleMs ?? 10_000))) {
      this.#logger.debug({ kind: kindId, object: key, resourceVersion }, 'the watch has not shown a write yet');
    }
  }

  #namespaceOf(kind: ResourceKind, namespace: string | undefined): string | undefined {
    return kind.namespaced ? (namespace ?? DEFAULT_NAMESPACE) : undefined;
  }

}

/**
 * Where the agent patches an object's annotations: a core Pod's or Node's status
 * subresource, which takes metadata changes but never the spec (calico-node writes its
 * annotations the same way), so the agent's ClusterRole needs `patch` on `pods/status` and
 * `nodes/status` only, not on the pods and nodes themselves.
 */
function annotationPath(backing: ApiBacking, path: string): string {
  return backing.group === '' && (backing.plural === 'pods' || backing.plural === 'nodes') ? `${path}/status` : path;
}

/**
 * `body` (a PUT replacing `current`) with the metadata other controllers own kept:
 * finalizers and ownerReferences, which a document written by a user or the CLI does not
 * carry and a replace would otherwise wipe (garbage collection and deletion protection).
 */
function keepingServerMetadata(body: KubeObject, current: KubeObject): KubeObject {
  const kept: Record<string, unknown> = {};
  for (const field of ['finalizers', 'ownerReferences'] as const) {
    const value = (current.metadata as Record<string, unknown> | undefined)?.[field];
    if (value !== undefined && (body.metadata as Record<string, unknown>)[field] === undefined) kept[field] = value;
  }
  return Object.keys(kept).length === 0 ? body : { ...body, metadata: { ...body.metadata, ...kept } };
}

/**
 * Opens the resource datastore over the Kubernetes API: lists the CRDs, starts an informer
 * per served backing (kinds.ts) and waits for their first lists, then opens the ipam Store.
 * @throws ResourceDatastoreError (`forbidden`, `unavailable`, `rejected`) naming what could not be listed.
 */
export async function openKubernetesDatastore(options: OpenKubernetesDatastoreOptions): Promise<KubernetesDatastore> {
  const datastore = new KubernetesResourceDatastore(options);
  await datastore.open();
  return datastore;
}
