// What the proxy knows about one accepted connection, shared by the HTTP/1.1 and HTTP/2 sides.
import { type Socket } from 'node:net';

import { type L7Endpoint, type L7FlowRecord, type L7FlowSink, type L7Logger, type L7ProxyLimits, type L7RequestDecision, type L7RequestFacts, type L7RequestMatcher } from '../ports.js';
import { type UpstreamPools } from './upstream.js';

/** One accepted connection, after the policy allowed it. */
export interface ConnectionContext {
  readonly client: L7Endpoint;
  readonly destination: L7Endpoint;
  readonly http: L7RequestMatcher | 'any';
}

/** What the protocol handlers share with the proxy. */
export interface ProxyShared {
  readonly limits: L7ProxyLimits;
  readonly pools: UpstreamPools;
  readonly onFlow: L7FlowSink;
  readonly logger?: L7Logger;
  readonly now: () => bigint;
}

// A symbol on the socket, not a WeakMap: HTTP/2 sessions expose their socket through a Proxy.
const CONTEXT = Symbol('twill.l7.connection');

/** Attaches a connection's context to its socket. */
export function setContext(socket: Socket, context: ConnectionContext): void {
  (socket as unknown as Record<symbol, ConnectionContext>)[CONTEXT] = context;
}

/** The context of a socket the proxy accepted; undefined for any other. */
export function getContext(socket: unknown): ConnectionContext | undefined {
  return (socket as Record<symbol, ConnectionContext | undefined> | null)?.[CONTEXT];
}

/** The matcher's decision, or allow when no L7 rule restricts the connection. A throwing matcher denies (fail closed). */
export function decideRequest(context: ConnectionContext, facts: L7RequestFacts): L7RequestDecision {
  if (context.http === 'any') return { allowed: true, by: [] };
  try {
    return context.http.match(facts);
  } catch (error) {
    return { allowed: false, why: `the rule matcher failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Sends a flow record, never letting the sink's failure reach the connection. */
export function emitFlow(shared: ProxyShared, record: L7FlowRecord): void {
  try {
    shared.onFlow(record);
  } catch (error) {
    shared.logger?.warn({ err: error }, 'l7 proxy: the flow sink threw');
  }
}
