// The observer gRPC server (@grpc/grpc-js) on a unix socket and/or TCP. GetFlows streams
// from the service with back-pressure: while grpc-js says its buffer is full, the handler
// stops pulling from the service (so a slow client holds no queue of its own: the ring
// tells it what it missed instead). A client's cancellation aborts the service's signal;
// close() ends every open stream with UNAVAILABLE ("observer shutting down") and shuts the
// server down.
import { lstat, chmod, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';

import { Server, ServerCredentials, status as grpcStatus, type ServerWritableStream, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';

import { decodeGetFlowsRequest, encodeGetFlowsResponse, encodeServerStatus } from '../codec/observer.js';
import { FlowCodecError, FlowFilterError, FlowsArgumentError, ObserverServeError } from '../errors.js';
import type { GetFlowsRequest, GetFlowsResponse, ServerStatus } from '../model.js';
import { serverDefinition } from './definition.js';

/** What the server serves: a FlowRing is one. */
export interface ObserverService {
  /** The GetFlows stream for a request; may throw FlowFilterError at once for a bad filter. */
  getFlows(request: GetFlowsRequest, signal: AbortSignal): AsyncIterable<GetFlowsResponse>;
  /** The ServerStatus counters. */
  status(): ServerStatus;
}

/** Options of {@link serveObserver}: at least one of `socket` and `listen`. */
export interface ServeObserverOptions {
  /** What is served: GetFlows and ServerStatus are answered from it (a {@link FlowRing} is one). */
  readonly service: ObserverService;
  /** A unix socket path (made mode 0660; a stale socket file is replaced, a live one refused). */
  readonly socket?: string;
  /** A TCP address; port 0 picks a free port (see {@link ObserverServer.address}). */
  readonly listen?: {
    /** The address to bind: an IPv4 or IPv6 address (without brackets: `::1`) or a host name; `0.0.0.0` or `::` for every address. */
    readonly host: string;
    /** The TCP port, 0 to 65535; 0 picks a free one. */
    readonly port: number;
  };
  /** The most GetFlows streams open at once (default {@link DEFAULT_MAX_STREAMS}); one more is answered RESOURCE_EXHAUSTED. */
  readonly maxStreams?: number;
}

/** The default limit of concurrent GetFlows streams per server. */
export const DEFAULT_MAX_STREAMS = 64;
/** The largest request the server reads (requests are filters: small). */
export const MAX_REQUEST_BYTES = 256 * 1024;

/** A running observer server. */
export interface ObserverServer {
  /** The unix socket path, when serving on one. */
  readonly socket?: string;
  /** The TCP address, with the port actually bound, when serving on TCP. */
  readonly address?: {
    /** The host as given in {@link ServeObserverOptions.listen}. */
    readonly host: string;
    /** The port bound: the one the system picked when `listen.port` was 0. */
    readonly port: number;
  };
  /** Ends open streams (UNAVAILABLE, "observer shutting down"), stops the server and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/** The default socket path of twill-agent's observer. */
export const DEFAULT_OBSERVER_SOCKET = '/run/twill/observer.sock';

// How long close() lets calls finish before cancelling them.
const SHUTDOWN_GRACE_MS = 2_000;

function statusFor(e: unknown): { code: number; details: string } {
  const bad = e instanceof FlowFilterError || e instanceof FlowCodecError || e instanceof FlowsArgumentError;
  return { code: bad ? grpcStatus.INVALID_ARGUMENT : grpcStatus.INTERNAL, details: e instanceof Error ? e.message : String(e) };
}

function drained(call: ServerWritableStream<Buffer, Uint8Array>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Whether something accepts connections on the unix socket `path`. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function prepareSocket(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const stat = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (stat === undefined) return;
  if (!stat.isSocket()) throw new ObserverServeError(`${path} exists and is not a socket; refusing to replace it`);
  if (await socketIsLive(path)) throw new ObserverServeError(`${path} is in use by a live server`);
  await unlink(path);
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => {
      if (error !== null) reject(new ObserverServeError(`cannot listen on ${address}: ${error.message}`, { cause: error }));
      else resolve(port);
    });
  });
}

/**
 * Serves observer.Observer (GetFlows, ServerStatus) from `service` on a unix socket
 * (mode 0660; its folder is created; a stale socket file replaced, a live one refused)
 * and/or TCP.
 * @throws ObserverServeError when the socket is in use, a non-socket file is in the way, or binding fails.
 * @throws FlowsArgumentError when neither `socket` nor `listen` is given.
 */
export async function serveObserver(options: ServeObserverOptions): Promise<ObserverServer> {
  const { service, socket, listen } = options;
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
  if (socket === undefined && listen === undefined) throw new FlowsArgumentError('serveObserver needs a socket, a listen address, or both');
  if (!Number.isSafeInteger(maxStreams) || maxStreams <= 0) throw new FlowsArgumentError(`maxStreams must be a positive integer, got ${String(maxStreams)}`);
  const active = new Set<AbortController>();
  // Clients send keepalive pings (every 20 s): allow them.
  const server = new Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  let shuttingDown = false;
  const shutdownStatus = { code: grpcStatus.UNAVAILABLE, details: 'observer shutting down' };

  const getFlows = (call: ServerWritableStream<Buffer, Uint8Array>): void => {
    if (shuttingDown) {
      call.emit('error', shutdownStatus);
      return;
    }
    if (active.size >= maxStreams) {
      call.emit('error', { code: grpcStatus.RESOURCE_EXHAUSTED, details: `too many GetFlows streams: the limit is ${maxStreams} (maxStreams)` });
      return;
    }
    const abort = new AbortController();
    active.add(abort);
    call.on('cancelled', () => abort.abort());
    const run = async (): Promise<void> => {
      let stream: AsyncIterable<GetFlowsResponse>;
      try {
        stream = service.getFlows(decodeGetFlowsRequest(call.request), abort.signal);
      } catch (e) {
        call.emit('error', statusFor(e));
        return;
      }
      try {
        for await (const response of stream) {
          if (abort.signal.aborted) break;
          if (!call.write(encodeGetFlowsResponse(response))) await drained(call, abort.signal);
        }
        if (call.cancelled) return;
        if (shuttingDown) call.emit('error', shutdownStatus);
        else call.end();
      } catch (e) {
        if (!call.cancelled) call.emit('error', shuttingDown ? shutdownStatus : statusFor(e));
      }
    };
    void run().finally(() => active.delete(abort));
  };

  const serverStatus = (_call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>): void => {
    try {
      callback(null, encodeServerStatus(service.status()));
    } catch (e) {
      callback(statusFor(e));
    }
  };

  server.addService(serverDefinition(), { GetFlows: getFlows, ServerStatus: serverStatus });

  let address: { host: string; port: number } | undefined;
  let boundSocket = false;
  try {
    if (socket !== undefined) {
      await prepareSocket(socket);
      await bind(server, `unix:${socket}`);
      boundSocket = true;
      await chmod(socket, 0o660);
    }
    if (listen !== undefined) {
      const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      address = { host: listen.host, port: await bind(server, `${host}:${listen.port}`) };
    }
  } catch (e) {
    server.forceShutdown();
    // Remove the socket this call made (never one a live server holds).
    if (socket !== undefined && boundSocket) await unlink(socket).catch(() => undefined);
    throw e;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      for (const abort of active) abort.abort();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (socket !== undefined) {
        await unlink(socket).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
      }
    })();
    return closing;
  };

  return { ...(socket !== undefined && { socket }), ...(address !== undefined && { address }), close };
}
