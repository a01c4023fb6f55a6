// The Kubernetes store's change token: one watch per store CRD, and a counter that moves
// on every event they deliver (and on the store's own commits, which the store reports).
// While any watch is not running (starting again after its stream ended, or after 410
// Gone), nothing can be told: every token is new, so pollers re-list at every poll, as
// the Store port asks of adapters that cannot tell.
import type * as k8s from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';

import { type AgentLogger } from '../../ports.js';
import { ALL_STORE_KINDS, type StoreKind, TWILL_GROUP, TWILL_VERSION } from '../store-names.js';

/** What the watches need of the API besides the watch itself: the current resourceVersion of a kind. */
export interface ChangeWatchOptions {
  readonly kubeConfig: k8s.KubeConfig;
  /** The collection's resourceVersion now (a LIST with limit 1). */
  readonly currentVersion: (kind: StoreKind) => Promise<string>;
  readonly logger: AgentLogger;
  /** The longest wait before a watch starts again, in milliseconds (default 5000; the first is 50). */
  readonly maxBackoffMs?: number;
}

interface KindWatch {
  readonly kind: StoreKind;
  /** The resourceVersion to resume from (`undefined`: list first). */
  resourceVersion: string | undefined;
  controller: AbortController | undefined;
  running: boolean;
  /** Starts in a row that ended before any event (or before HEALTHY_MS): the backoff's exponent. */
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

// A watch that ran this long counts as healthy even without an event: its end does not
// add to the backoff.
const HEALTHY_MS = 10_000;

/** Watches the store's four CRDs and keeps the change counter. */
export class StoreChangeWatch {
  readonly #options: ChangeWatchOptions;
  readonly #watch: Watch;
  readonly #kinds: KindWatch[];
  #counter = 0;
  #closed = false;

  private constructor(options: ChangeWatchOptions) {
    this.#options = options;
    this.#watch = new Watch(options.kubeConfig);
    this.#kinds = ALL_STORE_KINDS.map((kind) => ({ kind, resourceVersion: undefined, controller: undefined, running: false, failures: 0, timer: undefined }));
  }

  /**
   * Starts the four watches; resolves once each has been tried once (a watch that could
   * not start keeps trying in the background, and tokens are new until it runs).
   */
  static async start(options: ChangeWatchOptions): Promise<StoreChangeWatch> {
    const watch = new StoreChangeWatch(options);
    try {
      await Promise.all(watch.#kinds.map((kind) => watch.#run(kind)));
    } catch (error) {
      // Nothing is returned to close: stop the watches and timers that did start.
      watch.close();
      throw error;
    }
    return watch;
  }

  /** Something changed (a commit of this store's own). */
  bump(): void {
    this.#counter++;
  }

  /** The token now: equal tokens mean no event in between, while every watch runs. */
  token(): string {
    if (this.#kinds.some((k) => !k.running)) this.#counter++;
    return String(this.#counter);
  }

  /** Stops every watch. */
  close(): void {
    this.#closed = true;
    for (const kind of this.#kinds) {
      clearTimeout(kind.timer);
      kind.controller?.abort();
      kind.running = false;
    }
  }

  async #run(state: KindWatch): Promise<void> {
    if (this.#closed) return;
    const { kind } = state;
    try {
      state.resourceVersion ??= await this.#options.currentVersion(kind);
    } catch (error) {
      this.#retry(state, error);
      return;
    }
    let ended = false;
    // Whether the stream has shown it works: an event (a bookmark too) arrived.
    let healthy = false;
    const started = Date.now();
    const path = `/apis/${TWILL_GROUP}/${TWILL_VERSION}/${kind.plural}`;
    // `done` may run before Watch.watch returns (when the request fails), so it must not
    // refer to the controller returned: a watch calls it once, and only then does the next
    // watch of the kind start.
    let controller: AbortController;
    try {
      controller = await this.#watch.watch(
        path,
        { resourceVersion: state.resourceVersion, allowWatchBookmarks: true },
        (type: string, object: { metadata?: { resourceVersion?: string }; code?: number }) => {
          if (type === 'ERROR') {
            // 410 Gone (the resourceVersion was compacted away) or another failure: list again.
            state.resourceVersion = undefined;
            this.#counter++;
            return;
          }
          healthy = true;
          const version = object.metadata?.resourceVersion;
          if (version !== undefined) state.resourceVersion = version;
          if (type !== 'BOOKMARK') this.#counter++;
        },
        (error: unknown) => {
          ended = true;
          state.controller = undefined;
          state.running = false;
          // Events may have been missed until the watch runs again.
          this.#counter++;
          if ((error as { statusCode?: number } | null)?.statusCode === 410) state.resourceVersion = undefined;
          // A stream the server accepts and ends at once backs off like a failure; only
          // one that worked starts the backoff over.
          if (healthy || Date.now() - started >= HEALTHY_MS) state.failures = 0;
          this.#retry(state, error);
        },
      );
    } catch (error) {
      // Watch.watch throws before sending (credentials, a token file, a CA it cannot read).
      if (!ended) this.#retry(state, error);
      return;
    }
    if (ended || this.#closed) {
      if (this.#closed) controller.abort();
      return;
    }
    state.controller = controller;
    state.running = true;
  }

  #retry(state: KindWatch, error: unknown): void {
    if (this.#closed) return;
    state.failures++;
    const delay = Math.min(this.#options.maxBackoffMs ?? 5000, 50 * 2 ** Math.min(state.failures - 1, 10));
    if (error !== null && error !== undefined) {
      this.#options.logger.warn({ kind: state.kind.plural, err: error, retryInMs: delay }, 'Kubernetes store: watch failed, starting it again');
    } else {
      this.#options.logger.debug({ kind: state.kind.plural, retryInMs: delay }, 'Kubernetes store: watch ended, starting it again');
    }
    clearTimeout(state.timer);
    state.timer = setTimeout(() => void this.#run(state), delay);
    state.timer.unref();
  }
}
