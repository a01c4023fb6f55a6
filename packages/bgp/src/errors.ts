// The errors of @twill/bgp. A decode error *is* the protocol output: a BgpNotification
// carries the NOTIFICATION code, subcode and data the speaker sends (RFC 4271 §4.5,
// §6), plus the RFC 7606 action it stands for.

/** Stable codes of the package's errors. */
export const BGP_ERROR_CODE = {
  /** A received message breaks the protocol; the speaker sends a NOTIFICATION. */
  NOTIFICATION: 'BGP_NOTIFICATION',
  /** A value given to an encoder or a text parser is out of range or malformed. */
  INVALID_ARGUMENT: 'BGP_INVALID_ARGUMENT',
} as const;

/** One of {@link BGP_ERROR_CODE}. */
export type BgpErrorCode = (typeof BGP_ERROR_CODE)[keyof typeof BGP_ERROR_CODE];

/**
 * The RFC 7606 §2 error-handling approaches, strongest first.
 * - `session-reset`: send the NOTIFICATION and close the session (RFC 4271 §6).
 * - `afi-safi-disable`: stop exchanging this AFI/SAFI with the peer instead (RFC 4760 §7).
 * - `treat-as-withdraw`: handle every route the UPDATE announces as withdrawn.
 * - `attribute-discard`: drop the malformed attribute and use the rest.
 */
export const ERROR_ACTION = {
  SESSION_RESET: 'session-reset',
  AFI_SAFI_DISABLE: 'afi-safi-disable',
  TREAT_AS_WITHDRAW: 'treat-as-withdraw',
  ATTRIBUTE_DISCARD: 'attribute-discard',
} as const;

/** One of {@link ERROR_ACTION}. */
export type ErrorAction = (typeof ERROR_ACTION)[keyof typeof ERROR_ACTION];

/** The base class of every error this package throws: a stable `code` and an optional `cause`. */
export abstract class BgpError extends Error {
  /** Which failure this is; stable across versions. */
  abstract readonly code: BgpErrorCode;
}

/** An address family and subsequent address family pair (RFC 4760 §3). */
export interface AfiSafi {
  /** Address Family Identifier (IANA): 1 IPv4, 2 IPv6. */
  readonly afi: number;
  /** Subsequent Address Family Identifier (IANA): 1 unicast. */
  readonly safi: number;
}

/** What a {@link BgpNotification} is built from. */
export interface BgpNotificationInit {
  /** The NOTIFICATION error code (RFC 4271 §4.5). */
  readonly errorCode: number;
  /** The error subcode; 0 is "Unspecific". */
  readonly errorSubcode: number;
  /** The Data field to send, as the RFC for this code/subcode prescribes; empty when none. */
  readonly data?: Uint8Array;
  /** Why, in words, for logs and diagnosis. */
  readonly reason: string;
  /**
   * Set when RFC 7606 §2 / RFC 4760 §7 let the speaker disable this AFI/SAFI instead of
   * resetting the session (an error confined to one MP_REACH_NLRI/MP_UNREACH_NLRI family).
   */
  readonly afiSafi?: AfiSafi;
  /** The underlying error, if any; becomes the error's standard `cause`. */
  readonly cause?: unknown;
}

/**
 * A received message is in error: the speaker sends a NOTIFICATION with `errorCode`,
 * `errorSubcode` and `data` and closes the session (RFC 4271 §6). For UPDATE errors this
 * is the RFC 7606 "session reset" case; `afiSafi` says when "AFI/SAFI disable" may be
 * used instead.
 */
export class BgpNotification extends BgpError {
  /** Always `'BgpNotification'`. */
  override readonly name: string = 'BgpNotification';
  readonly code = BGP_ERROR_CODE.NOTIFICATION;
  /** The NOTIFICATION error code (RFC 4271 §4.5). */
  readonly errorCode: number;
  /** The NOTIFICATION error subcode. */
  readonly errorSubcode: number;
  /** The NOTIFICATION Data field. */
  readonly data: Uint8Array;
  /** Why, in words. */
  readonly reason: string;
  /** RFC 7606 action: always `session-reset` (see `afiSafi` for the lighter alternative). */
  readonly action: ErrorAction = ERROR_ACTION.SESSION_RESET;
  /** The family that may be disabled instead of resetting, when RFC 7606 §2 allows it. */
  readonly afiSafi: AfiSafi | undefined;

  constructor(init: BgpNotificationInit) {
    super(`NOTIFICATION ${init.errorCode}/${init.errorSubcode}: ${init.reason}`, { cause: init.cause });
    this.errorCode = init.errorCode;
    this.errorSubcode = init.errorSubcode;
    this.data = init.data ?? new Uint8Array(0);
    this.reason = init.reason;
    this.afiSafi = init.afiSafi;
  }
}

/** A value given to an encoder or a text parser is out of range or malformed. */
export class BgpInvalidArgument extends BgpError {
  /** Always `'BgpInvalidArgument'`. */
  override readonly name: string = 'BgpInvalidArgument';
  readonly code = BGP_ERROR_CODE.INVALID_ARGUMENT;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
