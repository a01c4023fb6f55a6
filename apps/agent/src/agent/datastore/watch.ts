// Watching a store by polling. A store that offers `changeToken` (SQLite: a token that
// moves whenever any process commits) is re-listed only when its token moved; one without
// is re-listed every poll. Entries are diffed by revision against what the handler last
// took, into one batch of upserts and deletes (a delete carries the last value seen).
import { type Store, type StoreEntry } from '@twill/ipam';

import { type AgentLogger, type ResourceWatch } from '../ports.js';

/** How often a watch polls by default, in milliseconds. */
export const DEFAULT_POLL_MS = 50;

/** One change of an entry: the entry after an upsert, the last one seen before a delete. */
export interface EntryChange {
  readonly type: 'upsert' | 'delete';
  readonly entry: StoreEntry;
}

/** What {@link startPollingWatch} needs. */
export interface PollingWatchOptions {
  readonly store: Store;
  /** Every entry watched, read now (in any order; keys are unique). */
  readonly list: () => Promise<readonly StoreEntry[]>;
  /** Takes one batch; a throw (or rejection) is logged and the same changes come again next poll. */
  readonly handler: (changes: readonly EntryChange[]) => void | Promise<void>;
  /** Milliseconds between polls (default {@link DEFAULT_POLL_MS}). */
  readonly pollMs?: number;
  readonly logger: AgentLogger;
  /** For logs: what is watched. */
  readonly what: string;
}

/** A running polling watch (see {@link startPollingWatch}). */
export interface PollingWatch extends ResourceWatch {
  /** Polls as soon as the current poll (if any) is over, instead of after the interval. */
  kick(): void;
}

/** The changes from `known` to `current`, in key order (upserts and deletes merged). */
export function diffEntries(known: ReadonlyMap<string, StoreEntry>, current: ReadonlyMap<string, StoreEntry>): EntryChange[] {
  const changes: EntryChange[] = [];
  for (const [key, entry] of current) {
    if (known.get(key)?.revision !== entry.revision) changes.push({ type: 'upsert', entry });
  }
  for (const [key, entry] of known) {
    if (!current.has(key)) changes.push({ type: 'delete', entry });
  }
  return changes.sort((a, b) => (a.entry.key < b.entry.key ? -1 : a.entry.key > b.entry.key ? 1 : 0));
}

class Poller implements PollingWatch {
  readonly #options: PollingWatchOptions;
  readonly #pollMs: number;
  #known = new Map<string, StoreEntry>();
  #token: string | undefined;
  #delivered = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: PollingWatchOptions) {
    this.#options = options;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  }

  /** The first poll; resolves once its batch was handed to the handler. */
  async first(): Promise<void> {
    // The first listing's failure is the caller's (a store that cannot be read at all).
    const token = await this.#options.store.changeToken?.();
    const entries = await this.#options.list();
    await this.#deliver(token, entries);
    this.#schedule(this.#pollMs);
  }

  kick(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    // Unref'd: a watch alone does not keep the process alive.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#poll().finally(() => {
        this.#running = undefined;
        const again = this.#again;
        this.#again = false;
        this.#schedule(again ? 0 : this.#pollMs);
      });
    }, ms);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    try {
      const token = await this.#options.store.changeToken?.();
      // Read the token before listing: a commit after the read moves it, so it is seen next poll.
      if (this.#delivered && token !== undefined && token === this.#token) return;
      const entries = await this.#options.list();
      await this.#deliver(token, entries);
    } catch (error) {
      this.#options.logger.error({ err: error, watch: this.#options.what }, 'watch: reading the store failed; trying again next poll');
    }
  }

  async #deliver(token: string | undefined, entries: readonly StoreEntry[]): Promise<void> {
    const current = new Map(entries.map((entry) => [entry.key, entry]));
    const changes = diffEntries(this.#known, current);
    if (this.#closed) return;
    // The first batch is the current state, even when empty: the handler learns it is in sync.
    if (changes.length > 0 || !this.#delivered) {
      try {
        await this.#options.handler(changes);
      } catch (error) {
        // Neither the token nor the known entries move: the next poll finds the same changes.
        this.#options.logger.error({ err: error, watch: this.#options.what, changes: changes.length }, 'watch: the handler failed; the changes come again next poll');
        return;
      }
    }
    this.#known = current;
    this.#token = token;
    this.#delivered = true;
  }
}

/**
 * Starts watching the entries `options.list` reads: the handler gets the current entries
 * as upserts first (one batch, possibly empty), then the changes seen at each poll, one
 * call at a time. Resolves after the first batch was handed over (a handler that threw on
 * it is logged and gets it again next poll).
 * @throws what `options.list` or the store's `changeToken` throws on the first poll.
 */
export async function startPollingWatch(options: PollingWatchOptions): Promise<PollingWatch> {
  const poller = new Poller(options);
  await poller.first();
  return poller;
}
