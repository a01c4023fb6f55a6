// Errors of the nftables dataplane driver.

/** The stable codes of {@link NftablesDataplaneError}. */
export const NFTABLES_ERROR_CODE = {
  /** `nft` refused a script or a listing (its message is the `nft` error output). */
  NFT_FAILED: 'nft-failed',
  /** `nft -j` printed something that is not the JSON schema nftables documents. */
  BAD_LISTING: 'bad-listing',
  /** A netlink message of the flow readers (NFLOG, conntrack) that does not parse; the reader goes on. */
  BAD_FLOW_MESSAGE: 'bad-flow-message',
  /** A flow reader's socket failed (open, configure, read). */
  FLOW_READ_FAILED: 'flow-read-failed',
} as const;

/** One of {@link NFTABLES_ERROR_CODE}. */
export type NftablesErrorCode = (typeof NFTABLES_ERROR_CODE)[keyof typeof NFTABLES_ERROR_CODE];

/** The base class of the driver's errors: a stable `code`, and the underlying `cause`. */
export class NftablesDataplaneError extends Error {
  override readonly name: string = 'NftablesDataplaneError';

  constructor(
    readonly code: NftablesErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
