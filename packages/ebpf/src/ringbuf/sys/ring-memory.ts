/** Maps a ring buffer map's memory with `@twill/sys` `mmap` (5.8). */
import { readFileSync } from 'node:fs';

import { mmap, munmap } from '@twill/sys';

import { type RingMemory, pageSizeFromAuxv } from '../records.js';

let cachedPageSize: number | undefined;

/** The system's page size (`AT_PAGESZ` of `/proc/self/auxv`), read once. */
export function systemPageSize(): number {
  cachedPageSize ??= pageSizeFromAuxv(new Uint8Array(readFileSync('/proc/self/auxv')));
  return cachedPageSize;
}

/** A mapped ring buffer; {@link MappedRing.unmap} releases the mappings. */
export interface MappedRing extends RingMemory {
  unmap(): void;
}

/**
 * Maps a ring buffer: its consumer page writable, its producer page and twice the data
 * read-only (the kernel refuses a writable producer mapping with `EPERM`).
 * @throws {SysError} from `mmap`.
 */
export function mapRing(fd: number, size: number, pageSize = systemPageSize()): MappedRing {
  const consumer = mmap(fd, { length: pageSize, writable: true });
  let producer: ArrayBuffer;
  try {
    producer = mmap(fd, { length: pageSize + 2 * size, offset: pageSize });
  } catch (error) {
    munmap(consumer);
    throw error;
  }
  // Atomics give the acquire loads and release store the protocol needs (Atomics work on
  // non-shared buffers too; only wait and notify need a SharedArrayBuffer).
  const consumerPos = new BigUint64Array(consumer, 0, 1);
  const producerPos = new BigUint64Array(producer, 0, 1);
  const words = new Uint32Array(producer, pageSize, (2 * size) / 4);
  return {
    size,
    data: new Uint8Array(producer, pageSize, 2 * size),
    loadProducer: () => Atomics.load(producerPos, 0),
    loadConsumer: () => Atomics.load(consumerPos, 0),
    storeConsumer: (position) => void Atomics.store(consumerPos, 0, position),
    loadLength: (offset) => Atomics.load(words, offset / 4),
    unmap: () => {
      munmap(producer);
      munmap(consumer);
    },
  };
}
