// `/v1/endpoints`: the endpoint records of every node (the plugin writes one per pod).
import { type ApiAnswer, type ApiRoute, jsonAnswer, type RouteCall } from './answer.js';
import { type ApiSource } from './source.js';

async function endpoints(call: RouteCall<ApiSource>): Promise<ApiAnswer> {
  return jsonAnswer(200, { items: await call.source.endpoints() });
}

/** The route of `/v1/endpoints`. */
export const ENDPOINT_ROUTES: readonly ApiRoute<ApiSource>[] = [{ method: 'GET', path: '/v1/endpoints', query: [], answer: endpoints }];
