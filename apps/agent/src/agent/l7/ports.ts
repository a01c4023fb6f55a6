// The L7 proxy's contracts: what it asks about each connection and request, what it
// reports per request, and its limits. The socket code (sys/) is written against these;
// the agent's wiring gives it the real policy source and flow sink.

import { type HttpMatcher } from '@twill/policy-engine';
import { type NetnsRef } from '@twill/sys';

import { type AgentLogger } from '../ports.js';

/** An address and port as a socket reports them (`10.0.1.2`, `::1`). */
export interface L7Endpoint {
  /** The IP address, IPv4 dotted or IPv6 text (no brackets, no `::ffff:` prefix). */
  readonly address: string;
  /** The TCP port. */
  readonly port: number;
}

/** What the policy says about a new connection before any byte of HTTP is read. */
export type L7ConnectionDecision =
  /** L3/L4 policy denies the flow: the proxy closes the connection at once. */
  | { readonly allowed: false; readonly why: string }
  /**
   * Allowed; `http` decides each request (@twill/policy-engine's `compileHttpMatcher(...)`;
   * its `match` must not throw), or `'any'` when no L7 rule restricts this flow.
   */
  | { readonly allowed: true; readonly http: Pick<HttpMatcher, 'match'> | 'any' };

/** The policy port: asked once per accepted connection. */
export interface L7PolicySource {
  /**
   * The decision for a connection from `client` to `destination` (the original
   * destination, before the redirect; its port is the TCP port policy is asked about).
   * May be async; a rejection closes the connection (fail closed).
   */
  decide(client: L7Endpoint, destination: L7Endpoint): L7ConnectionDecision | Promise<L7ConnectionDecision>;
}

/** What happened to a request, for flow records. */
export const L7_VERDICT = {
  /** Allowed by policy and proxied to the destination. */
  FORWARDED: 'forwarded',
  /** Denied by an L7 rule: answered 403 (HTTP) or PERMISSION_DENIED (gRPC). */
  DENIED: 'denied',
  /** Malformed or over a limit: answered 4xx or closed, never forwarded. */
  INVALID: 'invalid',
  /** Allowed, but the destination failed: answered 502/503 (gRPC UNAVAILABLE) or reset. */
  UPSTREAM_ERROR: 'upstream-error',
} as const;

/** One of {@link L7_VERDICT}. */
export type L7Verdict = (typeof L7_VERDICT)[keyof typeof L7_VERDICT];

/** One request through the proxy: the fields of Hubble's `l7.http` plus the verdict. */
export interface L7FlowRecord {
  /** When the request's headers were read, milliseconds since the epoch. */
  readonly time: number;
  /** The client (the redirected connection's source). */
  readonly client: L7Endpoint;
  /** The original destination. */
  readonly destination: L7Endpoint;
  /** `HTTP/1.1`, `HTTP/1.0` or `HTTP/2`. */
  readonly protocol: string;
  /** The method; `''` when the request was too malformed to have one. */
  readonly method: string;
  /** The request target in origin form; `''` when unknown. */
  readonly path: string;
  /** The authority the request named, when it named one. */
  readonly host?: string;
  /** The status sent to the client; 0 when the connection closed without one. */
  readonly status: number;
  /** For gRPC calls: the `grpc-status` sent to the client, when one was. */
  readonly grpcStatus?: number;
  /** Nanoseconds from the request's headers to the end of the response (or the close). */
  readonly latencyNs: number;
  /** What the proxy did. */
  readonly verdict: L7Verdict;
  /** The rules that allowed it (`CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0] http[0]`); empty when no L7 rule applies. */
  readonly rules: readonly string[];
  /** Why it was denied or failed, in words. */
  readonly why?: string;
}

/** Where flow records go (the agent's flow observer). Must not throw. */
export type L7FlowSink = (record: L7FlowRecord) => void;

/** The proxy's limits; all times in milliseconds. */
export interface L7ProxyLimits {
  /** Most bytes of an HTTP/1.1 request head (request line and header fields, CRLFs included); more: 431. Also HTTP/2's max header list size and the most bytes of a chunked body's trailer section. */
  readonly maxHeaderBytes: number;
  /** Time to receive a request's complete headers (slowloris); over it: 408 and close. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included; 0: none (long uploads). Over it: 408 and close. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection (HTTP/1.1) or session (HTTP/2) stays open. */
  readonly idleTimeoutMs: number;
  /** Connections served at once; a new one beyond it gets 503 (HTTP/1.1) or GOAWAY (HTTP/2) and is closed. */
  readonly maxConnections: number;
  /** Streams at once per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Sockets at once to one destination (HTTP/1.1 keep-alive pool); further requests wait for one. */
  readonly maxUpstreamSocketsPerDestination: number;
  /**
   * Destinations whose upstream pools and sessions are kept; the least recently used is closed beyond it.
   * With {@link L7UpstreamOptions.source} `'client'` a pool belongs to one client address and one
   * destination, so this bounds those pairs.
   */
  readonly maxUpstreamDestinations: number;
  /** Time to connect to the destination; over it: 503 (gRPC UNAVAILABLE). */
  readonly upstreamConnectTimeoutMs: number;
}

/** The defaults: Node's own header limit and timeouts (16 KiB, 10 s, 60 s idle), Envoy-like pool sizes. */
export const L7_DEFAULT_LIMITS: L7ProxyLimits = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 0,
  idleTimeoutMs: 60_000,
  maxConnections: 4096,
  maxConcurrentStreams: 128,
  maxUpstreamSocketsPerDestination: 256,
  maxUpstreamDestinations: 1024,
  upstreamConnectTimeoutMs: 5_000,
});

/**
 * How the proxy connects to original destinations.
 *
 * The redirect and these sockets share a mark field (Cilium's convention: the bits 0xf00 of
 * the mark hold one value). The redirect sets the delivery value (0x200) on what it hands
 * the proxy and on replies to the proxy's transparent sockets (`meta l4proto tcp socket
 * transparent 1 meta mark set meta mark and 0xfffff0ff or 0x200`), and a policy route
 * delivers it locally (`ip rule add fwmark 0x200/0xf00 lookup T`, `ip route add local
 * 0.0.0.0/0 dev lo table T`). {@link L7UpstreamOptions.mark} must be another value in that
 * field (0xa00, Cilium's proxy mark): a socket's mark also selects the route of what it
 * sends, and the delivery value's route is `lo`. The redirect leaves the proxy's own
 * traffic alone by that value (`meta mark and 0xf00 == 0xa00 accept` before its tproxy
 * rules), so it is never redirected back into the proxy.
 */
export interface L7UpstreamOptions {
  /**
   * `'node'` (the default): upstream connections come from the node's own address, as any
   * local socket. `'client'`: each comes from the client's address (IP_TRANSPARENT, as
   * Cilium's proxy does), so the destination's policy sees the real client; pools and
   * HTTP/2 sessions are then per client address and destination, never shared between
   * clients. Needs CAP_NET_ADMIN and the reply rule and route above.
   */
  readonly source: 'client' | 'node';
  /** The firewall mark (SO_MARK, 0..0xffffffff) of every upstream socket, of either source (default: none). Needs CAP_NET_ADMIN. */
  readonly mark?: number;
  /** The network namespace upstream sockets are made in (default: the proxy process's own); the listener's, in practice. */
  readonly netns?: NetnsRef;
}

/** The default {@link L7UpstreamOptions}: from the node's address, unmarked. */
export const L7_DEFAULT_UPSTREAM: L7UpstreamOptions = Object.freeze({ source: 'node' });

/**
 * Checks {@link L7UpstreamOptions} given from outside the type system (configuration).
 * @throws {TypeError} naming the field and the value refused.
 */
export function checkUpstreamOptions(upstream: L7UpstreamOptions): void {
  if (upstream.source !== 'client' && upstream.source !== 'node') {
    throw new TypeError(`L7Proxy upstream.source ${JSON.stringify(upstream.source)} is not 'client' or 'node'`);
  }
  const { mark } = upstream;
  if (mark !== undefined && (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff)) {
    throw new TypeError(`L7Proxy upstream.mark ${String(mark)} is not an integer within 0..0xffffffff`);
  }
}

/** The logger the proxy reports its own failures to (the agent's pino logger fits). */
export type L7Logger = Pick<AgentLogger, 'debug' | 'warn'>;
