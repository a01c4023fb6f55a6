// Test helper: ring buffer memory in a plain buffer, and timers the test advances by hand.
import { type PollScheduler } from '../../src/ringbuf/reader.js';
import { type RingMemory, recordSpan } from '../../src/ringbuf/records.js';

/**
 * A ring in plain memory that behaves like the kernel's: the data area is written
 * through a mask and mirrored, as the double mapping makes it appear.
 */
export class FakeRing implements RingMemory {
  readonly data: Uint8Array;
  producer = 0n;
  consumer = 0n;
  /** Consumer positions stored, in order. */
  readonly stores: bigint[] = [];

  constructor(readonly size: number) {
    this.data = new Uint8Array(2 * size);
  }

  loadProducer(): bigint {
    return this.producer;
  }
  loadConsumer(): bigint {
    return this.consumer;
  }
  storeConsumer(position: bigint): void {
    this.consumer = position;
    this.stores.push(position);
  }
  loadLength(offset: number): number {
    return new DataView(this.data.buffer).getUint32(offset, true);
  }

  #write(position: bigint, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 1) {
      const at = Number((position + BigInt(i)) % BigInt(this.size));
      this.data[at] = bytes[i]!;
      this.data[at + this.size] = bytes[i]!;
    }
  }

  /** Reserves and writes a record with `flags` in its header (busy, discard, or 0 for committed). */
  push(payload: Uint8Array, flags = 0): bigint {
    const position = this.producer;
    if (position + BigInt(recordSpan(payload.length)) - this.consumer > BigInt(this.size)) throw new Error('full');
    const header = new Uint8Array(8);
    new DataView(header.buffer).setUint32(0, (payload.length | flags) >>> 0, true);
    this.#write(position, header);
    this.#write(position + 8n, payload);
    this.producer += BigInt(recordSpan(payload.length));
    return position;
  }

  /** Changes the header flags of the record at `position` (commit = 0). */
  setFlags(position: bigint, length: number, flags: number): void {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, (length | flags) >>> 0, true);
    this.#write(position, header);
  }
}

/** A {@link PollScheduler} whose timers run only when the test says. */
export class ManualScheduler implements PollScheduler {
  #next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number | 'immediate' }>();

  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(this.#next, { fn, ms });
    return this.#next++;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  setImmediate(fn: () => void): unknown {
    this.pending.set(this.#next, { fn, ms: 'immediate' });
    return this.#next++;
  }
  clearImmediate(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** What is scheduled: `immediate`, a delay in ms, or nothing. */
  get scheduled(): number | 'immediate' | undefined {
    const [entry] = this.pending.values();
    return entry?.ms;
  }

  /** Runs the one scheduled callback. */
  tick(): void {
    const [entry] = this.pending.entries();
    if (!entry) throw new Error('nothing is scheduled');
    this.pending.delete(entry[0]);
    entry[1].fn();
  }
}
