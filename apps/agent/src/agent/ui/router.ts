// The dashboard's HTTP routes, pure: one request in, one answer out. The page's files
// (built by @twill/ui), the agent's API (API.md) under `/api/v1/` for GET only (the
// dashboard is read-only: every write answers 405), and the dashboard's own answers under
// `/api/ui/` (endpoints with their pods' labels and apps, recent flows, a pod's policies,
// a probe's verdict). `/api/ui/events` (live flows) is the server's: see sys/ui-server.ts.
// A Host header that is not the address the server listens on is refused (DNS
// rebinding: a web page elsewhere must not read this one through a name of its own).
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
}

/** How many recent flows `/api/ui/flows` gives at most. */
const MAX_UI_FLOWS = 5000;

const NO_STORE = { 'cache-control': 'no-store' };

// Host headers naming the listening address, or localhost, on its port.
function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  return host !== undefined && allowed.includes(host.toLowerCase());
}

/**
 * The Host header values a loopback server at `host:port` accepts: the address itself,
 * `localhost`, and (for 127.0.0.1 and ::1) the other loopback spelling.
 */
export function allowedHosts(listen: { readonly host: string; readonly port: number }): string[] {
  const port = listen.port;
  const literal = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return [...new Set([`${literal}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])];
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

/** The path of the live flow stream (Server-Sent Events), which the server answers itself. */
export const UI_EVENTS_PATH = '/api/ui/events';

/**
 * Whether a request may be answered: its Host is one of `hosts` (when given), and it is
 * a GET or HEAD. Returns the refusal, or undefined.
 */
export function refuseUiRequest(request: UiRequest, hosts: readonly string[] | undefined): ApiAnswer | undefined {
  if (hosts !== undefined && !hostAllowed(request.host, hosts)) {
    return errorAnswer(new ApiError('Forbidden', `the dashboard answers only requests for ${hosts.join(', ')} (Host was ${JSON.stringify(request.host ?? '')})`));
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return errorAnswer(new ApiError('MethodNotAllowed', `${request.method} is not allowed: the dashboard is read-only (GET only; writes go through the twill CLI and the API socket)`), { allow: 'GET, HEAD' });
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
    return { status: 200, contentType: file.contentType, body: file.body, headers: { 'cache-control': cache, 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'" } };
  } catch (error) {
    return errorAnswer(toApiError(error, `GET ${path}`));
  }
}
