// The @twill/ipam Store over the Kubernetes API: each entry is one object of Twill's
// CRDs (store-names.ts says which, and its name), its revision the object's
// metadata.resourceVersion. get is a GET, list one LIST with a label selector, and a
// commit a sequence of single-object compare-and-swaps with undo on conflict
// (store-commit.ts: Kubernetes has no multi-object transaction, and that file says what
// this means and how Calico copes). The change token comes from watches on the four CRDs
// (store-watch.ts). It offers neither `exclusive` (the API has no lock) nor `sync`.
import * as k8s from '@kubernetes/client-node';
import {
  checkStoreKey,
  checkStorePrefix,
  type CommitOutcome,
  type Revision,
  type Store,
  type StoreEntry,
  StoreFailureError,
  type StoreOp,
} from '@twill/ipam';

import { type AgentLogger } from '../../ports.js';
import { CONFLICT, casCommit, type CasObjects, type KnownValues, StoreRefusedError } from '../store-commit.js';
import {
  entryOfObject,
  PARENT_LABEL,
  parentLabelValue,
  storeKindOfKey,
  storeKindOfPrefix,
  storeObject,
  storeObjectName,
  TWILL_GROUP,
  TWILL_VERSION,
} from '../store-names.js';
import { StoreChangeWatch } from './store-watch.js';

/** Options of {@link openKubernetesStore}. */
export interface KubernetesStoreOptions {
  /** Where the API server is and how to authenticate. */
  readonly kubeConfig: k8s.KubeConfig;
  readonly logger?: AgentLogger;
  /** How long one API request may take before it fails, in milliseconds (default 30,000; not the watches' streams). */
  readonly requestTimeoutMs?: number;
}

/** The Kubernetes store: a {@link Store} with a change token. */
export type KubernetesStore = Store & { changeToken(): Promise<string>; close(): Promise<void> };

const SILENT: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
// Objects per page of a listing (the API server's snapshot holds across pages).
const PAGE = 500;
// Values remembered per key and revision, to undo a commit without reading first.
const KNOWN_LIMIT = 8192;
const KNOWN_REVISIONS = 4;

/**
 * Opens the ipam Store over Twill's CRDs (which must be installed: requests for a
 * kind the API does not serve fail with a StoreFailureError saying so) and starts the
 * watches behind its change token.
 * @throws nothing for an unreachable API: the watches keep trying, and reads and
 * commits reject with StoreFailureError until it answers.
 */
export async function openKubernetesStore(options: KubernetesStoreOptions): Promise<KubernetesStore> {
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const api = customObjectsApi(options.kubeConfig, timeoutMs);
  const logger = options.logger ?? SILENT;
  const objects = new ApiObjects(api, timeoutMs);
  const watch = await StoreChangeWatch.start({
    kubeConfig: options.kubeConfig,
    logger,
    currentVersion: async (kind) => {
      const list = (await call(`list ${kind.plural}`, () => api.listClusterCustomObject({ group: TWILL_GROUP, version: TWILL_VERSION, plural: kind.plural, limit: 1 }), timeoutMs)) as {
        metadata?: { resourceVersion?: string };
      };
      const version = list.metadata?.resourceVersion;
      if (version === undefined) throw new StoreFailureError(`Kubernetes store: the list of ${kind.plural} has no resourceVersion`);
      return version;
    },
  });
  return new KubernetesApiStore(objects, watch);
}

// client-node's CustomObjectsApi as makeApiClient makes it, each request given a deadline:
// an API server that stops answering (a black-holed address) fails the request instead
// of hanging the CNI ADD or the agent behind it.
function customObjectsApi(kubeConfig: k8s.KubeConfig, timeoutMs: number): k8s.CustomObjectsApi {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new StoreFailureError('Kubernetes store: the kubeconfig has no current cluster');
  const deadline = {
    pre: async (context: k8s.RequestContext): Promise<k8s.RequestContext> => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return context;
    },
    post: async (response: k8s.ResponseContext): Promise<k8s.ResponseContext> => response,
  };
  return new k8s.CustomObjectsApi(
    k8s.createConfiguration({ baseServer: new k8s.ServerConfiguration(cluster.server, {}), authMethods: { default: kubeConfig }, promiseMiddleware: [deadline] }),
  );
}

class KubernetesApiStore implements KubernetesStore {
  readonly #objects: ApiObjects;
  readonly #watch: StoreChangeWatch;
  #closed = false;

  constructor(objects: ApiObjects, watch: StoreChangeWatch) {
    this.#objects = objects;
    this.#watch = watch;
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    this.#open();
    checkStoreKey(key);
    return this.#objects.read(key);
  }

  async list(prefix: string): Promise<readonly StoreEntry[]> {
    this.#open();
    checkStorePrefix(prefix);
    return this.#objects.list(prefix);
  }

  async commit(ops: readonly StoreOp[]): Promise<CommitOutcome> {
    this.#open();
    for (const op of ops) checkStoreKey(op.key);
    try {
      const { outcome, wrote } = await casCommit(ops, { objects: this.#objects, known: this.#objects });
      if (wrote) this.#watch.bump();
      return outcome;
    } catch (error) {
      // Something may have been written before the failure.
      this.#watch.bump();
      throw error;
    }
  }

  /**
   * {@inheritDoc Store.changeToken} A counter moved by every watch event on the four CRDs
   * and by this store's commits. Another writer's commit moves it once its event
   * arrives (the watch's delay, milliseconds), so a poller sees it at its next poll at
   * the latest.
   */
  async changeToken(): Promise<string> {
    this.#open();
    return this.#watch.token();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watch.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreFailureError('Kubernetes store: used after close()');
  }
}

// The CasObjects port over client-node's CustomObjectsApi, and a memory of the values
// seen at each revision (KnownValues) so that a commit's undo rarely needs a read.
class ApiObjects implements CasObjects, KnownValues {
  readonly #api: k8s.CustomObjectsApi;
  // Per key, the last few revisions seen and their text, newest first: allocations running
  // at once in one agent read a block at different revisions.
  readonly #known = new Map<string, { readonly revision: Revision; readonly value: string }[]>();

  readonly #timeoutMs: number;

  constructor(api: k8s.CustomObjectsApi, timeoutMs: number) {
    this.#api = api;
    this.#timeoutMs = timeoutMs;
  }

  valueAt(key: string, revision: Revision): string | undefined {
    return this.#known.get(key)?.find((known) => known.revision === revision)?.value;
  }

  #remember(key: string, revision: Revision, value: string): void {
    const earlier = this.#known.get(key) ?? [];
    if (earlier[0]?.revision === revision) return;
    // Map order is insertion order: a key seen again moves to the end, the oldest go first.
    this.#known.delete(key);
    if (this.#known.size >= KNOWN_LIMIT) this.#known.delete(this.#known.keys().next().value as string);
    this.#known.set(key, [{ revision, value }, ...earlier.slice(0, KNOWN_REVISIONS - 1)]);
  }

  #where(key: string): { group: string; version: string; plural: string; name: string } {
    return { group: TWILL_GROUP, version: TWILL_VERSION, plural: storeKindOfKey(key).plural, name: storeObjectName(key) };
  }

  async read(key: string): Promise<StoreEntry | undefined> {
    const where = this.#where(key);
    let object: unknown;
    try {
      object = await this.#api.getClusterCustomObject(where);
    } catch (error) {
      if (isObjectNotFound(error, where.name)) {
        this.#known.delete(key);
        return undefined;
      }
      throw apiFailure(`get ${where.plural}/${where.name}`, error, this.#timeoutMs);
    }
    const entry = checkedEntry(object, key, where);
    this.#remember(key, entry.revision, entry.value);
    return entry;
  }

  async list(prefix: string): Promise<readonly StoreEntry[]> {
    const kind = storeKindOfPrefix(prefix);
    const labelSelector = `${PARENT_LABEL}=${parentLabelValue(prefix)}`;
    const found: StoreEntry[] = [];
    let page: string | undefined;
    do {
      const list = (await call(`list ${kind.plural}`, () =>
        this.#api.listClusterCustomObject({ group: TWILL_GROUP, version: TWILL_VERSION, plural: kind.plural, labelSelector, limit: PAGE, _continue: page }),
      this.#timeoutMs)) as { items?: unknown[]; metadata?: { continue?: string } };
      for (const item of list.items ?? []) {
        const entry = entryOfObject(item);
        if (typeof entry === 'string') throw new StoreFailureError(`Kubernetes store: ${kind.plural} ${entry}`);
        // The label is a hash: the key says whether the entry is really directly under the prefix.
        if (!entry.key.startsWith(prefix) || entry.key.slice(prefix.length).includes('/')) continue;
        this.#remember(entry.key, entry.revision, entry.value);
        found.push(entry);
      }
      page = list.metadata?.continue === '' ? undefined : list.metadata?.continue;
    } while (page !== undefined);
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return found;
  }

  async create(key: string, value: string): Promise<Revision | typeof CONFLICT> {
    const where = this.#where(key);
    let object: unknown;
    try {
      object = await this.#api.createClusterCustomObject({ ...where, body: storeObject(key, value) });
    } catch (error) {
      if (statusCode(error) === 409) return CONFLICT;
      throw apiFailure(`create ${where.plural}/${where.name}`, error, this.#timeoutMs);
    }
    const revision = checkedEntry(object, key, where).revision;
    this.#remember(key, revision, value);
    return revision;
  }

  async replace(key: string, value: string, revision: Revision): Promise<Revision | typeof CONFLICT> {
    const where = this.#where(key);
    let object: unknown;
    try {
      object = await this.#api.replaceClusterCustomObject({ ...where, body: storeObject(key, value, revision) });
    } catch (error) {
      // 409: the object moved on; 404: it is gone. Either way the revision no longer holds.
      if (statusCode(error) === 409 || isObjectNotFound(error, where.name)) return CONFLICT;
      throw apiFailure(`update ${where.plural}/${where.name}`, error, this.#timeoutMs);
    }
    const written = checkedEntry(object, key, where).revision;
    this.#remember(key, written, value);
    return written;
  }

  async remove(key: string, revision: Revision | undefined): Promise<'deleted' | 'absent' | typeof CONFLICT> {
    const where = this.#where(key);
    try {
      await this.#api.deleteClusterCustomObject({ ...where, body: revision === undefined ? {} : { preconditions: { resourceVersion: revision } } });
    } catch (error) {
      if (statusCode(error) === 409) return CONFLICT;
      if (isObjectNotFound(error, where.name)) return revision === undefined ? 'absent' : CONFLICT;
      throw apiFailure(`delete ${where.plural}/${where.name}`, error, this.#timeoutMs);
    }
    this.#known.delete(key);
    return 'deleted';
  }
}

// The entry an object holds, checked to be the one asked for: another key under the same
// name would be a collision (store-names.ts rules them out) or an object made by hand.
function checkedEntry(object: unknown, key: string, where: { plural: string; name: string }): StoreEntry {
  const entry = entryOfObject(object);
  if (typeof entry === 'string') throw new StoreFailureError(`Kubernetes store: ${where.plural} ${entry}`);
  if (entry.key !== key) throw new StoreFailureError(`Kubernetes store: ${where.plural}/${where.name} holds key ${JSON.stringify(entry.key)}, not ${JSON.stringify(key)}`);
  return entry;
}

async function call<T>(what: string, request: () => Promise<T>, timeoutMs: number): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw apiFailure(what, error, timeoutMs);
  }
}

function statusCode(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  return undefined;
}

// The Status object the API server answered with, when it did.
function statusBody(error: unknown): { reason?: string; message?: string; details?: { name?: string } } | undefined {
  if (!(error instanceof k8s.ApiException)) return undefined;
  const body: unknown = error.body;
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    return typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: string; message?: string }) : undefined;
  } catch {
    return undefined;
  }
}

// A 404 for the object itself, not for its kind: the API server names the object in the
// Status's details. A 404 without them means the kind is not served (its CRD is missing).
function isObjectNotFound(error: unknown, name: string): boolean {
  return statusCode(error) === 404 && statusBody(error)?.details?.name === name;
}

// `timeoutMs`: the requests' deadline (their only abort).
function apiFailure(what: string, error: unknown, timeoutMs: number): StoreFailureError {
  if (error instanceof StoreFailureError) return error;
  const code = statusCode(error);
  if ((error as { name?: unknown } | null)?.name === 'AbortError') {
    return new StoreFailureError(`Kubernetes store: ${what} failed: the API server did not answer within ${timeoutMs} ms`, { cause: error });
  }
  if (code === undefined) {
    const message = error instanceof Error ? error.message : String(error);
    return new StoreFailureError(`Kubernetes store: ${what} failed: ${message}`, { cause: error });
  }
  const status = statusBody(error);
  const reason = status?.reason ?? 'no reason';
  const message = status?.message ?? (error instanceof Error ? error.message : '');
  const hint = code === 404 ? ' (is the CRD installed? deploy/ has the twill.io CRDs)' : '';
  // A 4xx answer is a refusal: the request changed nothing. A 5xx may come after a write.
  return new (code >= 400 && code < 500 ? StoreRefusedError : StoreFailureError)(`Kubernetes store: ${what} failed: ${code} ${reason}: ${message}${hint}`, { cause: error });
}

