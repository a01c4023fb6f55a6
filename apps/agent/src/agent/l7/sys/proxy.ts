// The L7 proxy: accepts redirected connections, asks the policy about each (L3/L4 first),
// tells HTTP/1.1 from HTTP/2 by the client preface, and serves HTTP/1.x itself
// (./http1.ts) or hands the connection to Node's HTTP/2 server, which never listens itself.
import { type Http2Server } from 'node:http2';
import net from 'node:net';

import { closingResponse, plainAddress, sniffProtocol } from '../http-semantics.js';
import { checkUpstreamOptions, L7_DEFAULT_LIMITS, L7_DEFAULT_UPSTREAM, type L7Endpoint, type L7FlowSink, type L7Logger, type L7PolicySource, type L7ProxyLimits, type L7UpstreamOptions } from '../ports.js';
import { type ConnectionContext, type ProxyShared, setContext } from './context.js';
import { Http1Connection } from './http1.js';
import { createHttp2Server } from './http2.js';
import { UpstreamPools } from './upstream.js';

/** How {@link L7Proxy} is built. */
export interface L7ProxyOptions {
  /** Asked once per connection, before any byte is read. */
  readonly policy: L7PolicySource;
  /** Receives one record per request (and per refused malformed request). */
  readonly onFlow?: L7FlowSink;
  /**
   * Told of each connection L3/L4 policy denies (closed with a reset before a byte is
   * read): for the agent's flows, which would otherwise never see it (the kernel handed
   * it to the proxy). Must not throw.
   */
  readonly onConnectionDenied?: (client: L7Endpoint, destination: L7Endpoint, why: string) => void;
  /** Where the proxy reports its own failures. */
  readonly logger?: L7Logger;
  /** Overrides of {@link L7_DEFAULT_LIMITS}. */
  readonly limits?: Partial<L7ProxyLimits>;
  /**
   * The original destination of an accepted connection. Default: the socket's local
   * address and port, which is the original destination under an nftables `tproxy`
   * redirect to a listener with IP_TRANSPARENT. Tests give a fixed upstream.
   */
  readonly originalDestination?: (socket: net.Socket) => L7Endpoint;
  /** Where upstream connections come from and their mark (default {@link L7_DEFAULT_UPSTREAM}: the node's address, unmarked). */
  readonly upstream?: L7UpstreamOptions;
  /** A monotonic clock in nanoseconds (default `process.hrtime.bigint`). */
  readonly now?: () => bigint;
  /**
   * The protocols an HTTP/1.1 request the rules allow may switch to (its `Upgrade` field's
   * first protocol name, case-insensitive), default {@link L7_DEFAULT_UPGRADES}: the
   * destination's `101` is passed on and the connection becomes a tunnel (its bytes are
   * not inspected further). Any other upgrade is refused by leaving the `Upgrade` field out:
   * the destination answers the request itself (RFC 9110 §7.8). `h2c` is never let through
   * (HTTP/2 is served with prior knowledge, where every stream is checked).
   */
  readonly upgrades?: readonly string[];
}

/** WebSocket (RFC 6455), as Cilium's proxy lets it through HTTP rules. */
export const L7_DEFAULT_UPGRADES: readonly string[] = Object.freeze(['websocket']);

/** Counters, for status and tests. */
export interface L7ProxyStats {
  /** Connections being served now. */
  readonly connections: number;
  /** Connections closed because L3/L4 policy denied them (or the policy source failed). */
  readonly deniedConnections: number;
  /** Connections refused because {@link L7ProxyLimits.maxConnections} were open. */
  readonly refusedConnections: number;
}

/** What {@link L7Proxy.listen} listens on: a port (tests), or an inherited listening socket. */
export type L7ListenTarget = { readonly port: number; readonly host?: string } | { readonly fd: number };

function destinationOf(socket: net.Socket): L7Endpoint {
  return { address: plainAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
}

/** A transparent HTTP/1.1 and HTTP/2 proxy enforcing L7 rules. */
export class L7Proxy {
  private readonly shared: ProxyShared;
  private readonly http2: Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly http1 = new Set<Http1Connection>();
  private readonly timers: NodeJS.Timeout;
  private server?: net.Server;
  private denied = 0;
  private refused = 0;

  /** @throws {TypeError} for bad {@link L7ProxyOptions.upstream} options, naming the field. */
  constructor(private readonly options: L7ProxyOptions) {
    const limits = { ...L7_DEFAULT_LIMITS, ...options.limits };
    const upstream = options.upstream ?? L7_DEFAULT_UPSTREAM;
    checkUpstreamOptions(upstream);
    this.shared = {
      limits,
      pools: new UpstreamPools(limits, upstream),
      onFlow: options.onFlow ?? (() => undefined),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      now: options.now ?? process.hrtime.bigint,
      upgrades: new Set((options.upgrades ?? L7_DEFAULT_UPGRADES).map((name) => name.toLowerCase()).filter((name) => name !== 'h2c')),
    };
    this.http2 = createHttp2Server(this.shared);
    // One periodic check of every HTTP/1 connection's header, request and idle timeouts
    // (as Node's own server does), instead of a timer per request.
    const shortest = Math.min(limits.headersTimeoutMs, limits.idleTimeoutMs, limits.requestTimeoutMs > 0 ? limits.requestTimeoutMs : Infinity);
    this.timers = setInterval(() => {
      const now = Date.now();
      for (const connection of this.http1) connection.checkTimers(now);
    }, Math.max(25, Math.min(1000, Math.floor(shortest / 4))));
    this.timers.unref();
  }

  /** Counters. */
  get stats(): L7ProxyStats {
    return { connections: this.sockets.size, deniedConnections: this.denied, refusedConnections: this.refused };
  }

  /**
   * Listens and serves every accepted connection.
   * @returns the address listened on.
   * @throws the listen error (port in use, bad fd).
   */
  async listen(target: L7ListenTarget): Promise<L7Endpoint> {
    const server = net.createServer({ noDelay: true }, (socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => { server.off('error', reject); resolve(); };
      if ('fd' in target) server.listen({ fd: target.fd }, done);
      else server.listen(target.port, target.host ?? '127.0.0.1', done);
    });
    server.on('error', (error) => this.shared.logger?.warn({ err: error }, 'l7 proxy: listener error'));
    const address = server.address() as net.AddressInfo;
    return { address: plainAddress(address.address), port: address.port };
  }

  /** Serves one accepted connection (from this proxy's listener or one the caller accepted). */
  serve(socket: net.Socket): void {
    socket.on('error', () => socket.destroy());
    if (this.sockets.size >= this.shared.limits.maxConnections) {
      this.refused += 1;
      this.refuse(socket);
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    void this.admit(socket);
  }

  private async admit(socket: net.Socket): Promise<void> {
    const client: L7Endpoint = { address: plainAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    let context: ConnectionContext;
    try {
      const destination = (this.options.originalDestination ?? destinationOf)(socket);
      const decision = await this.options.policy.decide(client, destination);
      if (!decision.allowed) {
        this.denied += 1;
        this.shared.logger?.debug({ client, destination, why: decision.why }, 'l7 proxy: connection denied by L3/L4 policy');
        socket.resetAndDestroy();
        this.options.onConnectionDenied?.(client, destination, decision.why);
        return;
      }
      if (socket.destroyed) return;
      context = { client, destination, http: decision.http };
      setContext(socket, context);
    } catch (error) {
      // The policy source failed: fail closed.
      this.denied += 1;
      this.shared.logger?.warn({ err: error, client }, 'l7 proxy: policy source failed; connection closed');
      socket.resetAndDestroy();
      return;
    }
    this.sniff(socket, (protocol, seen) => {
      if (protocol === 'h2') {
        socket.pause();
        socket.unshift(seen);
        this.http2.emit('connection', socket);
        // Node's server starts reading on its own only for a fresh socket; this one was read already.
        process.nextTick(() => socket.resume());
        return;
      }
      const connection = new Http1Connection(this.shared, context, socket);
      this.http1.add(connection);
      socket.once('close', () => this.http1.delete(connection));
      connection.begin(seen);
    });
  }

  // Reads until the first bytes tell the protocol, then hands them over.
  private sniff(socket: net.Socket, then: (protocol: 'h2' | 'http1', seen: Buffer) => void): void {
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.shared.limits.headersTimeoutMs);
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const protocol = sniffProtocol(seen);
      if (protocol === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      then(protocol, seen);
    };
    const onEnd = (): void => { clearTimeout(timer); socket.destroy(); };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', () => clearTimeout(timer));
  }

  // Over the connection limit: an HTTP/1 client gets 503 with Connection: close; anything else is closed.
  private refuse(socket: net.Socket): void {
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      if (sniffProtocol(chunk) === 'http1') socket.end(closingResponse(503, 'Service Unavailable', 'too many connections to the L7 proxy\n'));
      else socket.destroy();
    });
  }

  /** Stops listening, closes every connection and upstream session. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
    this.shared.pools.close();
    clearInterval(this.timers);
    this.http1.clear();
    // The HTTP/2 server has no listener to close; this ends its own checks.
    this.http2.close();
  }
}
