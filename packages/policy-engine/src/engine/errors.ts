// The errors of the incremental index. They reuse the package's `invalid-snapshot`
// code: the index is a snapshot that changes, and contradicts itself in the same ways.

import { POLICY_ERROR_CODE, PolicyEngineError } from '../errors.js';
import { type PolicyIndexDiff } from './types.js';

/**
 * A change handed to a `PolicyIndex` contradicts the index: a policy in an unknown
 * tier, a tier that still holds policies being deleted, two endpoints with one address,
 * a workload without a namespace, an address that does not parse. The failing change
 * is not applied; the changes of its batch before it are, and `applied` is their diff,
 * so a dataplane driver can stay in step.
 */
export class PolicyIndexError extends PolicyEngineError {
  /** The class name, `'PolicyIndexError'`. */
  override readonly name: string = 'PolicyIndexError';

  /** The diff of the batch's changes applied before the failing one (set by the index). */
  applied?: PolicyIndexDiff;

  /** The failing change's position in the batch given to `apply` (set by the index). */
  changeIndex?: number;

  constructor(path: string, reason: string) {
    super(POLICY_ERROR_CODE.INVALID_SNAPSHOT, path, reason);
  }
}
