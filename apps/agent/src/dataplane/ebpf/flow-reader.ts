// The eBPF driver's flow reader: the consumer's side of the tw_events ring buffer
// (kernel/bpf/ringbuf.c), decoding each record where the kernel wrote it, one batch per
// wake-up, and the programs' lost count (tw_lost) read after each batch. Pure: the ring,
// its wake-ups and the counter come through a FlowRingPort.
//
// Record format: an 8-byte header at an 8-byte aligned position (u32 length with bit 31
// BUSY while reserved and bit 30 DISCARD, u32 page offset for the kernel), then the
// payload; a record takes round_up(length + 8, 8) bytes. Records are read in order up to
// the producer position, stopping at the first busy one.

import { type DataplaneFlowEvent, type DataplaneFlowHandler, type DataplaneFlowReader } from '../port.js';
import { FLOW_EVENT_SIZE, FlowEventDecoder, type FlowEventContext } from './flow-event.js';
import { type FlowRingPort } from './sys/kernel.js';

const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HEADER_SIZE = 8;

/** The `source` of lost counts this reader reports. */
export const EBPF_LOST_SOURCE = 'ebpf-ringbuf';

/** Options of {@link EbpfFlowReader}. */
export interface EbpfFlowReaderOptions extends FlowEventContext {
  readonly ring: FlowRingPort;
  readonly handler: DataplaneFlowHandler;
  /** Turns the programs' event writing on or off (tw_config). */
  setFlowEvents(on: boolean): void;
  /** Wall-clock ms minus CLOCK_MONOTONIC ms now, read once per wake-up. */
  monotonicOffsetMs(): number;
  /** Events per batch at most (default 4096): more wait for the next event loop turn. */
  readonly maxBatch?: number;
  /**
   * After a wake-up that emptied the ring, stop watching for this long (default 10 ms; 0:
   * never) so that events arrive in batches instead of a wake-up each: the kernel wakes
   * the reader on the first record after it caught up, so at 100k events/s an always
   * watching reader wakes tens of thousands of times a second, a few events each.
   * The delay an event can wait; the ring (58k events) holds 10 ms of far more than 1M/s.
   */
  readonly coalesceMs?: number;
  /** Called once when the reader has closed (the driver forgets it). */
  readonly onClose?: () => void;
}

/**
 * A running reader: opened by `EbpfDataplane.readFlows`. Losses are read from tw_lost
 * after each wake-up's batch and reported as increases since the reader opened; a loss
 * happens only while the ring is full, and a ring holding records wakes the reader
 * again, so no increase waits long.
 */
export class EbpfFlowReader implements DataplaneFlowReader {
  readonly #options: EbpfFlowReaderOptions;
  readonly #decoder: FlowEventDecoder;
  readonly #maxBatch: number;
  readonly #coalesceMs: number;
  #watch: { close(): void } | undefined;
  #resume: ReturnType<typeof setTimeout> | undefined;
  #lost: number;
  #closed = false;

  /** Maps nothing itself: opens the watch and turns event writing on, in that order. */
  constructor(options: EbpfFlowReaderOptions) {
    this.#options = options;
    this.#decoder = new FlowEventDecoder(options);
    this.#maxBatch = options.maxBatch ?? 4096;
    this.#coalesceMs = options.coalesceMs ?? 10;
    this.#lost = options.ring.lost();
    this.#watch = options.ring.watch(this.#onReady);
    try {
      options.setFlowEvents(true);
    } catch (error) {
      this.#watch.close();
      throw error;
    }
  }

  /** Turns event writing off, stops watching and unmaps the ring; records still in it stay for the next reader. Twice does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#options.setFlowEvents(false);
    } finally {
      clearTimeout(this.#resume);
      this.#watch?.close();
      this.#watch = undefined;
      this.#options.ring.close();
      this.#options.onClose?.();
    }
  }

  readonly #onReady = (error?: unknown): void => this.#wake(error);

  #wake(error: unknown): void {
    if (this.#closed) return;
    const handler = this.#options.handler;
    if (error !== undefined) {
      // The watch is gone: nothing will wake this reader again.
      this.close();
      handler.error(error);
      return;
    }
    const failures: Error[] = [];
    const batch = this.#consume(failures);
    if (batch.length > 0) this.#deliver(() => handler.events(batch));
    for (const failure of failures) handler.error(failure);
    if (this.#closed) return; // the handler closed the reader: the counter is closed too
    const lost = this.#options.ring.lost();
    if (lost > this.#lost) this.#deliver(() => handler.lost(lost - this.#lost, EBPF_LOST_SOURCE));
    this.#lost = lost;
    // Emptied: let events gather. A full batch leaves more: read on the next loop turn.
    if (this.#coalesceMs > 0 && batch.length < this.#maxBatch && !this.#closed) {
      this.#watch?.close();
      this.#watch = undefined;
      this.#resume = setTimeout(() => this.#watchAgain(), this.#coalesceMs);
    }
  }

  #watchAgain(): void {
    this.#resume = undefined;
    if (this.#closed) return;
    try {
      this.#watch = this.#options.ring.watch(this.#onReady);
    } catch (error) {
      this.close();
      this.#options.handler.error(error);
    }
  }

  #deliver(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#options.handler.error(error);
    }
  }

  /** Up to maxBatch events from the consumer position, publishing the new position once; records it cannot read go to `failures`. */
  #consume(failures: Error[]): DataplaneFlowEvent[] {
    const { memory } = this.#options.ring;
    const { data, view, size } = memory;
    const mask = size - 1;
    const offsetMs = this.#options.monotonicOffsetMs();
    const batch: DataplaneFlowEvent[] = [];
    let consumer = memory.loadConsumer();
    let producer = memory.loadProducer();
    while (batch.length < this.#maxBatch) {
      if (consumer >= producer) {
        producer = memory.loadProducer(); // once more: records may have come meanwhile
        if (consumer >= producer) break;
      }
      const offset = consumer & mask;
      const header = memory.loadLength(offset);
      if ((header & BUSY_BIT) !== 0) break;
      const length = header & 0x3fffffff;
      const span = (length + HEADER_SIZE + 7) & ~7;
      if (consumer + span > producer || length > size) {
        // A corrupt ring: skip what it holds rather than read garbage forever.
        failures.push(new RangeError(`tw_events record at ${consumer} of ${length} bytes runs past the producer position ${producer}`));
        consumer = producer;
        break;
      }
      if ((header & DISCARD_BIT) === 0) {
        if (length >= FLOW_EVENT_SIZE) batch.push(this.#decoder.decode(data, view, offset + HEADER_SIZE, offsetMs));
        else failures.push(new RangeError(`a tw_events record is ${FLOW_EVENT_SIZE} bytes, got ${length}`));
      }
      consumer += span;
    }
    memory.storeConsumer(consumer);
    return batch;
  }
}

/** Wall-clock ms minus CLOCK_MONOTONIC ms (Node's hrtime is CLOCK_MONOTONIC on Linux, as bpf_ktime_get_ns is). */
export function monotonicOffsetMs(): number {
  return Date.now() - Number(process.hrtime.bigint()) / 1e6;
}
