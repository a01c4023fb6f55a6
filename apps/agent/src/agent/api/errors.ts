// The API's failures (API.md, "Errors"): one class with a stable `code` and its HTTP
// status, and the mapping of the errors the agent's parts throw onto them. A client
// matches on `code`, never on the message.
import { BgpInvalidArgument } from '@twill/bgp';
import { InvalidRequestError, StoreContendedError } from '@twill/ipam';

import {
  RESOURCE_ERROR_CODE,
  ResourceConflictError,
  ResourceContendedError,
  ResourceDatastoreError,
  ResourceValidationError,
  UnknownResourceKindError,
} from '../datastore/errors.js';

/** The codes of {@link ApiError} and the HTTP status each is answered with. */
export const API_ERROR = {
  /** The request itself is malformed: bad JSON, an unknown query parameter, a missing `ip`. */
  BadRequest: 400,
  /** No such object, or no allocation to release. */
  NotFound: 404,
  /** No such path (an older agent, a typo): not a statement about any object. */
  NoSuchPath: 404,
  /** The path names a resource kind the agent does not serve. */
  UnknownKind: 404,
  /** The path exists, the method does not (the answer has `Allow`). */
  MethodNotAllowed: 405,
  /** A stale `metadata.resourceVersion`. */
  Conflict: 409,
  /** The request body is larger than the server takes (1 MiB). */
  TooLarge: 413,
  /** A resource fails validation: `field` is its path, `index` the item in the batch. */
  Invalid: 422,
  /** The datastore (the Kubernetes API) refused the agent for lack of rights (RBAC). */
  Forbidden: 403,
  /** The part that answers is not running (no BGP), the store stayed contended, or the Kubernetes API cannot be reached. */
  Unavailable: 503,
  /** Anything else: a bug, named in the message. */
  Internal: 500,
} as const;

/** One of the codes of {@link API_ERROR}. */
export type ApiErrorCode = keyof typeof API_ERROR;

/** An answer other than 2xx: `{"error": {code, message, field?, index?, applied?}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** The HTTP status of {@link code}. */
  readonly status: number;
  /** The resource field at fault (`spec.ingress[0].ports[0].port`), when one is. */
  readonly field: string | undefined;
  /** The item of a `POST /v1/resources` batch at fault, when one is. */
  readonly index: number | undefined;
  /** Of a `POST /v1/resources` batch that failed: how many items (the first ones) were written before it did. */
  readonly applied: number | undefined;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options: { readonly field?: string; readonly index?: number; readonly applied?: number; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = API_ERROR[code];
    this.field = options.field === '' ? undefined : options.field;
    this.index = options.index;
    this.applied = options.applied;
  }

  /** The answer's body. */
  toJSON(): { error: { code: ApiErrorCode; message: string; field?: string; index?: number; applied?: number } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
        ...(this.index === undefined ? {} : { index: this.index }),
        ...(this.applied === undefined ? {} : { applied: this.applied }),
      },
    };
  }
}

// The Kubernetes datastore's failures, by their datastore code.
const KUBERNETES_ERRORS: Partial<Record<string, ApiErrorCode>> = {
  [RESOURCE_ERROR_CODE.FORBIDDEN]: 'Forbidden',
  [RESOURCE_ERROR_CODE.UNAVAILABLE]: 'Unavailable',
  [RESOURCE_ERROR_CODE.REJECTED]: 'BadRequest',
};

// A validation error's message has one line per problem; the API's message is one line.
function oneLine(text: string): string {
  return text.split('\n').join('; ');
}

/**
 * What an error thrown while answering `what` (`GET /v1/ipam`) becomes: ApiErrors as
 * they are, the datastore's and IPAM's errors by their meaning (invalid 422, conflict
 * 409, contended 503, a bad IPAM or BGP argument 400; from the Kubernetes API: forbidden
 * 403, unreachable 503, refused 400), anything else 500 naming it.
 */
export function toApiError(error: unknown, what: string, index?: number): ApiError {
  const at = index === undefined ? {} : { index };
  if (error instanceof ApiError) return error;
  if (error instanceof UnknownResourceKindError) return new ApiError('Invalid', oneLine(error.message), { field: error.path, ...at, cause: error });
  if (error instanceof ResourceValidationError) return new ApiError('Invalid', oneLine(error.message), { field: error.path, ...at, cause: error });
  if (error instanceof ResourceConflictError) return new ApiError('Conflict', error.message, { ...at, cause: error });
  if (error instanceof ResourceContendedError || error instanceof StoreContendedError) return new ApiError('Unavailable', oneLine(error.message), { ...at, cause: error });
  if (error instanceof InvalidRequestError || error instanceof BgpInvalidArgument) return new ApiError('BadRequest', oneLine(error.message), { cause: error });
  if (error instanceof ResourceDatastoreError) {
    const code = KUBERNETES_ERRORS[error.code];
    if (code !== undefined) return new ApiError(code, oneLine(error.message), { ...at, cause: error });
  }
  const name = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ApiError('Internal', `internal error answering ${what}: ${oneLine(name)}`, { ...at, cause: error });
}
