// The tw_events ring buffer mapped into this process, so the agent decodes flow events
// where the kernel wrote them (no copy per record), and woken by epoll when it holds
// records. The ring's layout (kernel/bpf/ringbuf.c, Linux 5.8): page 0 the consumer
// position (ours to write), page 1 the producer position, then the data area mapped
// twice in a row so a record that wraps reads as one range. @twill/ebpf's
// RingBufferReader copies each record out; at 100k events/s the copy is the cost.

import { readFileSync } from 'node:fs';

import { mmap, munmap, watchFd } from '@twill/sys';

/** The mapped ring with the atomic accesses of the consumer's side of the protocol. */
export interface FlowRingMemory {
  /** Bytes of data (the map's max_entries), a power of two. */
  readonly size: number;
  /** The data area mapped twice: `2 * size` bytes. */
  readonly data: Uint8Array;
  /** The same bytes, for multi-byte fields. */
  readonly view: DataView;
  /** The producer position in bytes (an acquire load). */
  loadProducer(): number;
  /** The consumer position in bytes. */
  loadConsumer(): number;
  /** Publishes the consumer position (a release store), freeing the space before it. */
  storeConsumer(position: number): void;
  /** The header's length word of the record at `offset` in `data` (an acquire load). */
  loadLength(offset: number): number;
}

/** A mapped ring; `unmap` releases it. */
export interface MappedFlowRing extends FlowRingMemory {
  unmap(): void;
}

let pageSize: number | undefined;

/** The page size (`AT_PAGESZ`, type 6, of /proc/self/auxv: pairs of u64 type and value). */
function systemPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  const auxv = readFileSync('/proc/self/auxv');
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let offset = 0; offset + 16 <= auxv.byteLength; offset += 16) {
    const type = view.getBigUint64(offset, true);
    if (type === 0n) break;
    if (type === 6n) return (pageSize = Number(view.getBigUint64(offset + 8, true)));
  }
  throw new RangeError('/proc/self/auxv has no AT_PAGESZ entry');
}

/**
 * Maps the ring buffer map behind `fd` (`size`: its max_entries): the consumer page
 * writable, the producer page and the data read-only (the kernel refuses a writable
 * producer mapping). Needs Linux 5.8.
 * @throws {SysError} from mmap.
 */
export function mapFlowRing(fd: number, size: number): MappedFlowRing {
  const page = systemPageSize();
  const consumer = mmap(fd, { length: page, writable: true });
  let producer: ArrayBuffer;
  try {
    producer = mmap(fd, { length: page + 2 * size, offset: page });
  } catch (error) {
    munmap(consumer);
    throw error;
  }
  // Atomics on non-shared buffers give the acquire loads and the release store.
  const consumerPos = new BigUint64Array(consumer, 0, 1);
  const producerPos = new BigUint64Array(producer, 0, 1);
  const words = new Uint32Array(producer, page, (2 * size) / 4);
  return {
    size,
    data: new Uint8Array(producer, page, 2 * size),
    view: new DataView(producer, page, 2 * size),
    loadProducer: () => Number(Atomics.load(producerPos, 0)),
    loadConsumer: () => Number(Atomics.load(consumerPos, 0)),
    storeConsumer: (position) => void Atomics.store(consumerPos, 0, BigInt(position)),
    loadLength: (offset) => Atomics.load(words, offset / 4),
    unmap: () => {
      munmap(producer);
      munmap(consumer);
    },
  };
}

/**
 * Calls `onReady` on each event loop turn while the ring behind `fd` holds records (the
 * kernel's poll says readable; level-triggered), or once with the error when watching
 * failed. Close the result to stop.
 * @throws {SysError} `EEXIST` when the fd is watched already (another reader).
 */
export function watchFlowRing(fd: number, onReady: (error?: unknown) => void): { close(): void } {
  return watchFd(fd, { readable: true }, (error) => onReady(error));
}
