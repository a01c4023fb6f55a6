// twill-agent's API, re-exported by name (agent/index.ts re-exports these).
export { type ApiRequest, type ApiAnswer, type ApiRoute, type RouteCall, ApiQuery, jsonAnswer, errorAnswer, parseJsonBody } from './answer.js';
export { API_ERROR, type ApiErrorCode, ApiError, toApiError } from './errors.js';
export { findJsonSyntaxError, type JsonSyntaxError } from './json-error.js';
export { type ApiBgpSource, type ApiSource, type ApiUnavailable } from './source.js';
export { type ApplyResult } from './resources.js';
export { type BlockView } from './ipam.js';
export { API_ROUTES, answerApiRequest } from './router.js';
