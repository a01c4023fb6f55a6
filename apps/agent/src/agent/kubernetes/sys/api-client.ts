// Plain JSON requests to the Kubernetes API through client-node's own HTTP stack (its
// authentication, TLS agent and fetch), without its typed models: the generated classes
// turn timestamps into Dates and drop fields they do not know (every custom resource's),
// while the datastore wants the objects exactly as the server wrote them.
import * as k8s from '@kubernetes/client-node';

/** The `Status` object the API server answers a failure with (or what we make of a transport failure). */
export interface ApiStatus {
  /** HTTP status; 0 when the server could not be reached. */
  readonly code: number;
  /** `NotFound`, `Conflict`, `AlreadyExists`, `Forbidden`, `Invalid`, `Gone`, ...; `''` when unknown. */
  readonly reason: string;
  readonly message: string;
  readonly details?: { readonly causes?: readonly { readonly field?: string; readonly message?: string; readonly reason?: string }[] };
}

/** A request the API server refused, or could not be sent. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: ApiStatus,
    options?: { cause?: unknown },
  ) {
    super(`${method} ${path}: ${status.code === 0 ? '' : `${status.code} ${status.reason} `}${status.message}`, options);
  }
}

/** The HTTP methods used. */
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The patch types the datastore sends. */
export const PATCH_TYPE = {
  /** RFC 7386 JSON merge patch. */
  MERGE: 'application/merge-patch+json',
} as const;

const METHODS: Readonly<Record<ApiMethod, k8s.HttpMethod>> = {
  GET: k8s.HttpMethod.GET,
  POST: k8s.HttpMethod.POST,
  PUT: k8s.HttpMethod.PUT,
  PATCH: k8s.HttpMethod.PATCH,
  DELETE: k8s.HttpMethod.DELETE,
};

function parseStatus(code: number, text: string): ApiStatus {
  try {
    const body = JSON.parse(text) as Partial<ApiStatus> & { kind?: string };
    if (body.kind === 'Status') {
      return { code, reason: body.reason ?? '', message: body.message ?? text, ...(body.details === undefined ? {} : { details: body.details }) };
    }
  } catch {
    // Not JSON (a proxy's page): the text is the message.
  }
  return { code, reason: '', message: text.trim() === '' ? `HTTP ${code}` : text.trim().slice(0, 500) };
}

/** Options of {@link KubeApiClient}. */
export interface KubeApiClientOptions {
  /** How long one request may take, answer included, in milliseconds (default 30,000). */
  readonly timeoutMs?: number;
}

/** Options of one {@link KubeApiClient.request}. */
export interface ApiRequestOptions {
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Ends the request early (it then rejects with code 0). */
  readonly signal?: AbortSignal;
  /** This request's deadline instead of the client's, in milliseconds. */
  readonly timeoutMs?: number;
}

/** A JSON client of one cluster (the KubeConfig's current context). */
export class KubeApiClient {
  readonly #kubeConfig: k8s.KubeConfig;
  readonly #http = new k8s.IsomorphicFetchHttpLibrary();
  readonly #timeoutMs: number;
  /** The API server's URL. */
  readonly server: string;

  constructor(kubeConfig: k8s.KubeConfig, options: KubeApiClientOptions = {}) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    this.#kubeConfig = kubeConfig;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /**
   * Sends one request and parses the JSON answer. It fails after the client's timeout
   * (an API server that stops answering must not hang its caller).
   * @throws KubeApiError with the server's Status on a non-2xx answer, or code 0 when it could not be reached, did not answer in time, or the request was aborted.
   */
  async request<T = unknown>(method: ApiMethod, path: string, options: ApiRequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    const context = new k8s.RequestContext(url.toString(), METHODS[method]);
    context.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      context.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      context.setBody(JSON.stringify(options.body));
    }
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    context.setSignal(options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]));
    let response: k8s.ResponseContext;
    let text: string;
    try {
      await this.#kubeConfig.applySecurityAuthentication(context);
      response = await this.#http.send(context).toPromise();
      text = await response.body.text();
    } catch (error) {
      const why = deadline.aborted
        ? `the API server at ${this.server} did not answer within ${timeoutMs} ms`
        : options.signal?.aborted === true
          ? 'aborted'
          : `cannot reach the API server at ${this.server}: ${(error as Error).message}`;
      throw new KubeApiError(method, path, { code: 0, reason: '', message: why }, { cause: error });
    }
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) throw new KubeApiError(method, path, parseStatus(response.httpStatusCode, text));
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new KubeApiError(method, path, { code: response.httpStatusCode, reason: '', message: `the answer is not JSON: ${text.slice(0, 200)}` }, { cause: error });
    }
  }

  /** GET that gives `undefined` on 404 instead of throwing. */
  async getOptional<T = unknown>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (error) {
      if (error instanceof KubeApiError && error.status.code === 404) return undefined;
      throw error;
    }
  }
}
