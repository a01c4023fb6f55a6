// The order of one process's calls on its attachments. A warm agent serves many calls at
// once and runs their kernel work outside the datastore's turn, so two calls on the same
// attachment (an ADD and the DEL a runtime sends after timing it out) must not overlap:
// the DEL would remove links the ADD has not made yet, free the address, and the ADD's
// links would then outlive both. GC walks every attachment, so it runs alone.

const settledOf = (promise: Promise<unknown>): Promise<void> =>
  promise.then(
    () => undefined,
    () => undefined,
  );

/**
 * Calls on one attachment run one after another, in the order they came; calls on
 * different attachments run at the same time; an exclusive call waits for every call
 * before it and holds back every call after it. A failed call does not stop the next.
 */
export class CallOrder {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #running = new Set<Promise<void>>();
  #exclusive: Promise<void> = Promise.resolve();

  /** Runs `fn` once the calls before it on `key`, and any exclusive call before it, are over. */
  attachment<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = [this.#exclusive, this.#tails.get(key)];
    const run = Promise.all(before).then(fn);
    const tail = settledOf(run);
    this.#tails.set(key, tail);
    this.#running.add(tail);
    void tail.then(() => {
      this.#running.delete(tail);
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }

  /** Runs `fn` alone: after every call before it, before any call after it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = Promise.all([this.#exclusive, ...this.#running]).then(fn);
    this.#exclusive = settledOf(run);
    return run;
  }
}
