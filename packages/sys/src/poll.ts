import { checkFd } from './arguments.js';
import { SysError, callNative } from './errors.js';
import { native } from './native.js';

/** `uv_poll_event` bits (uv.h). */
const UV_READABLE = 1;
const UV_WRITABLE = 2;
const UV_DISCONNECT = 4;

/** What {@link watchFd} waits for. At least one must be true. */
export interface WatchFdEvents {
  /** Data to read (`EPOLLIN`): a BPF ring buffer with records, a socket or pipe with bytes. */
  readonly readable?: boolean;
  /** Room to write (`EPOLLOUT`). */
  readonly writable?: boolean;
  /** The peer hung up its side (`EPOLLRDHUP`), for sockets. */
  readonly disconnect?: boolean;
}

/** What is ready, as given to the {@link FdWatchCallback}. */
export interface FdReadiness {
  /** Data can be read without blocking (`UV_READABLE`). */
  readonly readable: boolean;
  /** Data can be written without blocking (`UV_WRITABLE`). */
  readonly writable: boolean;
  /** The peer hung up (`UV_DISCONNECT`, from `EPOLLRDHUP`). */
  readonly disconnect: boolean;
}

/**
 * Called on the JavaScript thread each time the descriptor is ready (level-triggered:
 * again on the next loop turn while it stays ready, so read until it is not). `error`
 * is set when polling failed, such as `EBADF` for a descriptor closed under the watcher;
 * the watcher is closed by then. A throw from the callback is an uncaught exception.
 */
export type FdWatchCallback = (error: SysError | undefined, ready: FdReadiness) => void;

/** A running {@link watchFd}. Close it to stop; until then it keeps the process alive (see {@link unref}). */
export class FdWatcher {
  #handle: unknown;

  /** @internal Use {@link watchFd}. */
  constructor(
    handle: unknown,
    /** The descriptor watched. */
    readonly fd: number,
  ) {
    this.#handle = handle;
  }

  /** Whether {@link close} has been called (or polling failed). */
  get closed(): boolean {
    return this.#handle === undefined;
  }

  /**
   * Stops watching: the callback is not called again, and the watcher no longer keeps
   * the process alive. The descriptor stays open (it is the caller's). Twice does nothing.
   */
  close(): void {
    if (this.#handle === undefined) return;
    const handle = this.#handle;
    this.#handle = undefined;
    native.unwatchFd(handle);
  }

  /** Lets the process exit while this watcher runs (as `timer.unref()`). */
  unref(): this {
    if (this.#handle !== undefined) native.refFdWatch(this.#handle, false);
    return this;
  }

  /** Keeps the process alive while this watcher runs again (the default). */
  ref(): this {
    if (this.#handle !== undefined) native.refFdWatch(this.#handle, true);
    return this;
  }

  /** Closes the watcher at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Watches a file descriptor for readiness on Node's event loop (libuv `uv_poll_t`:
 * epoll), without a thread and without blocking: for descriptors Node has no stream
 * for, such as a BPF ring buffer map, which is readable when it holds records.
 *
 * The descriptor is put in non-blocking mode. One watcher per descriptor: a second
 * `watchFd` of a descriptor being watched is refused with `EEXIST` (a `dup` of it may be
 * watched instead). Close the watcher before closing the descriptor.
 *
 * @example
 * const watcher = watchFd(ringFd, { readable: true }, (error, ready) => { ... });
 * watcher.close();
 * @throws {SysError} `EEXIST` for a descriptor already watched, `EBADF` for a closed
 *   one, `EPERM` for one epoll cannot watch (a regular file); `EINVAL` when no event is asked for.
 */
export function watchFd(fd: number, events: WatchFdEvents, callback: FdWatchCallback): FdWatcher {
  checkFd('watchFd', fd);
  const mask = (events.readable ? UV_READABLE : 0) | (events.writable ? UV_WRITABLE : 0) | (events.disconnect ? UV_DISCONNECT : 0);
  if (mask === 0) throw SysError.invalid('watchFd', 'no event to watch for: ask for readable, writable or disconnect');
  const onReady = (status: number, ready: number, code: string | undefined): void => {
    const readiness: FdReadiness = {
      readable: (ready & UV_READABLE) !== 0,
      writable: (ready & UV_WRITABLE) !== 0,
      disconnect: (ready & UV_DISCONNECT) !== 0,
    };
    if (status >= 0) {
      callback(undefined, readiness);
      return;
    }
    // libuv keeps polling after an error; stop first so it is reported once.
    watcher.close();
    const name = code ?? 'EIO';
    callback(new SysError(name, -status, `poll fd ${fd}`, `poll fd ${fd}: ${name}`), readiness);
  };
  // onReady runs from the event loop, after `watcher` is assigned.
  const watcher = new FdWatcher(
    callNative(() => native.watchFd(fd, mask, onReady)),
    fd,
  );
  return watcher;
}
