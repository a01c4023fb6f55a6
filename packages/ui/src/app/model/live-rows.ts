// The flows table's rows while following live: the newest `limit` kept flows a filter
// accepts, updated from the flows added since the last update only (a draw reads the
// few dozen new flows, not the thousands kept), and the same array when nothing changed
// (so the table does not draw again). Rows whose flow the store forgot leave, as they
// would from a fresh scan. Pure.
import { type FlowStore } from './flow-store.js';
import { type UiFlow } from './types.js';

/** The rows of a filter over a store, kept up to date incrementally. */
export class LiveRows {
  readonly #limit: number;
  readonly #keep: (flow: UiFlow) => boolean;
  /** The rows' sequence numbers in the store, newest first. */
  #seqs: number[] = [];
  #rows: readonly UiFlow[] = [];
  /** The store's `added` when last read. */
  #seen = 0;

  /** `limit`: the most rows; `keep`: the filter. */
  constructor(limit: number, keep: (flow: UiFlow) => boolean) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer (got ${limit})`);
    this.#limit = limit;
    this.#keep = keep;
  }

  /** The rows, newest first, after reading what `store` added since the last call; the previous array when they did not change. */
  update(store: FlowStore): readonly UiFlow[] {
    const added = store.added;
    const oldest = store.oldest;
    // Only the new flows are read, newest first, down to the last one seen (or the oldest kept).
    const fresh: number[] = [];
    for (let seq = added - 1; seq >= Math.max(this.#seen, oldest) && fresh.length < this.#limit; seq--) {
      if (this.#keep(store.at(seq)!)) fresh.push(seq);
    }
    this.#seen = added;
    const kept = this.#seqs.filter((seq) => seq >= oldest);
    if (fresh.length === 0 && kept.length === this.#seqs.length) return this.#rows;
    this.#seqs = fresh.concat(kept).slice(0, this.#limit);
    this.#rows = this.#seqs.map((seq) => store.at(seq)!);
    return this.#rows;
  }
}
