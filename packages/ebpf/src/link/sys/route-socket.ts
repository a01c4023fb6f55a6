/**
 * A NETLINK_ROUTE socket inside a network namespace, for the requests of `../netlink/`:
 * opened with `@twill/sys` (the socket lives in that namespace for life) and driven with
 * plain blocking `write(2)`/`read(2)`. rtnetlink handles a request synchronously in the
 * sender's `sendmsg`, so its answer is queued before `write` returns and the read that
 * follows never waits.
 */
import { closeSync, readSync, writeSync } from 'node:fs';

import { type NetnsRef, SysError, openNetlinkSocket } from '@twill/sys';

import { NetlinkError } from '../errors.js';
import { type NetlinkMessage, NlFlag, NlMsgType, decodeErrorCode, decodeMessages, encodeMessage, errnoName } from '../netlink/message.js';
import type { NetlinkRequest } from '../netlink/tc.js';

/** Sends rtnetlink requests and gives their answers; see {@link openRouteSocket}. */
export interface RouteSocket {
  /**
   * Sends `request` and gives the messages answering it (none for a bare acknowledgement).
   * @throws {NetlinkError} with the errno the kernel answered.
   */
  request(request: NetlinkRequest): NetlinkMessage[];
  close(): void;
}

/** Opens a route socket in `netns` (the caller's namespace when absent). @throws {NetlinkError} */
export function openRouteSocket(netns?: NetnsRef): RouteSocket {
  let fd: number;
  try {
    fd = openNetlinkSocket(netns === undefined ? {} : { netns });
  } catch (error) {
    if (error instanceof SysError) throw new NetlinkError(error.code, 'open NETLINK_ROUTE socket', error.message, { cause: error });
    throw error;
  }
  return new FdRouteSocket(fd);
}

class FdRouteSocket implements RouteSocket {
  #fd: number | undefined;
  #seq = 0;
  readonly #buffer = new Uint8Array(64 << 10);

  constructor(fd: number) {
    this.#fd = fd;
  }

  request(request: NetlinkRequest): NetlinkMessage[] {
    const fd = this.#fd;
    if (fd === undefined) throw new NetlinkError('EBADF', request.describe, 'the socket is closed');
    this.#seq += 1;
    const seq = this.#seq;
    try {
      writeSync(fd, encodeMessage({ type: request.type, flags: request.flags, seq, payload: request.payload }));
    } catch (error) {
      throw new NetlinkError((error as NodeJS.ErrnoException).code ?? 'EIO', request.describe, 'write', { cause: error });
    }
    const answers: NetlinkMessage[] = [];
    for (;;) {
      let length: number;
      try {
        length = readSync(fd, this.#buffer);
      } catch (error) {
        throw new NetlinkError((error as NodeJS.ErrnoException).code ?? 'EIO', request.describe, 'read', { cause: error });
      }
      for (const message of decodeMessages(this.#buffer.subarray(0, length))) {
        if (message.seq !== seq) continue; // a stale answer to an earlier request
        if (message.type === NlMsgType.ERROR) {
          const errno = decodeErrorCode(message);
          if (errno !== 0) throw new NetlinkError(errnoName(errno), request.describe);
          return answers;
        }
        if (message.type === NlMsgType.DONE) return answers;
        answers.push(message);
        // A single answer without NLM_F_MULTI ends the exchange when no ACK was asked for.
        if ((message.flags & NlFlag.MULTI) === 0 && (request.flags & NlFlag.ACK) === 0) return answers;
      }
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeSync(fd);
  }
}
