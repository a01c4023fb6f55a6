// Test helpers for watches: a handler that queues batches and lets a test await the next
// one (no sleeping: the test waits for what it expects, bounded by the test timeout).
import { type Store } from '@twill/ipam';

import { type AgentLogger } from '../../../src/agent/ports.js';

/** Batches a handler received, and a way to wait for more. */
export class Batches<E> {
  readonly received: (readonly E[])[] = [];
  #waiters: (() => void)[] = [];

  /** The handler to pass to `watch`/`watchEntries`. */
  readonly handler = (events: readonly E[]): void => {
    this.received.push(events);
    for (const wake of this.#waiters.splice(0)) wake();
  };

  /** Waits until `count` batches have arrived in all, and gives the last of them. */
  async nth(count: number): Promise<readonly E[]> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.received[count - 1] ?? [];
  }

  /** Waits until the events received so far satisfy `done`, and gives them all, flattened. */
  async until(done: (events: readonly E[]) => boolean): Promise<readonly E[]> {
    for (;;) {
      const all = this.received.flat();
      if (done(all)) return all;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

/** A logger that keeps what it was given. */
export function recordingLogger(): AgentLogger & { readonly lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string): void => {
    lines.push({ level, msg, obj });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A Store that counts the calls made through it (its watches' polls), over another one. */
export function countingStore(inner: Store): Store & { readonly calls: { list: number; changeToken: number }; atLeast(what: 'list' | 'changeToken', count: number): Promise<void> } {
  const calls = { list: 0, changeToken: 0 };
  let waiters: (() => void)[] = [];
  const counted = (what: 'list' | 'changeToken'): void => {
    calls[what]++;
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  const store: Store & { calls: typeof calls; atLeast(what: 'list' | 'changeToken', count: number): Promise<void> } = {
    calls,
    get: (key) => inner.get(key),
    list: (prefix) => (counted('list'), inner.list(prefix)),
    commit: (ops) => inner.commit(ops),
    close: () => inner.close(),
    async atLeast(what, count) {
      while (calls[what] < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
  if (inner.changeToken !== undefined) {
    const token = inner.changeToken.bind(inner);
    store.changeToken = () => (counted('changeToken'), token());
  }
  return store;
}
