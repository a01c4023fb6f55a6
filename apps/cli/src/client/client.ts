// The agent client: one method per endpoint of apps/agent/API.md, typed answers, and
// every failure turned into a one-line CliError naming the agent's socket.

import { AgentApiError, AgentProtocolError, AgentUnreachableError } from './errors.js';
import { type AgentRequest, type AgentTransport, AgentTransportError } from './transport.js';
import {
  type AgentResource,
  type AgentStatus,
  type ApiErrorBody,
  type ApplyResult,
  type BgpRouteView,
  type BgpStatus,
  type DeletedRef,
  type EndpointRecord,
  type IpamView,
  type KindInfo,
  type PoolAddressStatus,
  type PoolCheckReport,
  type StoredResource,
} from './types.js';

/** Where a namespaced request looks: one namespace, or every one when absent. */
export interface NamespaceOption {
  readonly namespace?: string;
}

/**
 * The agent's API (API.md), one method per endpoint. Every method throws
 * {@link AgentUnreachableError} when no agent answers, {@link AgentApiError} for an
 * error answer (its `code`: `NotFound`, `Invalid`, ...), {@link AgentProtocolError}
 * for an answer that is not the API's.
 */
export interface AgentClient {
  /** The socket this client talks to. */
  readonly socketPath: string;
  /** `GET /v1/status`. */
  status(): Promise<AgentStatus>;
  /** `GET /v1/kinds`. */
  kinds(): Promise<readonly KindInfo[]>;
  /** `GET /v1/resources/{kind}`: ordered by namespace then name; every namespace without one. */
  list(kind: string, options?: NamespaceOption): Promise<readonly StoredResource[]>;
  /** `GET /v1/resources/{kind}/{name}`. */
  get(kind: string, name: string, options?: NamespaceOption): Promise<StoredResource>;
  /** `POST /v1/resources`: validates every item, then writes them all (or, with `dryRun`, none). */
  apply(items: readonly AgentResource[], options?: { readonly dryRun?: boolean }): Promise<readonly ApplyResult[]>;
  /** `DELETE /v1/resources/{kind}/{name}`. */
  delete(kind: string, name: string, options?: NamespaceOption): Promise<DeletedRef>;
  /** `GET /v1/endpoints`: the endpoint records of every node. */
  endpoints(): Promise<readonly EndpointRecord[]>;
  /** `GET /v1/ipam`. */
  ipam(options?: { readonly blocks?: boolean; readonly ip?: string }): Promise<IpamView>;
  /** `GET /v1/ipam/check`. */
  ipamCheck(): Promise<PoolCheckReport>;
  /** `GET /v1/ipam/why?ip=IP`. */
  ipamWhy(ip: string): Promise<PoolAddressStatus>;
  /** `POST /v1/ipam/release`: by address or by handle. */
  ipamRelease(what: { readonly ip: string } | { readonly handle: string }): Promise<readonly string[]>;
  /** `GET /v1/bgp/peers`. */
  bgpPeers(): Promise<BgpStatus>;
  /** `GET /v1/bgp/routes`. */
  bgpRoutes(options?: { readonly peer?: string; readonly prefix?: string }): Promise<readonly BgpRouteView[]>;
}

/** Options of {@link createAgentClient}. */
export interface AgentClientOptions {
  readonly transport: AgentTransport;
  /** The socket the transport talks to, for messages. */
  readonly socketPath: string;
  /** The command path errors are reported in (`get`, `ipam show`). */
  readonly command: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function query(params: Readonly<Record<string, string | boolean | undefined>>): string {
  const pairs = Object.entries(params).filter((entry): entry is [string, string | boolean] => entry[1] !== undefined && entry[1] !== false);
  return pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&')}`;
}

const segment = (text: string): string => encodeURIComponent(text);

/** The agent client over `options.transport`. */
export function createAgentClient(options: AgentClientOptions): AgentClient {
  const { transport, socketPath, command } = options;
  const protocol = (what: string): AgentProtocolError => new AgentProtocolError(command, socketPath, what);

  async function send(request: AgentRequest): Promise<Record<string, unknown>> {
    let answer;
    try {
      answer = await transport.request(request);
    } catch (error) {
      if (error instanceof AgentTransportError) throw new AgentUnreachableError(command, socketPath, error.code, error);
      throw error;
    }
    let body: unknown;
    try {
      body = answer.body.trim() === '' ? undefined : JSON.parse(answer.body);
    } catch {
      throw protocol(`answered ${request.method} ${request.path} with ${answer.status} and a body that is not JSON: ${JSON.stringify(answer.body.slice(0, 80))}`);
    }
    if (answer.status < 200 || answer.status > 299) {
      const error = isObject(body) ? body['error'] : undefined;
      if (!isObject(error) || typeof error['message'] !== 'string') {
        throw protocol(`answered ${request.method} ${request.path} with ${answer.status} and no error message`);
      }
      throw new AgentApiError(command, socketPath, answer.status, {
        code: typeof error['code'] === 'string' ? error['code'] : String(answer.status),
        message: error['message'],
        ...(typeof error['field'] === 'string' ? { field: error['field'] } : {}),
        ...(typeof error['index'] === 'number' ? { index: error['index'] } : {}),
        ...(typeof error['applied'] === 'number' ? { applied: error['applied'] } : {}),
      } satisfies ApiErrorBody);
    }
    if (!isObject(body)) throw protocol(`answered ${request.method} ${request.path} with ${answer.status} and no JSON object`);
    return body;
  }

  // A field of an answer that must be an array (the API's lists).
  function array<T>(body: Record<string, unknown>, field: string, request: string): readonly T[] {
    const value = body[field];
    if (!Array.isArray(value)) throw protocol(`answered ${request} without the "${field}" list`);
    return value as T[];
  }

  const resourcePath = (kind: string, name?: string): string => `/v1/resources/${segment(kind)}${name === undefined ? '' : `/${segment(name)}`}`;

  return {
    socketPath,
    status: async () => (await send({ method: 'GET', path: '/v1/status' })) as unknown as AgentStatus,
    kinds: async () => array<KindInfo>(await send({ method: 'GET', path: '/v1/kinds' }), 'kinds', 'GET /v1/kinds'),
    list: async (kind, opts = {}) => {
      const path = `${resourcePath(kind)}${query({ namespace: opts.namespace })}`;
      return array<StoredResource>(await send({ method: 'GET', path }), 'items', `GET ${path}`);
    },
    get: async (kind, name, opts = {}) => (await send({ method: 'GET', path: `${resourcePath(kind, name)}${query({ namespace: opts.namespace })}` })) as unknown as StoredResource,
    apply: async (items, opts = {}) => {
      const path = `/v1/resources${query({ dryRun: opts.dryRun === true ? 'true' : undefined })}`;
      return array<ApplyResult>(await send({ method: 'POST', path, body: JSON.stringify({ items }) }), 'results', `POST ${path}`);
    },
    delete: async (kind, name, opts = {}) => {
      const path = `${resourcePath(kind, name)}${query({ namespace: opts.namespace })}`;
      const deleted = (await send({ method: 'DELETE', path }))['deleted'];
      if (!isObject(deleted)) throw protocol(`answered DELETE ${path} without "deleted"`);
      return deleted as unknown as DeletedRef;
    },
    endpoints: async () => array<EndpointRecord>(await send({ method: 'GET', path: '/v1/endpoints' }), 'items', 'GET /v1/endpoints'),
    ipam: async (opts = {}) => (await send({ method: 'GET', path: `/v1/ipam${query({ blocks: opts.blocks === true ? 'true' : undefined, ip: opts.ip })}` })) as unknown as IpamView,
    ipamCheck: async () => (await send({ method: 'GET', path: '/v1/ipam/check' })) as unknown as PoolCheckReport,
    ipamWhy: async (ip) => (await send({ method: 'GET', path: `/v1/ipam/why${query({ ip })}` })) as unknown as PoolAddressStatus,
    ipamRelease: async (what) => array<string>(await send({ method: 'POST', path: '/v1/ipam/release', body: JSON.stringify(what) }), 'released', 'POST /v1/ipam/release'),
    bgpPeers: async () => (await send({ method: 'GET', path: '/v1/bgp/peers' })) as unknown as BgpStatus,
    bgpRoutes: async (opts = {}) => {
      const path = `/v1/bgp/routes${query({ peer: opts.peer, prefix: opts.prefix })}`;
      return array<BgpRouteView>(await send({ method: 'GET', path }), 'routes', `GET ${path}`);
    },
  };
}
