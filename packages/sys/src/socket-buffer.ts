import { checkFd, checkInteger } from './arguments.js';
import { callNative, SysError } from './errors.js';
import { native } from './native.js';

/** Options for {@link setReceiveBuffer}. */
export interface ReceiveBufferOptions {
  /**
   * `true`: `SO_RCVBUFFORCE`, not capped by `net.core.rmem_max`, needs CAP_NET_ADMIN
   * (`EPERM` without). `'if-permitted'`: that, or `SO_RCVBUF` when the kernel refuses it
   * with `EPERM`. `false` (the default): `SO_RCVBUF`, capped by `net.core.rmem_max`.
   */
  readonly force?: boolean | 'if-permitted';
}

/** `SO_RCVBUF` takes an int; the kernel halves anything above INT_MAX / 2 anyway. */
const MAX_BUFFER = 0x3fffffff;

/**
 * Sets the size of a socket's receive buffer (`SO_RCVBUF`, or `SO_RCVBUFFORCE`: see
 * {@link ReceiveBufferOptions.force}) to `bytes`, and returns the size in effect as
 * `getsockopt(SO_RCVBUF)` reads it back: the kernel doubles the value asked for (half of
 * it is for its own bookkeeping, socket(7)), caps an unforced one at `net.core.rmem_max`
 * before doubling, and never goes below its minimum (a few KiB).
 *
 * @returns the effective size in bytes (what the queued messages' memory is held against).
 * @throws {SysError} `EINVAL` for a bad fd or size (before any call); `EPERM` for
 *   `force: true` without CAP_NET_ADMIN; `ENOTSOCK`, `EBADF` from the kernel.
 */
export function setReceiveBuffer(fd: number, bytes: number, options: ReceiveBufferOptions = {}): number {
  checkFd('setReceiveBuffer', fd);
  checkInteger('setReceiveBuffer', 'size', bytes, 0, MAX_BUFFER);
  const { force = false } = options;
  if (force !== true && force !== false && force !== 'if-permitted') {
    throw SysError.invalid('setReceiveBuffer', `force ${JSON.stringify(force)} is not true, false or 'if-permitted'`);
  }
  const mode = force === false ? 0 : force === true ? 1 : 2;
  return callNative(() => native.setReceiveBuffer(fd, bytes, mode));
}

/**
 * A socket's memory accounting, as `getsockopt(SOL_SOCKET, SO_MEMINFO)` gives it (the
 * `SK_MEMINFO_*` entries of include/uapi/linux/sock_diag.h; `ss -m` shows the same).
 * Bytes unless said otherwise.
 */
export interface SocketMemInfo {
  /** Memory held by messages queued to be read (`SK_MEMINFO_RMEM_ALLOC`). */
  readonly rmemAlloc: number;
  /** The receive buffer: queuing stops once `rmemAlloc` passes it (`SK_MEMINFO_RCVBUF`). */
  readonly rcvbuf: number;
  /** Memory held by sent data not yet freed (`SK_MEMINFO_WMEM_ALLOC`). */
  readonly wmemAlloc: number;
  /** The send buffer (`SK_MEMINFO_SNDBUF`). */
  readonly sndbuf: number;
  /** Memory charged to the socket and not yet used (`SK_MEMINFO_FWD_ALLOC`). */
  readonly fwdAlloc: number;
  /** Data queued to be sent (`SK_MEMINFO_WMEM_QUEUED`). */
  readonly wmemQueued: number;
  /** Option memory, such as TCP MD5 keys and socket filters (`SK_MEMINFO_OPTMEM`). */
  readonly optmem: number;
  /** The backlog queue's length (`SK_MEMINFO_BACKLOG`). */
  readonly backlog: number;
  /**
   * Packets or messages the kernel dropped instead of queuing (`SK_MEMINFO_DROPS`, the
   * socket's `sk_drops`; Linux 4.14): a count, not bytes, unsigned 32-bit, wrapping (take
   * deltas with `(now - before) >>> 0`). For a netlink socket the kernel adds one for each
   * message (skb) it could not queue, unicast or multicast, with or without
   * `NETLINK_NO_ENOBUFS` (`netlink_overrun`); a message may batch several records (NFLOG
   * does). A message a socket filter discards is not counted (see `attachSocketFilter`).
   * `undefined` when the kernel does not report it (4.12 and 4.13 fill 8 entries).
   */
  readonly drops: number | undefined;
}

/** `SK_MEMINFO_DROPS`: the ninth entry, the last before Linux 4.14 added it is `SK_MEMINFO_BACKLOG`. */
const SK_MEMINFO_DROPS = 8;

/**
 * The `SO_MEMINFO` entries as the kernel filled them (`getsockopt` says how many), named.
 * An entry the kernel did not fill is 0, but `drops`, which is `undefined` then.
 */
export function decodeMemInfo(entries: readonly number[]): SocketMemInfo {
  const at = (i: number): number => entries[i] ?? 0;
  return {
    rmemAlloc: at(0),
    rcvbuf: at(1),
    wmemAlloc: at(2),
    sndbuf: at(3),
    fwdAlloc: at(4),
    wmemQueued: at(5),
    optmem: at(6),
    backlog: at(7),
    drops: entries.length > SK_MEMINFO_DROPS ? entries[SK_MEMINFO_DROPS] : undefined,
  };
}

/**
 * Reads a socket's memory accounting and drop counter (`SO_MEMINFO`, Linux 4.12; the drop
 * counter since 4.14).
 * @throws {SysError} `EINVAL` for a bad fd (before any call); `ENOTSOCK`, `EBADF` from the kernel.
 */
export function socketMemInfo(fd: number): SocketMemInfo {
  checkFd('socketMemInfo', fd);
  return decodeMemInfo(callNative(() => native.getMemInfo(fd)));
}
