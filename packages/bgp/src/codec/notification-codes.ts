// Every NOTIFICATION error code and subcode, with names and descriptions (IANA "BGP
// Error Codes" and "BGP Error Subcodes"; RFC 4271 §4.5 and §6, and the later RFCs cited).

/** NOTIFICATION error codes (RFC 4271 §4.5 and later RFCs). */
export const NOTIFICATION_CODE = {
  MESSAGE_HEADER_ERROR: 1,
  OPEN_MESSAGE_ERROR: 2,
  UPDATE_MESSAGE_ERROR: 3,
  HOLD_TIMER_EXPIRED: 4,
  /** RFC 6608. */
  FSM_ERROR: 5,
  CEASE: 6,
  /** RFC 7313 §5. */
  ROUTE_REFRESH_MESSAGE_ERROR: 7,
  /** RFC 9687. */
  SEND_HOLD_TIMER_EXPIRED: 8,
} as const;

/** Subcode 0, used when no other fits (RFC 4271 §4.5). */
export const UNSPECIFIC_SUBCODE = 0;

/** Message Header Error subcodes (RFC 4271 §6.1). */
export const HEADER_ERROR = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

/** OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5, RFC 9234 §4.2). */
export const OPEN_ERROR = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION_NUMBER: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11,
} as const;

/** UPDATE Message Error subcodes (RFC 4271 §6.3). */
export const UPDATE_ERROR = {
  UNSPECIFIC: 0,
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** Finite State Machine Error subcodes (RFC 6608 §3). */
export const FSM_ERROR = {
  UNSPECIFIED: 0,
  UNEXPECTED_MESSAGE_IN_OPEN_SENT: 1,
  UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM: 2,
  UNEXPECTED_MESSAGE_IN_ESTABLISHED: 3,
} as const;

/** Cease subcodes (RFC 4486 §4, RFC 8538 §3, RFC 9384 §2). */
export const CEASE = {
  MAXIMUM_NUMBER_OF_PREFIXES_REACHED: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;

/** ROUTE-REFRESH Message Error subcodes (RFC 7313 §5). */
export const ROUTE_REFRESH_ERROR = {
  INVALID_MESSAGE_LENGTH: 1,
} as const;

/** A name and what it means. */
export interface NotificationText {
  /** The IANA registry name, e.g. `"Malformed AS_PATH"`. */
  readonly name: string;
  /** What it means, in lower-case words, with the RFC that defines it, e.g. `"the AS_PATH is syntactically incorrect (RFC 4271 §6.3)"`. */
  readonly description: string;
}

type Table = Readonly<Record<number, NotificationText>>;

const CODES: Table = {
  1: { name: 'Message Header Error', description: 'the message header is malformed (RFC 4271 §6.1)' },
  2: { name: 'OPEN Message Error', description: 'the OPEN message is malformed or unacceptable (RFC 4271 §6.2)' },
  3: { name: 'UPDATE Message Error', description: 'the UPDATE message is malformed (RFC 4271 §6.3)' },
  4: { name: 'Hold Timer Expired', description: 'no KEEPALIVE, UPDATE or NOTIFICATION arrived within the hold time (RFC 4271 §6.5)' },
  5: { name: 'Finite State Machine Error', description: 'an event arrived that the state machine does not expect (RFC 4271 §6.6, RFC 6608)' },
  6: { name: 'Cease', description: 'the speaker closed the session for another reason (RFC 4271 §6.7, RFC 4486)' },
  7: { name: 'ROUTE-REFRESH Message Error', description: 'the ROUTE-REFRESH message is malformed (RFC 7313 §5)' },
  8: { name: 'Send Hold Timer Expired', description: 'the speaker could not send for longer than the send hold time (RFC 9687)' },
};

const SUBCODES: Readonly<Record<number, Table>> = {
  1: {
    1: { name: 'Connection Not Synchronized', description: 'the marker is not all ones (RFC 4271 §6.1)' },
    2: { name: 'Bad Message Length', description: 'the length field is out of range for the message type (RFC 4271 §6.1)' },
    3: { name: 'Bad Message Type', description: 'the type field is not a known message type (RFC 4271 §6.1)' },
  },
  2: {
    1: { name: 'Unsupported Version Number', description: 'the peer bid a BGP version this speaker does not run (RFC 4271 §6.2)' },
    2: { name: 'Bad Peer AS', description: 'the AS number is not the one configured for the peer (RFC 4271 §6.2)' },
    3: { name: 'Bad BGP Identifier', description: 'the BGP Identifier is not acceptable (RFC 4271 §6.2, RFC 6286)' },
    4: { name: 'Unsupported Optional Parameter', description: 'an optional parameter is not recognized (RFC 4271 §6.2)' },
    5: { name: 'Authentication Failure', description: 'deprecated (RFC 4271 §6.2)' },
    6: { name: 'Unacceptable Hold Time', description: 'the hold time is 1 or 2 seconds, or refused (RFC 4271 §6.2)' },
    7: { name: 'Unsupported Capability', description: 'a capability the speaker requires is missing (RFC 5492 §5)' },
    8: { name: 'Deprecated', description: 'deprecated (RFC 9234)' },
    9: { name: 'Deprecated', description: 'deprecated (RFC 9234)' },
    10: { name: 'Deprecated', description: 'deprecated (RFC 9234)' },
    11: { name: 'Role Mismatch', description: 'the BGP roles of the two speakers do not match (RFC 9234 §4.2)' },
  },
  3: {
    1: { name: 'Malformed Attribute List', description: 'the attribute list is malformed or an attribute repeats (RFC 4271 §6.3)' },
    2: { name: 'Unrecognized Well-known Attribute', description: 'a well-known attribute is not recognized (RFC 4271 §6.3)' },
    3: { name: 'Missing Well-known Attribute', description: 'a mandatory well-known attribute is missing (RFC 4271 §6.3)' },
    4: { name: 'Attribute Flags Error', description: 'the attribute flags conflict with the type code (RFC 4271 §6.3)' },
    5: { name: 'Attribute Length Error', description: 'the attribute length conflicts with the type code (RFC 4271 §6.3)' },
    6: { name: 'Invalid ORIGIN Attribute', description: 'the ORIGIN value is undefined (RFC 4271 §6.3)' },
    7: { name: 'AS Routing Loop', description: 'deprecated (RFC 4271 Appendix A)' },
    8: { name: 'Invalid NEXT_HOP Attribute', description: 'the NEXT_HOP is syntactically incorrect (RFC 4271 §6.3)' },
    9: { name: 'Optional Attribute Error', description: 'an optional attribute is malformed (RFC 4271 §6.3)' },
    10: { name: 'Invalid Network Field', description: 'the NLRI field is syntactically incorrect (RFC 4271 §6.3)' },
    11: { name: 'Malformed AS_PATH', description: 'the AS_PATH is syntactically incorrect (RFC 4271 §6.3)' },
  },
  5: {
    1: { name: 'Receive Unexpected Message in OpenSent State', description: 'a message other than OPEN or NOTIFICATION arrived in OpenSent (RFC 6608 §3)' },
    2: { name: 'Receive Unexpected Message in OpenConfirm State', description: 'a message other than KEEPALIVE or NOTIFICATION arrived in OpenConfirm (RFC 6608 §3)' },
    3: { name: 'Receive Unexpected Message in Established State', description: 'an OPEN arrived in Established (RFC 6608 §3)' },
  },
  6: {
    1: { name: 'Maximum Number of Prefixes Reached', description: 'the peer sent more prefixes than allowed (RFC 4486 §4)' },
    2: { name: 'Administrative Shutdown', description: 'the session was shut down by an operator (RFC 4486 §4, RFC 9003)' },
    3: { name: 'Peer De-configured', description: 'the peer was removed from the configuration (RFC 4486 §4)' },
    4: { name: 'Administrative Reset', description: 'the session was reset by an operator (RFC 4486 §4, RFC 9003)' },
    5: { name: 'Connection Rejected', description: 'the speaker does not accept the connection (RFC 4486 §4)' },
    6: { name: 'Other Configuration Change', description: 'a configuration change requires a new session (RFC 4486 §4)' },
    7: { name: 'Connection Collision Resolution', description: 'this connection lost the collision detection (RFC 4486 §4, RFC 4271 §6.8)' },
    8: { name: 'Out of Resources', description: 'the speaker ran out of resources (RFC 4486 §4)' },
    9: { name: 'Hard Reset', description: 'close without keeping routes for graceful restart (RFC 8538 §3)' },
    10: { name: 'BFD Down', description: 'BFD declared the session down (RFC 9384 §2)' },
  },
  7: {
    1: { name: 'Invalid Message Length', description: 'the ROUTE-REFRESH length is not 23 (RFC 7313 §5)' },
  },
};

/** What a code and subcode mean, in words. */
export interface NotificationDescription {
  /** The error code's IANA name and a description; `"Unknown error code N"` when not registered. */
  readonly code: NotificationText;
  /** The subcode's IANA name and a description; `"Unspecific"` for 0, `"Unknown subcode N"` when not registered. */
  readonly subcode: NotificationText;
  /** `"UPDATE Message Error / Malformed AS_PATH"`. */
  readonly text: string;
}

/**
 * Names and describes a NOTIFICATION code and subcode. Unknown values are named by
 * number; subcode 0 is "Unspecific" (RFC 4271 §4.5).
 */
export function describeNotification(code: number, subcode: number): NotificationDescription {
  const codeText = CODES[code] ?? { name: `Unknown error code ${code}`, description: 'not in the IANA registry' };
  const subcodeText =
    SUBCODES[code]?.[subcode] ??
    (subcode === UNSPECIFIC_SUBCODE
      ? { name: 'Unspecific', description: 'no more specific subcode applies (RFC 4271 §4.5)' }
      : { name: `Unknown subcode ${subcode}`, description: 'not in the IANA registry' });
  return { code: codeText, subcode: subcodeText, text: `${codeText.name} / ${subcodeText.name}` };
}
