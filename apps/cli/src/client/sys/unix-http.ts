// HTTP/1.1 on the agent's Unix socket with node:http (the CLI's only node:http user).

import { request as httpRequest } from 'node:http';

import { type AgentAnswer, type AgentRequest, type AgentTransport, AgentTransportError } from '../transport.js';

/** Options of {@link unixHttpTransport}. */
export interface UnixHttpOptions {
  /** How long one request may wait for the whole answer, in milliseconds (default 30 000). */
  readonly timeoutMs?: number;
}

/**
 * A transport to the agent listening on the Unix socket `socketPath` (API.md).
 * Each request opens its own connection (no keep-alive: a CLI run makes a few).
 */
export function unixHttpTransport(socketPath: string, options: UnixHttpOptions = {}): AgentTransport {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    request: (req: AgentRequest) =>
      new Promise<AgentAnswer>((resolve, reject) => {
        const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
        const outgoing = httpRequest(
          {
            socketPath,
            method: req.method,
            path: req.path,
            agent: false,
            headers: {
              host: 'twill-agent',
              accept: 'application/json',
              ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(body.length) }),
            },
          },
          (incoming) => {
            const chunks: Buffer[] = [];
            incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
            incoming.on('error', (error) => reject(new AgentTransportError('ECONNRESET', error.message, { cause: error })));
            incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          },
        );
        outgoing.setTimeout(timeoutMs, () => {
          outgoing.destroy(new AgentTransportError('TIMEOUT', `no answer within ${timeoutMs / 1000} s`));
        });
        outgoing.on('error', (error: NodeJS.ErrnoException) => {
          if (error instanceof AgentTransportError) reject(error);
          else reject(new AgentTransportError(error.code ?? 'EIO', error.message, { cause: error }));
        });
        outgoing.end(body);
      }),
  };
}
