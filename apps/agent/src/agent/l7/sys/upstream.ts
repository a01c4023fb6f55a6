// Connections from the proxy to original destinations: one keep-alive HTTP/1.1 pool and
// at most one HTTP/2 session per destination, both bounded, least recently used closed
// first when there are too many destinations.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

import { formatEndpoint } from '../http-semantics.js';
import { type L7Endpoint, type L7ProxyLimits } from '../ports.js';

/** Called with every socket the proxy opens to a destination (to set SO_MARK once @twill/sys has it). */
export type UpstreamSocketHook = (socket: net.Socket) => void;

function connectTimeoutError(destination: L7Endpoint): Error {
  return Object.assign(new Error(`connect to ${formatEndpoint(destination)} timed out`), { code: 'TWILL_CONNECT_TIMEOUT' });
}

function connect(destination: L7Endpoint, limits: L7ProxyLimits, hook: UpstreamSocketHook | undefined): net.Socket {
  const socket = net.connect({ host: destination.address, port: destination.port, noDelay: true });
  hook?.(socket);
  const timer = setTimeout(() => socket.destroy(connectTimeoutError(destination)), limits.upstreamConnectTimeoutMs);
  timer.unref();
  socket.once('connect', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  return socket;
}

/** The proxy's upstream connections. */
export class UpstreamPools {
  private readonly agents = new Map<string, http.Agent>();
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(private readonly limits: L7ProxyLimits, private readonly hook?: UpstreamSocketHook) {}

  /** The keep-alive agent for `destination` (at most `maxUpstreamSocketsPerDestination` sockets). */
  agent(destination: L7Endpoint): http.Agent {
    const key = formatEndpoint(destination);
    let agent = this.agents.get(key);
    if (agent !== undefined) {
      this.agents.delete(key);
      this.agents.set(key, agent);
      return agent;
    }
    const limits = this.limits;
    const hook = this.hook;
    agent = new http.Agent({ keepAlive: true, maxSockets: limits.maxUpstreamSocketsPerDestination, maxFreeSockets: limits.maxUpstreamSocketsPerDestination, scheduling: 'lifo' });
    // Every pooled socket goes through `connect`, so the connect timeout and the socket hook apply.
    (agent as unknown as { createConnection: () => net.Socket }).createConnection = () => connect(destination, limits, hook);
    this.agents.set(key, agent);
    this.evict(this.agents, (old) => old.destroy());
    return agent;
  }

  /** The HTTP/2 (h2c, prior knowledge) session to `destination`, opened when there is none usable. */
  session(destination: L7Endpoint): http2.ClientHttp2Session {
    const key = formatEndpoint(destination);
    const existing = this.sessions.get(key);
    if (existing !== undefined && !existing.closed && !existing.destroyed) {
      this.sessions.delete(key);
      this.sessions.set(key, existing);
      return existing;
    }
    const session = http2.connect(`http://${key}`, {
      createConnection: () => connect(destination, this.limits, this.hook),
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
    for (const agent of this.agents.values()) agent.destroy();
    for (const session of this.sessions.values()) session.destroy();
    this.agents.clear();
    this.sessions.clear();
  }
}
