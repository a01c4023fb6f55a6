// The API's refusals as the datastore's errors (datastore/errors.ts): each message names
// what was asked (the verb, the datastore kind, the object and the API resource) and the
// API server's own reason.
import { RESOURCE_ERROR_CODE, ResourceDatastoreError, ResourceValidationError } from '../../datastore/errors.js';
import { type ApiBacking, backingName } from '../kinds.js';
import { KubeApiError } from './api-client.js';

/** What a request was about, for messages. */
export interface RequestSubject {
  /** The verb as RBAC names it: get, list, watch, create, update, patch, delete. */
  readonly verb: string;
  /** The datastore kind id: `ippools.projectcalico.org`. */
  readonly kind: string;
  /** `namespace/name`, `name`, or `''` for a collection. */
  readonly object: string;
  /** The API resource asked. */
  readonly backing?: ApiBacking;
  /** The kind as documents name it, for validation messages: `IPPool`. */
  readonly kindName?: string;
}

/**
 * The datastore error for a failed API request: `forbidden` (401/403), `unavailable`
 * (unreachable, 5xx), ResourceValidationError (422 Invalid, one problem per cause with its
 * field), `rejected` (any other refusal). Anything that is not a KubeApiError is rethrown.
 */
export function datastoreErrorOf(error: unknown, subject: RequestSubject): Error {
  if (!(error instanceof KubeApiError)) return error instanceof Error ? error : new Error(String(error));
  const { status } = error;
  const resource = subject.backing === undefined ? '' : ` (${backingName(subject.backing)})`;
  const what = `${subject.verb} ${subject.kind}${subject.object === '' ? '' : ` ${subject.object}`}${resource}`;
  const reason = status.reason === '' ? `HTTP ${status.code}` : `${status.reason} (HTTP ${status.code})`;
  if (status.code === 0) return new ResourceDatastoreError(RESOURCE_ERROR_CODE.UNAVAILABLE, `${what}: ${status.message}`, { cause: error });
  if (status.code === 401 || status.code === 403) {
    return new ResourceDatastoreError(RESOURCE_ERROR_CODE.FORBIDDEN, `${what}: the API server refused: ${reason}: ${status.message}`, { cause: error });
  }
  if (status.code === 422) {
    const causes = status.details?.causes ?? [];
    const problems = causes.length === 0 ? [{ path: '', reason: status.message }] : causes.map((c) => ({ path: c.field ?? '', reason: c.message ?? c.reason ?? 'invalid' }));
    const subjectText = `${subject.kindName ?? subject.kind} ${subject.object}`.trim();
    return new ResourceValidationError(subjectText, problems, { cause: error });
  }
  const code = status.code >= 500 ? RESOURCE_ERROR_CODE.UNAVAILABLE : RESOURCE_ERROR_CODE.REJECTED;
  return new ResourceDatastoreError(code, `${what}: ${reason}: ${status.message}`, { cause: error });
}

/** Whether `error` is the API's answer with this HTTP status. */
export function isApiStatus(error: unknown, code: number): boolean {
  return error instanceof KubeApiError && error.status.code === code;
}
