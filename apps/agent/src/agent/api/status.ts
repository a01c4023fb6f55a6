// `/v1/status`: the agent's status document, the same as the health server's `/v1/status`.
import { type ApiAnswer, type ApiRoute, jsonAnswer, type RouteCall } from './answer.js';
import { type ApiSource } from './source.js';

async function status(call: RouteCall<ApiSource>): Promise<ApiAnswer> {
  return jsonAnswer(200, await call.source.status());
}

/** The route of `/v1/status`. */
export const STATUS_ROUTES: readonly ApiRoute<ApiSource>[] = [{ method: 'GET', path: '/v1/status', query: [], answer: status }];
