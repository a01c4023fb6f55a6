// The agent's HTTP server: node:http around health.ts's answers.
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';

import { type ListenAddress } from '../config.js';
import { answerHealthRequest, type HealthSource } from '../health.js';

/** A listening health server. */
export interface HealthServer {
  /** Where it listens (the kernel's port when 0 was asked for). */
  readonly address: ListenAddress;
  /** Stops listening and drops open connections (a scrape in progress is cut). */
  close(): Promise<void>;
}

/**
 * Serves `/healthz`, `/readyz`, `/metrics` and `/v1/status` on `listen`.
 * @throws a Node error (`EADDRINUSE`, `EADDRNOTAVAIL`) when it cannot listen there.
 */
export function listenHealth(listen: ListenAddress, source: HealthSource): Promise<HealthServer> {
  const server = createServer((request, response) => {
    void answerHealthRequest(request.method ?? 'GET', request.url ?? '/', source).then((answer) => {
      response.writeHead(answer.status, { 'content-type': answer.contentType, ...answer.headers });
      response.end(request.method === 'HEAD' ? undefined : answer.body);
    });
  });
  // Probes and scrapes are short; a client that holds a connection open must not hold the agent.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      // An accept failing later (the fd limit) must not take the agent down: the next probe retries.
      server.on('error', () => undefined);
      const bound = server.address() as AddressInfo;
      resolve({
        address: { host: listen.host, port: bound.port },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
