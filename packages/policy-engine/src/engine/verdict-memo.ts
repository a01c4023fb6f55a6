// A compiled direction's memo of decided verdicts (see `decideKept` in index-evaluate.ts).
//
// Why not a `Map`: the key (identity, networks, protocol, port) needs more than 31
// bits, so a `Map<number, ...>` boxes every key into a heap number and hashes it as a
// double: the lookup was a third of a flow's cost in the bench. Here the key is kept
// unboxed in a Float64Array, open addressing with linear probing, and the caller
// hashes the key's small-integer parts (cheaper than taking the double apart).

import { type IndexDirectionVerdict } from './compiled-rules.js';

const FIRST_SLOTS = 16;
/** The most slots a memo has; when half of them are used it starts over. */
const MAX_SLOTS = 8_192;
const EMPTY = -1;

/** Verdicts by a non-negative integer key below 2^53 and a 32-bit hash of it (equal keys, equal hashes). */
export class VerdictMemo {
  #keys = new Float64Array(FIRST_SLOTS).fill(EMPTY);
  #hashes = new Int32Array(FIRST_SLOTS);
  #values: (IndexDirectionVerdict | undefined)[] = new Array<IndexDirectionVerdict | undefined>(FIRST_SLOTS).fill(undefined);
  #size = 0;

  /** The verdict kept under `key`, if any. */
  get(key: number, hash: number): IndexDirectionVerdict | undefined {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const found = keys[i] as number;
      if (found === key) return this.#values[i];
      if (found === EMPTY) return undefined;
    }
  }

  /** Keeps `verdict` under `key`, which must not be kept already. */
  set(key: number, hash: number, verdict: IndexDirectionVerdict): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const mask = keys.length - 1;
    let i = hash & mask;
    while (keys[i] !== EMPTY) i = (i + 1) & mask;
    keys[i] = key;
    this.#hashes[i] = hash;
    this.#values[i] = verdict;
    this.#size += 1;
  }

  #grow(): void {
    const keys = this.#keys;
    const hashes = this.#hashes;
    const values = this.#values;
    // At the bound, start over: a stream of distinct flows must not grow it without end.
    const slots = keys.length >= MAX_SLOTS ? FIRST_SLOTS : keys.length * 2;
    this.#keys = new Float64Array(slots).fill(EMPTY);
    this.#hashes = new Int32Array(slots);
    this.#values = new Array<IndexDirectionVerdict | undefined>(slots).fill(undefined);
    this.#size = 0;
    if (slots === FIRST_SLOTS) return;
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i] as number;
      const value = values[i];
      if (key !== EMPTY && value !== undefined) this.set(key, hashes[i] as number, value);
    }
  }
}
