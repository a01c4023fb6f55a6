// A reliable informer for one API collection: list, then watch from the list's
// resourceVersion with bookmarks; when the stream ends, resume from the last
// resourceVersion seen (bookmarks included); on 410 Gone, list again and diff the new list
// against the cache, so a delete missed during the gap becomes a delete event and nothing
// already seen is delivered twice; on errors, exponential backoff with jitter, logged once
// per streak.
//
// Why not client-node's ListWatch (cache.js, 1.4): it never asks for bookmarks (so after a
// quiet period it resumes from an old resourceVersion and gets 410 more often), and on any
// error other than 410 it calls its error handlers and stops for good (no retry, no
// backoff). Its Watch (watch.js) is what we use for the stream: it streams lines, gives
// each event, and calls `done` once when the stream ends, fails or is aborted.
import * as k8s from '@kubernetes/client-node';

import { type AgentLogger } from '../../ports.js';
import { type KubeObject, objectKey } from '../kinds.js';
import { KubeApiError, type KubeApiClient } from './api-client.js';

/** What the informer keeps of each object: at least its name, namespace and resourceVersion. */
export interface InformedObject {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion: string };
}

/** One change: the object after an upsert, the last one seen before a delete. */
export interface InformerEvent<T> {
  readonly type: 'upsert' | 'delete';
  readonly key: string;
  readonly object: T;
}

/** Options of {@link Informer}. */
export interface InformerOptions<T extends InformedObject> {
  readonly client: KubeApiClient;
  readonly kubeConfig: k8s.KubeConfig;
  /** The collection path: `/api/v1/pods`, `/apis/twill.io/v1alpha1/ippools`. */
  readonly path: string;
  /** For logs and errors: `pods`, `ippools.twill.io/v1alpha1`. */
  readonly what: string;
  /** What to keep of each API object (called once per object version). */
  readonly transform: (object: KubeObject) => T;
  /** Takes each batch of changes, synchronously, in the order the server made them. */
  readonly onEvents: (events: readonly InformerEvent<T>[]) => void;
  readonly logger: AgentLogger;
  /** First retry delay in ms (default 200), doubled per failure up to `maxBackoffMs` (default 30,000), with jitter. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Items per LIST page (default 500). */
  readonly pageSize?: number;
  /** How long one LIST page may take, in milliseconds (default: the client's timeout). The watch stream has none. */
  readonly listTimeoutMs?: number;
}

interface ListPage {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: readonly KubeObject[];
}

// How a watch stream ended: on its own, with 410 Gone, or given up because an event could
// not be taken (the transform threw): the last two list again.
type WatchEnd = 'ended' | 'gone' | 'relist';

/** An object the informer's transform threw on. */
class TransformError extends Error {
  override readonly name = 'TransformError';
}

const isGone = (error: unknown): boolean =>
  (error instanceof KubeApiError && error.status.code === 410) || (error as { statusCode?: number } | null)?.statusCode === 410;

/** A list-then-watch cache of one collection (see the module comment). */
export class Informer<T extends InformedObject> {
  readonly #options: InformerOptions<T>;
  readonly #cache = new Map<string, T>();
  #resourceVersion = '';
  #synced = false;
  #stopped = false;
  #abort: AbortController | undefined;
  // Aborts the LIST in flight (stop()).
  readonly #listAbort = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(options: InformerOptions<T>) {
    this.#options = options;
  }

  /**
   * Lists and starts watching. With `failFast` (the default), resolves once the first
   * list is in the cache and rejects with the first list's failure (the informer is then
   * stopped); without, resolves at once and keeps retrying in the background.
   */
  async start(options: { failFast?: boolean } = {}): Promise<void> {
    if (options.failFast ?? true) {
      try {
        await this.#list();
      } catch (error) {
        this.#stopped = true;
        throw error;
      }
    }
    this.#loop = this.#run();
  }

  /** Whether the cache holds a full list (it stays true while the watch recovers). */
  synced(): boolean {
    return this.#synced;
  }

  /** The last resourceVersion seen (a list's, an event's or a bookmark's). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  values(): T[] {
    return [...this.#cache.values()];
  }

  /** Resolves when `ready()` is true (checked after each change), or after `timeoutMs`; true when it became true. */
  async waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return true;
    return new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (!ready() && !this.#stopped) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ready());
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        resolve(ready());
      }, timeoutMs);
      timer.unref();
      this.#waiters.add(check);
    });
  }

  /** Stops watching (the cache stays as it was). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    this.#listAbort.abort();
    this.#wake?.();
    for (const waiter of [...this.#waiters]) waiter();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let needList = !this.#synced;
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (needList) {
          await this.#list();
          needList = false;
          failures = this.#recovered(failures);
        }
        const started = Date.now();
        const before = this.#resourceVersion;
        const end = await this.#watch();
        if (end === 'gone') {
          this.#options.logger.info({ informer: this.#options.what, resourceVersion: before }, 'informer: the watch history is gone (410): listing again');
          needList = true;
        } else if (end === 'relist') {
          // An event could not be taken (logged): list again, after a pause, not to spin on it.
          needList = true;
          await this.#sleep(this.#backoff(1));
          continue;
        } else if (this.#resourceVersion === before && Date.now() - started < 1000) {
          // A stream that ends at once without news: a server refusing quietly; do not spin.
          await this.#sleep(this.#backoff(1));
          continue;
        }
        failures = this.#recovered(failures);
      } catch (error) {
        if (this.#stopped) break;
        if (isGone(error)) {
          needList = true;
          continue;
        }
        failures += 1;
        const delay = this.#backoff(failures);
        const fields = { informer: this.#options.what, err: error, retryMs: Math.round(delay), failures };
        if (failures === 1) this.#options.logger.warn(fields, `informer: ${(error as Error).message}; retrying with backoff`);
        else this.#options.logger.debug(fields, 'informer: still failing');
        await this.#sleep(delay);
      }
    }
  }

  // Ends a streak of failures (logged once at its start), saying so.
  #recovered(failures: number): number {
    if (failures > 0) this.#options.logger.info({ informer: this.#options.what, failures }, 'informer: recovered');
    return 0;
  }

  #backoff(failures: number): number {
    const initial = this.#options.initialBackoffMs ?? 200;
    const max = this.#options.maxBackoffMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(failures - 1, 30));
    return base * (0.5 + Math.random() * 0.5);
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  // One full LIST (every page), diffed against the cache into one batch.
  async #list(): Promise<void> {
    const items: KubeObject[] = [];
    let resourceVersion = '';
    let next: string | undefined;
    do {
      const page = await this.#options.client.request<ListPage>('GET', this.#options.path, {
        query: { limit: String(this.#options.pageSize ?? 500), continue: next },
        signal: this.#listAbort.signal,
        ...(this.#options.listTimeoutMs === undefined ? {} : { timeoutMs: this.#options.listTimeoutMs }),
      });
      if (next === undefined) resourceVersion = page.metadata?.resourceVersion ?? '';
      items.push(...(page.items ?? []));
      next = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
    } while (next !== undefined && !this.#stopped);
    if (this.#stopped) return;
    const events: InformerEvent<T>[] = [];
    const seen = new Set<string>();
    // Every object is taken before the cache changes: a list the transform throws on
    // leaves the cache as it was, for the next list to diff against.
    for (const item of items) {
      const key = objectKey(item.metadata?.namespace, item.metadata?.name ?? '');
      seen.add(key);
      if (this.#cache.get(key)?.metadata.resourceVersion === item.metadata?.resourceVersion) continue;
      const object = this.#transform(item);
      if (object === undefined) throw new TransformError(`cannot take ${key} (resourceVersion ${item.metadata?.resourceVersion ?? '?'}): the transform threw`);
      events.push({ type: 'upsert', key, object });
    }
    for (const event of events) this.#cache.set(event.key, event.object);
    for (const [key, object] of this.#cache) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      events.push({ type: 'delete', key, object });
    }
    this.#resourceVersion = resourceVersion;
    this.#synced = true;
    this.#emit(events);
  }

  // One watch stream, from the last resourceVersion, until it ends.
  async #watch(): Promise<WatchEnd> {
    const watch = new k8s.Watch(this.#options.kubeConfig);
    return new Promise<WatchEnd>((resolve, reject) => {
      let gone = false;
      let relist = false;
      let failure: unknown;
      const onEvent = (type: string, object: KubeObject & { code?: number; reason?: string; message?: string }): void => {
        if (this.#stopped || gone || relist || failure !== undefined) return;
        if (type === 'ERROR') {
          if (object.code === 410) gone = true;
          else failure = new KubeApiError('WATCH', this.#options.path, { code: object.code ?? 500, reason: object.reason ?? '', message: object.message ?? 'watch error' });
          this.#abort?.abort();
          return;
        }
        const rv = object.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (rv !== undefined) this.#resourceVersion = rv;
          this.#notify();
          return;
        }
        const key = objectKey(object.metadata?.namespace, object.metadata?.name ?? '');
        const known = this.#cache.get(key);
        if (type === 'DELETED') {
          this.#cache.delete(key);
          if (rv !== undefined) this.#resourceVersion = rv;
          this.#emit(known === undefined ? [] : [{ type: 'delete', key, object: known }]);
        } else if (type === 'ADDED' || type === 'MODIFIED') {
          if (known?.metadata.resourceVersion === rv) {
            if (rv !== undefined) this.#resourceVersion = rv;
            return;
          }
          // The resourceVersion moves only once the object is taken: an event the
          // transform throws on is not skipped, but read again by a new list.
          const transformed = this.#transform(object);
          if (transformed === undefined) {
            relist = true;
            this.#abort?.abort();
            return;
          }
          if (rv !== undefined) this.#resourceVersion = rv;
          this.#cache.set(key, transformed);
          this.#emit([{ type: 'upsert', key, object: transformed }]);
        }
      };
      const done = (error: unknown): void => {
        this.#abort = undefined;
        if (relist) resolve('relist');
        else if (gone || isGone(error)) resolve('gone');
        else if (failure !== undefined) reject(failure);
        else if (error !== null && error !== undefined && !this.#stopped) reject(error);
        else resolve('ended');
      };
      watch
        .watch(this.#options.path, { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true }, onEvent, done)
        .then((controller: AbortController) => {
          this.#abort = controller;
          if (this.#stopped) controller.abort();
        })
        .catch(reject);
    });
  }

  // The transform's result, or `undefined` (logged) when it threw.
  #transform(object: KubeObject): T | undefined {
    try {
      return this.#options.transform(object);
    } catch (error) {
      const { name, namespace, resourceVersion } = object.metadata ?? {};
      this.#options.logger.error({ informer: this.#options.what, name, namespace, resourceVersion, err: error }, 'informer: cannot take an object (the transform threw); listing again');
      return undefined;
    }
  }

  #emit(events: readonly InformerEvent<T>[]): void {
    if (events.length > 0) {
      try {
        this.#options.onEvents(events);
      } catch (error) {
        this.#options.logger.error({ informer: this.#options.what, err: error }, 'informer: the event handler threw');
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
