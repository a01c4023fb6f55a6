// Errors of the nftables generator. They reuse the package's `invalid-value` code: a
// name or value that cannot go into an nft script is a value its schema does not allow.

import { POLICY_ERROR_CODE, PolicyEngineError } from '../../errors.js';

/** A name (an interface, an endpoint key) that cannot be written into an nft script. */
export class NftablesNameError extends PolicyEngineError {
  override readonly name: string = 'NftablesNameError';

  constructor(path: string, reason: string) {
    super(POLICY_ERROR_CODE.INVALID_VALUE, path, reason);
  }
}
