// The BGP controller's transport: @twill/bgp's TCP transport with the socket options
// port the package cannot implement itself (it imports no other workspace package):
// sockets opened with @twill/sys, inside the node's network namespace when one is given,
// with the peer's TCP MD5 key (RFC 2385) set before connecting.
import net from 'node:net';

import { type ConnectTarget, type SpeakerTransport, createTcpTransport } from '@twill/bgp';
import { AF, type NetnsRef, SOCK, openSocket, runInNetns, setTcpMd5 } from '@twill/sys';

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

function socketFor(netns: NetnsRef | undefined): (target: ConnectTarget) => net.Socket {
  return (target) => {
    if (target.ttl !== undefined || target.minTtl !== undefined) {
      // Refused rather than connected without: the session would only look broken.
      throw new Error(`peer ${target.address}: ttlSecurity and multihop need IP_TTL / IP_MINTTL, which @twill/sys cannot set yet`);
    }
    const fd = openSocket({ domain: net.isIPv6(target.address) ? AF.INET6 : AF.INET, type: SOCK.STREAM, ...(netns === undefined ? {} : { netns }) });
    if (target.md5Password !== undefined) setTcpMd5(fd, { address: target.address, key: target.md5Password });
    return new net.Socket({ fd });
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
 * The speaker's transport: connects from sockets made with @twill/sys (TCP MD5 when the
 * peer has a password) and listens on `listenPort` on every address. Ports below 1024
 * need CAP_NET_BIND_SERVICE; a netns needs CAP_SYS_ADMIN.
 *
 * Not yet: the MD5 key on the listener (a peer with a password must be reached by an
 * outgoing connection: do not make it `passive`), and TTL security.
 */
export function createBgpTransport(options: BgpTransportOptions): SpeakerTransport {
  const netns = options.netns;
  return createTcpTransport({
    listen: { port: options.listenPort },
    socketFactory: socketFor(netns),
    ...(netns === undefined ? {} : { serverFactory: () => serverIn(netns) }),
  });
}
