// Status objects as kube-apiserver writes them (k8s.io/apimachinery/pkg/api/errors): the
// reason, the HTTP code and the message wording are what clients switch on, so they are
// reproduced exactly for the failures this test server can produce.

/** One field-level cause of an Invalid (422) status. */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

/** The details of a Status: which object, and for 422 the causes. */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** A `meta.k8s.io/v1` Status, as the body of an error response or an ERROR watch event. */
export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  /** Empty, except a 410 for an expired continue token carries an inconsistent one. */
  readonly metadata: { readonly continue?: string };
  readonly status: 'Failure' | 'Success';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** A request the server refuses, carrying the Status it answers with. */
export class KubernetesStatusError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? `status ${status.code}`);
    this.name = 'KubernetesStatusError';
    this.code = status.code;
    this.reason = status.reason ?? '';
  }
}

/** A resource and its group, as errors name it (`pods`, `ippools.twill.io`). */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

/** `pods` or `networkpolicies.networking.k8s.io`, as the API server prints a GroupResource. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

function failure(code: number, reason: string, message: string, details?: StatusDetails): KubernetesStatusError {
  return new KubernetesStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  });
}

function objectDetails(gr: GroupResource, name: string): StatusDetails {
  return { name, ...(gr.group === '' ? {} : { group: gr.group }), kind: gr.resource };
}

/** 404 NotFound: `pods "web" not found`. */
export function notFound(gr: GroupResource, name: string): KubernetesStatusError {
  return failure(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, objectDetails(gr, name));
}

/** 404 for a path that names no served resource. */
export function pathNotFound(): KubernetesStatusError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** 409 AlreadyExists on create. */
export function alreadyExists(gr: GroupResource, name: string): KubernetesStatusError {
  return failure(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, objectDetails(gr, name));
}

/** 409 Conflict: `Operation cannot be fulfilled on pods "web": <why>`. */
export function conflict(gr: GroupResource, name: string, why: string): KubernetesStatusError {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, objectDetails(gr, name));
}

/** The wording of an optimistic-concurrency failure (storage.ErrConflict). */
export const modifiedMessage = 'the object has been modified; please apply your changes to the latest version and try again';

/** 400 BadRequest with a free message. */
export function badRequest(message: string): KubernetesStatusError {
  return failure(400, 'BadRequest', message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): KubernetesStatusError {
  return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

/** 415 UnsupportedMediaType for a PATCH content type the resource does not take. */
export function unsupportedMediaType(accepted: readonly string[]): KubernetesStatusError {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    {},
  );
}

/** 410 Expired (a watch or list from a compacted resourceVersion). */
export function expired(message: string): KubernetesStatusError {
  return failure(410, 'Expired', message);
}

/** 410 Expired for a continue token, carrying one that continues from the latest state. */
export function expiredContinue(message: string, inconsistentContinue: string): KubernetesStatusError {
  return new KubernetesStatusError({ kind: 'Status', apiVersion: 'v1', metadata: { continue: inconsistentContinue }, status: 'Failure', message, reason: 'Expired', code: 410 });
}

/** 504 Timeout: a list at a resourceVersion the server has not reached. */
export function tooLargeResourceVersion(requested: number, current: number): KubernetesStatusError {
  return failure(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/** 500 InternalError. */
export function internalError(message: string): KubernetesStatusError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: 'UnexpectedServerResponse', message }] });
}

/** A field error as k8s.io/apimachinery/pkg/util/validation/field prints it. */
export interface FieldError {
  readonly reason: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueTypeInvalid' | 'FieldValueTooLong' | 'FieldValueTooMany' | 'FieldValueForbidden' | 'FieldValueDuplicate';
  readonly field: string;
  /** The message without the field prefix (`Required value`, `Invalid value: "x": ...`). */
  readonly message: string;
}

/** Go's %q-ish rendering of a value in field errors (strings quoted, others JSON). */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `Invalid value: "x": <detail>` */
export function invalidValue(field: string, value: unknown, detail: string): FieldError {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${renderValue(value)}: ${detail}` };
}

/** `Required value[: detail]` */
export function requiredValue(field: string, detail = ''): FieldError {
  return { reason: 'FieldValueRequired', field, message: detail === '' ? 'Required value' : `Required value: ${detail}` };
}

/** 422 Invalid: `Pod "Web" is invalid: metadata.name: Invalid value: ...` (several in brackets). */
export function invalid(kind: string, group: string, name: string, errors: readonly FieldError[]): KubernetesStatusError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const rendered = errors.map((e) => `${e.field}: ${e.message}`);
  const summary = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  return failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    ...(group === '' ? {} : { group }),
    kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
  });
}
