// The lab's errors: one class with a stable code per failure, a message naming what and
// where, and the cause.

/** What went wrong, as a stable code. */
export const LAB_ERROR_CODE = {
  /** The spec or a command-line value is wrong (`--nodes: must be 1-16 (got 0)`). */
  INVALID_SPEC: 'INVALID_SPEC',
  /** A lab is already up in the folder. */
  ALREADY_UP: 'ALREADY_UP',
  /** No lab is up in the folder. */
  NOT_UP: 'NOT_UP',
  /** `exec` named a pod the lab does not have. */
  NO_SUCH_POD: 'NO_SUCH_POD',
  /** `exec` named a pod by a name two namespaces have. */
  AMBIGUOUS_POD: 'AMBIGUOUS_POD',
  /** Something the lab needs is missing on this machine (not root, no `ip`, no bird). */
  MISSING_PREREQUISITE: 'MISSING_PREREQUISITE',
  /** A step of `up` failed (what was made is removed again). */
  STEP_FAILED: 'STEP_FAILED',
  /** The state file cannot be read or is not a lab's. */
  BAD_STATE: 'BAD_STATE',
} as const;

/** One of {@link LAB_ERROR_CODE}. */
export type LabErrorCode = (typeof LAB_ERROR_CODE)[keyof typeof LAB_ERROR_CODE];

/** A lab operation failed; `message` is one line saying what and where. */
export class LabError extends Error {
  override readonly name = 'LabError';

  constructor(
    readonly code: LabErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
