/**
 * `@twill/sys`: the Linux calls Node lacks, as a small N-API addon built from source.
 *
 * - `bpf(2)` and buffer addresses for its attributes;
 * - network namespaces: create and delete named ones (as `ip netns`), open, run code inside;
 * - sockets created inside a namespace (netlink, TCP), TCP MD5 keys (RFC 2385), TTL and
 *   minimum TTL (RFC 5082 GTSM);
 * - netlink multicast groups, `NETLINK_NO_ENOBUFS`, receive buffer sizes and the
 *   socket's drop counter (`SO_MEMINFO`), for event readers that count what they lost;
 * - classic BPF socket filters (`SO_ATTACH_FILTER`), so a socket queues only what it reads;
 * - transparent (`IP_TRANSPARENT`) TCP listeners for a tproxy-fed proxy, transparent
 *   upstream sockets that connect from the client's address, and firewall marks (`SO_MARK`);
 * - `mmap` for BPF ring buffers, and {@link watchFd} to wake when one has records.
 *
 * Every failure is a {@link SysError} with the errno name and the call. Linux only;
 * most calls need root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF).
 * @packageDocumentation
 */
export { SysError } from './errors.js';
export { bpf, addressOf } from './bpf.js';
export {
  NETNS_RUN_DIR,
  NetnsHandle,
  type NetnsRef,
  type NetnsDirOptions,
  netnsPath,
  openNetns,
  createNetns,
  deleteNetns,
  listNetns,
  runInNetns,
  withNetnsFd,
} from './netns.js';
export {
  AF,
  SOCK,
  NETLINK,
  type OpenSocketOptions,
  openSocket,
  openNetlinkSocket,
  type TcpMd5Options,
  setTcpMd5,
  type SocketTtl,
  setTtl,
  setMinTtl,
  socketTtl,
} from './socket.js';
export { joinNetlinkGroup, leaveNetlinkGroup, setNetlinkNoEnobufs } from './netlink-socket.js';
export { type ReceiveBufferOptions, setReceiveBuffer, type SocketMemInfo, socketMemInfo } from './socket-buffer.js';
export { type SocketFilterInstruction, SOCKET_FILTER_MAX_INSTRUCTIONS, attachSocketFilter, detachSocketFilter } from './socket-filter.js';
export {
  type TransparentListenerOptions,
  openTransparentListener,
  socketTransparent,
  type TransparentSocketOptions,
  openTransparentSocket,
} from './transparent.js';
export { MAX_SOCKET_MARK, setSocketMark, socketMark } from './socket-mark.js';
export { type MmapOptions, mmap, munmap } from './mmap.js';
export { type WatchFdEvents, type FdReadiness, type FdWatchCallback, FdWatcher, watchFd } from './poll.js';
