import { SysError, callNative } from './errors.js';
import { native } from './native.js';

/** Options for {@link mmap}. */
export interface MmapOptions {
  /** Bytes to map; a multiple of the page size for BPF maps. */
  length: number;
  /** Offset in the file, a multiple of the page size (default 0). */
  offset?: number;
  /** Map for writing too (default false: read-only). */
  writable?: boolean;
}

/**
 * Maps a file descriptor shared into memory: a BPF ring buffer (its consumer page
 * writable, its producer page and data read-only) or an mmap-able array map.
 *
 * The returned buffer views the mapping directly. It is unmapped when the buffer is
 * garbage-collected, or at once by {@link munmap}.
 *
 * @throws {SysError} from `mmap` (`EPERM` when asking to write a read-only region).
 */
export function mmap(fd: number, options: MmapOptions): ArrayBuffer {
  const { length, offset = 0, writable = false } = options;
  if (!Number.isInteger(length) || length <= 0 || length > 0xffffffff) {
    throw SysError.invalid('mmap', `length ${length} is not a positive 32-bit size`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) {
    throw SysError.invalid('mmap', `offset ${offset} is not a 32-bit offset`);
  }
  return callNative(() => native.mmap(fd, length, offset, writable));
}

/**
 * Unmaps a buffer returned by {@link mmap} now. The buffer is detached (its length
 * becomes 0), so later reads cannot touch unmapped memory. Calling it twice does nothing.
 *
 * @throws {TypeError} for a buffer that {@link mmap} did not return.
 */
export function munmap(buffer: ArrayBuffer): void {
  callNative(() => native.munmap(buffer));
}
