// One datastore watch's delivery: changes are queued as the informers see them and handed
// to the handler in batches, one call at a time (the next batch waits for the handler's
// promise), as ports.ts's `watch` promises. A handler that throws is logged and gets the
// same changes again (with any newer ones after them) after a pause. Pure.
import { type AgentLogger } from '../ports.js';

/** Options of {@link WatchQueue}. */
export interface WatchQueueOptions<E> {
  readonly handler: (events: readonly E[]) => void | Promise<void>;
  readonly logger: AgentLogger;
  /** For logs: what is watched. */
  readonly what: string;
  /** Milliseconds before a failed batch is offered again (default 200). */
  readonly retryMs?: number;
}

/** The serialised, batched delivery of one watch. */
export class WatchQueue<E> {
  readonly #options: WatchQueueOptions<E>;
  #pending: E[] = [];
  #first: E[] | undefined;
  #running: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: WatchQueueOptions<E>) {
    this.#options = options;
  }

  /**
   * Hands over the first batch (the current objects; delivered even when empty) and
   * resolves once the handler took it (a handler that threw on it is logged and gets it
   * again later).
   */
  async start(first: readonly E[]): Promise<void> {
    this.#first = [...first];
    await this.#drain();
  }

  /** Queues changes; delivered once the handler is free. */
  push(events: readonly E[]): void {
    if (this.#closed || events.length === 0) return;
    this.#pending.push(...events);
    if (this.#running === undefined && this.#retry === undefined && this.#first === undefined) void this.#drain();
  }

  /** Stops delivering; resolves once the handler call in flight (if any) is over. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#running;
  }

  #drain(): Promise<void> {
    if (this.#running !== undefined) return this.#running;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#closed && (this.#first !== undefined || this.#pending.length > 0)) {
      const isFirst = this.#first !== undefined;
      const batch = isFirst ? [...(this.#first ?? []), ...this.#pending] : this.#pending;
      this.#first = undefined;
      this.#pending = [];
      try {
        await this.#options.handler(batch);
      } catch (error) {
        this.#options.logger.error({ err: error, watch: this.#options.what, changes: batch.length }, 'watch: the handler failed; the changes come again');
        // Back in front of anything that came meanwhile, the first batch still marked first.
        if (isFirst) this.#first = batch;
        else this.#pending = [...batch, ...this.#pending];
        this.#scheduleRetry();
        return;
      }
    }
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#drain();
    }, this.#options.retryMs ?? 200);
    this.#retry.unref();
  }
}
