// Numbers of the BGP wire format, from the IANA registries the RFCs cite.

/** BGP message types (RFC 4271 §4.1, RFC 2918 §3). */
export const MESSAGE_TYPE = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

/** Length of the fixed header: 16-octet marker, 2-octet length, 1-octet type (RFC 4271 §4.1). */
export const HEADER_LENGTH = 19;
/** The largest message without the extended message capability (RFC 4271 §4.1). */
export const MAX_MESSAGE_LENGTH = 4096;
/** The largest message once extended messages are negotiated (RFC 8654 §4). */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

/** Path attribute type codes (IANA "BGP Path Attributes"). */
export const ATTRIBUTE_TYPE = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  ORIGINATOR_ID: 9,
  CLUSTER_LIST: 10,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITY: 32,
} as const;

/** Path attribute flag bits (RFC 4271 §4.3). */
export const ATTRIBUTE_FLAG = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** Address Family Identifiers (IANA). */
export const AFI = { IPV4: 1, IPV6: 2 } as const;
/** Subsequent Address Family Identifiers (IANA). */
export const SAFI = { UNICAST: 1 } as const;

/** Capability codes (IANA "Capability Codes"). */
export const CAPABILITY_CODE = {
  MULTIPROTOCOL: 1,
  ROUTE_REFRESH: 2,
  EXTENDED_MESSAGE: 6,
  GRACEFUL_RESTART: 64,
  FOUR_OCTET_AS: 65,
  ADD_PATH: 69,
  ENHANCED_ROUTE_REFRESH: 70,
} as const;

/** OPEN optional parameter types (RFC 5492 §4, RFC 9072 §2). */
export const OPTIONAL_PARAMETER_TYPE = {
  CAPABILITIES: 2,
  /** Marks the extended optional parameters length encoding (RFC 9072 §2). */
  EXTENDED_LENGTH: 255,
} as const;

/** The AS number that stands for a 4-octet AS in 2-octet fields (RFC 6793 §9). */
export const AS_TRANS = 23456;

/** ORIGIN values (RFC 4271 §4.3 a). */
export const ORIGIN = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;
/** An ORIGIN value. */
export type Origin = (typeof ORIGIN)[keyof typeof ORIGIN];

/** AS_PATH segment types (RFC 4271 §4.3 b; confederation segments RFC 5065 §3). */
export const AS_PATH_SEGMENT = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;
/** An AS_PATH segment type. */
export type AsPathSegmentType = (typeof AS_PATH_SEGMENT)[keyof typeof AS_PATH_SEGMENT];

/** ROUTE-REFRESH message subtypes (RFC 7313 §3.2). */
export const ROUTE_REFRESH_SUBTYPE = {
  /** A normal route refresh request (RFC 2918). */
  REQUEST: 0,
  /** Beginning of Route Refresh (RFC 7313). */
  BEGIN: 1,
  /** End of Route Refresh (RFC 7313). */
  END: 2,
} as const;
