// The datastore's caches: one informer per API resource backing a kind (kinds.ts), gated
// by CRDs: the CRDs are watched, a backing's informer starts when its CRD appears, and
// when the CRD goes away its objects leave the datastore as deletes. Over the informers,
// each kind's view: a higher-priority backing's object hides a lower one's of the same
// name (Twill's IPPool over Calico's), and deleting the shown one reveals the hidden one.
import type * as k8s from '@kubernetes/client-node';

import { type AgentLogger, type ResourceEvent, type ResourceKindId, type StoredResource } from '../../ports.js';
import { allApiBackings, type ApiBacking, apiBackings, collectionPath, fromApiObject, objectKey } from '../kinds.js';
import { type KubeApiClient } from './api-client.js';
import { datastoreErrorOf } from './api-errors.js';
import { type InformedObject, Informer, type InformerEvent } from './informer.js';

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** What {@link KindCaches} needs. */
export interface KindCachesOptions {
  readonly client: KubeApiClient;
  readonly kubeConfig: k8s.KubeConfig;
  readonly logger: AgentLogger;
  readonly initialBackoffMs?: number;
  /** Each kind's changes as the datastore shows them, synchronously, in order. */
  readonly onChanges: (kind: ResourceKindId, events: readonly ResourceEvent[]) => void;
}

/** The informers of every kind, and each kind's view over its backings. */
export class KindCaches {
  readonly #options: KindCachesOptions;
  readonly #crds = new Set<string>();
  readonly #informers = new Map<string, Informer<StoredResource>>();
  #crdInformer: Informer<InformedObject> | undefined;
  #started = false;

  constructor(options: KindCachesOptions) {
    this.#options = options;
  }

  /**
   * Lists the CRDs, then starts an informer per served backing and waits for their first lists.
   * @throws ResourceDatastoreError naming what could not be listed (every informer is stopped then).
   */
  async start(): Promise<void> {
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
    const starts = [...allApiBackings()].flatMap(([kindId, backings]) => backings.filter((b) => this.served(b)).map((b) => this.#startInformer(kindId, b, true)));
    const failed = (await Promise.allSettled(starts)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await this.stop();
      throw failed.reason;
    }
  }

  async stop(): Promise<void> {
    const informers = [...this.#informers.values()];
    this.#informers.clear();
    await Promise.all([...informers.map((i) => i.stop()), this.#crdInformer?.stop()]);
  }

  /** Whether a backing is served now (built in, or its CRD installed). */
  served(backing: ApiBacking): boolean {
    return backing.crd === undefined || this.#crds.has(backing.crd);
  }

  /** The CRDs installed now, by name. */
  installedCrds(): ReadonlySet<string> {
    return this.#crds;
  }

  /** A backing's informer, while it runs. */
  informer(kindId: ResourceKindId, backing: ApiBacking): Informer<StoredResource> | undefined {
    return this.#informers.get(this.#key(kindId, backing));
  }

  /** The object a kind shows under `key` (`namespace/name` or `name`). */
  visible(kindId: ResourceKindId, key: string): StoredResource | undefined {
    for (const backing of apiBackings(kindId)) {
      const object = this.informer(kindId, backing)?.get(key);
      if (object !== undefined) return object;
    }
    return undefined;
  }

  /** Every object a kind shows, in no particular order. */
  current(kindId: ResourceKindId): StoredResource[] {
    const keys = new Set(apiBackings(kindId).flatMap((b) => (this.informer(kindId, b)?.values() ?? []).map((o) => objectKey(o.metadata.namespace, o.metadata.name))));
    return [...keys].map((key) => this.visible(kindId, key)).filter((o): o is StoredResource => o !== undefined);
  }

  #informerBase(): Pick<ConstructorParameters<typeof Informer>[0], 'client' | 'kubeConfig' | 'logger' | 'initialBackoffMs'> {
    const { client, kubeConfig, logger, initialBackoffMs } = this.#options;
    return { client, kubeConfig, logger, ...(initialBackoffMs === undefined ? {} : { initialBackoffMs }) };
  }

  #key(kindId: ResourceKindId, backing: ApiBacking): string {
    return `${kindId} ${backing.plural}.${backing.group}/${backing.version}`;
  }

  async #startInformer(kindId: ResourceKindId, backing: ApiBacking, failFast: boolean): Promise<void> {
    const key = this.#key(kindId, backing);
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
            this.#options.logger.info({ crd, kind: kindId }, 'a CustomResourceDefinition was installed: reading its objects');
            // Not fail-fast: the informer retries with backoff, and logs why.
            void this.#startInformer(kindId, backing, false);
          }
        }
      }
    }
  }

  #stopInformer(kindId: ResourceKindId, backing: ApiBacking): void {
    const key = this.#key(kindId, backing);
    const informer = this.#informers.get(key);
    if (informer === undefined) return;
    this.#informers.delete(key);
    this.#options.logger.info({ kind: kindId, objects: informer.values().length }, 'a CustomResourceDefinition was removed: its objects are gone');
    void informer.stop();
    const gone = informer.values().map((object) => ({ type: 'delete' as const, key: objectKey(object.metadata.namespace, object.metadata.name), object }));
    this.#onObjects(kindId, backing, gone);
  }

  #onObjects(kindId: ResourceKindId, backing: ApiBacking, events: readonly InformerEvent<StoredResource>[]): void {
    const backings = apiBackings(kindId);
    const index = backings.indexOf(backing);
    const out: ResourceEvent[] = [];
    for (const event of events) {
      if (backings.slice(0, index).some((b) => this.informer(kindId, b)?.get(event.key) !== undefined)) continue;
      if (event.type === 'upsert') {
        out.push({ type: 'upsert', kind: kindId, resource: event.object });
        continue;
      }
      const revealed = backings.slice(index + 1).map((b) => this.informer(kindId, b)?.get(event.key)).find((o) => o !== undefined);
      out.push(revealed === undefined ? { type: 'delete', kind: kindId, resource: event.object } : { type: 'upsert', kind: kindId, resource: revealed });
    }
    if (out.length > 0) this.#options.onChanges(kindId, out);
  }
}
