/**
 * The layout of a BPF ring buffer (kernel/bpf/ringbuf.c, 5.8) and the consumer's side of
 * its protocol, over a {@link RingMemory} port so the logic is tested on plain buffers.
 *
 * Mapped from the map's fd: page 0 holds the consumer position (written by user space),
 * page 1 the producer position, then the data area (a power of two of bytes) mapped twice
 * in a row, so a record that wraps around the end reads as one contiguous range. Each
 * record starts at an 8-byte aligned position with an 8-byte header:
 * ```
 * 0 len (u32: bit 31 BUSY while reserved, bit 30 DISCARD when dropped, low 30 bits the length)
 * 4 pg_off (u32: pages back to the ring's start, for the kernel)
 * ```
 * and takes `round_up(len + 8, 8)` bytes. The consumer reads records from its position up
 * to the producer's, stops at the first busy one (records are committed in any order but
 * read in order), skips discarded ones, and stores its new position to free the space.
 */

/** `BPF_RINGBUF_BUSY_BIT`: the record is reserved but not yet submitted or discarded. */
export const RINGBUF_BUSY_BIT = 0x80000000;
/** `BPF_RINGBUF_DISCARD_BIT`: the record was discarded; skip it. */
export const RINGBUF_DISCARD_BIT = 0x40000000;
/** `BPF_RINGBUF_HDR_SZ`. */
export const RINGBUF_HEADER_SIZE = 8;

/** The shared memory of a ring buffer, with the atomic accesses the protocol needs. */
export interface RingMemory {
  /** Bytes of data (the map's `max_entries`), a power of two. */
  readonly size: number;
  /** The data area mapped twice: `2 * size` bytes. */
  readonly data: Uint8Array;
  /** The producer position (an acquire load). */
  loadProducer(): bigint;
  /** The consumer position. */
  loadConsumer(): bigint;
  /** Publishes the consumer position (a release store): frees the space before it. */
  storeConsumer(position: bigint): void;
  /** The `len` word of the header at `offset` in `data` (an acquire load). */
  loadLength(offset: number): number;
}

/** The bytes a record of payload length `length` takes: its header, rounded up to 8. */
export function recordSpan(length: number): number {
  return (length + RINGBUF_HEADER_SIZE + 7) & ~7;
}

/** What {@link consumeRecords} did. */
export interface ConsumeResult {
  /** The payloads read, copied out of the ring, in order. */
  readonly records: Uint8Array[];
  /** Discarded records skipped. */
  readonly discarded: number;
  /** Whether it stopped at a record still being written. */
  readonly busy: boolean;
  /** Whether it stopped at `max` with more data after. */
  readonly more: boolean;
}

/**
 * Reads up to `max` records (discarded ones do not count) from the consumer position
 * towards the producer position, copying each payload out before publishing the new
 * consumer position, as libbpf's `ringbuf_process_ring` does.
 * @throws {RangeError} when a header's length runs past the producer position (a corrupt ring).
 */
export function consumeRecords(memory: RingMemory, max: number): ConsumeResult {
  const mask = BigInt(memory.size - 1);
  const records: Uint8Array[] = [];
  let discarded = 0;
  let consumer = memory.loadConsumer();
  let producer = memory.loadProducer();
  for (;;) {
    if (consumer >= producer) {
      // Re-read once: records may have been committed while we were copying.
      producer = memory.loadProducer();
      if (consumer >= producer) return { records, discarded, busy: false, more: false };
    }
    if (records.length >= max) return { records, discarded, busy: false, more: true };
    const offset = Number(consumer & mask);
    const header = memory.loadLength(offset);
    if ((header & RINGBUF_BUSY_BIT) !== 0) return { records, discarded, busy: true, more: false };
    const length = header & 0x3fffffff;
    const span = BigInt(recordSpan(length));
    if (consumer + span > producer || length > memory.size) {
      throw new RangeError(`ring buffer record at ${consumer} of ${length} bytes runs past the producer position ${producer}`);
    }
    if ((header & RINGBUF_DISCARD_BIT) !== 0) discarded += 1;
    else records.push(memory.data.slice(offset + RINGBUF_HEADER_SIZE, offset + RINGBUF_HEADER_SIZE + length));
    consumer += span;
    memory.storeConsumer(consumer);
  }
}

/** Bytes written by the producer and not yet consumed. */
export function pendingBytes(memory: RingMemory): number {
  return Number(memory.loadProducer() - memory.loadConsumer());
}

/**
 * The page size from the auxiliary vector (`/proc/self/auxv`: pairs of u64 `type`,
 * `value`; `AT_PAGESZ` is 6, `AT_NULL` 0 ends it). The ring buffer's pages are this size.
 * @throws {RangeError} when the vector has no `AT_PAGESZ`.
 */
export function pageSizeFromAuxv(auxv: Uint8Array): number {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let offset = 0; offset + 16 <= auxv.byteLength; offset += 16) {
    const type = view.getBigUint64(offset, true);
    if (type === 0n) break;
    if (type === 6n) return Number(view.getBigUint64(offset + 8, true));
  }
  throw new RangeError('the auxiliary vector has no AT_PAGESZ entry');
}
