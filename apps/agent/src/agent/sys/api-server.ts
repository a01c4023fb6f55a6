// twill-agent's API server: node:http on a unix socket around api/router.ts. The socket
// appears with mode 0600 (root only: changing policy is as privileged as the agent) and
// replaces only a socket nobody answers on (cni-core's listenUnixSocket, the rule of the
// CNI socket). Bodies are limited to 1 MiB (413).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

import { listenUnixSocket } from '@twill/cni-core';

import { type ApiAnswer, errorAnswer } from '../api/answer.js';
import { ApiError } from '../api/errors.js';
import { answerApiRequest } from '../api/router.js';
import { type ApiSource } from '../api/source.js';

/** The largest request body the API reads, in bytes (1 MiB); a larger one is answered 413. */
export const MAX_API_BODY_BYTES = 1024 * 1024;

/** A listening API server. */
export interface ApiServer {
  /** The socket's path. */
  readonly socketPath: string;
  /**
   * Stops accepting, answers the requests being answered, drops idle connections and
   * removes the socket (only when the path still is this server's). Idempotent.
   */
  close(): Promise<void>;
}

function tooLarge(): ApiAnswer {
  return errorAnswer(new ApiError('TooLarge', `the request body is larger than ${MAX_API_BODY_BYTES} bytes (1 MiB): send fewer items per request`));
}

function send(response: ServerResponse, answer: ApiAnswer, close = false): void {
  if (response.headersSent) return;
  response.writeHead(answer.status, { 'content-type': answer.contentType, ...answer.headers, ...(close ? { connection: 'close' } : {}) });
  response.end(answer.body);
}

/**
 * Serves twill-agent's API (API.md) on the unix socket `socketPath`; its folder is
 * created (mode 0755) when missing.
 * @throws PluginServerError `SOCKET_IN_USE` when a live process serves the path,
 * `NOT_A_SOCKET` when a file that is no socket is there; a Node error when the folder
 * or the socket cannot be made.
 */
export async function listenApi(socketPath: string, source: ApiSource): Promise<ApiServer> {
  const pending = new Set<Promise<void>>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > MAX_API_BODY_BYTES) {
      // Answered at once; the body is drained, not kept.
      request.resume();
      send(response, tooLarge(), true);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > MAX_API_BODY_BYTES) {
        refused = true;
        chunks.length = 0;
        send(response, tooLarge(), true);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      const done = answerApiRequest({ method: request.method ?? 'GET', url: request.url ?? '/', body: Buffer.concat(chunks).toString('utf8') }, source).then((answer) =>
        send(response, answer),
      );
      pending.add(done);
      void done.finally(() => pending.delete(done));
    });
  });
  // A client that sends nothing must not hold a connection for ever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  const binding = await listenUnixSocket(server, socketPath);

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([...pending]);
        server.closeAllConnections();
        await stopped;
        await binding.remove();
      })();
      return closing;
    },
  };
}
