// The resource datastore's failures: a base class with a stable `code`, one class per
// failure. A validation error names the field (`spec.ingress[0].from[1].podSelector`) so
// a user can go straight to the line of their manifest.

/** The stable codes of {@link ResourceDatastoreError}; tools match on these, never on messages. */
export const RESOURCE_ERROR_CODE = {
  /** A resource that does not validate (see `ResourceValidationError.errors`). */
  INVALID: 'invalid',
  /** A kind name, or an `apiVersion`/`kind` pair, that is not in RESOURCE_KINDS. */
  UNKNOWN_KIND: 'unknown-kind',
  /** An apply whose `metadata.resourceVersion` is not the stored one. */
  CONFLICT: 'conflict',
  /** The store kept refusing a write (contended past its retries). */
  CONTENDED: 'contended',
  /** A stored entry under `twill-resources/` that is not a resource's JSON (written by something else). */
  CORRUPT: 'corrupt',
  /** The Kubernetes API refused the request for lack of rights (HTTP 401 or 403: RBAC); the message names the verb and resource. */
  FORBIDDEN: 'forbidden',
  /** The Kubernetes API could not be reached or answered with a server error, or the kind's CRD is not installed. */
  UNAVAILABLE: 'unavailable',
  /** The Kubernetes API refused the request for another reason (its Status reason is in the message). */
  REJECTED: 'rejected',
} as const;

/** One of the codes of {@link RESOURCE_ERROR_CODE}. */
export type ResourceErrorCode = (typeof RESOURCE_ERROR_CODE)[keyof typeof RESOURCE_ERROR_CODE];

/** The base of every error of the resource datastore. */
export class ResourceDatastoreError extends Error {
  override readonly name: string = 'ResourceDatastoreError';

  constructor(
    /** The stable code: see {@link RESOURCE_ERROR_CODE}. */
    readonly code: ResourceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One field that is wrong: its path (`''` for the whole document) and why. */
export interface ResourceFieldProblem {
  /** The field path, dotted and indexed as Kubernetes writes it: `spec.bgp.asNumber`, `spec.ingress[0].ports[1].port`. */
  readonly path: string;
  /** Why, without the path: `must be an integer from 1 to 4294967295, not 0`. */
  readonly reason: string;
}

/**
 * A resource failed validation; nothing was written. `errors` lists every problem found
 * (never empty); `path` and `reason` are the first's. The message has one line per
 * problem, each prefixed with the document's kind and name: `NetworkPolicy default/web:
 * spec.ingress[0].from[1].podSelector: ...`.
 */
export class ResourceValidationError extends ResourceDatastoreError {
  override readonly name: string = 'ResourceValidationError';
  /** The first problem's field path. */
  readonly path: string;
  /** The first problem's reason. */
  readonly reason: string;

  constructor(
    /** What the document is, for messages: `NetworkPolicy default/web`, or `''` when it has no kind or name. */
    readonly subject: string,
    /** Every problem, in document order. */
    readonly errors: readonly ResourceFieldProblem[],
    options?: { cause?: unknown; code?: ResourceErrorCode },
  ) {
    const lines = errors.map((e) => {
      const at = e.path === '' ? e.reason : `${e.path}: ${e.reason}`;
      return subject === '' ? at : `${subject}: ${at}`;
    });
    super(options?.code ?? RESOURCE_ERROR_CODE.INVALID, lines.join('\n'), { cause: options?.cause });
    this.path = errors[0]?.path ?? '';
    this.reason = errors[0]?.reason ?? '';
  }
}

/**
 * A kind that RESOURCE_KINDS does not have (code `unknown-kind`); the message lists the
 * known ones. `path` is `kind` or `apiVersion` when it came from a document, `''` from a name.
 */
export class UnknownResourceKindError extends ResourceValidationError {
  override readonly name: string = 'UnknownResourceKindError';

  constructor(subject: string, path: string, reason: string) {
    super(subject, [{ path, reason }], { code: RESOURCE_ERROR_CODE.UNKNOWN_KIND });
  }
}

/**
 * An apply with `metadata.resourceVersion` found the stored object at another version,
 * or gone (code `conflict`): read it again, merge, and apply the new version.
 */
export class ResourceConflictError extends ResourceDatastoreError {
  override readonly name: string = 'ResourceConflictError';

  constructor(
    /** The kind id (`networkpolicies.projectcalico.org`). */
    readonly kind: string,
    /** `namespace/name`, or `name` for cluster-wide kinds. */
    readonly resource: string,
    /** The resourceVersion the apply expected. */
    readonly expected: string,
    /** The stored one; `undefined` when the object does not exist. */
    readonly actual: string | undefined,
  ) {
    super(
      RESOURCE_ERROR_CODE.CONFLICT,
      actual === undefined
        ? `${kind} ${resource}: resourceVersion ${expected} was given but the object does not exist`
        : `${kind} ${resource}: the object has been modified (resourceVersion ${actual}, not ${expected}): read it again and reapply`,
    );
  }
}

/** The store refused a write after every retry (code `contended`): other writers kept winning. */
export class ResourceContendedError extends ResourceDatastoreError {
  override readonly name: string = 'ResourceContendedError';

  constructor(what: string) {
    super(RESOURCE_ERROR_CODE.CONTENDED, `${what}: the store stayed contended; try again`);
  }
}
