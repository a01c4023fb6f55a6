/**
 * Reading a ring buffer map from Node without blocking the event loop and without
 * timers: the kernel makes the map's fd readable (epoll) when it holds records, and
 * `@twill/sys` `watchFd` wakes the reader on the event loop. Each wakeup reads a bounded
 * batch; readiness is level-triggered, so while records remain the reader is woken again
 * on the next loop turn, after the other callbacks waiting there.
 */
import { type RingMemory, consumeRecords, pendingBytes } from './records.js';
import { mapRing } from './sys/ring-memory.js';
import { watchReadable } from './sys/ring-wakeup.js';

/** A running readiness watch; closing it stops the wakeups. */
export interface ReadinessWatch {
  /** Stops watching; the descriptor stays open. */
  close(): void;
}

/**
 * Starts calling `onReady` whenever the ring may hold records, on every event loop turn
 * while it does (level-triggered), and with an error when watching failed. The port
 * over `watchFd`; tests substitute it.
 */
export type WatchRing = (onReady: (error?: unknown) => void) => ReadinessWatch;

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
  /** Records per wakeup at most (default 256): bounds the time spent per event loop turn. */
  batchSize?: number;
  /**
   * Called with each record, in order, from the event loop. Without it, read the records
   * with `for await (const record of reader)`.
   */
  onRecord?: (record: Uint8Array) => void;
  /**
   * Called when `onRecord` throws, or when watching the ring fails (then the reader has
   * closed). Default: the reader closes and the error is an uncaught exception.
   */
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
}

/** A ring buffer map: its fd and its data size (`RingBufferMap` has both). */
export interface RingBufferSource {
  /** The ring buffer map's fd. */
  readonly fd: number;
  /** Its size in bytes (the map's `maxEntries`, a power of 2 multiple of the page size). */
  readonly size: number;
}

/**
 * Reads the records of a ring buffer map in the order they were reserved, through its
 * mmap-ed memory (no syscall per record), woken by the kernel when records arrive.
 * Start it with {@link openRingBufferReader}.
 */
export class RingBufferReader implements AsyncIterable<Uint8Array> {
  readonly #memory: RingMemory;
  readonly #release: () => void;
  readonly #watchRing: WatchRing | undefined;
  readonly #batchSize: number;
  readonly #maxQueued: number;
  readonly #overflow: 'pause' | 'drop';
  readonly #options: RingBufferReaderOptions;
  readonly #queue: Uint8Array[] = [];
  #waiting: ((result: IteratorResult<Uint8Array>) => void) | undefined;
  #watch: ReadinessWatch | undefined;
  #iterating = false;
  #closed = false;
  #droppedByReader = 0;
  #discarded = 0;
  #received = 0;
  #wakeups = 0;

  /**
   * A reader over already mapped memory; `release` unmaps it on close, `watch` wakes it
   * (without one, only {@link read} reads). Most callers want {@link openRingBufferReader}.
   * @throws {RangeError} for a batch or queue size that is not positive.
   */
  constructor(memory: RingMemory, release: () => void, options: RingBufferReaderOptions = {}, watch?: WatchRing) {
    this.#memory = memory;
    this.#release = release;
    this.#watchRing = watch;
    this.#options = options;
    this.#batchSize = positive('batchSize', options.batchSize ?? 256);
    this.#maxQueued = positive('maxQueued', options.maxQueued ?? 4096);
    this.#overflow = options.overflow ?? 'pause';
    if (options.onRecord) this.#resume();
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

  /** Times the kernel woke the reader so far. */
  get wakeups(): number {
    return this.#wakeups;
  }

  /** Whether the reader is waiting for the kernel to wake it (false while paused or closed). */
  get watching(): boolean {
    return this.#watch !== undefined;
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

  /**
   * Stops watching the ring (so it no longer keeps the process alive), ends the
   * iteration and unmaps the ring. Twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pause();
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
   * @throws {Error} when `onRecord` was given.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#options.onRecord) throw new Error('this reader delivers to onRecord; it cannot be iterated');
    this.#iterating = true;
    this.#resume();
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
      this.#resume(); // after a pause, there is room again
      return Promise.resolve({ done: false, value: queued });
    }
    if (this.#closed) return Promise.resolve({ done: true, value: undefined });
    if (this.#waiting) return Promise.reject(new Error('another next() is still waiting'));
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#resume();
    });
  }

  #consume(max: number): Uint8Array[] {
    const result = consumeRecords(this.#memory, max);
    this.#discarded += result.discarded;
    this.#received += result.records.length;
    return result.records;
  }

  /** Room for records in this wakeup: the batch, less what a paused iterator cannot hold. */
  #room(): number {
    if (!this.#iterating || this.#overflow === 'drop') return this.#batchSize;
    return Math.min(this.#batchSize, this.#maxQueued - this.#queue.length + (this.#waiting ? 1 : 0));
  }

  /** Watches the ring while there is somewhere for its records to go. */
  #resume(): void {
    if (this.#closed || this.#watch !== undefined || !this.#watchRing || this.#room() <= 0) return;
    this.#watch = this.#watchRing((error) => this.#wake(error));
  }

  #pause(): void {
    const watch = this.#watch;
    this.#watch = undefined;
    watch?.close();
  }

  #wake(error: unknown): void {
    if (this.#closed) return;
    if (error !== undefined) {
      this.close();
      if (this.#options.onError) this.#options.onError(error);
      else throw error;
      return;
    }
    this.#wakeups += 1;
    const room = this.#room();
    const records = room > 0 ? this.#consume(room) : [];
    if (this.#iterating) {
      this.#enqueue(records);
      // The queue is full: stop watching, or the still-readable ring wakes us every turn.
      if (this.#room() <= 0) this.#pause();
    } else this.#deliver(records);
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
 * callback as the kernel signals them; otherwise iterate the reader. Close it to stop
 * watching and unmap. Needs Linux 5.8 and the rights to mmap the map (CAP_BPF, or the fd
 * from a privileged process). One reader per map fd at a time (the fd's readiness has one
 * watcher).
 * @throws {SysError} from `mmap`, or `EEXIST` while another reader watches the fd.
 * @throws {RangeError} for bad options.
 */
export function openRingBufferReader(map: RingBufferSource, options: RingBufferReaderOptions = {}): RingBufferReader {
  const memory = mapRing(map.fd, map.size);
  try {
    return new RingBufferReader(memory, () => memory.unmap(), options, (onReady) => watchReadable(map.fd, onReady));
  } catch (error) {
    memory.unmap();
    throw error;
  }
}
