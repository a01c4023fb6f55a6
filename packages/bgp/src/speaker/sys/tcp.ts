// The transport over node:net: outgoing connections to port 179 (or the peer's port)
// from an optional source address, a listener for peers that connect, and sockets a
// caller may create or configure itself (in another network namespace, with TCP MD5).
import net from 'node:net';

import { BgpInvalidArgument } from '../../errors.js';
import { type Connection, type ConnectionEvents, type ConnectTarget, type IncomingHandler, type PeerSocketOptions, type SpeakerTransport, unmapAddress } from '../ports.js';

/** Options of {@link createTcpTransport}. */
export interface TcpTransportOptions {
  /** Accept connections here (e.g. `{ port: 179 }`); default: do not listen. */
  readonly listen?: {
    /** The local address to listen on; default every address (Node's `server.listen` without a host). */
    readonly host?: string;
    /** The TCP port; 179 is BGP's (RFC 4271 §8.2.1) and needs CAP_NET_BIND_SERVICE. */
    readonly port: number;
  };
  /**
   * Creates the unconnected socket for an outgoing connection, e.g. one opened inside a
   * network namespace: `new net.Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns }) })`
   * from `@twill/sys`. Default `new net.Socket()`. This is the socket options port: it
   * must apply the target's `md5Password` (RFC 2385), `ttl` and `minTtl` (RFC 5082) to
   * the fd before handing it over; without it such targets are refused.
   */
  readonly socketFactory?: (target: ConnectTarget) => net.Socket;
  /**
   * Called on each outgoing socket before it connects, and on each accepted one with the
   * options of the peer it comes from (given to `addPeer`; the address and port alone for
   * a stranger): for TTL security an accepted connection needs the peer's `ttl` and
   * `minTtl` (`setTtl`, `setMinTtl` from `@twill/sys` on the socket's fd).
   */
  readonly configureSocket?: (socket: net.Socket, target: ConnectTarget) => void;
  /**
   * The socket options port of the listener: called for each configured peer once the
   * server listens, and for each peer added (`removed` false) or removed (true) while it
   * does. It must put the peer's TCP MD5 key on the listening socket (`setTcpMd5` from
   * `@twill/sys`; RFC 2385 §3: the peer's signed SYN finds it there) or take it off, and
   * with TTL security make the listener send its SYN-ACKs with TTL 255 (`setTtl`).
   * Without it, peers with a password or TTL settings are refused by `addPeer`.
   */
  readonly configureListener?: (server: net.Server, peer: PeerSocketOptions, removed: boolean) => void;
  /** Creates the listening server, e.g. to listen inside a network namespace. Default `net.createServer()`. */
  readonly serverFactory?: () => net.Server;
  /** Milliseconds a closed connection may take to send what is queued (a NOTIFICATION) before it is cut (default 1000). */
  readonly lingerMs?: number;
}

function toBytes(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Wraps a socket as a {@link Connection}; after `close()` its events are no longer reported. */
function wrap(socket: net.Socket, events: ConnectionEvents | undefined, lingerMs: number, sockets: Set<net.Socket>): Connection & { attach(events: ConnectionEvents): void } {
  let handlers = events;
  let closed = false;
  let lastError: string | undefined;
  sockets.add(socket);
  socket.setNoDelay(true);
  socket.on('connect', () => {
    if (!closed) handlers?.onConnect();
  });
  socket.on('data', (chunk: Buffer) => {
    if (!closed) handlers?.onData(toBytes(chunk));
  });
  socket.on('error', (error: Error) => {
    lastError = error.message;
  });
  socket.on('close', () => {
    sockets.delete(socket);
    if (closed) return;
    closed = true;
    handlers?.onClose(lastError ?? 'the peer closed the connection');
  });
  return {
    get localAddress() {
      return socket.localAddress === undefined ? undefined : unmapAddress(socket.localAddress);
    },
    write(bytes) {
      if (!closed && !socket.destroyed) socket.write(bytes);
    },
    close() {
      if (closed) return;
      closed = true;
      socket.end();
      setTimeout(() => socket.destroy(), lingerMs).unref();
    },
    attach(next) {
      handlers = next;
    },
  };
}

/**
 * A {@link SpeakerTransport} over TCP with `node:net`.
 * @throws from `listen`: the server's error (EADDRINUSE; EACCES for port 179 without CAP_NET_BIND_SERVICE).
 */
export function createTcpTransport(options: TcpTransportOptions = {}): SpeakerTransport {
  const sockets = new Set<net.Socket>();
  const lingerMs = options.lingerMs ?? 1000;
  let server: net.Server | undefined;
  let listening = false;
  const peers = new Map<string, PeerSocketOptions>();
  return {
    addPeer(peer) {
      const secured = peer.md5Password !== undefined || peer.ttl !== undefined || peer.minTtl !== undefined;
      if (secured && options.listen && !options.configureListener) {
        // A peer that connects to us would find no key on the listener: refuse rather than half work.
        throw new BgpInvalidArgument(`peer ${peer.address} has a TCP MD5 password or TTL settings, but the transport has no configureListener to set them on the listener`);
      }
      peers.set(peer.address, peer);
      if (listening && server) options.configureListener?.(server, peer, false);
    },
    removePeer(address) {
      const peer = peers.get(address);
      if (!peer) return;
      peers.delete(address);
      if (listening && server) options.configureListener?.(server, peer, true);
    },
    connect(target, events) {
      if (target.md5Password !== undefined && !options.socketFactory) {
        // Connecting without the key would only look like an unreachable peer.
        throw new BgpInvalidArgument(`peer ${target.address} has a TCP MD5 password, but the transport has no socketFactory to set it (use setTcpMd5 from @twill/sys)`);
      }
      if ((target.ttl !== undefined || target.minTtl !== undefined) && !options.socketFactory) {
        throw new BgpInvalidArgument(`peer ${target.address} has multihop or TTL security, but the transport has no socketFactory to set the socket's TTL`);
      }
      const socket = options.socketFactory ? options.socketFactory(target) : new net.Socket();
      options.configureSocket?.(socket, target);
      const connection = wrap(socket, events, lingerMs, sockets);
      socket.connect({ port: target.port, host: target.address, ...(target.localAddress === undefined ? {} : { localAddress: target.localAddress }) });
      return connection;
    },
    async listen(accept: IncomingHandler) {
      const listen = options.listen;
      if (!listen || server) return;
      const s = options.serverFactory ? options.serverFactory() : net.createServer();
      server = s;
      s.on('connection', (socket) => {
        const remoteAddress = unmapAddress(socket.remoteAddress ?? '');
        const peer = peers.get(remoteAddress);
        options.configureSocket?.(socket, { ...peer, address: remoteAddress, port: socket.remotePort ?? 0 });
        const connection = wrap(socket, undefined, lingerMs, sockets);
        const events = accept({ remoteAddress, connection });
        if (events) connection.attach(events);
        else connection.close();
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ port: listen.port, ...(listen.host === undefined ? {} : { host: listen.host }) }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      listening = true;
      for (const peer of peers.values()) options.configureListener?.(s, peer, false);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      const s = server;
      server = undefined;
      listening = false;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
