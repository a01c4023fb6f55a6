/**
 * Errors of the Calico front end. Every error carries a stable `code` and the field path
 * of the document where it happened (`spec.ingress[0].source.ports[1]`), so callers can
 * point a user at the exact line of their YAML.
 *
 * The lead will fold these into the package's `errors.ts`; until then they live here.
 */

/** The stable codes of {@link CalicoError}. */
export const CALICO_ERROR_CODE = {
  /** A selector expression does not parse. */
  SELECTOR_SYNTAX: 'CALICO_SELECTOR_SYNTAX',
  /** A field has a value of the wrong type or outside what Calico accepts. */
  INVALID_FIELD: 'CALICO_INVALID_FIELD',
  /** A field Calico does not know (typo or a field of another API version). */
  UNKNOWN_FIELD: 'CALICO_UNKNOWN_FIELD',
  /** A field Calico requires is absent. */
  MISSING_FIELD: 'CALICO_MISSING_FIELD',
  /** The `apiVersion`/`kind` pair is not a Calico resource this front end reads. */
  UNSUPPORTED_KIND: 'CALICO_UNSUPPORTED_KIND',
} as const;

/** One of the values of {@link CALICO_ERROR_CODE}. */
export type CalicoErrorCode = (typeof CALICO_ERROR_CODE)[keyof typeof CALICO_ERROR_CODE];

/**
 * The base class of every Calico front-end error. `message` is `<path>: <reason>` when
 * there is a path, so it reads well on its own.
 */
export class CalicoError extends Error {
  override readonly name: string = 'CalicoError';

  constructor(
    /** The stable code, one of {@link CALICO_ERROR_CODE}. */
    readonly code: CalicoErrorCode,
    /** The field path in the document (`spec.ingress[0].action`), or `''` for none. */
    readonly path: string,
    /** What is wrong, without the path. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(path === '' ? reason : `${path}: ${reason}`, options);
  }
}

/**
 * A selector expression that does not parse. `position` is the 0-based offset in
 * `selector` (in UTF-16 code units, as JavaScript indexes strings) where parsing failed;
 * the message reads `selector "app == " at 7: expected a quoted string`.
 */
export class SelectorSyntaxError extends CalicoError {
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
    super(CALICO_ERROR_CODE.SELECTOR_SYNTAX, path, `selector ${JSON.stringify(selector)} at ${position}: ${detail}`);
  }

  /** The same error, located at `path` in a document. */
  atPath(path: string): SelectorSyntaxError {
    return new SelectorSyntaxError(this.selector, this.position, this.detail, path);
  }
}
