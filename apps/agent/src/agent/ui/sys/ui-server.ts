// The dashboard's server: node:http on a TCP address (loopback by default) around
// ui/router.ts, the built files read once at start, and the live flows as Server-Sent
// Events from the flow ring (its public GetFlows with follow). Bounded: at most
// `maxClients` streams (more are answered 503); each stream sends batches of at most
// MAX_BATCH flows; a client that does not read stops being fed (the ring keeps the
// flows, and says how many it missed as `lost` once it reads again) and is dropped when
// it has not drained within `slowClientMs`. No buffer grows with the flow rate. A token
// made at start (unless `token: false`) guards the API and the stream (see router.ts).
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';

import { flowTimeOf, type GetFlowsRequest } from '@twill/flows';
import { uiContentType } from '@twill/ui';

import { AGENT_DEFAULTS, type ListenAddress } from '../../config.js';
import { type AgentLogger } from '../../ports.js';
import { uiFlowOf, type UiFlow } from '../flow-view.js';
import { answerUiRequest, refuseUiRequest, type UiAnswer, UI_EVENTS_PATH, type UiFile, type UiGuard, type UiSource } from '../router.js';

// Flows per SSE event at most.
const MAX_BATCH = 256;
// How often gathered flows are sent, in milliseconds.
const FLUSH_MS = 100;
// How long a client may leave the socket full before it is dropped, by default (ms).
const DEFAULT_SLOW_CLIENT_MS = 5_000;
// Recent flows a new stream starts with.
const INITIAL_FLOWS = 500;

/** Options of {@link listenUi}. */
export interface ListenUiOptions {
  readonly listen: ListenAddress;
  /** The built dashboard (`uiAssetsDir()` of @twill/ui). */
  readonly assetsDir: string;
  /** What the routes answer from (its `files` are read from `assetsDir`). */
  readonly source: Omit<UiSource, 'files'>;
  /** Whether any Host header is taken (a non-loopback address allowed by `ui.listenInsecure`); default: only the loopback names (router.ts hostAllowed). */
  readonly anyHost?: boolean;
  /** Whether the API and the live flows need this start's random token (`ui.token`); default true. */
  readonly token?: boolean;
  /** Live flow streams served at once; default `AGENT_DEFAULTS.uiMaxClients` (the `ui.maxClients` default). */
  readonly maxClients?: number;
  readonly slowClientMs?: number;
  readonly logger?: AgentLogger;
}

/** A listening dashboard server. */
export interface UiServer {
  /** Where it listens (the kernel's port when 0 was asked for). */
  readonly address: ListenAddress;
  /** Live flow streams open now. */
  readonly clients: number;
  /**
   * The token `/api/` requests must carry (32 random bytes, base64url, new at each start);
   * undefined with `token: false`. The page's URL carries it (router.ts withUiToken).
   */
  readonly token: string | undefined;
  /** Stops accepting, ends the live streams and closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** The dashboard is not built: `npm run build` in packages/ui makes it. */
export class UiNotBuiltError extends Error {
  override readonly name = 'UiNotBuiltError';
  readonly code = 'ui-not-built';
}

async function readFiles(dir: string): Promise<Map<string, UiFile>> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (error) {
    throw new UiNotBuiltError(`the dashboard's files are not at ${dir} (${error instanceof Error ? error.message : String(error)}): build @twill/ui (npm run build -w @twill/ui)`, { cause: error });
  }
  const files = new Map<string, UiFile>();
  for (const path of names) files.set(`/${relative(dir, path).split(sep).join('/')}`, { contentType: uiContentType(path), body: await readFile(path) });
  if (!files.has('/index.html')) throw new UiNotBuiltError(`${dir} has no index.html: build @twill/ui (npm run build -w @twill/ui)`);
  return files;
}

function send(response: ServerResponse, answer: UiAnswer, head: boolean): void {
  if (response.headersSent) return;
  response.writeHead(answer.status, { 'content-type': answer.contentType, ...answer.headers });
  response.end(head ? undefined : answer.body);
}

/**
 * Serves the dashboard on `listen`.
 * @throws UiNotBuiltError when `assetsDir` holds no built dashboard; a Node error
 * (EADDRINUSE, EADDRNOTAVAIL) when the address cannot be listened on.
 */
export async function listenUi(options: ListenUiOptions): Promise<UiServer> {
  const files = await readFiles(options.assetsDir);
  const source: UiSource = { ...options.source, files };
  const maxClients = options.maxClients ?? AGENT_DEFAULTS.uiMaxClients;
  const slowClientMs = options.slowClientMs ?? DEFAULT_SLOW_CLIENT_MS;
  // Each live stream's stop.
  const streams = new Set<() => void>();
  const guard: UiGuard = {
    listenHost: options.anyHost === true ? undefined : options.listen.host,
    token: options.token === false ? undefined : randomBytes(32).toString('base64url'),
  };

  const stream = (request: IncomingMessage, response: ServerResponse): void => {
    const flows = source.flows;
    if ('unavailable' in flows) {
      send(response, { status: 503, contentType: 'text/plain; charset=utf-8', body: `${flows.unavailable}\n` }, false);
      return;
    }
    if (streams.size >= maxClients) {
      send(response, { status: 503, contentType: 'text/plain; charset=utf-8', body: `${maxClients} dashboards already follow flows on this agent (ui.maxClients); close one\n` }, false);
      return;
    }
    const done = new AbortController();
    const { signal } = done;
    // After a reconnect, the browser says the newest flow it has (its time in ms): go on after it.
    const lastId = Number(request.headers['last-event-id']);
    const ask: GetFlowsRequest = Number.isSafeInteger(lastId) && lastId > 0 ? { follow: true, since: flowTimeOf(lastId + 1) } : { follow: true, number: INITIAL_FLOWS };
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    response.write('retry: 2000\n\n');
    response.socket?.setNoDelay(true);

    let batch: UiFlow[] = [];
    let lost = 0;
    let newest = 0;
    let full: { drained: Promise<void>; timer: NodeJS.Timeout } | undefined;
    let ended = false;
    const stop = (): void => {
      if (ended) return;
      ended = true;
      done.abort();
      streams.delete(stop);
      clearInterval(flusher);
      if (full !== undefined) clearTimeout(full.timer);
      response.end();
    };
    const flush = (): void => {
      if (signal.aborted || full !== undefined) return;
      let text = '';
      if (lost > 0) text += `event: lost\ndata: {"count":${lost}}\n\n`;
      if (batch.length > 0) text += `id: ${newest}\nevent: flows\ndata: ${JSON.stringify(batch)}\n\n`;
      if (text === '') return;
      batch = [];
      lost = 0;
      if (response.write(text)) return;
      // The socket is full: read no more flows until it drains; drop the client if it does not.
      let drained!: () => void;
      full = {
        drained: new Promise<void>((resolve) => (drained = resolve)),
        timer: setTimeout(() => {
          options.logger?.warn({ slowClientMs }, 'ui: a dashboard did not read its flows in time; dropped');
          response.destroy();
          stop();
          drained();
        }, slowClientMs),
      };
      response.once('drain', () => {
        if (full !== undefined) clearTimeout(full.timer);
        full = undefined;
        drained();
      });
    };
    // Comments keep proxies and the browser from timing the stream out.
    let quiet = 0;
    const flusher = setInterval(() => {
      quiet += 1;
      if (quiet * FLUSH_MS >= 15_000 && full === undefined && batch.length === 0 && lost === 0) {
        quiet = 0;
        response.write(': keep-alive\n\n');
      }
      flush();
    }, FLUSH_MS);
    streams.add(stop);
    request.on('close', stop);
    response.on('error', stop);

    void (async () => {
      try {
        for await (const r of flows.getFlows(ask, signal)) {
          quiet = 0;
          if ('flow' in r) {
            const flow = uiFlowOf(r.flow);
            batch.push(flow);
            newest = Math.max(newest, flow.timeMs);
          } else lost += r.lostEvents.numEventsLost;
          if (batch.length >= MAX_BATCH) flush();
          if (full !== undefined) await full.drained;
          if (signal.aborted) break;
        }
      } catch (error) {
        options.logger?.warn({ err: error }, 'ui: a live flow stream failed');
      } finally {
        stop();
      }
    })();
  };

  const server: Server = createServer((request, response) => {
    const url = request.url ?? '/';
    const refusal = refuseUiRequest({ method: request.method ?? 'GET', url, host: request.headers.host, authorization: request.headers.authorization }, guard);
    if (refusal !== undefined) {
      send(response, refusal, false);
      return;
    }
    if (url.split('?')[0] === UI_EVENTS_PATH) {
      stream(request, response);
      return;
    }
    void answerUiRequest({ method: 'GET', url, host: request.headers.host }, source).then((answer) => send(response, answer, request.method === 'HEAD'));
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  // Browsers open about six connections per origin; a few pages' worth, not unbounded.
  server.maxConnections = maxClients + 64;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      // From now on an error (an accept failing at the fd limit) is the dashboard's, not
      // the agent's: reported, never thrown into the process.
      server.on('error', (error) => options.logger?.warn({ err: error }, 'ui: the dashboard server failed to accept a connection'));
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address: ListenAddress = { host: options.listen.host, port: bound.port };

  let closing: Promise<void> | undefined;
  return {
    address,
    get clients() {
      return streams.size;
    },
    token: guard.token,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const stop of [...streams]) stop();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
