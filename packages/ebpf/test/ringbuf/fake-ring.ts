// Test helper: ring buffer memory in a plain buffer, and wakeups the test sends by hand.
import { type ReadinessWatch, type WatchRing } from '../../src/ringbuf/reader.js';
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

/** Readiness the test signals by hand, in place of the kernel's epoll wakeups. */
export class ManualWakeup {
  #onReady: ((error?: unknown) => void) | undefined;
  /** Watches started so far. */
  started = 0;

  /** The {@link WatchRing} to give the reader. */
  readonly watch: WatchRing = (onReady) => {
    if (this.#onReady) throw new Error('watched twice at once');
    this.started += 1;
    this.#onReady = onReady;
    const watch: ReadinessWatch = {
      close: () => {
        if (this.#onReady === onReady) this.#onReady = undefined;
      },
    };
    return watch;
  };

  /** Whether the reader is watching now. */
  get watching(): boolean {
    return this.#onReady !== undefined;
  }

  /** One wakeup, as the event loop gives one per turn while the ring is readable. */
  wake(error?: unknown): void {
    if (!this.#onReady) throw new Error('the reader is not watching');
    this.#onReady(error);
  }
}
