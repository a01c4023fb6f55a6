// The flow readers' NETLINK_NETFILTER sockets, in the driver's network namespace, read in
// this process: @twill/sys sockets, written and read with write(2)/read(2) and watched on
// the event loop (watchFd). Each drain reads until EAGAIN.
//
// What the kernel could not queue: it drops the message and adds one to the socket's
// drop counter (net/netlink/af_netlink.c netlink_overrun), once per skb, unicast or
// multicast. The counter (SO_MEMINFO, SK_MEMINFO_DROPS) is read after every drain, when
// the watcher reports an error and when the socket is closed, and its growth goes to
// `events.dropped`. A message the socket filter discards is neither queued nor counted.
//
// A socket that joins groups (conntrack events) gets NETLINK_NO_ENOBUFS when the kernel
// reports the counter (Linux 4.14): an overrun then drops without putting the socket into
// the ENOBUFS error state, and the counter is the exact count (one conntrack event per
// skb). Without the counter it keeps the ENOBUFS error state, its one signal of a loss.
// Not counted: an event the kernel could not even allocate (ctnetlink then flags ENOBUFS
// on every listener, which NETLINK_NO_ENOBUFS silences): memory exhaustion in atomic
// context, not an overrun.
//
// The NFLOG socket (unicast, no group) keeps the ENOBUFS error state, which its reader
// uses (flows/reader.ts): epoll reports it as an error and libuv stops watching, so the
// watch is started again after the read that clears it.

import { closeSync, readSync, writeSync } from 'node:fs';

import { attachSocketFilter, detachSocketFilter, joinNetlinkGroup, NETLINK, openNetlinkSocket, setNetlinkNoEnobufs, setReceiveBuffer, socketMemInfo, watchFd, type FdWatcher, type SocketFilterInstruction } from '@twill/sys';

import { type NetfilterSocket, type NetfilterSocketEvents, type NetfilterSocketOptions, type OpenNetfilterSocket } from '../flows/reader.js';

/** The largest datagram read: NFLOG batches up to its nlbufsiz (at most 128 KiB). */
const READ_BUFFER = 256 * 1024;

/**
 * `SO_RCVBUF` asked for a socket that joins groups when none is configured, in bytes (the
 * kernel doubles it): 8 MiB hold some 6,000 conntrack events (an event's skb is about
 * 1.3 KiB of buffer, measured: 204 fit in 256 KiB), a burst of new connections while the
 * event loop is busy elsewhere. Forced past net.core.rmem_max when the agent may
 * (CAP_NET_ADMIN), capped by it otherwise (the effective size is reported: see
 * {@link NetfilterSocket.receiveBuffer}).
 */
export const GROUP_RECV_BUFFER = 4 * 1024 * 1024;

function openSocket(netns: string | undefined, options: NetfilterSocketOptions, events: NetfilterSocketEvents): NetfilterSocket {
  const multicast = options.groups.length > 0;
  const what = options.name ?? (multicast ? 'conntrack socket' : 'NFLOG socket');
  const fd = openNetlinkSocket({ protocol: NETLINK.NETFILTER, ...(netns === undefined ? {} : { netns }) });
  let drops: number | undefined;
  let receiveBuffer: { readonly requested: number; readonly effective: number } | undefined;
  const resize = (bytes: number): void => {
    receiveBuffer = { requested: bytes, effective: setReceiveBuffer(fd, bytes, { force: 'if-permitted' }) };
  };
  try {
    const size = options.recvBufferSize ?? (multicast ? GROUP_RECV_BUFFER : undefined);
    if (size !== undefined) resize(size);
    drops = socketMemInfo(fd).drops;
    // Without a drop counter (before Linux 4.14) ENOBUFS is the only sign of a loss: keep it.
    if (multicast && drops !== undefined) setNetlinkNoEnobufs(fd, true);
    // Before joining: nothing the filter would discard is queued meanwhile.
    if (options.filter !== undefined) attachSocketFilter(fd, options.filter);
    for (const group of options.groups) joinNetlinkGroup(fd, group);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const buffer = new Uint8Array(READ_BUFFER);
  let watcher: FdWatcher | undefined;
  let open = true;
  const countDrops = (): void => {
    if (!open || drops === undefined) return;
    let now: number | undefined;
    try {
      now = socketMemInfo(fd).drops;
    } catch (error) {
      events.error({ code: (error as NodeJS.ErrnoException).code, message: `read the ${what}'s drop counter: ${(error as Error).message}` });
      return;
    }
    if (now === undefined) return;
    // An unsigned 32-bit counter: the difference wraps with it.
    const dropped = (now - drops) >>> 0;
    drops = now;
    if (dropped > 0) events.dropped(dropped);
  };
  // Reads until the socket is empty; false when reading must stop (closed, or a real error).
  const drain = (): boolean => {
    while (open) {
      let length: number;
      try {
        length = readSync(fd, buffer);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return true;
        if (code === 'EINTR') continue;
        if (code === 'ENOBUFS') {
          events.error({ code, message: `read ${what}: ${(error as Error).message}` });
          continue;
        }
        events.error({ code, message: `read ${what}: ${(error as Error).message}; reading stops (what the kernel drops from now on is not counted)` });
        return false;
      }
      // A copy: the handler may keep it past the next read.
      events.datagram(buffer.slice(0, length));
    }
    return false;
  };
  const stopWatching = (): void => {
    watcher?.close();
    watcher = undefined;
  };
  const watch = (): void => {
    watcher = watchFd(fd, { readable: true }, (error) => {
      if (!open) return;
      const more = drain();
      countDrops();
      if (!more) stopWatching();
      // An error state (ENOBUFS) stopped the watch: the read cleared it, so watch again.
      else if (error !== undefined) watch();
    });
    watcher.unref();
  };
  watch();
  return {
    get receiveBuffer() {
      return receiveBuffer;
    },
    send(message) {
      if (!open) return;
      try {
        writeSync(fd, message);
      } catch (error) {
        events.error({ code: (error as NodeJS.ErrnoException).code, message: `write ${what}: ${(error as Error).message}` });
      }
    },
    setReceiveBuffer(bytes) {
      if (!open) return;
      try {
        resize(bytes);
      } catch (error) {
        events.error({ code: (error as NodeJS.ErrnoException).code, message: `set the ${what}'s receive buffer: ${(error as Error).message}` });
      }
    },
    setFilter(program: readonly SocketFilterInstruction[] | undefined) {
      // Whether a filter was there to remove (ENOENT: none was).
      const removeFilter = (): boolean => {
        try {
          detachSocketFilter(fd);
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
          throw error;
        }
      };
      if (!open) return;
      try {
        if (program !== undefined) attachSocketFilter(fd, program);
        else if (!removeFilter()) return;
      } catch (error) {
        // A stale filter would discard new endpoints' events without a count: none instead.
        try {
          removeFilter();
        } catch {
          // Reported below with what failed first.
        }
        events.error({ code: (error as NodeJS.ErrnoException).code, message: `set the ${what}'s filter: ${(error as Error).message}; reading every message instead` });
      }
    },
    close() {
      if (!open) return;
      // What the kernel dropped since the last drain is reported too.
      countDrops();
      open = false;
      stopWatching();
      closeSync(fd);
    },
  };
}

/**
 * Opens NETLINK_NETFILTER sockets in `netns` (named as `ip netns`; the caller's namespace
 * when absent), in this process: one without groups (NFLOG), one per call with groups
 * (conntrack events), which gets NETLINK_NO_ENOBUFS (when the kernel has the drop
 * counter, Linux 4.14) and, unless `recvBufferSize` says otherwise, a
 * {@link GROUP_RECV_BUFFER} receive buffer. `recvBufferSize` applies to both kinds (forced
 * past net.core.rmem_max when permitted); the NFLOG socket keeps the system default
 * (net.core.rmem_default) without it or until `setReceiveBuffer`. A `filter` is attached
 * before the groups are joined. Both report the kernel's drop counter's growth through
 * `events.dropped`. Needs CAP_NET_ADMIN there (CAP_SYS_ADMIN to enter it).
 * @throws {SysError} when a socket cannot be made or set up (`EPERM` ...).
 */
export function netfilterSocketOpener(netns?: string): OpenNetfilterSocket {
  return (options, events) => openSocket(netns, options, events);
}
