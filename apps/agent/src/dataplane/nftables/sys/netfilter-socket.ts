// The flow readers' NETLINK_NETFILTER sockets, in the driver's network namespace, read in
// this process: @twill/sys sockets, written and read with write(2)/read(2) and watched on
// the event loop (watchFd). Each drain reads until EAGAIN.
//
// What the kernel could not queue: it drops the message and adds one to the socket's
// drop counter (net/netlink/af_netlink.c netlink_overrun), once per skb, unicast or
// multicast. The counter (SO_MEMINFO, SK_MEMINFO_DROPS) is read after every drain and
// when the watcher reports an error, and its growth goes to `events.dropped`.
//
// A socket that joins groups (conntrack events) gets NETLINK_NO_ENOBUFS: an overrun then
// drops without putting the socket into the ENOBUFS error state, and the counter is the
// exact count (one conntrack event per skb). Not counted: an event the kernel could not
// even allocate (ctnetlink then flags ENOBUFS on every listener, which NETLINK_NO_ENOBUFS
// silences): memory exhaustion in atomic context, not an overrun.
//
// The NFLOG socket (unicast, no group) keeps the ENOBUFS error state, which its reader
// uses (flows/reader.ts): epoll reports it as an error and libuv stops watching, so the
// watch is started again after the read that clears it.

import { closeSync, readSync, writeSync } from 'node:fs';

import { joinNetlinkGroup, NETLINK, openNetlinkSocket, setNetlinkNoEnobufs, setReceiveBuffer, socketMemInfo, watchFd, type FdWatcher } from '@twill/sys';

import { type NetfilterSocket, type NetfilterSocketEvents, type OpenNetfilterSocket } from '../flows/reader.js';

/** The largest datagram read: NFLOG batches up to its nlbufsiz (at most 128 KiB). */
const READ_BUFFER = 256 * 1024;

/**
 * `SO_RCVBUF` asked for a socket that joins groups when none is configured, in bytes (the
 * kernel doubles it): 8 MiB hold some 8,000 conntrack events of about 1 KiB of skb each,
 * a burst of new connections while the event loop is busy elsewhere. Forced past
 * net.core.rmem_max when the agent may (CAP_NET_ADMIN), capped by it otherwise.
 */
export const GROUP_RECV_BUFFER = 4 * 1024 * 1024;

function openSocket(netns: string | undefined, options: { readonly groups: readonly number[]; readonly recvBufferSize?: number }, events: NetfilterSocketEvents): NetfilterSocket {
  const multicast = options.groups.length > 0;
  const what = multicast ? 'conntrack socket' : 'NFLOG socket';
  const fd = openNetlinkSocket({ protocol: NETLINK.NETFILTER, ...(netns === undefined ? {} : { netns }) });
  let drops: number;
  try {
    const size = options.recvBufferSize ?? (multicast ? GROUP_RECV_BUFFER : undefined);
    if (size !== undefined) setReceiveBuffer(fd, size, { force: 'if-permitted' });
    if (multicast) setNetlinkNoEnobufs(fd, true);
    drops = socketMemInfo(fd).drops;
    for (const group of options.groups) joinNetlinkGroup(fd, group);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const buffer = new Uint8Array(READ_BUFFER);
  let watcher: FdWatcher | undefined;
  let open = true;
  const countDrops = (): void => {
    if (!open) return;
    let now: number;
    try {
      now = socketMemInfo(fd).drops;
    } catch (error) {
      events.error({ code: (error as NodeJS.ErrnoException).code, message: `read the ${what}'s drop counter: ${(error as Error).message}` });
      return;
    }
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
        events.error({ code, message: `read ${what}: ${(error as Error).message}` });
        if (code === 'ENOBUFS') continue;
        return false;
      }
      // A copy: the handler may keep it past the next read.
      events.datagram(buffer.slice(0, length));
    }
    return false;
  };
  const watch = (): void => {
    watcher = watchFd(fd, { readable: true }, (error) => {
      if (!open) return;
      const more = drain();
      countDrops();
      // An error state (ENOBUFS) stopped the watch: the read cleared it, so watch again.
      if (more && error !== undefined) watch();
    });
    watcher.unref();
  };
  watch();
  return {
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
        setReceiveBuffer(fd, bytes, { force: 'if-permitted' });
      } catch (error) {
        events.error({ code: (error as NodeJS.ErrnoException).code, message: `set the ${what}'s receive buffer: ${(error as Error).message}` });
      }
    },
    close() {
      if (!open) return;
      open = false;
      watcher?.close();
      closeSync(fd);
    },
  };
}

/**
 * Opens NETLINK_NETFILTER sockets in `netns` (named as `ip netns`; the caller's namespace
 * when absent), in this process: one without groups (NFLOG), one per call with groups
 * (conntrack events), which gets NETLINK_NO_ENOBUFS and, unless `recvBufferSize` says
 * otherwise, a {@link GROUP_RECV_BUFFER} receive buffer. `recvBufferSize` applies to both
 * kinds (forced past net.core.rmem_max when permitted); the NFLOG socket keeps the
 * system default (net.core.rmem_default) without it or until `setReceiveBuffer`. Both
 * report the kernel's drop counter's growth through `events.dropped`.
 * Needs CAP_NET_ADMIN there (CAP_SYS_ADMIN to enter it).
 * @throws {SysError} when a socket cannot be made or set up (`EPERM` ...).
 */
export function netfilterSocketOpener(netns?: string): OpenNetfilterSocket {
  return (options, events) => openSocket(netns, options, events);
}
