// twill-agent's API (API.md), pure: one request in, one answer out, never a throw. Each
// area's module lists its routes; this file matches the path and method, reads the
// query against what the route takes, and turns any error into API.md's error body.
import { type ApiAnswer, type ApiRequest, type ApiRoute, ApiQuery, errorAnswer, parseJsonBody } from './answer.js';
import { BGP_ROUTES } from './bgp.js';
import { ENDPOINT_ROUTES } from './endpoints.js';
import { ApiError, toApiError } from './errors.js';
import { IPAM_ROUTES } from './ipam.js';
import { RESOURCE_ROUTES } from './resources.js';
import { type ApiSource } from './source.js';
import { STATUS_ROUTES } from './status.js';

/** Every route of the API. */
export const API_ROUTES: readonly ApiRoute<ApiSource>[] = [...STATUS_ROUTES, ...RESOURCE_ROUTES, ...ENDPOINT_ROUTES, ...IPAM_ROUTES, ...BGP_ROUTES];

// The `{name}` values when `segments` fit `pattern`, else undefined.
function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i]!;
    if (part.startsWith('{')) {
      if (segment === '') return undefined;
      params[part.slice(1, -1)] = segment;
    } else if (part !== segment) return undefined;
  }
  return params;
}

const PATTERNS = new Map(API_ROUTES.map((route) => [route, route.path.split('/')]));

function decodeSegments(path: string): string[] {
  return path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new ApiError('BadRequest', `the path ${JSON.stringify(path)} has a bad %-escape`);
    }
  });
}

/**
 * Answers one API request (API.md): the route by path and method (404 naming the path,
 * 405 with `Allow`), its query parameters checked, its answer; any error thrown while
 * answering becomes API.md's error body (an unexpected one a 500 `Internal` naming it).
 */
export async function answerApiRequest(request: ApiRequest, source: ApiSource): Promise<ApiAnswer> {
  const what = `${request.method} ${request.url.split('?')[0] ?? request.url}`;
  try {
    let url: URL;
    try {
      url = new URL(request.url, 'http://twill-agent');
    } catch {
      throw new ApiError('BadRequest', `the request target ${JSON.stringify(request.url)} is not a path`);
    }
    const segments = decodeSegments(url.pathname);
    const found = API_ROUTES.map((route) => ({ route, params: match(PATTERNS.get(route)!, segments) })).filter((m) => m.params !== undefined);
    if (found.length === 0) throw new ApiError('NoSuchPath', `no such path ${JSON.stringify(url.pathname)} (API.md lists the paths: /v1/status, /v1/kinds, /v1/resources, /v1/endpoints, /v1/ipam, /v1/bgp)`);
    const chosen = found.find((m) => m.route.method === request.method);
    if (chosen === undefined) {
      const allow = [...new Set(found.map((m) => m.route.method))].join(', ');
      return errorAnswer(new ApiError('MethodNotAllowed', `${request.method} is not allowed on ${url.pathname}: ${allow}`), { allow });
    }
    const { route, params } = chosen;
    const query = new ApiQuery(url.searchParams, route.query, `${route.method} ${route.path}`);
    let parsed: { value: unknown } | undefined;
    return await route.answer({
      params: params!,
      query,
      json: () => (parsed ??= { value: parseJsonBody(request.body) }).value,
      source,
    });
  } catch (error) {
    return errorAnswer(toApiError(error, what));
  }
}
