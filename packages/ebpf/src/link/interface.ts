/** Interfaces by name inside a network namespace. */
import type { NetnsRef } from '@twill/sys';

import { NlMsgType } from './netlink/message.js';
import { decodeLinkIndex, getLinkByName } from './netlink/tc.js';
import { NetlinkError } from './errors.js';
import { openRouteSocket } from './sys/route-socket.js';

/**
 * The index of interface `name` in `netns` (the caller's namespace when absent), asked
 * with `RTM_GETLINK` over a route socket opened inside it: `/sys/class/net` shows the
 * namespace sysfs was mounted in, not the thread's. A number is returned as is.
 * @throws {NetlinkError} `ENODEV` when there is no such interface.
 * @throws {RangeError} for a name longer than 15 bytes.
 */
export function interfaceIndex(iface: string | number, netns?: NetnsRef): number {
  if (typeof iface === 'number') {
    if (!Number.isInteger(iface) || iface < 1) throw new RangeError(`interface index ${iface} is not a positive integer`);
    return iface;
  }
  const request = getLinkByName(iface);
  const socket = openRouteSocket(netns);
  try {
    const link = socket.request(request).find((m) => m.type === NlMsgType.RTM_NEWLINK);
    if (!link) throw new NetlinkError('EBADMSG', request.describe, 'no RTM_NEWLINK in the answer');
    return decodeLinkIndex(link.payload);
  } finally {
    socket.close();
  }
}
