// The BGP controller's transport: @twill/bgp's TCP transport with the socket options
// port the package cannot implement itself (it imports no other workspace package):
// sockets opened with @twill/sys, inside the node's network namespace when one is given,
// with the peer's TCP MD5 key (RFC 2385) and TTL settings (RFC 5082) set before
// connecting, and on the listener and the connections it accepts.
import { closeSync } from 'node:fs';
import net from 'node:net';

import { type ConnectTarget, type PeerSocketOptions, type SpeakerTransport, createTcpTransport } from '@twill/bgp';
import { AF, type NetnsRef, SOCK, openSocket, runInNetns, setMinTtl, setTcpMd5, setTtl } from '@twill/sys';

/** Options of {@link createBgpTransport}. */
export interface BgpTransportOptions {
  /** The TCP port to accept peers on (Calico's BGPConfiguration `listenPort`, default 179). */
  readonly listenPort: number;
  /**
   * The node's namespace, when it is not this process's (tests run several nodes in one
   * process): outgoing sockets are opened in it and the listener is created in it.
   */
  readonly netns?: NetnsRef;
}

/** The fd under a Node socket or server (libuv's handle; present for TCP on Linux). */
function fdOf(handle: net.Socket | net.Server, what: string): number {
  const fd = (handle as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error(`${what}: the socket has no file descriptor to set BGP socket options on`);
  return fd;
}

/** RFC 5082 and multihop: the TTL sent and the least TTL accepted, on a socket before it connects or just accepted. */
function applyTtl(fd: number, target: { readonly ttl?: number; readonly minTtl?: number }): void {
  if (target.ttl !== undefined) setTtl(fd, target.ttl);
  if (target.minTtl !== undefined) setMinTtl(fd, target.minTtl);
}

function socketFor(netns: NetnsRef | undefined): (target: ConnectTarget) => net.Socket {
  return (target) => {
    const fd = openSocket({ domain: net.isIPv6(target.address) ? AF.INET6 : AF.INET, type: SOCK.STREAM, ...(netns === undefined ? {} : { netns }) });
    try {
      if (target.md5Password !== undefined) setTcpMd5(fd, { address: target.address, key: target.md5Password });
      applyTtl(fd, target);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return new net.Socket({ fd });
  };
}

/**
 * The listener's socket options: each peer's TCP MD5 key (RFC 2385 §3: the peer's signed
 * SYN is checked against the listener's keys), on a dual-stack IPv6 listener under the
 * IPv4-mapped address for an IPv4 peer; and TTL 255 for SYN-ACKs once a peer has TTL
 * security (the peer drops anything less). The minimum TTL goes on the accepted
 * connection (configureSocket), not here: the listener is every peer's.
 */
function listenerOptions(): (server: net.Server, peer: PeerSocketOptions, removed: boolean) => void {
  const keyed = new Set<string>();
  let ttlRaised = false;
  return (server, peer, removed) => {
    const fd = fdOf(server, 'the BGP listener');
    const address = server.address();
    const v6 = typeof address === 'object' && address !== null && address.family === 'IPv6';
    const keyAddress = v6 && net.isIPv4(peer.address) ? `::ffff:${peer.address}` : peer.address;
    if (removed) {
      if (keyed.delete(keyAddress)) setTcpMd5(fd, { address: keyAddress, key: '' });
      return;
    }
    if (peer.md5Password !== undefined) {
      setTcpMd5(fd, { address: keyAddress, key: peer.md5Password });
      keyed.add(keyAddress);
    }
    if (peer.minTtl !== undefined && !ttlRaised) {
      setTtl(fd, 255);
      ttlRaised = true;
    }
  };
}

/**
 * A server whose listening socket is created inside `netns`: Node creates it synchronously
 * in `listen()` when no host name needs resolving, so entering the namespace around that
 * call is enough (the transport listens on every address, `{ port }` only).
 */
function serverIn(netns: NetnsRef): net.Server {
  const server = net.createServer();
  const listen = server.listen.bind(server) as (...args: unknown[]) => net.Server;
  server.listen = ((...args: unknown[]) => runInNetns(netns, () => listen(...args))) as typeof server.listen;
  return server;
}

/**
 * The speaker's transport: connects from sockets made with @twill/sys, with the peer's
 * TCP MD5 key (RFC 2385) and TTL settings (eBGP multihop; RFC 5082 TTL security: send
 * 255, drop below 256 - hops) set before connecting, and listens on `listenPort` on
 * every address with each peer's key on the listener and its TTL settings on the
 * connections accepted from it, so that a peer with a password or TTL security may
 * connect to this node as well. Ports below 1024 need CAP_NET_BIND_SERVICE; a netns
 * needs CAP_SYS_ADMIN.
 */
export function createBgpTransport(options: BgpTransportOptions): SpeakerTransport {
  const netns = options.netns;
  return createTcpTransport({
    listen: { port: options.listenPort },
    socketFactory: socketFor(netns),
    configureListener: listenerOptions(),
    configureSocket: (socket, target) => {
      // An accepted connection takes its peer's TTL settings here (an outgoing one, set up by
      // socketFor, gets the same values again: harmless).
      if (target.ttl === undefined && target.minTtl === undefined) return;
      applyTtl(fdOf(socket, `peer ${target.address}`), target);
    },
    ...(netns === undefined ? {} : { serverFactory: () => serverIn(netns) }),
  });
}
