// What the proxy knows about one accepted connection, shared by the HTTP/1.1 and HTTP/2 sides.
import { type Socket } from 'node:net';

import { type HttpDecision, type HttpMatcher, type HttpRequestFacts } from '@twill/policy-engine';

import { type L7Endpoint, type L7FlowRecord, type L7FlowSink, type L7Logger, type L7ProxyLimits, type L7Verdict } from '../ports.js';
import { type UpstreamPools } from './upstream.js';

/** One accepted connection, after the policy allowed it. */
export interface ConnectionContext {
  readonly client: L7Endpoint;
  readonly destination: L7Endpoint;
  readonly http: Pick<HttpMatcher, 'match'> | 'any';
}

/** What the protocol handlers share with the proxy. */
export interface ProxyShared {
  readonly limits: L7ProxyLimits;
  readonly pools: UpstreamPools;
  readonly onFlow: L7FlowSink;
  readonly logger?: L7Logger;
  readonly now: () => bigint;
  /** The protocols (lower case, no version) an allowed HTTP/1.1 request may upgrade to. */
  readonly upgrades: ReadonlySet<string>;
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
export function decideRequest(context: ConnectionContext, facts: HttpRequestFacts): HttpDecision {
  if (context.http === 'any') return { allowed: true, by: [] };
  try {
    return context.http.match(facts);
  } catch (error) {
    return { allowed: false, policies: [], why: `the rule matcher failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

const NO_LABELS: readonly string[] = Object.freeze([]);
/** Per rule hit (the matcher's, one object per compiled rule), the labels of a decision it alone allowed. */
const singleLabels = new WeakMap<object, readonly string[]>();

/**
 * The labels of the rules that allowed a request (a flow record's `rules`). A decision by
 * one rule (most) gets the same frozen array for every request it allows, on every
 * connection, so that a flow sink can keep what it derives from them by the array's
 * identity (the observer's L7DecisionCache).
 */
export function ruleLabels(by: readonly { readonly label: string }[]): readonly string[] {
  if (by.length === 0) return NO_LABELS;
  if (by.length > 1) return by.map((hit) => hit.label);
  const hit = by[0] as { readonly label: string };
  let labels = singleLabels.get(hit);
  if (labels === undefined) singleLabels.set(hit, (labels = Object.freeze([hit.label])));
  return labels;
}

/** Sends a flow record, never letting the sink's failure reach the connection. */
export function emitFlow(shared: ProxyShared, record: L7FlowRecord): void {
  try {
    shared.onFlow(record);
  } catch (error) {
    shared.logger?.warn({ err: error }, 'l7 proxy: the flow sink threw');
  }
}

/** One request's outcome, for {@link recordRequest}. */
export interface RequestRecord {
  readonly context: ConnectionContext;
  /** `HTTP/1.1`, `HTTP/1.0` or `HTTP/2`. */
  readonly protocol: string;
  readonly facts: HttpRequestFacts;
  /** `shared.now()` when the request's headers were read. */
  readonly start: bigint;
  readonly status: number;
  readonly verdict: L7Verdict;
  readonly rules: readonly string[];
  readonly grpcStatus?: number | undefined;
  readonly why?: string | undefined;
}

/** Sends a request's flow record: its time is when its headers were read, its latency from then to now (the clock read once). */
export function recordRequest(shared: ProxyShared, request: RequestRecord): void {
  const { context, facts, grpcStatus, why } = request;
  const latencyNs = Number(shared.now() - request.start);
  // Built field by field rather than with conditional spreads (a copy of a fresh object each; this runs once per request).
  const record: { -readonly [K in keyof L7FlowRecord]: L7FlowRecord[K] } = {
    time: Date.now() - Math.round(latencyNs / 1e6),
    client: context.client,
    destination: context.destination,
    protocol: request.protocol,
    method: facts.method,
    path: facts.path,
    status: request.status,
    latencyNs,
    verdict: request.verdict,
    rules: request.rules,
  };
  if (facts.host !== undefined) record.host = facts.host;
  if (grpcStatus !== undefined) record.grpcStatus = grpcStatus;
  if (why !== undefined) record.why = why;
  emitFlow(shared, record);
}
