// The object store: one global revision counter (etcd's), every write bumps it and
// records an event; the history of events is what watches resume from and what old
// snapshots (paginated lists) are rebuilt from, until compact() forgets it.

import { type KubeObject } from './resources.js';

/** A watch event type as the API sends it (BOOKMARK and ERROR are made by the watch). */
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, as recorded. `object` is the new state (for DELETED the last state at `rv`). */
export interface StoredEvent {
  readonly rv: number;
  readonly type: EventType;
  /** The type's storage key (`group/plural`). */
  readonly typeKey: string;
  /** The object's key inside its type: `namespace/name` or `name`. */
  readonly key: string;
  readonly object: KubeObject;
  /** The state before this write (absent for ADDED). */
  readonly prev?: KubeObject;
}

/** `namespace/name` for namespaced objects, `name` otherwise. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

/** In-memory etcd: current objects per type, a revision, and the event history. */
export class ObjectStore {
  #revision = 0;
  /** Events with rv <= this are forgotten; resuming from an rv below it is 410 Gone. */
  #compacted = 0;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  #history: StoredEvent[] = [];
  readonly #listeners = new Set<(event: StoredEvent) => void>();

  /** The current revision (the resourceVersion of the latest write). */
  get revision(): number {
    return this.#revision;
  }

  /** The oldest revision one can still resume from (watch or continue). */
  get compactedRevision(): number {
    return this.#compacted;
  }

  get(typeKey: string, key: string): KubeObject | undefined {
    return this.#objects.get(typeKey)?.get(key);
  }

  /** The current objects of a type, sorted by key (etcd order). */
  current(typeKey: string): [string, KubeObject][] {
    return [...(this.#objects.get(typeKey) ?? new Map<string, KubeObject>()).entries()].sort(byKey);
  }

  /**
   * The objects of a type as they were at revision `rv` (rebuilt by undoing later events).
   * The caller checks `rv >= compactedRevision`.
   */
  snapshot(typeKey: string, rv: number): [string, KubeObject][] {
    const objects = new Map(this.#objects.get(typeKey) ?? []);
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const event = this.#history[i]!;
      if (event.rv <= rv) break;
      if (event.typeKey !== typeKey) continue;
      if (event.prev === undefined) objects.delete(event.key);
      else objects.set(event.key, event.prev);
    }
    return [...objects.entries()].sort(byKey);
  }

  /** The recorded events after `rv`, oldest first (the caller checks compaction). */
  eventsAfter(rv: number): StoredEvent[] {
    let lo = 0;
    let hi = this.#history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#history[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.#history.slice(lo);
  }

  /**
   * Writes `object` (undefined deletes) at the next revision, stamping its
   * metadata.resourceVersion, and tells the listeners. Returns the stored object.
   */
  write(typeKey: string, key: string, object: KubeObject | undefined): KubeObject {
    const prev = this.get(typeKey, key);
    this.#revision += 1;
    const rv = this.#revision;
    let type: EventType;
    let stored: KubeObject;
    if (object === undefined) {
      if (prev === undefined) throw new Error(`delete of a missing object ${typeKey} ${key}`);
      type = 'DELETED';
      // The DELETED event carries the last state, at the deletion's revision (as etcd3's watcher).
      stored = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
      this.#objects.get(typeKey)?.delete(key);
    } else {
      type = prev === undefined ? 'ADDED' : 'MODIFIED';
      stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
      let objects = this.#objects.get(typeKey);
      if (objects === undefined) {
        objects = new Map();
        this.#objects.set(typeKey, objects);
      }
      objects.set(key, stored);
    }
    deepFreeze(stored);
    const event: StoredEvent = { rv, type, typeKey, key, object: stored, ...(prev === undefined ? {} : { prev }) };
    this.#history.push(event);
    for (const listener of [...this.#listeners]) listener(event);
    return stored;
  }

  /** Forgets the history: resuming from any revision before now is 410 Gone. */
  compact(): void {
    this.#compacted = this.#revision;
    this.#history = [];
  }

  /** Calls `listener` with every later write; returns the unsubscribe function. */
  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function byKey(a: [string, KubeObject], b: [string, KubeObject]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** A mutable deep copy of a stored (frozen) object. */
export function cloneObject<T>(value: T): T {
  return structuredClone(value);
}
