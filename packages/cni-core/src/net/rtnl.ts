// One rtnetlink socket bound to one network namespace, and the request/answer step
// every operation goes through. The `netlink` package's own helpers reject a kernel
// error with a bare `Error("Request rejected: ENODEV")`; here the NLMSG_ERROR answer is
// read directly so that callers get a NetError with the errno and the operation.
import {
  AttrStream,
  FlagsGet,
  FlagsNew,
  Flags,
  MessageType as NlMessageType,
  type RtNetlinkSocket,
  createRtNetlink,
  parseError,
  rt,
} from 'netlink';
import { type NetnsHandle, runInNetns } from '@twill/sys';

import { NetError } from './errors.js';

/** The netlink flags a request may carry besides REQUEST and ACK. */
export const NLM_F = {
  /** Dump every object of the kind (`NLM_F_ROOT | NLM_F_MATCH`). */
  DUMP: FlagsGet.DUMP as number,
  /** Create; fail with EEXIST when it exists (`NLM_F_CREATE | NLM_F_EXCL`). */
  CREATE_EXCL: (FlagsNew.CREATE | FlagsNew.EXCL) as number,
  /** Create or replace (`NLM_F_CREATE | NLM_F_REPLACE`). */
  CREATE_REPLACE: (FlagsNew.CREATE | FlagsNew.REPLACE) as number,
  NONE: 0,
} as const;

/** rtnetlink message types (include/uapi/linux/rtnetlink.h). */
export const RTM = {
  NEWLINK: rt.MessageType.NEWLINK as number,
  DELLINK: rt.MessageType.DELLINK as number,
  GETLINK: rt.MessageType.GETLINK as number,
  SETLINK: rt.MessageType.SETLINK as number,
  NEWADDR: rt.MessageType.NEWADDR as number,
  DELADDR: rt.MessageType.DELADDR as number,
  GETADDR: rt.MessageType.GETADDR as number,
  NEWROUTE: rt.MessageType.NEWROUTE as number,
  DELROUTE: rt.MessageType.DELROUTE as number,
  GETROUTE: rt.MessageType.GETROUTE as number,
  NEWRULE: rt.MessageType.NEWRULE as number,
  DELRULE: rt.MessageType.DELRULE as number,
  GETRULE: rt.MessageType.GETRULE as number,
} as const;

/** A message to send, as the netlink package's formatters take it. */
export type RtRequest = rt.LinkMessage | rt.AddressMessage | rt.RouteMessage | rt.RuleMessage;

/**
 * An rtnetlink socket opened inside one namespace. Internal: the public handle is
 * {@link Netlink}.
 */
export class RtConnection {
  readonly #socket: RtNetlinkSocket;
  #closed = false;

  private constructor(socket: RtNetlinkSocket) {
    this.#socket = socket;
  }

  /**
   * Opens a socket in `netns` (the caller's namespace when absent). The socket stays in
   * that namespace for life, whatever thread uses it later.
   * @throws {SysError} from `setns`; {@link NetError} when the socket cannot be made.
   */
  static open(netns?: NetnsHandle): RtConnection {
    const create = (): RtNetlinkSocket => {
      try {
        return createRtNetlink();
      } catch (error) {
        throw NetError.fromNode(error, 'open rtnetlink socket');
      }
    };
    return new RtConnection(netns === undefined ? create() : runInNetns(netns, create));
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one request with NLM_F_REQUEST | NLM_F_ACK and gives the parsed answers
   * (none for a plain acknowledgement, several for a dump).
   * @throws {NetError} with the kernel's errno and `operation`.
   */
  async request(type: number, message: RtRequest, flags: number, operation: string): Promise<rt.Message[]> {
    if (this.#closed) throw new NetError('EBADF', 9, operation, 'the netlink handle is closed');
    const stream = new AttrStream();
    formatMessage(message, stream);
    let answers;
    try {
      [answers] = await this.#socket.socket.request(type, stream.bufs, { flags, checkError: false });
    } catch (error) {
      throw NetError.fromNode(error, operation);
    }
    const parsed: rt.Message[] = [];
    for (const answer of answers) {
      if (answer.type === NlMessageType.ERROR) {
        const { errno } = parseError(answer.data, answer.flags);
        if (errno !== 0) throw NetError.fromErrno(errno, operation);
        continue;
      }
      if (answer.type === NlMessageType.DONE || answer.type === NlMessageType.NOOP) continue;
      if ((answer.flags & Flags.DUMP_INTR) !== 0) {
        // The kernel marks a dump that raced with a change (NLM_F_DUMP_INTR); its answer
        // may miss or repeat objects, so it is not returned as if it were whole.
        throw new NetError('EAGAIN', 11, operation, 'the dump was interrupted by a concurrent change; try again');
      }
      parsed.push(rt.parseMessage(answer.type, answer.data));
    }
    return parsed;
  }

  /** Closes the socket; calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.socket.close();
  }
}

function formatMessage(message: RtRequest, out: AttrStream): void {
  switch (message.kind) {
    case 'link':
      rt.formatLinkMessage(message, out);
      return;
    case 'address':
      rt.formatAddressMessage(message, out);
      return;
    case 'route':
      rt.formatRouteMessage(message, out);
      return;
    case 'rule':
      rt.formatRuleMessage(message, out);
      return;
  }
}
