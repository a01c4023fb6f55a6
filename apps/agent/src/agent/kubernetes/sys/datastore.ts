// The resource datastore over the Kubernetes API: reads from informer caches (one informer
// per API resource backing a kind, kinds.ts), writes to the API with compare-and-swap on
// resourceVersion, watches fed by the informers, and the ipam Store over Twill's CRDs.
// Policy kinds from Calico's and Cilium's CRDs (and Twill's own CRDs) are read only while
// their CRD is installed: the CRDs are watched, an informer starts when its CRD appears,
// and when the CRD goes away its objects leave the datastore as deletes.
import type * as k8s from '@kubernetes/client-node';
import { type Store } from '@twill/ipam';

import { type AgentLogger, type AgentResource, type ApplyOutcome, type EntryEvent, type ResourceEvent, type ResourceKindId, type ResourceWatch, type StoredResource } from '../../ports.js';
import { RESOURCE_ERROR_CODE, ResourceConflictError, ResourceContendedError, ResourceDatastoreError } from '../../datastore/errors.js';
import { resolveKind, type ResourceKind } from '../../datastore/kinds.js';
import { type ClosableResourceDatastore } from '../../datastore/resource-store.js';
import { DEFAULT_NAMESPACE, validateResource, type ValidatedResource } from '../../datastore/validate.js';
import { type PollingWatch, startPollingWatch } from '../../datastore/watch.js';
import { allApiBackings, type ApiBacking, apiBackings, collectionPath, fromApiObject, type KubeObject, objectKey, objectPath, sameUserFields, toApiBody, writeBacking } from '../kinds.js';
import { calicoNodeUnchanged, clearCalicoNodePatch, coreNodePatch } from '../node-translation.js';
import { WatchQueue } from '../watch-queue.js';
import { KubeApiClient, PATCH_TYPE } from './api-client.js';
import { datastoreErrorOf, isApiStatus, type RequestSubject } from './api-errors.js';
import { type InformedObject, Informer, type InformerEvent } from './informer.js';
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
  annotate(kind: ResourceKindId, name: string, namespace: string | undefined, annotations: Readonly<Record<string, string | null>>): Promise<boolean>;
  /** The API server's URL. */
  readonly location: string;
  /** The agent's own namespace (Secrets). */
  readonly namespace: string;
}

const SILENT: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
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
  readonly #crds = new Set<string>();
  readonly #informers = new Map<string, Informer<StoredResource>>();
  readonly #watches = new Set<Subscription>();
  readonly #pollers = new Set<PollingWatch>();
  #crdInformer: Informer<InformedObject> | undefined;
  #started = false;
  #store: Store | undefined;

  constructor(options: OpenKubernetesDatastoreOptions) {
    this.#options = options;
    this.#logger = options.logger ?? SILENT;
    this.#client = new KubeApiClient(options.kubeConfig);
    this.location = this.#client.server;
    this.namespace = options.namespace ?? 'twill-system';
  }

  get store(): Store {
    if (this.#store === undefined) throw new Error('the Kubernetes datastore is not open');
    return this.#store;
  }

  async open(): Promise<void> {
    const crds = new Informer<InformedObject>({
      ...this.#informerBase(),
      path: CRD_PATH,
      what: 'customresourcedefinitions.apiextensions.k8s.io',
      transform: (o) => ({ metadata: { name: o.metadata?.name ?? '', resourceVersion: o.metadata?.resourceVersion ?? '' } }),
      onEvents: (events) => this.#onCrds(events),
    });
    try {
      await crds.start();
    } catch (error) {
      throw datastoreErrorOf(error, { verb: 'list', kind: 'customresourcedefinitions.apiextensions.k8s.io', object: '' });
    }
    this.#crdInformer = crds;
    // From here a CRD that appears starts its informer itself (#onCrds).
    this.#started = true;
    const starts = [...allApiBackings()].flatMap(([kindId, backings]) => backings.filter((b) => this.#served(b)).map((b) => this.#startInformer(kindId, b, true)));
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await this.close();
      throw failed.reason;
    }
    this.#store = this.#options.store ?? (await openKubernetesStore({ kubeConfig: this.#options.kubeConfig, logger: this.#logger }));
  }

  async get(kindName: ResourceKindId, name: string, namespace?: string): Promise<StoredResource | undefined> {
    const kind = resolveKind(kindName);
    return this.#visible(kind.id, objectKey(this.#namespaceOf(kind, namespace), name));
  }

  async list(kindName: ResourceKindId, namespace?: string): Promise<readonly StoredResource[]> {
    const kind = resolveKind(kindName);
    const all = this.#current(kind.id);
    return (namespace === undefined || !kind.namespaced ? all : all.filter((r) => r.metadata.namespace === namespace)).sort(byNamespaceThenName);
  }

  async apply(resource: AgentResource): Promise<ApplyOutcome> {
    const valid = validateResource(resource);
    const { kind, name, namespace } = valid;
    if (kind.id === NODE_KIND) return this.#applyNode(valid);
    const object = objectKey(namespace, name);
    const backing = writeBacking(kind.id, this.#crds);
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
          : await this.#client.request<KubeObject>('PUT', path, { body: toApiBody(backing, valid.object, currentVersion) });
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
    for (const backing of apiBackings(kind.id).filter((b) => this.#served(b))) {
      const before = this.#informer(kind.id, backing)?.get(object)?.metadata.resourceVersion;
      try {
        await this.#client.request('DELETE', objectPath(backing, name, ns));
      } catch (error) {
        if (isApiStatus(error, 404)) continue;
        throw datastoreErrorOf(error, { verb: 'delete', kind: kind.id, object, backing });
      }
      deleted = true;
      const informer = this.#informer(kind.id, backing);
      await informer?.waitFor(() => informer.get(object)?.metadata.resourceVersion !== before || before === undefined, this.#options.settleMs ?? 10_000);
    }
    return deleted;
  }

  async watch(kindNames: readonly ResourceKindId[], handler: (events: readonly ResourceEvent[]) => void | Promise<void>): Promise<ResourceWatch> {
    const kinds = [...new Set(kindNames.map((name) => resolveKind(name).id))];
    const subscription: Subscription = { kinds: new Set(kinds), queue: new WatchQueue({ handler, logger: this.#logger, what: kinds.join(',') }) };
    // The snapshot and the subscription in one turn: no change falls between them.
    const first = kinds.flatMap((kind) => this.#current(kind).sort(byNamespaceThenName).map((resource): ResourceEvent => ({ type: 'upsert', kind, resource })));
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

  async annotate(kindName: ResourceKindId, name: string, namespace: string | undefined, annotations: Readonly<Record<string, string | null>>): Promise<boolean> {
    const kind = resolveKind(kindName);
    const object = objectKey(this.#namespaceOf(kind, namespace), name);
    // The backing that holds the object (the one shown), else where writes go.
    const backing = apiBackings(kind.id).find((b) => this.#informer(kind.id, b)?.get(object) !== undefined) ?? writeBacking(kind.id, this.#crds);
    if (backing === undefined) return false;
    try {
      const written = await this.#client.request<KubeObject>('PATCH', objectPath(backing, name, this.#namespaceOf(kind, namespace)), {
        body: { metadata: { annotations } },
        contentType: PATCH_TYPE.MERGE,
      });
      await this.#settle(kind.id, backing, object, written.metadata?.resourceVersion);
      return true;
    } catch (error) {
      if (isApiStatus(error, 404)) return false;
      throw datastoreErrorOf(error, { verb: 'patch', kind: kind.id, object, backing });
    }
  }

  async close(): Promise<void> {
    const watches = [...this.#watches];
    const pollers = [...this.#pollers];
    const informers = [...this.#informers.values()];
    this.#watches.clear();
    this.#pollers.clear();
    this.#informers.clear();
    await Promise.all([...watches.map((w) => w.queue.close()), ...pollers.map((p) => p.close()), ...informers.map((i) => i.stop()), this.#crdInformer?.stop()]);
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
        written = await this.#client.request<KubeObject>('PATCH', path, { body: { metadata: { ...patch.metadata, resourceVersion: currentVersion } }, contentType: PATCH_TYPE.MERGE });
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
      this.#client.request<KubeObject>('PATCH', path, { body: patch, contentType: PATCH_TYPE.MERGE }),
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
    const informer = this.#informer(kindId, backing);
    if (informer === undefined || resourceVersion === undefined) return;
    const seen = (): boolean => informer.get(key)?.metadata.resourceVersion === resourceVersion || atLeast(informer.resourceVersion, resourceVersion);
    if (!(await informer.waitFor(seen, this.#options.settleMs ?? 10_000))) {
      this.#logger.debug({ kind: kindId, object: key, resourceVersion }, 'the watch has not shown a write yet');
    }
  }

  #informerBase(): Pick<ConstructorParameters<typeof Informer>[0], 'client' | 'kubeConfig' | 'logger' | 'initialBackoffMs'> {
    return {
      client: this.#client,
      kubeConfig: this.#options.kubeConfig,
      logger: this.#logger,
      ...(this.#options.initialBackoffMs === undefined ? {} : { initialBackoffMs: this.#options.initialBackoffMs }),
    };
  }

  #informerKey(kindId: ResourceKindId, backing: ApiBacking): string {
    return `${kindId} ${backing.plural}.${backing.group}/${backing.version}`;
  }

  #informer(kindId: ResourceKindId, backing: ApiBacking): Informer<StoredResource> | undefined {
    return this.#informers.get(this.#informerKey(kindId, backing));
  }

  #served(backing: ApiBacking): boolean {
    return backing.crd === undefined || this.#crds.has(backing.crd);
  }

  #namespaceOf(kind: ResourceKind, namespace: string | undefined): string | undefined {
    return kind.namespaced ? (namespace ?? DEFAULT_NAMESPACE) : undefined;
  }

  async #startInformer(kindId: ResourceKindId, backing: ApiBacking, failFast: boolean): Promise<void> {
    const key = this.#informerKey(kindId, backing);
    if (this.#informers.has(key)) return;
    const informer = new Informer<StoredResource>({
      ...this.#informerBase(),
      path: collectionPath(backing),
      what: `${backing.plural}${backing.group === '' ? '' : `.${backing.group}`}`,
      transform: (o) => fromApiObject(kindId, backing, o),
      onEvents: (events) => this.#onObjects(kindId, backing, events),
    });
    this.#informers.set(key, informer);
    try {
      await informer.start({ failFast });
    } catch (error) {
      this.#informers.delete(key);
      throw datastoreErrorOf(error, { verb: 'list', kind: kindId, object: '', backing });
    }
  }

  #onCrds(events: readonly InformerEvent<InformedObject>[]): void {
    for (const { type, object } of events) {
      const crd = object.metadata.name;
      if (type === 'upsert' && this.#crds.has(crd)) continue;
      if (type === 'upsert') this.#crds.add(crd);
      else this.#crds.delete(crd);
      for (const [kindId, backings] of allApiBackings()) {
        for (const backing of backings.filter((b) => b.crd === crd)) {
          if (type === 'delete') this.#stopInformer(kindId, backing);
          else if (this.#started) {
            this.#logger.info({ crd, kind: kindId }, 'a CustomResourceDefinition was installed: reading its objects');
            void this.#startInformer(kindId, backing, false);
          }
        }
      }
    }
  }

  // The CRD went away: its objects leave the datastore (as deletes, or as the other backing's object).
  #stopInformer(kindId: ResourceKindId, backing: ApiBacking): void {
    const key = this.#informerKey(kindId, backing);
    const informer = this.#informers.get(key);
    if (informer === undefined) return;
    this.#informers.delete(key);
    this.#logger.info({ kind: kindId, objects: informer.values().length }, 'a CustomResourceDefinition was removed: its objects are gone');
    void informer.stop();
    const gone = informer.values().map((object) => ({ type: 'delete' as const, key: objectKey(object.metadata.namespace, object.metadata.name), object }));
    this.#onObjects(kindId, backing, gone);
  }

  // An informer's changes as the datastore shows them: a higher-priority backing's object
  // hides a lower one's of the same name; deleting the shown one reveals the hidden one.
  #onObjects(kindId: ResourceKindId, backing: ApiBacking, events: readonly InformerEvent<StoredResource>[]): void {
    const backings = apiBackings(kindId);
    const index = backings.indexOf(backing);
    const out: ResourceEvent[] = [];
    for (const event of events) {
      if (backings.slice(0, index).some((b) => this.#informer(kindId, b)?.get(event.key) !== undefined)) continue;
      if (event.type === 'upsert') {
        out.push({ type: 'upsert', kind: kindId, resource: event.object });
        continue;
      }
      const revealed = backings.slice(index + 1).map((b) => this.#informer(kindId, b)?.get(event.key)).find((o) => o !== undefined);
      out.push(revealed === undefined ? { type: 'delete', kind: kindId, resource: event.object } : { type: 'upsert', kind: kindId, resource: revealed });
    }
    if (out.length === 0) return;
    for (const subscription of this.#watches) if (subscription.kinds.has(kindId)) subscription.queue.push(out);
  }

  #visible(kindId: ResourceKindId, key: string): StoredResource | undefined {
    for (const backing of apiBackings(kindId)) {
      const object = this.#informer(kindId, backing)?.get(key);
      if (object !== undefined) return object;
    }
    return undefined;
  }

  #current(kindId: ResourceKindId): StoredResource[] {
    const keys = new Set(apiBackings(kindId).flatMap((b) => (this.#informer(kindId, b)?.values() ?? []).map((o) => objectKey(o.metadata.namespace, o.metadata.name))));
    return [...keys].map((key) => this.#visible(kindId, key)).filter((o): o is StoredResource => o !== undefined);
  }
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
