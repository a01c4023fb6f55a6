import { checkFd, checkInteger } from './arguments.js';
import { callNative } from './errors.js';
import { native } from './native.js';

/** The largest firewall mark: `SO_MARK` is an unsigned 32-bit value. */
export const MAX_SOCKET_MARK = 0xffffffff;

/**
 * Sets a socket's firewall mark (`SO_MARK`, socket(7)): every packet it sends from then on
 * carries `mark`, which policy routing (`ip rule add fwmark ...`) and nftables
 * (`meta mark`) match, and the route of a connecting socket is looked up with it. 0
 * removes the mark. Set it before `connect()` for the SYN to carry it.
 *
 * Needs CAP_NET_ADMIN (Linux 2.6.25).
 * @throws {SysError} `EINVAL` for a bad fd or a mark outside 0..0xffffffff (before any call);
 *   `EPERM` without CAP_NET_ADMIN; `ENOTSOCK`, `EBADF` from the kernel.
 */
export function setSocketMark(fd: number, mark: number): void {
  checkFd('setSocketMark', fd);
  checkInteger('setSocketMark', 'mark', mark, 0, MAX_SOCKET_MARK);
  callNative(() => native.setMark(fd, mark));
}

/**
 * A socket's firewall mark (`SO_MARK`), 0 when it has none; what {@link setSocketMark}
 * (or `openTransparentSocket`'s `mark`) set. Reading it needs Linux 4.12.
 * @throws {SysError} `EINVAL` for a bad fd (before any call); `ENOTSOCK`, `EBADF` from the kernel.
 */
export function socketMark(fd: number): number {
  checkFd('socketMark', fd);
  return callNative(() => native.getMark(fd));
}
