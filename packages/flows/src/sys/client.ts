// A client of observer.Observer over @grpc/grpc-js: GetFlows as an async iterable that a
// signal (or breaking out of the loop) cancels, ServerStatus with a deadline. Errors are
// ObserverCallError with the gRPC status code and the server's words.
import { Client, credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';

import { encodeGetFlowsRequest } from '../codec/observer.js';
import { ObserverCallError } from '../errors.js';
import type { GetFlowsRequest, GetFlowsResponse, ServerStatus } from '../model.js';
import { asBuffer, observerMethods } from './definition.js';

/** A connection to an observer. */
export interface ObserverClient {
  /**
   * Calls GetFlows; iterate the result for the responses. Aborting `signal`, or leaving
   * the loop early, cancels the call and ends the iteration without an error.
   * @throws FlowCodecError (on iteration) when the request cannot be encoded.
   * @throws ObserverCallError (on iteration) when the call fails: INVALID_ARGUMENT (3) for a bad filter, with the field in `details`; UNAVAILABLE (14) when nothing listens, the server shuts down or keepalive finds the connection dead; DEADLINE_EXCEEDED (4) when a call without `follow` outlasts `flowsTimeoutMs`.
   */
  getFlows(request: GetFlowsRequest, signal?: AbortSignal): AsyncIterable<GetFlowsResponse>;
  /** Calls ServerStatus. @throws ObserverCallError, DEADLINE_EXCEEDED after `timeoutMs`. */
  serverStatus(): Promise<ServerStatus>;
  /** Closes the connection. */
  close(): void;
}

/** Options of {@link connectObserver}. */
export interface ConnectObserverOptions {
  /** The deadline of ServerStatus calls, in milliseconds (default 5000). */
  readonly timeoutMs?: number;
  /** The deadline of a GetFlows call without `follow`, in milliseconds (default {@link DEFAULT_FLOWS_TIMEOUT_MS}). */
  readonly flowsTimeoutMs?: number;
}

/** The default deadline of a GetFlows call without `follow`. */
export const DEFAULT_FLOWS_TIMEOUT_MS = 30_000;

// Keepalive pings on an open connection, so that a followed stream to a node that vanished
// (no FIN, no RST) ends with UNAVAILABLE instead of waiting forever.
const KEEPALIVE = { 'grpc.keepalive_time_ms': 20_000, 'grpc.keepalive_timeout_ms': 10_000, 'grpc.keepalive_permit_without_calls': 1 };

function callError(e: unknown): unknown {
  if (e === null || typeof e !== 'object' || !('code' in e) || typeof (e as ServiceError).code !== 'number') return e;
  const se = e as ServiceError;
  const name = (grpcStatus as unknown as Record<number, string>)[se.code] ?? String(se.code);
  return new ObserverCallError(se.code, name, se.details ?? se.message, { cause: e });
}

/**
 * Connects to an observer at `target`: `unix:///run/twill/observer.sock`, `unix:/path`,
 * or `host:port` (IPv6 as `[::1]:4245`). The connection is made on the first call.
 */
export function connectObserver(target: string, options: ConnectObserverOptions = {}): ObserverClient {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const flowsTimeoutMs = options.flowsTimeoutMs ?? DEFAULT_FLOWS_TIMEOUT_MS;
  const methods = observerMethods();
  const client = new Client(target, credentials.createInsecure(), KEEPALIVE);
  const bytes = (b: Uint8Array): Buffer => asBuffer(b);

  async function* getFlows(request: GetFlowsRequest, signal?: AbortSignal): AsyncGenerator<GetFlowsResponse> {
    const encoded = encodeGetFlowsRequest(request);
    const aborted = (): boolean => signal?.aborted === true;
    if (aborted()) return;
    const m = methods.GetFlows;
    const call = client.makeServerStreamRequest<Uint8Array, GetFlowsResponse>(
      m.path,
      bytes,
      (b) => m.response.decode(b) as GetFlowsResponse,
      encoded,
      new Metadata(),
      request.follow === true ? {} : { deadline: Date.now() + flowsTimeoutMs },
    );
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const response of call) yield response as GetFlowsResponse;
    } catch (e) {
      if (aborted() && (e as ServiceError).code === grpcStatus.CANCELLED) return;
      throw callError(e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  const serverStatus = (): Promise<ServerStatus> =>
    new Promise((resolve, reject) => {
      const m = methods.ServerStatus;
      client.makeUnaryRequest<Uint8Array, ServerStatus>(
        m.path,
        bytes,
        (b) => m.response.decode(b) as ServerStatus,
        new Uint8Array(0),
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, value) => {
          if (error !== null || value === undefined) reject(callError(error ?? new Error('ServerStatus returned nothing')));
          else resolve(value);
        },
      );
    });

  return { getFlows, serverStatus, close: () => client.close() };
}
