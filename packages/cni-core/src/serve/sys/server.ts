// The unix-socket listener of a plugin server: one request frame per connection,
// answered by answer.ts, many connections at once. The socket appears at its path with
// mode 0600 already set, and only a socket nobody answers on is ever replaced
// (listenUnixSocket, unix-socket.ts).
import { createServer, type Socket } from 'node:net';

import { CniError } from '../../errors.js';
import { answerRequest, errorResponse, type PluginTable } from '../answer.js';
import { FrameError } from '../errors.js';
import { decodeRequestFrame, encodeResponseFrame, frameLength, MAX_REQUEST_BODY_BYTES, REQUEST_MAGIC } from '../frame.js';
import { listenUnixSocket } from './unix-socket.js';

/** What a server reports when a connection goes wrong (pino's `warn` fits). */
export interface PluginServerLogger {
  /** Logs a warning with structured details. */
  warn(details: Record<string, unknown>, message: string): void;
}

/** Options of {@link servePlugins}. */
export interface ServePluginsOptions {
  /** The socket's path (the forwarder's `TWILL_AGENT_SOCKET`, `/run/twill/agent.sock` by default). */
  readonly socketPath: string;
  /** The plugins served, by the name the runtime execs. */
  readonly plugins: PluginTable;
  /** How long a client may take to send its whole request, in milliseconds (default 30 000). */
  readonly requestTimeoutMs?: number;
  /** Where connection failures are reported (default: nowhere). */
  readonly logger?: PluginServerLogger;
  /**
   * Runs at the end of `close()`, once every request has been answered and the socket
   * is gone: where the server's owner releases what the plugins kept warm (datastores).
   */
  readonly onClose?: () => Promise<void> | void;
}

/** A running plugin server. */
export interface PluginServer {
  /** The socket's path. */
  readonly socketPath: string;
  /** Requests being answered now. */
  readonly inFlight: number;
  /**
   * Stops accepting, lets the requests being answered finish and answers them, drops
   * connections that had not sent a whole request, and removes the socket (only when
   * the path still is this server's socket).
   */
  close(): Promise<void>;
}

/**
 * Serves plugins on a unix socket for the native forwarder (`twill-forward`, installed
 * under a plugin's name): each connection carries one request frame, answered with
 * cni-core's `runPlugin` and the plugin's handlers; requests run concurrently. A bad
 * frame gets a CNI error (code 6) on that connection and the server stays up.
 *
 * The socket's folder is created when missing. The socket is bound in a fresh private
 * folder beside the path, set to mode 0600 and renamed onto the path, so no client ever
 * sees it with wider permissions, and an existing socket is replaced only when nothing
 * answers on it.
 * @throws PluginServerError `SOCKET_IN_USE` when a live server holds the path,
 * `NOT_A_SOCKET` when a file that is no socket does; a Node error when the folder or
 * the socket cannot be made.
 */
export async function servePlugins(options: ServePluginsOptions): Promise<PluginServer> {
  const { socketPath, plugins, logger } = options;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  const pending = new Set<Promise<void>>();
  const waiting = new Set<Socket>();
  const server = createServer((socket) => {
    waiting.add(socket);
    const chunks: Buffer[] = [];
    let received = 0;
    let needed: number | undefined;
    const timer = setTimeout(() => socket.destroy(), requestTimeoutMs);
    const finish = (reply: Uint8Array): void => {
      clearTimeout(timer);
      // Closed once the answer is in the kernel: a client that never hangs up cannot
      // hold the server open.
      socket.end(reply, () => socket.destroy());
    };
    const refuse = (error: unknown): void => {
      socket.removeAllListeners('data');
      waiting.delete(socket);
      logger?.warn({ err: error }, 'plugin server: bad request frame');
      const cniError = error instanceof CniError ? error : new FrameError(String(error), 0);
      finish(encodeResponseFrame(errorResponse(cniError)));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      let whole: Buffer | undefined;
      try {
        if (needed === undefined) {
          whole = Buffer.concat(chunks);
          needed = frameLength(whole, REQUEST_MAGIC, MAX_REQUEST_BODY_BYTES);
        }
        if (needed === undefined || received < needed) return;
        whole = whole?.length === received ? whole : Buffer.concat(chunks);
        if (received > needed) throw new FrameError(`${received - needed} bytes after the request frame`, needed);
      } catch (error) {
        refuse(error);
        return;
      }
      let request;
      try {
        request = decodeRequestFrame(whole);
      } catch (error) {
        refuse(error);
        return;
      }
      // A whole request: it will be answered, even while the server closes.
      socket.removeAllListeners('data');
      waiting.delete(socket);
      clearTimeout(timer);
      const done = answerRequest(request, plugins).then((response) => finish(encodeResponseFrame(response)));
      pending.add(done);
      void done.finally(() => pending.delete(done));
    });
    socket.on('error', (error) => logger?.warn({ err: error }, 'plugin server: connection failed'));
    socket.on('close', () => {
      clearTimeout(timer);
      waiting.delete(socket);
    });
  });

  // The stale-socket rule and the 0600 rename: unix-socket.ts.
  const binding = await listenUnixSocket(server, socketPath);

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    get inFlight() {
      return pending.size;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of waiting) socket.destroy();
        await Promise.allSettled([...pending]);
        await stopped;
        await binding.remove();
        await options.onClose?.();
      })();
      return closing;
    },
  };
}
