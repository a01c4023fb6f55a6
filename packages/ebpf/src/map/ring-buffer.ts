/** Ring buffer maps (5.8): created here, read by a reader over mmap. */
import type { MapFd } from '../fd.js';
import { mapCreate } from '../internal/sys/syscall.js';
import { MapHandle } from './handle.js';
import { unsupportedOr } from './map.js';
import { MapType } from './map-type.js';

/** Options of {@link createRingBuffer}. */
export interface CreateRingBufferOptions {
  /** Bytes of data: a power of two and a multiple of the page size (4096 on x86-64). */
  size: number;
  /** At most 15 characters of `[A-Za-z0-9_.]`. */
  name?: string;
}

/**
 * A `BPF_MAP_TYPE_RINGBUF` map: programs write records with `ringbuf_output` or
 * `ringbuf_reserve`/`submit`; user space maps it (one consumer page, one producer page,
 * then the data twice) to read them. It has no keys or values.
 */
export class RingBufferMap extends MapHandle {
  /** Bytes of data (the map's `max_entries`). */
  readonly size: number;

  constructor(fd: MapFd, size: number) {
    super(fd);
    this.size = size;
  }
}

/**
 * Creates a ring buffer. Needs Linux 5.8.
 * @throws {RangeError} when `size` is not a power of two of at least 4096.
 * @throws {UnsupportedFeatureError} before 5.8. {@link BpfError}
 */
export function createRingBuffer(options: CreateRingBufferOptions): RingBufferMap {
  const { size } = options;
  if (!Number.isInteger(size) || size < 4096 || (size & (size - 1)) !== 0) {
    throw new RangeError(`ring buffer size ${size} is not a power of two of at least 4096`);
  }
  try {
    const fd = mapCreate({ mapType: MapType.RingBuffer, keySize: 0, valueSize: 0, maxEntries: size, name: options.name });
    return new RingBufferMap(fd, size);
  } catch (error) {
    throw unsupportedOr(MapType.RingBuffer, error);
  }
}
