// What every area of the API shares: the request and answer shapes, JSON answers (bigint
// counts as decimal strings), the query-string reader that refuses what it does not know,
// and the route type the areas export. Pure: sys/api-server.ts is the socket around it.
import { type HttpAnswer } from '../health.js';
import { ApiError } from './errors.js';
import { findJsonSyntaxError } from './json-error.js';

/** One request, as the server read it. */
export interface ApiRequest {
  readonly method: string;
  /** The request target: path and query (`/v1/resources/pods?namespace=web`). */
  readonly url: string;
  /** The body as received (UTF-8), `''` when there was none. */
  readonly body: string;
}

/** One answer (the health server's shape: status, content type, body, extra headers). */
export type ApiAnswer = HttpAnswer;

const JSON_TYPE = 'application/json; charset=utf-8';

// bigint (IPAM's address counts: an IPv6 pool holds more than a JSON number carries
// exactly) as a decimal string; bytes (a NOTIFICATION's data) as hex.
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** A JSON answer, pretty-printed and ending with a newline. */
export function jsonAnswer(status: number, document: unknown, headers?: Readonly<Record<string, string>>): ApiAnswer {
  return { status, contentType: JSON_TYPE, body: `${JSON.stringify(document, replacer, 2)}\n`, ...(headers === undefined ? {} : { headers }) };
}

/** The answer for an error (`Allow` on a 405 comes from `headers`). */
export function errorAnswer(error: ApiError, headers?: Readonly<Record<string, string>>): ApiAnswer {
  return jsonAnswer(error.status, error, headers);
}

/** The query string of one request, limited to the parameters its route takes. */
export class ApiQuery {
  readonly #values = new Map<string, string>();

  /**
   * @throws ApiError `BadRequest` for a parameter the route does not take (naming the
   * ones it does) or one given twice.
   */
  constructor(search: URLSearchParams, allowed: readonly string[], route: string) {
    for (const [name, value] of search) {
      if (!allowed.includes(name)) {
        const takes = allowed.length === 0 ? 'takes no query parameters' : `takes ${allowed.map((a) => `"${a}"`).join(', ')}`;
        throw new ApiError('BadRequest', `unknown query parameter "${name}": ${route} ${takes}`);
      }
      if (this.#values.has(name)) throw new ApiError('BadRequest', `query parameter "${name}" is given twice`);
      this.#values.set(name, value);
    }
  }

  /** The parameter's value, `undefined` when absent. */
  text(name: string): string | undefined {
    return this.#values.get(name);
  }

  /**
   * A `true`/`false` parameter (absent: false).
   * @throws ApiError `BadRequest` for another value.
   */
  flag(name: string): boolean {
    const value = this.#values.get(name);
    if (value === undefined || value === 'false') return false;
    if (value === 'true') return true;
    throw new ApiError('BadRequest', `query parameter "${name}" must be true or false (got ${JSON.stringify(value)})`);
  }
}

/** What a route's handler gets. */
export interface RouteCall<Source> {
  /** The path's `{name}` segments, decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: ApiQuery;
  /**
   * The body parsed as JSON.
   * @throws ApiError `BadRequest` when it is empty or not JSON (naming the position).
   */
  json(): unknown;
  readonly source: Source;
}

/** One method of one path: `/v1/resources/{kind}/{name}`. */
export interface ApiRoute<Source> {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Literal segments and `{name}` placeholders. */
  readonly path: string;
  /** The query parameters it takes. */
  readonly query: readonly string[];
  answer(call: RouteCall<Source>): Promise<ApiAnswer>;
}

/**
 * Parses a request body.
 * @throws ApiError `BadRequest` for an empty body or bad JSON, with the position the
 * parser stopped at (line and column).
 */
export function parseJsonBody(body: string): unknown {
  if (body.trim() === '') throw new ApiError('BadRequest', 'the request needs a JSON body');
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    const found = findJsonSyntaxError(body);
    if (found === undefined) throw new ApiError('BadRequest', `the body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    const before = body.slice(0, found.offset).split('\n');
    const column = (before.at(-1)?.length ?? 0) + 1;
    throw new ApiError('BadRequest', `the body is not JSON: ${found.reason} at line ${before.length} column ${column}`);
  }
}

/** Whether `value` is a JSON object (not null, not a list). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
