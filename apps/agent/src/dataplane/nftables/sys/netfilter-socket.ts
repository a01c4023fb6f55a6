// The flow readers' NETLINK_NETFILTER sockets: the `netlink` package's RawNetlinkSocket
// (libuv-polled, non-blocking), created inside the driver's network namespace so that
// its NFLOG instance and conntrack events are that namespace's.

import { RawNetlinkSocket } from 'netlink';

import { NETLINK, runInNetns } from '@twill/sys';

import { type NetfilterSocket, type NetfilterSocketEvents, type OpenNetfilterSocket } from '../flows/reader.js';

/**
 * Opens NETLINK_NETFILTER sockets in `netns` (named as `ip netns`; the caller's
 * namespace when absent). Needs CAP_NET_ADMIN there (CAP_SYS_ADMIN to enter it).
 * @throws the socket's `ErrnoException` (`EPERM` ...) or a `SysError` from `setns`.
 */
export function netfilterSocketOpener(netns?: string): OpenNetfilterSocket {
  return (options, events: NetfilterSocketEvents): NetfilterSocket => {
    const create = (): RawNetlinkSocket => new RawNetlinkSocket(NETLINK.NETFILTER, {
      ...(options.recvBufferSize === undefined ? {} : { recvBufferSize: options.recvBufferSize }),
    } as ConstructorParameters<typeof RawNetlinkSocket>[1]);
    const socket = netns === undefined ? create() : runInNetns(netns, create);
    socket.on('message', (bytes) => events.datagram(bytes));
    // Message peeking sizes every read, so a truncated message means a kernel or library change: reported, not parsed.
    socket.on('truncatedMessage', (_bytes, info) => events.error({ code: 'EMSGSIZE', message: `a netlink message of ${info.truncated ?? '?'} bytes was truncated` }));
    socket.on('error', (error) => events.error(error));
    try {
      for (const group of options.groups) socket.addMembership(group);
    } catch (error) {
      socket.close();
      throw error;
    }
    let open = true;
    return {
      send(message) {
        if (open) socket.send(message, { port: 0 });
      },
      close() {
        if (!open) return;
        open = false;
        socket.close();
      },
    };
  };
}
