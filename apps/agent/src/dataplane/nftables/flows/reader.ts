// The nftables driver's flow reader: an NFLOG socket bound to the drop log group (deny
// events) and two ctnetlink sockets on the new-connection group (allow events), behind a
// small socket port so that everything but the sockets is tested without root. Events
// are delivered in one batch per event-loop turn; what the kernel could not queue is
// counted, each source from one count so nothing is counted twice: NFLOG by the gaps in
// its sequence numbers (and at least one per ENOBUFS), conntrack from the sockets' drop
// counters, exactly in events.
//
// Why two conntrack sockets: a NEW message is 0, 1 or 2 allow events (egress of a local
// source, ingress of a local destination), and the drop counter counts messages, about
// every connection of the namespace (the host's, the agent's own). Each socket has a
// socket filter (flows/conntrack-filter.ts) that keeps only messages whose original source
// (the egress socket) or destination (the ingress socket) is an attached endpoint's
// address; a discarded message is neither queued nor counted. So each message a socket
// queues or drops is exactly one event, and its drop counter counts lost events. A
// connection between two local endpoints is a message on each. The filters follow the
// endpoints' addresses (FlowEndpoints.onAddressesChanged); a message the kernel filtered
// with the old set before the new one is attached is neither delivered nor counted.
// Events of the two sockets are in kernel order per direction; their times are when they
// were read, so a batch is in time order.

import type { SocketFilterInstruction } from '@twill/sys';

import { type DataplaneFlowEvent, type DataplaneFlowHandler, type DataplaneFlowReader } from '../../port.js';
import { NFTABLES_ERROR_CODE, NftablesDataplaneError } from '../errors.js';
import { endianness } from 'node:os';

import { CT_NEW_MESSAGE, decodeConntrackNew, NFNLGRP_CONNTRACK_NEW } from './conntrack.js';
import { compileConntrackFilter } from './conntrack-filter.js';
import { type FlowEndpoints } from './endpoints.js';
import { decodeErrorFrame, decodeFrames, NLM, type NetlinkFrame } from './netlink.js';
import { decodeNflogPacket, encodeNflogSetup, NFULNL_MSG } from './nflog.js';

/** What the reader needs of a NETLINK_NETFILTER socket (sys/netfilter-socket.ts is the real one). */
export interface NetfilterSocket {
  /** Sends one message to the kernel; a failure comes back through `error`. */
  send(message: Uint8Array): void;
  /** Sets `SO_RCVBUF` (bytes; the kernel doubles it), forced past net.core.rmem_max when permitted; a failure comes back through `error`. */
  setReceiveBuffer(bytes: number): void;
  /**
   * The receive buffer last set: the bytes asked for and the size in effect as the kernel
   * reads it back (doubled; capped at twice net.core.rmem_max when forcing is not
   * permitted). `undefined` while the system default applies.
   */
  readonly receiveBuffer: { readonly requested: number; readonly effective: number } | undefined;
  /**
   * Replaces the socket filter (classic BPF), or removes it (`undefined`: every message is
   * read). A filter the kernel refuses (too large for net.core.optmem_max) is removed rather
   * than left stale, and the failure comes back through `error`.
   */
  setFilter(program: readonly SocketFilterInstruction[] | undefined): void;
  /** Closes the socket, reporting through `dropped` what the kernel dropped since the last read. */
  close(): void;
}

/** What a socket is opened with. */
export interface NetfilterSocketOptions {
  /** Multicast groups to join (none: the NFLOG socket). */
  readonly groups: readonly number[];
  /** `SO_RCVBUF` in bytes (forced past net.core.rmem_max when permitted). */
  readonly recvBufferSize?: number;
  /** A socket filter attached before the groups are joined. */
  readonly filter?: readonly SocketFilterInstruction[];
  /** What errors call the socket (`conntrack socket (egress)`). */
  readonly name?: string;
}

/** Where a socket delivers. */
export interface NetfilterSocketEvents {
  /** One datagram (one or more netlink messages). */
  datagram(bytes: Uint8Array): void;
  /**
   * A receive or send error (`code`: the errno name, `ENOBUFS` when the kernel dropped
   * messages and the socket has no drop counter or keeps the error state). After any
   * other read error the socket stops reading, and says so.
   */
  error(error: { readonly code?: string; readonly message?: string }): void;
  /**
   * The kernel dropped `count` messages (skbs) it could not queue since the last report:
   * the growth of the socket's drop counter (SO_MEMINFO). A conntrack event is one
   * message; an NFLOG message batches up to its queue threshold of packets.
   */
  dropped(count: number): void;
}

/**
 * Opens a socket in the driver's namespace, joined to `groups`, receiving when it returns.
 * @throws what the kernel refuses (no CAP_NET_ADMIN).
 */
export type OpenNetfilterSocket = (options: NetfilterSocketOptions, events: NetfilterSocketEvents) => NetfilterSocket;

/** Options of {@link startFlowReader}. */
export interface FlowReaderOptions {
  readonly open: OpenNetfilterSocket;
  readonly endpoints: FlowEndpoints;
  /** The nflog group the drop rules log to; no NFLOG socket when absent (allow events only). */
  readonly dropLogGroup?: number;
  /**
   * `SO_RCVBUF` of both sockets, in bytes (the kernel doubles it; forced past
   * net.core.rmem_max when permitted). The NFLOG socket's is set once its setup is
   * acknowledged, so that a small one does not lose the acknowledgements. Absent: the
   * system default for NFLOG, the socket opener's choice for conntrack.
   */
  readonly recvBufferSize?: number;
  /** The wall clock, in milliseconds since the epoch (fractional). */
  readonly now: () => number;
}

/** Bytes of each logged packet copied: an IPv6 header with a few extension headers and a TCP header. */
export const NFLOG_COPY_RANGE = 128;
/** Batching in the kernel: at most this many messages, held at most 50 ms. */
const NFLOG_QUEUE_THRESHOLD = 64;
const NFLOG_FLUSH_TIMEOUT = 5;
/** A batch is handed over at the end of the loop turn, or once it holds this many. */
export const MAX_BATCH = 4096;

const ERRNO: Readonly<Record<number, string>> = { 1: 'EPERM', 2: 'ENOENT', 12: 'ENOMEM', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 95: 'EOPNOTSUPP', 105: 'ENOBUFS' };
const errnoName = (errno: number): string => ERRNO[errno] ?? `errno ${errno}`;

const failed = (message: string, cause?: unknown): NftablesDataplaneError =>
  new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, message, cause === undefined ? undefined : { cause });

/** A running reader of the nftables driver. */
export interface NftablesFlowReader extends DataplaneFlowReader {
  /**
   * Settles once both readers receive: the NFLOG group is bound and configured (or
   * refused: see `handler.error`); the conntrack socket has joined its group when
   * opened. Events of packets before that may be missing.
   */
  readonly ready: Promise<void>;
}

/** The reader {@link startFlowReader} gives: an {@link NftablesFlowReader} that also says its sockets' buffers. */
export interface NftablesFlowReaderWithBuffers extends NftablesFlowReader {
  /**
   * The receive buffers in effect, in bytes as the kernel reads them back (`nflog`,
   * `conntrack-egress`, `conntrack-ingress`); a socket on the system default is absent.
   */
  receiveBuffers(): Readonly<Record<string, number>>;
}

/**
 * Opens the readers. Each failure (a socket that cannot be opened, a group another
 * socket holds, a message that does not parse, a receive buffer smaller than asked for,
 * endpoint addresses too many for a socket filter) goes to `handler.error`; the rest
 * keeps reading. Lost events go to `handler.lost`: `nflog` in packets logged, `conntrack`
 * in allow events (exactly; at least one per ENOBUFS on a kernel without the drop counter).
 */
export function startFlowReader(options: FlowReaderOptions, handler: DataplaneFlowHandler): NftablesFlowReaderWithBuffers {
  const { endpoints, now } = options;
  let pending: DataplaneFlowEvent[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;
  const flush = (): void => {
    scheduled = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    // Called from setImmediate too: a handler that throws must not take the agent down.
    // Its batch is reported as lost (read from the kernel, never delivered).
    try {
      handler.events(batch);
    } catch (error) {
      if (closed) return;
      handler.error(error);
      handler.lost(batch.length, 'nftables-reader');
    }
  };
  const push = (event: DataplaneFlowEvent): void => {
    pending.push(event);
    if (pending.length >= MAX_BATCH) flush();
    else scheduled ??= setImmediate(flush);
  };
  const report = (error: unknown): void => {
    if (!closed) handler.error(error);
  };
  const walk = (datagram: Uint8Array, where: string, each: (frame: NetlinkFrame) => void): void => {
    const { frames, error } = decodeFrames(datagram);
    for (const frame of frames) {
      try {
        each(frame);
      } catch (e) {
        report(e);
      }
    }
    if (error !== undefined) report(failed(`${where}: ${error.message}`, error));
  };
  const recvBuffer = options.recvBufferSize === undefined ? {} : { recvBufferSize: options.recvBufferSize };
  const sockets: NetfilterSocket[] = [];
  const named = new Map<string, NetfilterSocket>();
  // Without CAP_NET_ADMIN the size asked for is capped at net.core.rmem_max: say so, once a socket.
  const checkBuffer = (what: string, socket: NetfilterSocket): void => {
    const size = socket.receiveBuffer;
    if (size === undefined || size.effective >= 2 * size.requested) return;
    report(failed(`${what}: receive buffer of ${size.effective} bytes, not the ${2 * size.requested} asked for (${size.requested}, doubled): net.core.rmem_max caps it without CAP_NET_ADMIN, and a burst beyond it is lost`));
  };
  const waits: Promise<void>[] = [];

  // NFLOG: the setup's acknowledgements, then packets.
  if (options.dropLogGroup !== undefined) {
    const group = options.dropLogGroup;
    const setup = encodeNflogSetup({ group, copyRange: NFLOG_COPY_RANGE, flushTimeout: NFLOG_FLUSH_TIMEOUT, queueThreshold: NFLOG_QUEUE_THRESHOLD, seq: 1 });
    const acks = new Map(setup.map((s) => [s.seq, s]));
    let nflog: NetfilterSocket | undefined;
    let configured: () => void = () => undefined;
    waits.push(new Promise<void>((resolve) => {
      configured = () => {
        configured = () => undefined;
        if (options.recvBufferSize !== undefined && nflog !== undefined) {
          nflog.setReceiveBuffer(options.recvBufferSize);
          checkBuffer('NFLOG socket', nflog);
        }
        resolve();
      };
    }));
    let expected: number | undefined;
    // Losses already reported for ENOBUFS that the next sequence gap will count again.
    let credited = 0;
    const lost = (count: number): void => {
      if (count > 0 && !closed) handler.lost(count, 'nflog');
    };
    const onFrame = (frame: NetlinkFrame): void => {
      if (frame.type === NLM.ERROR) {
        const step = acks.get(frame.seq);
        acks.delete(frame.seq);
        const errno = decodeErrorFrame(frame);
        if (errno !== 0 && step?.required === true) {
          report(failed(`${step.what}: ${errnoName(errno)}${errno === 16 ? ' (another socket of this network namespace is bound to the group)' : ''}`));
        }
        if (![...acks.values()].some((s) => s.required)) configured();
        return;
      }
      if (frame.type !== NFULNL_MSG.PACKET) return;
      const packet = decodeNflogPacket(frame);
      if (packet.seq !== undefined) {
        if (expected !== undefined) {
          const gap = (packet.seq - expected) >>> 0;
          // A gap of more than 2^31 is a restart of the count (a new instance), not a loss.
          if (gap > 0 && gap < 0x80000000) {
            lost(gap - Math.min(gap, credited));
            credited -= Math.min(gap, credited);
          }
        }
        expected = (packet.seq + 1) >>> 0;
      }
      const event = endpoints.dropEvent(packet, now());
      if (event !== undefined) push(event);
    };
    try {
      const socket = options.open({ groups: [] }, {
        datagram: (bytes) => walk(bytes, 'NFLOG', onFrame),
        error: (error) => {
          if (error.code === 'ENOBUFS') {
            credited += 1;
            lost(1);
          } else report(failed(`NFLOG socket: ${error.message ?? error.code ?? 'error'}`, error));
        },
        // Not counted: the sequence gaps are exact in packets, and ENOBUFS reports a loss
        // before any gap shows it. The drop counter counts skbs, each a batch of up to
        // NFLOG_QUEUE_THRESHOLD packets, so it says neither how many nor, mixed with the
        // gaps, which were counted already.
        dropped: () => undefined,
      });
      sockets.push(socket);
      named.set('nflog', socket);
      nflog = socket;
      for (const step of setup) socket.send(step.message);
    } catch (error) {
      configured();
      report(failed(`cannot open the NFLOG socket for group ${group}: ${(error as Error).message}`, error));
    }
  }

  // Conntrack: confirmed new connections, one socket per direction (see the header).
  const directions = ['egress', 'ingress'] as const;
  const conntrack: { readonly direction: (typeof directions)[number]; readonly socket: NetfilterSocket }[] = [];
  const filterOf = (direction: (typeof directions)[number]): readonly SocketFilterInstruction[] =>
    compileConntrackFilter({ match: direction === 'egress' ? 'source' : 'destination', addresses: endpoints.addresses(), littleEndian: endianness() === 'LE' });
  for (const direction of directions) {
    const what = `conntrack socket (${direction})`;
    // Too many addresses for one program: no filter (every message read, and lost counts then
    // include the node's other connections) rather than no socket.
    let filter: readonly SocketFilterInstruction[] | undefined;
    try {
      filter = filterOf(direction);
    } catch (error) {
      report(error);
    }
    try {
      const socket = options.open({ groups: [NFNLGRP_CONNTRACK_NEW], ...(filter === undefined ? {} : { filter }), name: what, ...recvBuffer }, {
        datagram: (bytes) => walk(bytes, 'conntrack', (frame) => {
          if (frame.type !== CT_NEW_MESSAGE) return;
          const event = endpoints.allowEvent(decodeConntrackNew(frame), now(), direction);
          if (event !== undefined) push(event);
        }),
        // The socket's drop counter is the one count of lost events: its filter keeps only
        // messages that are one event each (NETLINK_NO_ENOBUFS: no ENOBUFS error state to
        // count as well; sys/netfilter-socket.ts).
        dropped: (count) => {
          if (!closed) handler.lost(count, 'conntrack');
        },
        // ENOBUFS: a socket without a drop counter (before Linux 4.14) lost at least one event.
        error: (error) => {
          if (error.code === 'ENOBUFS') {
            if (!closed) handler.lost(1, 'conntrack');
          } else report(failed(`${what}: ${error.message ?? error.code ?? 'error'}`, error));
        },
      });
      sockets.push(socket);
      named.set(`conntrack-${direction}`, socket);
      conntrack.push({ direction, socket });
      checkBuffer(what, socket);
    } catch (error) {
      report(failed(`cannot open the ${what}: ${(error as Error).message}`, error));
    }
  }
  const unsubscribe = endpoints.onAddressesChanged(() => {
    for (const { direction, socket } of conntrack) {
      try {
        socket.setFilter(filterOf(direction));
      } catch (error) {
        // Too many addresses for one program: no filter rather than a stale one, which would
        // discard new endpoints' events uncounted.
        socket.setFilter(undefined);
        report(error);
      }
    }
  });

  return {
    ready: Promise.all(waits).then(() => undefined),
    receiveBuffers() {
      const sizes: Record<string, number> = {};
      for (const [name, socket] of named) {
        const size = socket.receiveBuffer;
        if (size !== undefined) sizes[name] = size.effective;
      }
      return sizes;
    },
    close() {
      if (closed) return;
      unsubscribe();
      if (scheduled !== undefined) clearImmediate(scheduled);
      // Closing reads the drop counters one last time: lost counts before the last batch.
      for (const socket of sockets.splice(0)) socket.close();
      flush();
      closed = true;
    },
  };
}
