// Malformed messages, each with the exact NOTIFICATION (code/subcode, and data where the
// RFC prescribes it) or the RFC 7606 action. Octets are commented.
import { describe, expect, it } from 'vitest';

import {
  BgpNotification,
  INITIAL_NEGOTIATED_STATE,
  type NegotiatedState,
  decodeMessage,
  decodeNotification,
  decodeRouteRefresh,
  isKnownRouteRefreshSubtype,
  splitMessages,
} from '@twill/bgp';

import { BASE_ATTRIBUTES_2, BASE_ATTRIBUTES_4, FOUR_OCTET, MARKER, NLRI_10_1, expectNotification, hex, message, update } from './helpers.js';

const S2 = INITIAL_NEGOTIATED_STATE;
const EXTENDED: NegotiatedState = { ...S2, extendedMessage: true };
const ADD_PATH: NegotiatedState = { ...FOUR_OCTET, addPathReceive: [{ afi: 1, safi: 1 }] };

/** An OPEN body: version 4, AS 65001, hold 90, id 10.0.0.1, then `params` with their length. */
function open(params: readonly number[], fields: { version?: number; as?: number; hold?: number; id?: readonly number[] } = {}): Uint8Array {
  const as = fields.as ?? 65001;
  const hold = fields.hold ?? 90;
  return message(1, [fields.version ?? 4, as >> 8, as & 0xff, hold >> 8, hold & 0xff, ...(fields.id ?? [10, 0, 0, 1]), params.length, ...params]);
}

interface Fatal {
  readonly name: string;
  readonly bytes: Uint8Array | (() => Uint8Array);
  readonly state?: NegotiatedState;
  readonly code: number;
  readonly subcode: number;
  /** Expected NOTIFICATION data, when the RFC prescribes it. */
  readonly data?: readonly number[] | ((bytes: Uint8Array) => Uint8Array);
  readonly afiSafi?: { afi: number; safi: number };
  /** Use splitMessages instead of decodeMessage. */
  readonly stream?: boolean;
}

const longOpen = (): Uint8Array => {
  // 4100 octets of OPEN: 19 header + 10 fixed + RFC 9072 extended parameters.
  const caps = 4100 - 19 - 10 - 3;
  const params = [0x02, (caps - 3) >> 8, (caps - 3) & 0xff, ...Array.from({ length: caps - 3 }, (_, i) => (i % 2 === 0 ? 0x80 : 0x00))];
  return message(1, [4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 255, 255, caps >> 8, caps & 0xff, ...params]);
};

const FATAL: readonly Fatal[] = [
  // RFC 4271 §6.1: Message Header Error.
  { name: 'marker octet 5 is not 0xff', bytes: Uint8Array.from([...MARKER.slice(0, 5), 0xfe, ...MARKER.slice(6), 0x00, 0x13, 0x04]), code: 1, subcode: 1, data: [] },
  { name: 'length field 18, below the header size', bytes: Uint8Array.from([...MARKER, 0x00, 0x12, 0x04]), code: 1, subcode: 2, data: [0x00, 0x12] },
  { name: 'length 4097 without extended messages (stream)', bytes: Uint8Array.from([...MARKER, 0x10, 0x01, 0x02]), code: 1, subcode: 2, data: [0x10, 0x01], stream: true },
  { name: 'bad marker seen by the framer', bytes: Uint8Array.from([...MARKER.slice(0, 15), 0x00, 0x00, 0x13, 0x04]), code: 1, subcode: 1, stream: true },
  { name: 'length field 25 on a 19-octet buffer', bytes: Uint8Array.from([...MARKER, 0x00, 0x19, 0x04]), code: 1, subcode: 2, data: [0x00, 0x19] },
  { name: 'message type 6 is unknown', bytes: message(6, []), code: 1, subcode: 3, data: [6] },
  { name: 'message type 0 is unknown', bytes: message(0, [1, 2]), code: 1, subcode: 3, data: [0] },
  { name: 'KEEPALIVE of 20 octets', bytes: message(4, [0]), code: 1, subcode: 2, data: [0x00, 0x14] },
  { name: 'OPEN of 28 octets', bytes: message(1, [4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1]), code: 1, subcode: 2, data: [0x00, 0x1c] },
  { name: 'UPDATE of 22 octets', bytes: message(2, [0, 0, 0]), code: 1, subcode: 2, data: [0x00, 0x16] },
  { name: 'NOTIFICATION of 20 octets', bytes: message(3, [6]), code: 1, subcode: 2, data: [0x00, 0x14] },
  { name: 'OPEN over 4096 octets even with extended messages (RFC 8654 §4)', bytes: longOpen, state: EXTENDED, code: 1, subcode: 2, data: [0x10, 0x04] },
  // RFC 7313 §5: the data is the whole ROUTE-REFRESH.
  { name: 'ROUTE-REFRESH of 24 octets', bytes: message(5, [0, 1, 0, 1, 0]), code: 7, subcode: 1, data: (b) => b },
  // RFC 4271 §6.2: OPEN Message Error.
  { name: 'OPEN version 3', bytes: open([], { version: 3 }), code: 2, subcode: 1, data: [0x00, 0x04] },
  { name: 'OPEN with AS 0 (RFC 7607 §2)', bytes: open([], { as: 0 }), code: 2, subcode: 2 },
  { name: 'OPEN with hold time 1', bytes: open([], { hold: 1 }), code: 2, subcode: 6 },
  { name: 'OPEN with hold time 2', bytes: open([], { hold: 2 }), code: 2, subcode: 6 },
  { name: 'OPEN with BGP Identifier 0.0.0.0 (RFC 6286 §2.2)', bytes: open([], { id: [0, 0, 0, 0] }), code: 2, subcode: 3 },
  { name: 'OPEN with the deprecated authentication parameter (type 1)', bytes: open([0x01, 0x01, 0x00]), code: 2, subcode: 4 },
  { name: 'OPEN optional parameter overruns the message', bytes: open([0x02, 0x08, 0x02, 0x00]), code: 2, subcode: 0 },
  {
    name: 'OPEN optional parameters length larger than what follows',
    bytes: message(1, [4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 10, 0x02, 0x02, 0x02, 0x00]), // says 10, 4 follow
    code: 2,
    subcode: 0,
  },
  { name: 'capability overruns its parameter', bytes: open([0x02, 0x02, 0x41, 0x04]), code: 2, subcode: 0 },
  { name: 'multiprotocol capability of 3 octets', bytes: open([0x02, 0x05, 0x01, 0x03, 0x00, 0x01, 0x00]), code: 2, subcode: 0 },
  { name: '4-octet AS capability of 2 octets', bytes: open([0x02, 0x04, 0x41, 0x02, 0xfd, 0xe9]), code: 2, subcode: 0 },
  { name: '4-octet AS capability with AS 0 (RFC 7607 §2)', bytes: open([0x02, 0x06, 0x41, 0x04, 0, 0, 0, 0]), code: 2, subcode: 2 },
  { name: 'graceful restart capability of 3 octets', bytes: open([0x02, 0x05, 0x40, 0x03, 0x00, 0x78, 0x00]), code: 2, subcode: 0 },
  { name: 'ADD-PATH capability of 5 octets', bytes: open([0x02, 0x07, 0x45, 0x05, 0, 1, 1, 1, 0]), code: 2, subcode: 0 },
  // RFC 4271 §6.3 / RFC 7606: the UPDATE errors that still reset the session.
  { name: 'Withdrawn Routes Length beyond the message', bytes: message(2, [0x00, 0x05, 0x08, 10, 0x00, 0x00]), code: 3, subcode: 1 },
  { name: 'Total Path Attribute Length beyond the message', bytes: message(2, [0x00, 0x00, 0x00, 0x10, 0x40, 0x01, 0x01, 0x00]), code: 3, subcode: 1 },
  { name: 'withdrawn prefix /33 (RFC 7606 §5.3)', bytes: update({ withdrawn: [33, 10, 0, 0, 0, 0] }), code: 3, subcode: 1 },
  { name: 'NLRI prefix /33 (RFC 7606 §5.3)', bytes: update({ attributes: BASE_ATTRIBUTES_2, nlri: [33, 10, 0, 0, 0, 0] }), code: 3, subcode: 10 },
  { name: 'NLRI /24 with two octets (RFC 7606 §5.3)', bytes: update({ attributes: BASE_ATTRIBUTES_2, nlri: [24, 10, 1] }), code: 3, subcode: 10 },
  { name: 'NLRI without path identifier when ADD-PATH is negotiated', bytes: update({ attributes: BASE_ATTRIBUTES_4, nlri: [16, 10, 1] }), state: ADD_PATH, code: 3, subcode: 10 },
  {
    name: 'unrecognized well-known attribute (flags 0x40, type 99)',
    bytes: update({ attributes: [0x40, 0x63, 0x01, 0x07] }),
    code: 3,
    subcode: 2,
    data: [0x40, 0x63, 0x01, 0x07], // RFC 4271 §6.3: the unrecognized attribute
  },
  {
    name: 'MP_REACH_NLRI twice (RFC 7606 §3.g)',
    bytes: update({ attributes: [0x80, 0x0e, 0x03, 0x00, 0x19, 0x41, 0x80, 0x0e, 0x03, 0x00, 0x19, 0x41] }), // AFI 25 SAFI 65 (opaque), twice
    code: 3,
    subcode: 1,
  },
  {
    name: 'MP_UNREACH_NLRI twice (RFC 7606 §3.g)',
    bytes: update({ attributes: [0x80, 0x0f, 0x03, 0x00, 0x02, 0x01, 0x80, 0x0f, 0x03, 0x00, 0x02, 0x01] }),
    code: 3,
    subcode: 1,
  },
  { name: 'MP_REACH_NLRI of 2 octets: no AFI/SAFI (RFC 7606 §7.11)', bytes: update({ attributes: [0x80, 0x0e, 0x02, 0x00, 0x02] }), code: 3, subcode: 9, data: [0x80, 0x0e, 0x02, 0x00, 0x02] },
  {
    name: 'MP_REACH_NLRI IPv6 with a 5-octet next hop (RFC 7606 §7.11: AFI/SAFI disable)',
    bytes: update({ attributes: [0x80, 0x0e, 0x0b, 0x00, 0x02, 0x01, 0x05, 1, 2, 3, 4, 5, 0x00, 0x00] }),
    code: 3,
    subcode: 9,
    afiSafi: { afi: 2, safi: 1 },
  },
  {
    name: 'MP_REACH_NLRI next hop length beyond the attribute',
    bytes: update({ attributes: [0x80, 0x0e, 0x06, 0x00, 0x02, 0x01, 0x10, 0x20, 0x01] }),
    code: 3,
    subcode: 9,
    afiSafi: { afi: 2, safi: 1 },
  },
  {
    name: 'MP_REACH_NLRI IPv6 prefix /129',
    bytes: update({ attributes: [0x80, 0x0e, 0x16, 0x00, 0x02, 0x01, 0x10, ...Array.from({ length: 16 }, () => 0x20), 0x00, 0x81, 0x20] }),
    code: 3,
    subcode: 9,
    afiSafi: { afi: 2, safi: 1 },
  },
  {
    name: 'MP_UNREACH_NLRI IPv4 /24 with one octet',
    bytes: update({ attributes: [0x80, 0x0f, 0x05, 0x00, 0x01, 0x01, 0x18, 0x0a] }),
    code: 3,
    subcode: 9,
    afiSafi: { afi: 1, safi: 1 },
  },
];

describe('malformed messages that reset the session', () => {
  it.each(FATAL)('$name → NOTIFICATION $code/$subcode', (c) => {
    const bytes = typeof c.bytes === 'function' ? c.bytes() : c.bytes;
    const state = c.state ?? S2;
    const error = expectNotification(() => (c.stream ? splitMessages(bytes, state) : decodeMessage(bytes, state)));
    expect([error.errorCode, error.errorSubcode]).toEqual([c.code, c.subcode]);
    expect(error.action).toBe('session-reset');
    if (c.data !== undefined) {
      const want = typeof c.data === 'function' ? c.data(bytes) : Uint8Array.from(c.data);
      expect(hex(error.data)).toBe(hex(want));
    }
    expect(error.afiSafi).toEqual(c.afiSafi);
  });
});

interface Soft {
  readonly name: string;
  /** Path attributes; BASE_ATTRIBUTES are not added automatically. */
  readonly attributes: readonly number[];
  readonly nlri?: readonly number[];
  readonly state?: NegotiatedState;
  readonly action: 'treat-as-withdraw' | 'attribute-discard';
  /** Per problem: attribute type and the subcode RFC 4271 would have used. */
  readonly problems: readonly (readonly [number | undefined, number])[];
  /** Checks on the attributes that remain. */
  readonly check?: (attributes: Record<string, unknown>) => void;
}

const B2 = BASE_ATTRIBUTES_2;
const B4 = BASE_ATTRIBUTES_4;
const NO_ORIGIN_2 = B2.slice(4);

const SOFT: readonly Soft[] = [
  // RFC 7606 §7.1 ORIGIN.
  { name: 'ORIGIN value 3', attributes: [0x40, 0x01, 0x01, 0x03, ...NO_ORIGIN_2], action: 'treat-as-withdraw', problems: [[1, 6]] },
  { name: 'ORIGIN of 2 octets', attributes: [0x40, 0x01, 0x02, 0x00, 0x00, ...NO_ORIGIN_2], action: 'treat-as-withdraw', problems: [[1, 5]] },
  { name: 'ORIGIN flagged optional (RFC 7606 §3.c)', attributes: [0xc0, 0x01, 0x01, 0x00, ...NO_ORIGIN_2], action: 'treat-as-withdraw', problems: [[1, 4]] },
  // RFC 7606 §7.2 AS_PATH.
  { name: 'AS_PATH segment type 5', attributes: [...B2.slice(0, 4), 0x40, 0x02, 0x04, 0x05, 0x01, 0xfd, 0xe9, ...B2.slice(11)], action: 'treat-as-withdraw', problems: [[2, 11]] },
  { name: 'AS_PATH segment of zero ASes', attributes: [...B2.slice(0, 4), 0x40, 0x02, 0x02, 0x02, 0x00, ...B2.slice(11)], action: 'treat-as-withdraw', problems: [[2, 11]] },
  { name: 'AS_PATH segment overrun (3 ASes, 2 present)', attributes: [...B2.slice(0, 4), 0x40, 0x02, 0x06, 0x02, 0x03, 0xfd, 0xe9, 0xfd, 0xea, ...B2.slice(11)], action: 'treat-as-withdraw', problems: [[2, 11]] },
  { name: 'AS_PATH of 2-octet ASes on a 4-octet session (underrun)', attributes: [...B2], state: FOUR_OCTET, action: 'treat-as-withdraw', problems: [[2, 11]] },
  // RFC 7607 §2: AS 0.
  { name: 'AS_PATH containing AS 0', attributes: [...B2.slice(0, 4), 0x40, 0x02, 0x04, 0x02, 0x01, 0x00, 0x00, ...B2.slice(11)], action: 'treat-as-withdraw', problems: [[2, 11]] },
  { name: 'AGGREGATOR with AS 0', attributes: [...B2, 0xc0, 0x07, 0x06, 0x00, 0x00, 10, 0, 0, 1], action: 'attribute-discard', problems: [[7, 9]] },
  { name: 'AS4_PATH containing AS 0', attributes: [...B2, 0xc0, 0x11, 0x06, 0x02, 0x01, 0, 0, 0, 0], action: 'attribute-discard', problems: [[17, 9]] },
  // RFC 7606 §7.3–7.5.
  { name: 'NEXT_HOP of 5 octets', attributes: [...B2.slice(0, 11), 0x40, 0x03, 0x05, 192, 0, 2, 1, 0], action: 'treat-as-withdraw', problems: [[3, 5]] },
  { name: 'NEXT_HOP 0.0.0.0 (RFC 4271 §6.3)', attributes: [...B2.slice(0, 11), 0x40, 0x03, 0x04, 0, 0, 0, 0], action: 'treat-as-withdraw', problems: [[3, 8]] },
  { name: 'NEXT_HOP multicast 224.0.0.5', attributes: [...B2.slice(0, 11), 0x40, 0x03, 0x04, 224, 0, 0, 5], action: 'treat-as-withdraw', problems: [[3, 8]] },
  { name: 'MULTI_EXIT_DISC of 3 octets', attributes: [...B2, 0x80, 0x04, 0x03, 0, 0, 1], action: 'treat-as-withdraw', problems: [[4, 5]] },
  { name: 'LOCAL_PREF of 0 octets', attributes: [...B2, 0x40, 0x05, 0x00], action: 'treat-as-withdraw', problems: [[5, 5]] },
  // RFC 7606 §7.6–7.7: attribute discard.
  {
    name: 'ATOMIC_AGGREGATE of 1 octet',
    attributes: [...B2, 0x40, 0x06, 0x01, 0x00],
    action: 'attribute-discard',
    problems: [[6, 5]],
    check: (a) => expect(a['atomicAggregate']).toBeUndefined(),
  },
  { name: 'AGGREGATOR of 7 octets on a 2-octet session', attributes: [...B2, 0xc0, 0x07, 0x07, 0xfd, 0xe9, 0, 10, 0, 0, 1], action: 'attribute-discard', problems: [[7, 5]], check: (a) => expect(a['aggregator']).toBeUndefined() },
  { name: 'AGGREGATOR of 6 octets on a 4-octet session', attributes: [...B4, 0xc0, 0x07, 0x06, 0xfd, 0xe9, 10, 0, 0, 1], state: FOUR_OCTET, action: 'attribute-discard', problems: [[7, 5]] },
  { name: 'AGGREGATOR flagged well-known (RFC 7606 §3.c)', attributes: [...B2, 0x40, 0x07, 0x06, 0xfd, 0xe9, 10, 0, 0, 1], action: 'attribute-discard', problems: [[7, 4]] },
  // RFC 7606 §7.8–7.10, RFC 8092 §6.
  { name: 'COMMUNITIES of 5 octets', attributes: [...B2, 0xc0, 0x08, 0x05, 0, 0, 0, 1, 2], action: 'treat-as-withdraw', problems: [[8, 5]] },
  { name: 'COMMUNITIES of 0 octets', attributes: [...B2, 0xc0, 0x08, 0x00], action: 'treat-as-withdraw', problems: [[8, 5]] },
  { name: 'ORIGINATOR_ID of 3 octets', attributes: [...B2, 0x80, 0x09, 0x03, 10, 0, 0], action: 'treat-as-withdraw', problems: [[9, 5]] },
  { name: 'CLUSTER_LIST of 6 octets', attributes: [...B2, 0x80, 0x0a, 0x06, 10, 0, 0, 1, 10, 0], action: 'treat-as-withdraw', problems: [[10, 5]] },
  { name: 'LARGE_COMMUNITY of 13 octets', attributes: [...B2, 0xc0, 0x20, 0x0d, ...Array.from({ length: 13 }, () => 1)], action: 'treat-as-withdraw', problems: [[32, 5]] },
  // RFC 6793 §6: AS4_PATH / AS4_AGGREGATOR errors discard the attribute.
  {
    name: 'AS4_PATH with a zero-length segment',
    attributes: [...B2, 0xc0, 0x11, 0x02, 0x02, 0x00],
    action: 'attribute-discard',
    problems: [[17, 9]],
    check: (a) => expect(a['asPath']).toEqual([{ type: 2, asns: [65001] }]),
  },
  { name: 'AS4_AGGREGATOR of 6 octets', attributes: [...B2, 0xc0, 0x12, 0x06, 0, 0, 0xfd, 0xe9, 10, 0], action: 'attribute-discard', problems: [[18, 5]] },
  { name: 'AS4_PATH on a 4-octet session (RFC 6793 §4.1)', attributes: [...B4, 0xc0, 0x11, 0x06, 0x02, 0x01, 0, 1, 0, 0], state: FOUR_OCTET, action: 'attribute-discard', problems: [[17, 9]] },
  // RFC 7606 §4: attribute lengths that do not fit the Total Path Attribute Length.
  { name: 'last attribute overruns the attribute field', attributes: [...B2, 0x80, 0x04, 0x08, 0, 0, 0, 1], action: 'treat-as-withdraw', problems: [[4, 5]] },
  { name: 'two octets left after the last attribute', attributes: [...B2, 0x80, 0x04], action: 'treat-as-withdraw', problems: [[undefined, 1]] },
  { name: 'extended-length attribute with three octets left', attributes: [...B2, 0x90, 0x04, 0x00], action: 'treat-as-withdraw', problems: [[undefined, 1]] },
  // RFC 7606 §3.d: missing well-known attributes (the data is the type code).
  { name: 'ORIGIN missing', attributes: NO_ORIGIN_2, action: 'treat-as-withdraw', problems: [[1, 3]] },
  { name: 'NEXT_HOP missing with IPv4 NLRI', attributes: B2.slice(0, 11), action: 'treat-as-withdraw', problems: [[3, 3]] },
  {
    name: 'AS_PATH missing with MP_REACH_NLRI (NEXT_HOP not needed, RFC 4760 §3)',
    attributes: [0x80, 0x0e, 0x0c, 0x00, 0x01, 0x01, 0x04, 192, 0, 2, 1, 0x00, 0x10, 10, 1, 0x40, 0x01, 0x01, 0x00],
    nlri: [],
    action: 'treat-as-withdraw',
    problems: [[2, 3]],
    check: (a) => expect(a['mpReach']).toMatchObject({ nlri: [{ prefix: { family: 4, length: 16 } }] }),
  },
  // RFC 7606 §3.g: a repeated attribute keeps the first.
  { name: 'MULTI_EXIT_DISC twice', attributes: [...B2, 0x80, 0x04, 0x04, 0, 0, 0, 1, 0x80, 0x04, 0x04, 0, 0, 0, 2], action: 'attribute-discard', problems: [[4, 1]], check: (a) => expect(a['med']).toBe(1) },
  // The strongest action wins.
  { name: 'bad ATOMIC_AGGREGATE and bad ORIGIN together', attributes: [0x40, 0x01, 0x01, 0x09, ...NO_ORIGIN_2, 0x40, 0x06, 0x01, 0x00], action: 'treat-as-withdraw', problems: [[1, 6], [6, 5]] },
  // MP_REACH_NLRI with wrong flags is still parsed, so its routes can be withdrawn.
  {
    name: 'MP_REACH_NLRI flagged transitive (RFC 7606 §3.c)',
    attributes: [0xc0, 0x0e, 0x0c, 0x00, 0x01, 0x01, 0x04, 192, 0, 2, 1, 0x00, 0x10, 10, 1, ...B2.slice(0, 11)],
    nlri: [],
    action: 'treat-as-withdraw',
    problems: [[14, 4]],
    check: (a) => expect(a['mpReach']).toMatchObject({ nextHops: ['192.0.2.1'] }),
  },
];

describe('malformed UPDATEs handled by RFC 7606 without a reset', () => {
  it.each(SOFT)('$name → $action', (c) => {
    const bytes = update({ attributes: c.attributes, nlri: c.nlri ?? NLRI_10_1 });
    const decoded = decodeMessage(bytes, c.state ?? S2);
    if (decoded.type !== 'update') throw new Error('not an UPDATE');
    expect(decoded.error?.action).toBe(c.action);
    expect(decoded.error?.problems.map((p) => [p.typeCode, p.errorSubcode])).toEqual(c.problems);
    c.check?.(decoded.attributes as Record<string, unknown>);
  });

  it('missing well-known attribute: the NOTIFICATION data would be the type code (RFC 4271 §6.3)', () => {
    const decoded = decodeMessage(update({ attributes: B2.slice(0, 11), nlri: NLRI_10_1 }), S2);
    if (decoded.type !== 'update') throw new Error('not an UPDATE');
    expect(Array.from(decoded.error?.problems[0]?.data ?? [])).toEqual([3]);
  });

  it('a malformed attribute: the data would be the attribute (RFC 4271 §6.3)', () => {
    const decoded = decodeMessage(update({ attributes: [...B2, 0x80, 0x04, 0x03, 0, 0, 1], nlri: NLRI_10_1 }), S2);
    if (decoded.type !== 'update') throw new Error('not an UPDATE');
    expect(hex(decoded.error?.problems[0]?.data ?? new Uint8Array(0))).toBe('80 04 03 00 00 01');
  });
});

describe('RFC 6793 §4.2.3 edge cases', () => {
  it('ignores an AS4_PATH longer than the AS_PATH', () => {
    const attributes = [...B2, 0xc0, 0x11, 0x0a, 0x02, 0x02, 0, 1, 0, 0, 0, 1, 0, 1];
    const decoded = decodeMessage(update({ attributes, nlri: NLRI_10_1 }), S2);
    expect(decoded).toMatchObject({ attributes: { asPath: [{ type: 2, asns: [65001] }] } });
  });

  it('ignores AS4_AGGREGATOR and AS4_PATH when AGGREGATOR is not AS_TRANS', () => {
    const attributes = [
      ...B2.slice(0, 4),
      0x40, 0x02, 0x04, 0x02, 0x01, 0x5b, 0xa0, // AS_PATH [AS_TRANS]
      ...B2.slice(11),
      0xc0, 0x07, 0x06, 0xfd, 0xe9, 10, 0, 0, 1, // AGGREGATOR 65001
      0xc0, 0x11, 0x06, 0x02, 0x01, 0, 1, 0, 0, // AS4_PATH [65536]
      0xc0, 0x12, 0x08, 0, 1, 0, 0, 10, 0, 0, 1, // AS4_AGGREGATOR 65536
    ];
    const decoded = decodeMessage(update({ attributes, nlri: NLRI_10_1 }), S2);
    expect(decoded).toMatchObject({ attributes: { asPath: [{ type: 2, asns: [23456] }], aggregator: { asn: 65001 } } });
  });

  it('keeps the leading ASes the AS4_PATH lacks', () => {
    const attributes = [
      ...B2.slice(0, 4),
      0x40, 0x02, 0x08, 0x02, 0x03, 0xfd, 0xe9, 0x5b, 0xa0, 0xfd, 0xea, // AS_PATH [65001, AS_TRANS, 65002]
      ...B2.slice(11),
      0xc0, 0x11, 0x0a, 0x02, 0x02, 0, 1, 0, 0, 0, 0, 0xfd, 0xea, // AS4_PATH [65536, 65002]
    ];
    const decoded = decodeMessage(update({ attributes, nlri: NLRI_10_1 }), S2);
    expect(decoded).toMatchObject({ attributes: { asPath: [{ type: 2, asns: [65001] }, { type: 2, asns: [65536, 65002] }] } });
  });
});

describe('malformed but tolerated', () => {
  it('a shutdown communication longer than its data is left as data (RFC 9003 §2)', () => {
    const decoded = decodeNotification(message(3, [6, 2, 10, 0x61]));
    expect(decoded.shutdownCommunication).toBeUndefined();
    expect(Array.from(decoded.data)).toEqual([10, 0x61]);
  });

  it('a shutdown communication that is not UTF-8 is left as data', () => {
    expect(decodeNotification(message(3, [6, 4, 2, 0xc3, 0x28])).shutdownCommunication).toBeUndefined();
  });

  it('a ROUTE-REFRESH with an unknown subtype decodes, to be ignored (RFC 7313 §5)', () => {
    const decoded = decodeRouteRefresh(message(5, [0, 1, 3, 1]));
    expect(decoded.subtype).toBe(3);
    expect(isKnownRouteRefreshSubtype(decoded.subtype)).toBe(false);
  });

  it('an ADD-PATH capability with Send/Receive 0 is kept as unknown (RFC 7911 §4)', () => {
    const decoded = decodeMessage(open([0x02, 0x06, 0x45, 0x04, 0, 1, 1, 0]), S2);
    expect(decoded).toMatchObject({ capabilities: [{ kind: 'unknown', code: 69 }] });
  });

  it('trailing bits of an NLRI prefix are cleared (RFC 4271 §4.3)', () => {
    const decoded = decodeMessage(update({ attributes: B2, nlri: [12, 10, 0xff] }), S2);
    expect(decoded).toMatchObject({ nlri: [{ prefix: { length: 12, bytes: Uint8Array.of(10, 0xf0, 0, 0) } }] });
  });

  it('BgpNotification is the thrown class', () => {
    expect(() => decodeMessage(message(9, []), S2)).toThrow(BgpNotification);
  });
});
