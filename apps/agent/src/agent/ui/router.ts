// The dashboard's HTTP routes, pure: one request in, one answer out. The page's files
// (built by @twill/ui), the agent's API (API.md) under `/api/v1/` for GET only (the
// dashboard is read-only: every write answers 405), and the dashboard's own answers under
// `/api/ui/` (endpoints with their pods' labels and apps, recent flows, a pod's policies,
// a probe's verdict). `/api/ui/events` (live flows) is the server's: see sys/ui-server.ts.
// A Host header that does not name this host's loopback is refused (DNS rebinding: a web
// page elsewhere must not read this one through a name of its own). The API and the live
// flows need the token of this start (the URL `twill ui` prints carries it): the port is
// any local user's, the token only root's (from /v1/status on the API socket).
import { type Flow, type GetFlowsRequest, type GetFlowsResponse } from '@twill/flows';

import { type EndpointRecord } from '../../plugin/ports.js';
import { type ApiAnswer, ApiQuery, errorAnswer, jsonAnswer } from '../api/answer.js';
import { ApiError, toApiError } from '../api/errors.js';
import { answerApiRequest } from '../api/router.js';
import { type ApiSource } from '../api/source.js';
import { type ResourceKindId } from '../ports.js';
import { uiFlowOf } from './flow-view.js';
import { explainProbe, parsePodRef, podPolicy } from './policy.js';

/** A built file of the dashboard. */
export interface UiFile {
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** The flows the dashboard reads: the agent's FlowRing (its public GetFlows). */
export interface UiFlowSource {
  getFlows(request: GetFlowsRequest, signal: AbortSignal): AsyncIterable<GetFlowsResponse>;
}

/** What the dashboard's routes answer from. */
export interface UiSource {
  /** The built files by path (`/index.html`, `/assets/index-x.js`). */
  readonly files: ReadonlyMap<string, UiFile>;
  readonly api: ApiSource;
  /** The agent's node name. */
  readonly node: string;
  /** The flow ring; absent when flows are off (`why` says so). */
  readonly flows: UiFlowSource | { readonly unavailable: string };
}

/** An answer: API.md's JSON, or a file's bytes. */
export interface UiAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One request as the server read it. */
export interface UiRequest {
  readonly method: string;
  readonly url: string;
  /** The Host header (absent: refused). */
  readonly host: string | undefined;
  /** The Authorization header (`Bearer <token>`), when sent. */
  readonly authorization?: string | undefined;
}

/** What {@link refuseUiRequest} lets through. */
export interface UiGuard {
  /**
   * The host the server listens on, whose loopback names a Host header must use
   * (`localhost`, `127.0.0.1`, `[::1]` or this address, on any port); undefined: any
   * Host (a non-loopback address allowed by `ui.listenInsecure`).
   */
  readonly listenHost: string | undefined;
  /** The token `/api/` requests must carry; undefined: none asked (`ui.token: false`). */
  readonly token: string | undefined;
}

/** The path of the live flow stream (Server-Sent Events), which the server answers itself. */
export const UI_EVENTS_PATH = '/api/ui/events';

/** How many recent flows `/api/ui/flows` gives at most. */
const MAX_UI_FLOWS = 5000;

const NO_STORE = { 'cache-control': 'no-store' };

const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a Host header names this host's loopback: `localhost`, `127.0.0.1`, `[::1]` or
 * `listenHost` itself, with any port or none. Any port, because a browser names the port
 * it connected to, which is another one through a forward (`twill ui --lab`, `ssh -L`);
 * still safe against DNS rebinding, which needs a name the attacker controls: a page
 * whose origin is a loopback literal or `localhost` is this host's own.
 */
export function hostAllowed(host: string | undefined, listenHost: string): boolean {
  if (host === undefined) return false;
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/u.exec(host.toLowerCase());
  if (match === null) return false;
  if (match[2] !== undefined && (Number(match[2]) < 1 || Number(match[2]) > 65535)) return false;
  const name = match[1]!;
  const literal = listenHost.includes(':') ? `[${listenHost.toLowerCase()}]` : listenHost.toLowerCase();
  return LOOPBACK_NAMES.has(name) || name === literal;
}

/** The page's URL with the token (`http://127.0.0.1:9098/#token=...`), or `url` itself when there is none. */
export function withUiToken(url: string, token: string | undefined): string {
  // In the fragment: a browser never sends it, not to the agent, not in a Referer.
  return token === undefined ? url : `${url}#token=${encodeURIComponent(token)}`;
}

/** `url` without the token {@link withUiToken} put in it: what a document any local user reads may show. */
export function withoutUiToken(url: string): string {
  const at = url.indexOf('#token=');
  return at < 0 ? url : url.slice(0, at);
}

// Equal strings, compared in a time that does not depend on where they differ.
function sameToken(given: string, token: string): boolean {
  let differ = given.length ^ token.length;
  // Past the end charCodeAt is NaN, which `^` takes as 0 (the lengths already differ then).
  for (let i = 0; i < token.length; i += 1) differ |= given.charCodeAt(i) ^ token.charCodeAt(i);
  return differ === 0;
}

// The token a request carries: `Authorization: Bearer <token>` (fetch), or `?token=` on the
// live flows (EventSource cannot set a header).
function tokenOf(request: UiRequest, path: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/iu.exec(request.authorization ?? '');
  if (bearer !== null) return bearer[1];
  if (path === UI_EVENTS_PATH) return new URL(request.url, 'http://twill-ui').searchParams.get('token') ?? undefined;
  return undefined;
}

/** The app of a pod: its `app` or `app.kubernetes.io/name` label, else its name without the last `-suffix`. */
export function appOf(pod: string, labels: Readonly<Record<string, string>>): string {
  return labels['app'] ?? labels['app.kubernetes.io/name'] ?? (pod.includes('-') ? pod.slice(0, pod.lastIndexOf('-')) : pod);
}

async function endpoints(source: UiSource): Promise<ApiAnswer> {
  const [records, pods] = await Promise.all([source.api.endpoints(), source.api.datastore.list('pods' as ResourceKindId)]);
  const labels = new Map(pods.map((p) => [`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, (p.metadata.labels ?? {}) as Record<string, string>]));
  // The newest record of each pod, as the policy engine takes it.
  const newest = new Map<string, EndpointRecord>();
  for (const record of records) {
    if (record.namespace === undefined || record.pod === undefined) continue;
    const key = `${record.namespace}/${record.pod}`;
    const current = newest.get(key);
    if (current === undefined || record.since > current.since) newest.set(key, record);
  }
  const items = [...newest.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, record]) => {
      const podLabels = labels.get(key) ?? {};
      return {
        namespace: record.namespace!,
        pod: record.pod!,
        node: record.node ?? source.node,
        addresses: record.addresses.map((a) => a.split('/')[0]!),
        labels: podLabels,
        app: appOf(record.pod!, podLabels),
      };
    });
  return jsonAnswer(200, { items }, NO_STORE);
}

function flowRing(source: UiSource): UiFlowSource {
  if ('unavailable' in source.flows) throw new ApiError('Unavailable', source.flows.unavailable);
  return source.flows;
}

async function recentFlows(source: UiSource, query: ApiQuery): Promise<ApiAnswer> {
  const text = query.text('number') ?? '500';
  const number = Number(text);
  if (!/^\d+$/u.test(text) || number < 1 || number > MAX_UI_FLOWS) throw new ApiError('BadRequest', `number: must be an integer from 1 to ${MAX_UI_FLOWS} (got ${JSON.stringify(text)})`);
  const flows: Flow[] = [];
  let lost = 0;
  const done = new AbortController();
  for await (const response of flowRing(source).getFlows({ number }, done.signal)) {
    if ('flow' in response) flows.push(response.flow);
    else lost += response.lostEvents.numEventsLost;
  }
  return jsonAnswer(200, { flows: flows.map(uiFlowOf), lost }, NO_STORE);
}

function portOf(text: string | undefined): number {
  const port = Number(text);
  if (text === undefined || !/^\d+$/u.test(text) || port < 1 || port > 65535) throw new ApiError('BadRequest', `port: ${text === undefined || text === '' ? 'required' : `${JSON.stringify(text)} is not`} a port from 1 to 65535`);
  return port;
}

function protocolOf(text: string | undefined): 'TCP' | 'UDP' | 'SCTP' {
  const protocol = (text ?? 'TCP').toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') throw new ApiError('BadRequest', `protocol: must be TCP, UDP or SCTP (got ${JSON.stringify(text)})`);
  return protocol;
}

const policySource = (source: UiSource) => ({ datastore: source.api.datastore, endpoints: () => source.api.endpoints(), node: source.node });

// The dashboard's own routes: path → (query parameters taken, answer).
const UI_ROUTES: Readonly<Record<string, { readonly query: readonly string[]; answer(source: UiSource, query: ApiQuery): Promise<ApiAnswer> }>> = {
  '/api/ui/endpoints': { query: [], answer: (source) => endpoints(source) },
  '/api/ui/flows': { query: ['number'], answer: recentFlows },
  '/api/ui/policy': {
    query: ['pod'],
    answer: async (source, query) => jsonAnswer(200, await podPolicy(policySource(source), parsePodRef(query.text('pod'), 'pod')), NO_STORE),
  },
  '/api/ui/explain': {
    query: ['from', 'to', 'port', 'protocol'],
    answer: async (source, query) =>
      jsonAnswer(
        200,
        await explainProbe(policySource(source), {
          from: parsePodRef(query.text('from'), 'from'),
          to: parsePodRef(query.text('to'), 'to'),
          port: portOf(query.text('port')),
          protocol: protocolOf(query.text('protocol')),
        }),
        NO_STORE,
      ),
  },
};

/**
 * Whether a request may be answered: its Host names this host's loopback ({@link hostAllowed},
 * unless `guard.listenHost` is undefined), it is a GET or HEAD, and an `/api/` request
 * carries `guard.token` (when there is one; the page's files need none). Returns the
 * refusal (403, 405 or 401), or undefined.
 */
export function refuseUiRequest(request: UiRequest, guard: UiGuard): ApiAnswer | undefined {
  if (guard.listenHost !== undefined && !hostAllowed(request.host, guard.listenHost)) {
    const names = [...new Set([...LOOPBACK_NAMES, guard.listenHost.includes(':') ? `[${guard.listenHost}]` : guard.listenHost])];
    return errorAnswer(new ApiError('Forbidden', `the dashboard answers only requests for ${names.join(', ')} (any port) (Host was ${JSON.stringify(request.host ?? '')})`));
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return errorAnswer(new ApiError('MethodNotAllowed', `${request.method} is not allowed: the dashboard is read-only (GET only; writes go through the twill CLI and the API socket)`), { allow: 'GET, HEAD' });
  }
  const path = request.url.split('?')[0] ?? '/';
  if (guard.token !== undefined && path.startsWith('/api/')) {
    const given = tokenOf(request, path);
    if (given === undefined || !sameToken(given, guard.token)) {
      // RFC 7235 §3.1: a 401 names its scheme. The body in API.md's error shape, which the page shows.
      const message = `${given === undefined ? 'no token' : 'a wrong token'}: open the dashboard at the address \`twill ui\` prints (it carries this agent start's token)`;
      return jsonAnswer(401, { error: { code: 'Unauthorized', message } }, { 'www-authenticate': 'Bearer realm="twill-ui"', ...NO_STORE });
    }
  }
  return undefined;
}

/** The agent API paths the dashboard passes through (GET): status, BGP peers, IPAM usage and why an IP is held. */
const UI_API_PATHS: ReadonlySet<string> = new Set(['/v1/status', '/v1/bgp/peers', '/v1/ipam', '/v1/ipam/why']);

/**
 * Answers one dashboard request (after {@link refuseUiRequest}): a file, the agent's API
 * under `/api/v1/` (GET), or a dashboard route; never throws (errors are API.md's body).
 */
export async function answerUiRequest(request: UiRequest, source: UiSource): Promise<UiAnswer> {
  const path = request.url.split('?')[0] ?? '/';
  try {
    if (path.startsWith('/api/v1/')) {
      // Only what the page reads: the API socket is root's alone, this port any local user's,
      // and stored resources may hold secrets (a BGPPeer's password).
      if (!UI_API_PATHS.has(path.slice('/api'.length))) {
        throw new ApiError('NotFound', `${path.slice('/api'.length)} is not served by the dashboard (it serves ${[...UI_API_PATHS].join(', ')}; the rest of the API is on the agent's API socket, through the twill CLI)`);
      }
      return await answerApiRequest({ method: 'GET', url: request.url.slice('/api'.length), body: '' }, source.api);
    }
    const route = UI_ROUTES[path];
    if (route !== undefined) {
      const url = new URL(request.url, 'http://twill-ui');
      return await route.answer(source, new ApiQuery(url.searchParams, route.query, `GET ${path}`));
    }
    if (path.startsWith('/api/')) throw new ApiError('NoSuchPath', `no such path ${JSON.stringify(path)} (the dashboard's API: /api/v1/... (API.md, GET only), ${Object.keys(UI_ROUTES).join(', ')}, ${UI_EVENTS_PATH})`);
    const file = source.files.get(path === '/' ? '/index.html' : path);
    if (file === undefined) throw new ApiError('NotFound', `no such file ${JSON.stringify(path)} in the dashboard`);
    // Built assets carry a content hash in their names: cached for good; the page itself never.
    const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    return { status: 200, contentType: file.contentType, body: file.body, headers: { 'cache-control': cache, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'" } };
  } catch (error) {
    return errorAnswer(toApiError(error, `GET ${path}`));
  }
}
