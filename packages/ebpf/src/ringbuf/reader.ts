/**
 * Reading a ring buffer map from Node without blocking the event loop: a poll loop that
 * reads a bounded batch per tick, goes again on `setImmediate` while records keep
 * coming, and backs off on a timer (doubling up to `maxDelay`) while the ring is idle.
 *
 * The kernel can wake a reader through epoll on the map's fd; that needs `epoll_wait`
 * from `@twill/sys` and is a follow-up. Until then the latency when idle is at most
 * `maxDelay`, and the CPU cost of an idle reader one timer per `maxDelay`.
 */
import { type RingMemory, consumeRecords, pendingBytes } from './records.js';
import { mapRing } from './sys/ring-memory.js';

/** The timers the poll loop uses; injected by tests. */
export interface PollScheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

const defaultScheduler: PollScheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (handle) => clearImmediate(handle as NodeJS.Immediate),
};

/** What {@link RingBufferReader.lost} reports. */
export interface LostEvents {
  /**
   * Records the reader took from the ring and dropped because its queue was full
   * (`overflow: 'drop'` only).
   */
  readonly reader: number;
  /**
   * Records the producer could not write because the ring was full, as `lostCounter`
   * reports them; `undefined` without one. The kernel keeps no such count: a
   * `ringbuf_output` or `ringbuf_reserve` that fails only returns an error to the program,
   * so the program must count its failures (in an array map) for anyone to know.
   */
  readonly producer: bigint | undefined;
  /** Both together. */
  readonly total: bigint;
}

/** Options of {@link RingBufferReader}. */
export interface RingBufferReaderOptions {
  /** Records per tick at most (default 256): bounds the time spent per event loop turn. */
  batchSize?: number;
  /** Milliseconds to wait after a tick that found nothing, at first (default 1). */
  minDelay?: number;
  /** Milliseconds the idle delay doubles up to (default 64). */
  maxDelay?: number;
  /**
   * Called with each record, in order, from the poll loop. Without it, read the records
   * with `for await (const record of reader)`.
   */
  onRecord?: (record: Uint8Array) => void;
  /** Called when `onRecord` throws (default: the reader closes and the error is thrown from the timer). */
  onError?: (error: unknown) => void;
  /** Records the async iterator may hold unread (default 4096). */
  maxQueued?: number;
  /**
   * When the iterator's queue is full: `pause` (default) stops reading the ring, so the
   * ring fills and the producer drops new records; `drop` keeps draining the ring and
   * drops the records that do not fit, counted in {@link LostEvents.reader}.
   */
  overflow?: 'pause' | 'drop';
  /** The producer's count of records it could not write (see {@link LostEvents.producer}). */
  lostCounter?: () => bigint | number;
  /** Timers (default: Node's). */
  scheduler?: PollScheduler;
}

/** A ring buffer map: its fd and its data size (`RingBufferMap` has both). */
export interface RingBufferSource {
  readonly fd: number;
  readonly size: number;
}

/**
 * Reads the records of a ring buffer map in the order they were reserved, through its
 * mmap-ed memory (no syscall per record). Start it with {@link openRingBufferReader}.
 */
export class RingBufferReader implements AsyncIterable<Uint8Array> {
  readonly #memory: RingMemory;
  readonly #release: () => void;
  readonly #batchSize: number;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #maxQueued: number;
  readonly #overflow: 'pause' | 'drop';
  readonly #scheduler: PollScheduler;
  readonly #options: RingBufferReaderOptions;
  readonly #queue: Uint8Array[] = [];
  #waiting: ((result: IteratorResult<Uint8Array>) => void) | undefined;
  #delay: number;
  #timer: { handle: unknown; immediate: boolean } | undefined;
  #closed = false;
  #droppedByReader = 0;
  #discarded = 0;
  #received = 0;

  /**
   * A reader over already mapped memory; `release` unmaps it on close. Most callers want
   * {@link openRingBufferReader}.
   * @throws {RangeError} for a batch size, queue size or delays that are not positive.
   */
  constructor(memory: RingMemory, release: () => void, options: RingBufferReaderOptions = {}) {
    this.#memory = memory;
    this.#release = release;
    this.#options = options;
    this.#batchSize = positive('batchSize', options.batchSize ?? 256);
    this.#minDelay = positive('minDelay', options.minDelay ?? 1);
    this.#maxDelay = Math.max(this.#minDelay, positive('maxDelay', options.maxDelay ?? 64));
    this.#maxQueued = positive('maxQueued', options.maxQueued ?? 4096);
    this.#overflow = options.overflow ?? 'pause';
    this.#scheduler = options.scheduler ?? defaultScheduler;
    this.#delay = this.#minDelay;
    if (options.onRecord) this.#schedule(true);
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Records delivered or queued so far. */
  get received(): number {
    return this.#received;
  }

  /** Discarded records skipped so far (`ringbuf_discard`). */
  get discarded(): number {
    return this.#discarded;
  }

  /** Bytes written by the producer and not read yet. */
  get pendingBytes(): number {
    return this.#closed ? 0 : pendingBytes(this.#memory);
  }

  /** Records lost: dropped by this reader, and by the producer when `lostCounter` says. */
  get lost(): LostEvents {
    const counted = this.#options.lostCounter?.();
    const producer = counted === undefined ? undefined : BigInt(counted);
    return { reader: this.#droppedByReader, producer, total: BigInt(this.#droppedByReader) + (producer ?? 0n) };
  }

  /**
   * Reads up to `max` records now (default: the batch size), synchronously: for callers
   * that run their own loop. Records queued for the iterator come first.
   */
  read(max = this.#batchSize): Uint8Array[] {
    if (this.#closed) return [];
    const out = this.#queue.splice(0, max);
    if (out.length < max) out.push(...this.#consume(max - out.length));
    return out;
  }

  /** Stops the poll loop, ends the iteration and unmaps the ring. Twice does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancel();
    this.#queue.length = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ done: true, value: undefined });
    this.#release();
  }

  /** Closes the reader (`using` declarations). */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The records, in order, as they arrive; ends when the reader is closed. Leaving the
   * loop (`break`, `return`, a throw) closes the reader.
   * @throws {Error} when `onRecord` was given, or when another iteration is waiting.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#options.onRecord) throw new Error('this reader delivers to onRecord; it cannot be iterated');
    return {
      next: () => this.#next(),
      return: () => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  #next(): Promise<IteratorResult<Uint8Array>> {
    const queued = this.#queue.shift();
    if (queued) {
      if (this.#timer === undefined && !this.#closed) this.#schedule(true); // resume after a pause
      return Promise.resolve({ done: false, value: queued });
    }
    if (this.#closed) return Promise.resolve({ done: true, value: undefined });
    if (this.#waiting) return Promise.reject(new Error('another next() is still waiting'));
    return new Promise((resolve) => {
      this.#waiting = resolve;
      if (this.#timer === undefined) this.#schedule(true);
    });
  }

  #consume(max: number): Uint8Array[] {
    const result = consumeRecords(this.#memory, max);
    this.#discarded += result.discarded;
    this.#received += result.records.length;
    return result.records;
  }

  #schedule(now: boolean): void {
    this.#cancel();
    const tick = (): void => {
      this.#timer = undefined;
      this.#tick();
    };
    this.#timer = now
      ? { handle: this.#scheduler.setImmediate(tick), immediate: true }
      : { handle: this.#scheduler.setTimeout(tick, this.#delay), immediate: false };
  }

  #cancel(): void {
    if (this.#timer === undefined) return;
    if (this.#timer.immediate) this.#scheduler.clearImmediate(this.#timer.handle);
    else this.#scheduler.clearTimeout(this.#timer.handle);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#closed) return;
    const iterating = !this.#options.onRecord;
    let room = this.#batchSize;
    if (iterating && this.#overflow === 'pause') {
      room = Math.min(room, this.#maxQueued - this.#queue.length + (this.#waiting ? 1 : 0));
      if (room <= 0) return; // paused: #next resumes the loop when the queue drains
    }
    const records = this.#consume(room);
    // Next turn: at once while records keep coming, later and later while idle.
    if (records.length > 0) this.#delay = this.#minDelay;
    else this.#delay = Math.min(this.#delay * 2, this.#maxDelay);
    const again = records.length === room;
    if (iterating) {
      this.#enqueue(records);
      if (this.#overflow === 'drop' || this.#waiting || this.#queue.length < this.#maxQueued) this.#schedule(again);
    } else {
      this.#schedule(again); // before the callbacks, which may close the reader
      this.#deliver(records);
    }
  }

  #deliver(records: Uint8Array[]): void {
    const onRecord = this.#options.onRecord;
    if (!onRecord) return;
    for (const record of records) {
      if (this.#closed) return;
      try {
        onRecord(record);
      } catch (error) {
        if (this.#options.onError) this.#options.onError(error);
        else {
          this.close();
          throw error;
        }
      }
    }
  }

  #enqueue(records: Uint8Array[]): void {
    for (const record of records) {
      const waiting = this.#waiting;
      if (waiting) {
        this.#waiting = undefined;
        waiting({ done: false, value: record });
      } else if (this.#queue.length < this.#maxQueued) this.#queue.push(record);
      else this.#droppedByReader += 1;
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} ${value} is not a positive number`);
  return value;
}

/**
 * Maps a ring buffer map and starts reading it: with `onRecord`, records go to the
 * callback from the poll loop; otherwise iterate the reader. Close it to stop and unmap.
 * Needs Linux 5.8 and the rights to mmap the map (CAP_BPF, or the fd from a privileged
 * process).
 * @throws {SysError} from `mmap`. @throws {RangeError} for bad options.
 */
export function openRingBufferReader(map: RingBufferSource, options: RingBufferReaderOptions = {}): RingBufferReader {
  const memory = mapRing(map.fd, map.size);
  try {
    return new RingBufferReader(memory, () => memory.unmap(), options);
  } catch (error) {
    memory.unmap();
    throw error;
  }
}
