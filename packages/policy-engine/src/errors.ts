// The errors of @twill/policy-engine. Every failure names the field it is about, so a
// user reading `spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR "10.0.0.0/33"` can
// go straight to the offending line of their manifest.

/** The stable codes of {@link PolicyEngineError}; tools match on these, never on messages. */
export const POLICY_ERROR_CODE = {
  /** A field has the wrong JSON type (a string where a list belongs, ...). */
  INVALID_TYPE: 'invalid-type',
  /** A field has a value its schema does not allow. */
  INVALID_VALUE: 'invalid-value',
  /** A required field is absent. */
  REQUIRED: 'required',
  /** A field the schema does not know (strict decoding, as `kubectl --validate=strict`). */
  UNKNOWN_FIELD: 'unknown-field',
  /** Fields that may not appear together, or a value forbidden by another field. */
  FORBIDDEN: 'forbidden',
  /** A CIDR that does not parse, or does not fit where it is used. */
  INVALID_CIDR: 'invalid-cidr',
  /** A label selector that is not well formed. */
  INVALID_SELECTOR: 'invalid-selector',
  /** A port, port range or named port that cannot be. */
  INVALID_PORT: 'invalid-port',
  /** A document with one or more field errors (see `PolicyValidationError.errors`). */
  INVALID_POLICY: 'invalid-policy',
  /** A snapshot that contradicts itself (two endpoints with one name, an unknown tier, ...). */
  INVALID_SNAPSHOT: 'invalid-snapshot',
  /** A flow that names an endpoint the snapshot does not have, or an address that does not parse. */
  INVALID_FLOW: 'invalid-flow',
  /** The identity space is full. */
  IDENTITIES_EXHAUSTED: 'identities-exhausted',
  /** An `apiVersion` / `kind` pair that no front end of this package reads. */
  UNSUPPORTED_KIND: 'unsupported-kind',
  /** A feature that is valid in its dialect but that the IR cannot express yet (Cilium `toFQDNs`, Calico `services`, ...). */
  UNSUPPORTED: 'unsupported',
} as const;

/** One of the codes of {@link POLICY_ERROR_CODE}. */
export type PolicyErrorCode = (typeof POLICY_ERROR_CODE)[keyof typeof POLICY_ERROR_CODE];

/**
 * The base class of every error this package throws: a stable `code` and the field
 * path (`spec.ingress[0].ports[1].endPort`; empty when the error is about the whole
 * input). The message is always `path: reason` when there is a path.
 */
export class PolicyEngineError extends Error {
  /** The class name, `'PolicyEngineError'`. */
  override readonly name: string = 'PolicyEngineError';

  constructor(
    /** The stable code: see {@link POLICY_ERROR_CODE}. */
    readonly code: PolicyErrorCode,
    /** The field path, in the dotted/indexed form Kubernetes uses; `''` for the whole input. */
    readonly path: string,
    /** Why, without the path: `invalid CIDR "10.0.0.0/33"`. */
    readonly reason: string,
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? (path === '' ? reason : `${path}: ${reason}`), { cause: options?.cause });
  }
}

/** One field of a policy document is wrong. Validation collects these. */
export class FieldError extends PolicyEngineError {
  /** The class name, `'FieldError'`. */
  override readonly name: string = 'FieldError';
}

/**
 * A policy document failed validation. `errors` lists every field error found, in
 * document order; the message has one line per error. `path` is the first error's.
 */
export class PolicyValidationError extends PolicyEngineError {
  /** The class name, `'PolicyValidationError'`. */
  override readonly name: string = 'PolicyValidationError';

  constructor(
    /** Every field error, in document order; never empty. */
    readonly errors: readonly FieldError[],
  ) {
    // The message is the list itself: prefixing the first path again would repeat it.
    super(POLICY_ERROR_CODE.INVALID_POLICY, errors[0]?.path ?? '', `${errors.length} invalid field(s)`, {
      message: errors.map((e) => e.message).join('\n'),
    });
  }
}

/** A snapshot handed to `createSnapshot` contradicts itself. */
export class SnapshotError extends PolicyEngineError {
  /** The class name, `'SnapshotError'`. */
  override readonly name: string = 'SnapshotError';

  constructor(path: string, reason: string) {
    super(POLICY_ERROR_CODE.INVALID_SNAPSHOT, path, reason);
  }
}

/** A flow handed to `evaluate` cannot be resolved against the snapshot. */
export class FlowError extends PolicyEngineError {
  /** The class name, `'FlowError'`. */
  override readonly name: string = 'FlowError';

  constructor(path: string, reason: string) {
    super(POLICY_ERROR_CODE.INVALID_FLOW, path, reason);
  }
}

/** The identity allocator has no free number left in its range. */
export class IdentitiesExhaustedError extends PolicyEngineError {
  /** The class name, `'IdentitiesExhaustedError'`. */
  override readonly name: string = 'IdentitiesExhaustedError';

  constructor(reason: string) {
    super(POLICY_ERROR_CODE.IDENTITIES_EXHAUSTED, '', reason);
  }
}

/**
 * An error of the Calico front end (parsing a `projectcalico.org/v3` document, or
 * compiling it to the IR). Calico validation stops at the first problem, as
 * `calicoctl` does, so this is one error with its path rather than a list.
 */
export class CalicoError extends PolicyEngineError {
  /** The class name, `'CalicoError'`. */
  override readonly name: string = 'CalicoError';
}

/**
 * A Calico selector expression that does not parse (code `invalid-selector`).
 * `position` is the 0-based offset in `selector` (in UTF-16 code units, as JavaScript
 * indexes strings) where parsing failed; the reason reads
 * `selector "app == " at 7: expected a quoted string`.
 */
export class SelectorSyntaxError extends CalicoError {
  /** The class name, `'SelectorSyntaxError'`. */
  override readonly name: string = 'SelectorSyntaxError';

  constructor(
    /** The whole selector text that failed to parse. */
    readonly selector: string,
    /** 0-based offset of the failure in `selector`. */
    readonly position: number,
    /** What was expected or found there. */
    readonly detail: string,
    /** The field path of the selector in its document, when there is one. */
    path = '',
  ) {
    super(POLICY_ERROR_CODE.INVALID_SELECTOR, path, `selector ${JSON.stringify(selector)} at ${position}: ${detail}`);
  }

  /** The same error, located at `path` in a document. */
  atPath(path: string): SelectorSyntaxError {
    return new SelectorSyntaxError(this.selector, this.position, this.detail, path);
  }
}
