// Errors of a document that sits inside a larger one (`items[2]` of a List, a file's
// third document): the same error, of the same class and code, with its field paths
// under the document's own path, so the message still points at the offending line.

import { CalicoError, FieldError, PolicyEngineError, PolicyValidationError, SelectorSyntaxError } from '../errors.js';

/** `prefix.path` (`items[2].spec.ingress[0]`), `prefix[0]` for an index, `prefix` for the root. */
export function underPath(prefix: string, path: string): string {
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

/**
 * The same error with every field path under `prefix`. Errors of other origins are
 * returned as they are: they name no field.
 */
export function atPath(error: unknown, prefix: string): unknown {
  if (error instanceof PolicyValidationError) {
    return new PolicyValidationError(error.errors.map((e) => new FieldError(e.code, underPath(prefix, e.path), e.reason)));
  }
  if (error instanceof SelectorSyntaxError) return error.atPath(underPath(prefix, error.path));
  if (error instanceof CalicoError) return new CalicoError(error.code, underPath(prefix, error.path), error.reason, { cause: error.cause });
  if (error instanceof FieldError) return new FieldError(error.code, underPath(prefix, error.path), error.reason);
  // Only the base class is built here: its subclasses above keep their own classes.
  if (error instanceof PolicyEngineError && error.constructor === PolicyEngineError) {
    return new PolicyEngineError(error.code, underPath(prefix, error.path), error.reason, { cause: error.cause });
  }
  return error;
}
