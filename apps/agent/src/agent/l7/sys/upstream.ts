// Connections from the proxy to original destinations: one keep-alive HTTP/1.1 pool and
// at most one HTTP/2 session per destination (per client address and destination when
// upstream connections come from the client's address), both bounded, least recently
// used closed first when there are too many.
import { closeSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';

import { AF, openSocket, openTransparentSocket, SOCK, setSocketMark } from '@twill/sys';

import { formatEndpoint } from '../http-semantics.js';
import { Http1Pool } from './http1-pool.js';
import { L7_DEFAULT_UPSTREAM, type L7Endpoint, type L7ProxyLimits, type L7UpstreamOptions } from '../ports.js';

function connectTimeoutError(destination: L7Endpoint): Error {
  return Object.assign(new Error(`connect to ${formatEndpoint(destination)} timed out`), { code: 'TWILL_CONNECT_TIMEOUT' });
}

// The descriptor for an upstream socket when the proxy makes its own (a source, a mark or
// a namespace); undefined for a plain `net.connect`. Throws SysError.
function openUpstreamFd(client: L7Endpoint, destination: L7Endpoint, upstream: L7UpstreamOptions): number | undefined {
  const { source, mark, netns } = upstream;
  const where = netns === undefined ? {} : { netns };
  if (source === 'client') return openTransparentSocket({ source: client.address, ...where, ...(mark === undefined ? {} : { mark }) });
  if (mark === undefined && netns === undefined) return undefined;
  const domain = net.isIPv6(destination.address) ? AF.INET6 : AF.INET;
  const fd = openSocket({ domain, type: SOCK.STREAM, ...where });
  try {
    if (mark !== undefined) setSocketMark(fd, mark);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/**
 * A TCP connection to `destination`, from the source and with the mark `upstream` asks for,
 * destroyed with a TWILL_CONNECT_TIMEOUT error when not connected in time. A socket that
 * cannot be made is returned destroyed (on the next tick) with the error.
 */
export function connectUpstream(client: L7Endpoint, destination: L7Endpoint, limits: L7ProxyLimits, upstream: L7UpstreamOptions): net.Socket {
  let socket: net.Socket;
  try {
    const fd = openUpstreamFd(client, destination, upstream);
    if (fd === undefined) socket = net.connect({ host: destination.address, port: destination.port, noDelay: true });
    else {
      // Node keeps the descriptor: connect() is libuv's uv_tcp_connect on it, so the bound
      // source address and the mark hold (see @twill/sys openTransparentSocket).
      socket = new net.Socket({ fd });
      socket.setNoDelay(true);
      socket.connect(destination.port, destination.address);
    }
  } catch (error) {
    // No socket could be made (EPERM without CAP_NET_ADMIN, ...): the request fails like a refused connect.
    const failed = new net.Socket();
    process.nextTick(() => failed.destroy(error as Error));
    return failed;
  }
  const timer = setTimeout(() => socket.destroy(connectTimeoutError(destination)), limits.upstreamConnectTimeoutMs);
  timer.unref();
  socket.once('connect', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  return socket;
}

/** The proxy's upstream connections. */
export class UpstreamPools {
  private readonly pools = new Map<string, Http1Pool>();
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(private readonly limits: L7ProxyLimits, private readonly upstream: L7UpstreamOptions = L7_DEFAULT_UPSTREAM) {}

  // One pool per destination, or per client address and destination when connections come from the client.
  private keyOf(client: L7Endpoint, destination: L7Endpoint): string {
    const where = formatEndpoint(destination);
    return this.upstream.source === 'client' ? `${client.address} ${where}` : where;
  }

  /** The HTTP/1.1 keep-alive pool for `client`'s requests to `destination` (at most `maxUpstreamSocketsPerDestination` sockets). */
  http1(client: L7Endpoint, destination: L7Endpoint): Http1Pool {
    const key = this.keyOf(client, destination);
    let pool = this.pools.get(key);
    if (pool !== undefined) {
      this.pools.delete(key);
      this.pools.set(key, pool);
      return pool;
    }
    // Only the client's address matters (the source); its port is not the pool's.
    const from: L7Endpoint = { address: client.address, port: 0 };
    const { limits, upstream } = this;
    pool = new Http1Pool(limits.maxUpstreamSocketsPerDestination, () => connectUpstream(from, destination, limits, upstream));
    this.pools.set(key, pool);
    this.evict(this.pools, (old) => old.close());
    return pool;
  }

  /** The HTTP/2 (h2c, prior knowledge) session for `client`'s streams to `destination`, opened when there is none usable. */
  session(client: L7Endpoint, destination: L7Endpoint): http2.ClientHttp2Session {
    const key = this.keyOf(client, destination);
    const existing = this.sessions.get(key);
    if (existing !== undefined && !existing.closed && !existing.destroyed) {
      this.sessions.delete(key);
      this.sessions.set(key, existing);
      return existing;
    }
    const from: L7Endpoint = { address: client.address, port: 0 };
    const session = http2.connect(`http://${formatEndpoint(destination)}`, {
      createConnection: () => connectUpstream(from, destination, this.limits, this.upstream),
      settings: { enablePush: false },
    });
    const forget = (): void => {
      if (this.sessions.get(key) === session) this.sessions.delete(key);
    };
    session.on('close', forget);
    session.on('goaway', forget);
    // Stream errors reach the streams; a session error only ends the session.
    session.on('error', forget);
    // An idle session must not keep the agent alive on its own.
    session.unref();
    this.sessions.set(key, session);
    this.evict(this.sessions, (old) => old.close());
    return session;
  }

  private evict<T>(map: Map<string, T>, close: (value: T) => void): void {
    while (map.size > this.limits.maxUpstreamDestinations) {
      const [key, value] = map.entries().next().value as [string, T];
      map.delete(key);
      close(value);
    }
  }

  /** Closes every pool and session. */
  close(): void {
    for (const pool of this.pools.values()) pool.close();
    for (const session of this.sessions.values()) session.destroy();
    this.pools.clear();
    this.sessions.clear();
  }
}
