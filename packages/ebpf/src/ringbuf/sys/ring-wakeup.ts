/** Wakes a ring buffer reader when the kernel makes the map's fd readable (`@twill/sys` `watchFd`, epoll). */
import { watchFd } from '@twill/sys';

/**
 * Calls `onReady` on each event loop turn while the ring buffer map behind `fd` holds
 * records (the kernel's `ringbuf_map_poll` says `EPOLLIN` then), or with the error when
 * watching failed. Close the result to stop.
 * @throws {SysError} `EEXIST` when the fd is watched already.
 */
export function watchReadable(fd: number, onReady: (error?: unknown) => void): { close(): void } {
  return watchFd(fd, { readable: true }, (error) => onReady(error));
}
