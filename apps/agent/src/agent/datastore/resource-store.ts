// The resource datastore over any @twill/ipam Store: validated, idempotent writes with
// compare-and-swap, reads, and watches. Pure over the Store port (memory in tests, SQLite
// in the agent: sys/open.ts).
import { randomUUID } from 'node:crypto';

import { type Store, type StoreEntry, type StoreOp } from '@twill/ipam';

import {
  type AgentLogger,
  type AgentResource,
  type ApplyOutcome,
  type EntryEvent,
  type ResourceDatastore,
  type ResourceEvent,
  type ResourceKindId,
  type ResourceWatch,
  type StoredResource,
} from '../ports.js';
import { RESOURCE_ERROR_CODE, ResourceConflictError, ResourceContendedError, ResourceDatastoreError } from './errors.js';
import { sameJson } from './fields.js';
import { namespaceIndexKey, namespaceIndexPrefix, resourceKey, resourcePrefix, RESOURCE_ROOT } from './keys.js';
import { resolveKind, type ResourceKind } from './kinds.js';
import { DEFAULT_NAMESPACE, validateResource } from './validate.js';
import { type EntryChange, type PollingWatch, startPollingWatch } from './watch.js';

/** Options of {@link resourceDatastoreOver}. */
export interface ResourceDatastoreOptions {
  /** Milliseconds between a watch's polls (default 50). */
  readonly pollMs?: number;
  /** Where watches log a failing handler or store; silent when absent. */
  readonly logger?: AgentLogger;
  /** The clock for `creationTimestamp` (default: the system's). */
  readonly now?: () => Date;
  /** Makes a new object's `uid` (default: a random UUID). */
  readonly newUid?: () => string;
}

/** A {@link ResourceDatastore} whose watches can be stopped together. */
export interface ClosableResourceDatastore extends ResourceDatastore {
  /** Stops every watch (waiting for handler calls in flight); a datastore over a given store leaves the store open. */
  close(): Promise<void>;
}

// A write that lost a race re-reads and tries again; without a resourceVersion the
// caller asked for "this object", not "this object if unchanged".
const MAX_ATTEMPTS = 20;

const SILENT: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface StoredObject extends AgentResource {
  readonly metadata: AgentResource['metadata'] & { readonly uid: string; readonly creationTimestamp: string };
}

function parseStored(entry: StoreEntry): StoredObject {
  try {
    const object = JSON.parse(entry.value) as StoredObject;
    if (typeof object === 'object' && object !== null && typeof object.metadata === 'object' && object.metadata !== null) return object;
  } catch (error) {
    throw new ResourceDatastoreError(RESOURCE_ERROR_CODE.CORRUPT, `${entry.key} (revision ${entry.revision}) is not a stored resource: ${(error as Error).message}`, { cause: error });
  }
  throw new ResourceDatastoreError(RESOURCE_ERROR_CODE.CORRUPT, `${entry.key} (revision ${entry.revision}) is not a stored resource: not an object with metadata`);
}

function toStored(entry: StoreEntry): StoredResource {
  const object = parseStored(entry);
  return { ...object, metadata: { ...object.metadata, resourceVersion: entry.revision } };
}

// The stored object without what the datastore set, to compare with an apply's object.
function userPart(object: StoredObject): AgentResource {
  const { uid: _uid, creationTimestamp: _created, ...metadata } = object.metadata;
  return { ...object, metadata };
}

function describeObject(kind: ResourceKind, namespace: string | undefined, name: string): string {
  return namespace === undefined ? name : `${namespace}/${name}`;
}

class StoreResourceDatastore implements ClosableResourceDatastore {
  readonly store: Store;
  readonly #pollMs: number | undefined;
  readonly #logger: AgentLogger;
  readonly #now: () => Date;
  readonly #newUid: () => string;
  readonly #watches = new Set<PollingWatch>();

  constructor(store: Store, options: ResourceDatastoreOptions) {
    this.store = store;
    this.#pollMs = options.pollMs;
    this.#logger = options.logger ?? SILENT;
    this.#now = options.now ?? (() => new Date());
    this.#newUid = options.newUid ?? randomUUID;
  }

  async get(kindName: ResourceKindId, name: string, namespace?: string): Promise<StoredResource | undefined> {
    const kind = resolveKind(kindName);
    const entry = await this.store.get(resourceKey(kind.id, this.#namespace(kind, namespace), name));
    return entry === undefined ? undefined : toStored(entry);
  }

  async list(kindName: ResourceKindId, namespace?: string): Promise<readonly StoredResource[]> {
    const kind = resolveKind(kindName);
    return (await this.#listEntries(kind, namespace)).map(toStored);
  }

  async apply(resource: AgentResource): Promise<ApplyOutcome> {
    const valid = validateResource(resource);
    const { kind, namespace, name } = valid;
    const key = resourceKey(kind.id, namespace, name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.store.get(key);
      if (valid.resourceVersion !== undefined && current?.revision !== valid.resourceVersion) {
        throw new ResourceConflictError(kind.id, describeObject(kind, namespace, name), valid.resourceVersion, current?.revision);
      }
      const stored = current === undefined ? undefined : parseStored(current);
      if (current !== undefined && stored !== undefined && sameJson(userPart(stored), valid.object)) {
        return { action: 'unchanged', resource: toStored(current) };
      }
      const object = {
        ...valid.object,
        metadata: {
          ...valid.object.metadata,
          uid: stored?.metadata.uid ?? this.#newUid(),
          creationTimestamp: stored?.metadata.creationTimestamp ?? this.#now().toISOString(),
        },
      };
      const value = JSON.stringify(object);
      const ops: StoreOp[] = [{ type: 'put', key, value, expect: current === undefined ? { absent: true } : { revision: current.revision } }];
      // The namespaces-in-use entry is rewritten by every create, so a delete that removes
      // it (conditioned on its revision, keys.ts) loses any race with a create.
      if (current === undefined && namespace !== undefined) ops.push({ type: 'put', key: namespaceIndexKey(kind.id, namespace), value: namespace });
      const outcome = await this.store.commit(ops);
      if (!outcome.ok) {
        if (valid.resourceVersion !== undefined) {
          throw new ResourceConflictError(kind.id, describeObject(kind, namespace, name), valid.resourceVersion, (await this.store.get(key))?.revision);
        }
        continue;
      }
      this.#kick();
      // The store's revision is what reads give as resourceVersion.
      const written = await this.store.get(key);
      const resource = written !== undefined && written.value === value ? toStored(written) : toStored({ key, value, revision: written?.revision ?? '' });
      return { action: current === undefined ? 'created' : 'configured', resource };
    }
    throw new ResourceContendedError(`apply ${kind.id} ${describeObject(kind, namespace, name)}`);
  }

  async delete(kindName: ResourceKindId, name: string, namespace?: string): Promise<boolean> {
    const kind = resolveKind(kindName);
    const ns = this.#namespace(kind, namespace);
    const key = resourceKey(kind.id, ns, name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.store.get(key);
      if (current === undefined) return false;
      const ops: StoreOp[] = [{ type: 'delete', key, expect: { revision: current.revision } }];
      if (ns !== undefined) {
        const siblings = await this.store.list(resourcePrefix(kind.id, ns));
        const index = await this.store.get(namespaceIndexKey(kind.id, ns));
        if (index !== undefined && siblings.every((entry) => entry.key === key)) {
          ops.push({ type: 'delete', key: index.key, expect: { revision: index.revision } });
        }
      }
      if ((await this.store.commit(ops)).ok) {
        this.#kick();
        return true;
      }
    }
    throw new ResourceContendedError(`delete ${kind.id} ${describeObject(kind, ns, name)}`);
  }

  async watch(kindNames: readonly ResourceKindId[], handler: (events: readonly ResourceEvent[]) => void | Promise<void>): Promise<ResourceWatch> {
    const kinds = [...new Map(kindNames.map((name) => resolveKind(name)).map((kind) => [kind.id, kind])).values()];
    const kindOfKey = (key: string): ResourceKindId => key.slice(RESOURCE_ROOT.length + 1, key.indexOf('/', RESOURCE_ROOT.length + 1));
    return this.#startWatch(
      kinds.map((k) => k.id).join(','),
      async () => (await Promise.all(kinds.map((kind) => this.#listEntries(kind, undefined)))).flat(),
      (changes) => handler(changes.flatMap(({ type, entry }) => this.#event(type, kindOfKey(entry.key), entry))),
    );
  }

  async watchEntries(prefix: string, handler: (events: readonly EntryEvent[]) => void | Promise<void>): Promise<ResourceWatch> {
    return this.#startWatch(
      prefix,
      () => this.store.list(prefix),
      (changes) => handler(changes.map(({ type, entry }) => ({ type, key: entry.key, value: entry.value }))),
    );
  }

  async close(): Promise<void> {
    const watches = [...this.#watches];
    this.#watches.clear();
    await Promise.all(watches.map((watch) => watch.close()));
  }

  async #startWatch(
    what: string,
    list: () => Promise<readonly StoreEntry[]>,
    handler: (changes: readonly EntryChange[]) => void | Promise<void>,
  ): Promise<ResourceWatch> {
    const watch = await startPollingWatch({ store: this.store, list, handler, logger: this.#logger, what, ...(this.#pollMs === undefined ? {} : { pollMs: this.#pollMs }) });
    this.#watches.add(watch);
    return {
      close: async () => {
        this.#watches.delete(watch);
        await watch.close();
      },
    };
  }

  // An entry that is not a resource (written by something else than a datastore) is
  // logged and left out: one bad entry must not hold up every other change.
  #event(type: ResourceEvent['type'], kind: ResourceKindId, entry: StoreEntry): ResourceEvent[] {
    try {
      return [{ type, kind, resource: toStored(entry) }];
    } catch (error) {
      if (!(error instanceof ResourceDatastoreError)) throw error;
      this.#logger.warn({ key: entry.key, revision: entry.revision }, `watch: ${error.message}; left out`);
      return [];
    }
  }

  // This datastore's own writes wake its watches at once; other writers are seen at the next poll.
  #kick(): void {
    for (const watch of this.#watches) watch.kick();
  }

  #namespace(kind: ResourceKind, namespace: string | undefined): string | undefined {
    return kind.namespaced ? (namespace ?? DEFAULT_NAMESPACE) : undefined;
  }

  async #listEntries(kind: ResourceKind, namespace: string | undefined): Promise<readonly StoreEntry[]> {
    if (!kind.namespaced) return this.store.list(resourcePrefix(kind.id, undefined));
    if (namespace !== undefined) return this.store.list(resourcePrefix(kind.id, namespace));
    // Index entries are in key order, so namespaces come sorted, and each list in name order.
    const namespaces = (await this.store.list(namespaceIndexPrefix(kind.id))).map((entry) => entry.key.slice(namespaceIndexPrefix(kind.id).length));
    return (await Promise.all(namespaces.map((ns) => this.store.list(resourcePrefix(kind.id, ns))))).flat();
  }
}

/**
 * A resource datastore over any @twill/ipam {@link Store} (memory in tests; see
 * `openResourceDatastore` for the agent's SQLite file). Its `close()` stops its watches
 * and leaves the store open: the caller owns it.
 */
export function resourceDatastoreOver(store: Store, options: ResourceDatastoreOptions = {}): ClosableResourceDatastore {
  return new StoreResourceDatastore(store, options);
}
