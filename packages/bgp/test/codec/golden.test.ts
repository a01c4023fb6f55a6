// Golden byte fixtures, commented octet by octet. Each is decoded to the expected
// message and, where the bytes are canonical, encoded back to the same octets.
import { describe, expect, it } from 'vitest';

import {
  type Asn,
  type DecodedMessage,
  INITIAL_NEGOTIATED_STATE,
  type NegotiatedState,
  decodeMessage,
  encodeMessage,
  endOfRib,
  endOfRibFamily,
  negotiate,
  notificationToText,
  openAsn,
  parsePrefix,
} from '@twill/bgp';

import { FOUR_OCTET, MARKER, hex, message } from './helpers.js';

const p = parsePrefix;
const as = (n: number): Asn => n as Asn;

function roundTrip(bytes: Uint8Array, state: NegotiatedState, expected: DecodedMessage): void {
  const decoded = decodeMessage(bytes, state);
  expect(decoded).toEqual(expected);
  expect(hex(encodeMessage(decoded, state))).toBe(hex(bytes));
}

describe('golden OPEN', () => {
  // An OPEN as FRR 8/9 sends it: one Capabilities parameter per capability, including
  // FRR's hostname capability (73), which this codec keeps as unknown.
  const frrOpen = Uint8Array.from([
    ...MARKER,
    0x00, 0x5d, // length 93
    0x01, // type OPEN
    0x04, // version 4
    0xfd, 0xe9, // My AS 65001
    0x00, 0xb4, // hold time 180
    10, 0, 0, 1, // BGP Identifier 10.0.0.1
    0x40, // optional parameters length 64
    0x02, 0x06, 0x01, 0x04, 0x00, 0x01, 0x00, 0x01, // capability MP: AFI 1, reserved, SAFI 1
    0x02, 0x06, 0x01, 0x04, 0x00, 0x02, 0x00, 0x01, // capability MP: AFI 2, reserved, SAFI 1
    0x02, 0x02, 0x02, 0x00, // capability route refresh
    0x02, 0x02, 0x46, 0x00, // capability enhanced route refresh (70)
    0x02, 0x06, 0x41, 0x04, 0x00, 0x00, 0xfd, 0xe9, // capability 4-octet AS: 65001
    0x02, 0x06, 0x45, 0x04, 0x00, 0x01, 0x01, 0x01, // capability ADD-PATH: IPv4 unicast, receive
    0x02, 0x08, 0x40, 0x06, // capability graceful restart, 6 octets
    0x40, 0x78, // flags R=0 N=1, restart time 120 s
    0x00, 0x01, 0x01, 0x80, // IPv4 unicast, forwarding preserved
    0x02, 0x02, 0x06, 0x00, // capability extended message
    0x02, 0x08, 0x49, 0x06, 0x04, 0x72, 0x74, 0x72, 0x31, 0x00, // capability 73 (FQDN): "rtr1", no domain
  ]);

  it('decodes and re-encodes the FRR OPEN', () => {
    roundTrip(frrOpen, INITIAL_NEGOTIATED_STATE, {
      type: 'open',
      version: 4,
      myAs: as(65001),
      holdTime: 180,
      bgpIdentifier: '10.0.0.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'route-refresh' },
        { kind: 'enhanced-route-refresh' },
        { kind: 'four-octet-as', asn: as(65001) },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, receive: true, send: false }] },
        { kind: 'graceful-restart', restarting: false, notification: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
        { kind: 'extended-message' },
        { kind: 'unknown', code: 73, value: Uint8Array.from([0x04, 0x72, 0x74, 0x72, 0x31, 0x00]) },
      ],
    });
  });

  // BIRD 2 puts every capability in one Capabilities parameter; AS 4200000001 needs
  // AS_TRANS in the 2-octet field (RFC 6793 §4.1).
  const birdOpen = Uint8Array.from([
    ...MARKER,
    0x00, 0x37, // length 55
    0x01, // OPEN
    0x04, // version 4
    0x5b, 0xa0, // My AS = AS_TRANS 23456
    0x00, 0xf0, // hold time 240
    192, 0, 2, 2, // BGP Identifier 192.0.2.2
    0x1a, // optional parameters length 26
    0x02, 0x18, // one Capabilities parameter, 24 octets
    0x01, 0x04, 0x00, 0x01, 0x00, 0x01, // MP IPv4 unicast
    0x02, 0x00, // route refresh
    0x40, 0x02, 0x80, 0x78, // graceful restart: R=1, restart time 120, no families
    0x41, 0x04, 0xfa, 0x56, 0xea, 0x01, // 4-octet AS 4200000001
    0x45, 0x04, 0x00, 0x01, 0x01, 0x03, // ADD-PATH IPv4 unicast send+receive
  ]);

  it('decodes the BIRD-style single-parameter OPEN and finds the 4-octet AS', () => {
    const open = decodeMessage(birdOpen, INITIAL_NEGOTIATED_STATE);
    expect(open.type).toBe('open');
    if (open.type !== 'open') return;
    expect(open.myAs).toBe(23456);
    expect(openAsn(open)).toBe(4200000001);
    expect(open.capabilities).toEqual([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'graceful-restart', restarting: true, notification: false, restartTime: 120, families: [] },
      { kind: 'four-octet-as', asn: 4200000001 },
      { kind: 'add-path', families: [{ afi: 1, safi: 1, receive: true, send: true }] },
    ]);
  });

  it('negotiates 4-octet AS, ADD-PATH per direction and extended messages from the two OPENs', () => {
    const frr = decodeMessage(frrOpen, INITIAL_NEGOTIATED_STATE);
    const bird = decodeMessage(birdOpen, INITIAL_NEGOTIATED_STATE);
    if (frr.type !== 'open' || bird.type !== 'open') throw new Error('not OPEN');
    // FRR receives paths (it said receive, BIRD said send); FRR does not send them.
    expect(negotiate(frr.capabilities, bird.capabilities)).toEqual({
      fourOctetAs: true,
      extendedMessage: false,
      addPathReceive: [{ afi: 1, safi: 1 }],
      addPathSend: [],
    });
    expect(negotiate(bird.capabilities, frr.capabilities).addPathSend).toEqual([{ afi: 1, safi: 1 }]);
  });
});

describe('golden UPDATE', () => {
  it('decodes every IPv4 attribute on a 4-octet AS session', () => {
    const bytes = Uint8Array.from([
      ...MARKER,
      0x00, 0x7d, // length 125
      0x02, // UPDATE
      0x00, 0x03, // withdrawn routes length 3
      0x10, 10, 2, // withdrawn 10.2.0.0/16
      0x00, 0x5c, // total path attribute length 92
      0x40, 0x01, 0x01, 0x00, // ORIGIN (well-known transitive) IGP
      0x40, 0x02, 0x0a, // AS_PATH, 10 octets
      0x02, 0x02, 0x00, 0x00, 0xfd, 0xe9, 0xfa, 0x56, 0xea, 0x00, // AS_SEQUENCE [65001, 4200000000]
      0x40, 0x03, 0x04, 192, 0, 2, 1, // NEXT_HOP 192.0.2.1
      0x80, 0x04, 0x04, 0x00, 0x00, 0x00, 0x64, // MULTI_EXIT_DISC (optional) 100
      0x40, 0x05, 0x04, 0x00, 0x00, 0x00, 0xc8, // LOCAL_PREF 200
      0x40, 0x06, 0x00, // ATOMIC_AGGREGATE
      0xc0, 0x07, 0x08, 0x00, 0x00, 0xfd, 0xe9, 192, 0, 2, 9, // AGGREGATOR AS 65001, 192.0.2.9
      0xc0, 0x08, 0x08, 0xfd, 0xe9, 0x00, 0x64, 0xff, 0xff, 0xff, 0x01, // COMMUNITIES 65001:100, NO_EXPORT
      0x80, 0x09, 0x04, 10, 0, 0, 5, // ORIGINATOR_ID 10.0.0.5
      0x80, 0x0a, 0x04, 10, 0, 0, 9, // CLUSTER_LIST [10.0.0.9]
      0xc0, 0x20, 0x0c, 0x00, 0x00, 0xfd, 0xe9, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, // LARGE_COMMUNITY 65001:1:2
      0x10, 10, 1, // NLRI 10.1.0.0/16
      0x18, 192, 168, 1, // NLRI 192.168.1.0/24
    ]);
    roundTrip(bytes, FOUR_OCTET, {
      type: 'update',
      withdrawn: [{ prefix: p('10.2.0.0/16') }],
      attributes: {
        origin: 0,
        asPath: [{ type: 2, asns: [as(65001), as(4200000000)] }],
        nextHop: '192.0.2.1',
        med: 100,
        localPref: 200,
        atomicAggregate: true,
        aggregator: { asn: as(65001), address: '192.0.2.9' },
        communities: [0xfde90064, 0xffffff01],
        originatorId: '10.0.0.5',
        clusterList: ['10.0.0.9'],
        largeCommunities: [{ globalAdministrator: 65001, localData1: 1, localData2: 2 }],
      },
      nlri: [{ prefix: p('10.1.0.0/16') }, { prefix: p('192.168.1.0/24') }],
    });
  });

  it('merges AS4_PATH and AS4_AGGREGATOR on a 2-octet session (RFC 6793 §4.2.3)', () => {
    const bytes = Uint8Array.from([
      ...MARKER,
      0x00, 0x50, // length 80
      0x02, // UPDATE
      0x00, 0x00, // no withdrawn routes
      0x00, 0x35, // path attributes, 53 octets
      0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
      0x40, 0x02, 0x06, 0x02, 0x02, 0xfd, 0xe9, 0x5b, 0xa0, // AS_PATH AS_SEQUENCE [65001, AS_TRANS]
      0x40, 0x03, 0x04, 192, 0, 2, 1, // NEXT_HOP 192.0.2.1
      0xc0, 0x07, 0x06, 0x5b, 0xa0, 192, 0, 2, 9, // AGGREGATOR AS_TRANS, 192.0.2.9
      0xc0, 0x11, 0x0a, 0x02, 0x02, 0x00, 0x00, 0xfd, 0xe9, 0xfa, 0x56, 0xea, 0x00, // AS4_PATH [65001, 4200000000]
      0xc0, 0x12, 0x08, 0xfa, 0x56, 0xea, 0x00, 192, 0, 2, 9, // AS4_AGGREGATOR 4200000000, 192.0.2.9
      0x18, 192, 168, 1, // NLRI 192.168.1.0/24
    ]);
    roundTrip(bytes, INITIAL_NEGOTIATED_STATE, {
      type: 'update',
      withdrawn: [],
      attributes: {
        origin: 0,
        asPath: [{ type: 2, asns: [as(65001), as(4200000000)] }],
        nextHop: '192.0.2.1',
        aggregator: { asn: as(4200000000), address: '192.0.2.9' },
      },
      nlri: [{ prefix: p('192.168.1.0/24') }],
    });
  });

  it('decodes MP_REACH_NLRI for IPv6 with a link-local next hop (RFC 4760 §3, RFC 2545 §3)', () => {
    const bytes = Uint8Array.from([
      ...MARKER,
      0x00, 0x53, // length 83
      0x02, // UPDATE
      0x00, 0x00, // no withdrawn routes
      0x00, 0x3c, // path attributes, 60 octets
      0x80, 0x0e, 0x2c, // MP_REACH_NLRI (optional), 44 octets
      0x00, 0x02, 0x01, // AFI IPv6, SAFI unicast
      0x20, // next hop length 32: global + link-local
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // 2001:db8::1
      0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // fe80::1
      0x00, // reserved
      0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, // 2001:db8:1::/48
      0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
      0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xfd, 0xe9, // AS_PATH [65001]
    ]);
    roundTrip(bytes, FOUR_OCTET, {
      type: 'update',
      withdrawn: [],
      attributes: {
        mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: [{ prefix: p('2001:db8:1::/48') }] },
        origin: 0,
        asPath: [{ type: 2, asns: [as(65001)] }],
      },
      nlri: [],
    });
    // FRR and BIRD send MP_REACH_NLRI with the Extended Length bit (0x90): same meaning.
    const extended = Uint8Array.from([...bytes.subarray(0, 16), 0x00, 0x54, 0x02, 0x00, 0x00, 0x00, 0x3d, 0x90, 0x0e, 0x00, ...bytes.subarray(25)]);
    expect(decodeMessage(extended, FOUR_OCTET)).toEqual(decodeMessage(bytes, FOUR_OCTET));
  });

  it('decodes ADD-PATH path identifiers on IPv4 NLRI (RFC 7911 §3)', () => {
    const state: NegotiatedState = { ...FOUR_OCTET, addPathReceive: [{ afi: 1, safi: 1 }], addPathSend: [{ afi: 1, safi: 1 }] };
    const bytes = message(2, [
      0x00, 0x00, // no withdrawn routes
      0x00, 0x0e, // path attributes, 14 octets
      0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
      0x40, 0x02, 0x00, // AS_PATH empty (iBGP)
      0x40, 0x03, 0x04, 10, 0, 0, 1, // NEXT_HOP 10.0.0.1
      0x00, 0x00, 0x00, 0x01, 0x08, 10, // path 1: 10.0.0.0/8
      0x00, 0x00, 0x00, 0x02, 0x08, 10, // path 2: 10.0.0.0/8
    ]);
    roundTrip(bytes, state, {
      type: 'update',
      withdrawn: [],
      attributes: { origin: 0, asPath: [], nextHop: '10.0.0.1' },
      nlri: [{ prefix: p('10.0.0.0/8'), pathId: 1 }, { prefix: p('10.0.0.0/8'), pathId: 2 }],
    });
  });

  it('passes an unknown optional transitive attribute on with the Partial bit (RFC 4271 §5)', () => {
    const received = message(2, [
      0x00, 0x00, 0x00, 0x05, // no withdrawn, 5 octets of attributes
      0xc0, 0x63, 0x02, 0xab, 0xcd, // optional transitive type 99, not understood
    ]);
    const decoded = decodeMessage(received, FOUR_OCTET);
    expect(decoded).toEqual({ type: 'update', withdrawn: [], attributes: { unknown: [{ typeCode: 99, value: Uint8Array.of(0xab, 0xcd) }] }, nlri: [] });
    // Sent on with flags 0xe0: optional, transitive, partial.
    expect(hex(encodeMessage(decoded, FOUR_OCTET))).toBe(hex(message(2, [0x00, 0x00, 0x00, 0x05, 0xe0, 0x63, 0x02, 0xab, 0xcd])));
    // An unknown optional non-transitive attribute is dropped.
    const nonTransitive = message(2, [0x00, 0x00, 0x00, 0x05, 0x80, 0x63, 0x02, 0xab, 0xcd]);
    expect(decodeMessage(nonTransitive, FOUR_OCTET)).toEqual({ type: 'update', withdrawn: [], attributes: {}, nlri: [] });
  });
});

describe('golden End-of-RIB (RFC 4724 §2)', () => {
  it('IPv4 unicast: an empty UPDATE', () => {
    const bytes = Uint8Array.from([...MARKER, 0x00, 0x17, 0x02, 0x00, 0x00, 0x00, 0x00]); // 23 octets, no fields
    const decoded = decodeMessage(bytes, INITIAL_NEGOTIATED_STATE);
    if (decoded.type !== 'update') throw new Error('not UPDATE');
    expect(endOfRibFamily(decoded)).toEqual({ afi: 1, safi: 1 });
    expect(hex(encodeMessage(endOfRib({ afi: 1, safi: 1 }), INITIAL_NEGOTIATED_STATE))).toBe(hex(bytes));
  });

  it('IPv6 unicast: an UPDATE with only an empty MP_UNREACH_NLRI', () => {
    const bytes = Uint8Array.from([
      ...MARKER,
      0x00, 0x1d, // length 29
      0x02, // UPDATE
      0x00, 0x00, // no withdrawn routes
      0x00, 0x06, // 6 octets of attributes
      0x80, 0x0f, 0x03, 0x00, 0x02, 0x01, // MP_UNREACH_NLRI AFI 2 SAFI 1, nothing withdrawn
    ]);
    const decoded = decodeMessage(bytes, INITIAL_NEGOTIATED_STATE);
    if (decoded.type !== 'update') throw new Error('not UPDATE');
    expect(endOfRibFamily(decoded)).toEqual({ afi: 2, safi: 1 });
    expect(hex(encodeMessage(endOfRib({ afi: 2, safi: 1 }), INITIAL_NEGOTIATED_STATE))).toBe(hex(bytes));
  });

  it('an UPDATE with routes is not an End-of-RIB', () => {
    expect(endOfRibFamily({ type: 'update', withdrawn: [{ prefix: p('10.0.0.0/8') }], attributes: {}, nlri: [] })).toBeUndefined();
  });
});

describe('golden NOTIFICATION, ROUTE-REFRESH, KEEPALIVE', () => {
  it('decodes a Cease / Administrative Shutdown with a shutdown communication (RFC 9003 §2)', () => {
    const bytes = Uint8Array.from([
      ...MARKER,
      0x00, 0x29, // length 41
      0x03, // NOTIFICATION
      0x06, // Cease
      0x02, // Administrative Shutdown
      0x13, // communication length 19
      ...new TextEncoder().encode('planned maintenance'),
    ]);
    const decoded = decodeMessage(bytes, INITIAL_NEGOTIATED_STATE);
    expect(decoded).toEqual({ type: 'notification', errorCode: 6, errorSubcode: 2, data: bytes.slice(21), shutdownCommunication: 'planned maintenance' });
    expect(hex(encodeMessage(decoded, INITIAL_NEGOTIATED_STATE))).toBe(hex(bytes));
    if (decoded.type === 'notification') expect(notificationToText(decoded)).toBe('Cease / Administrative Shutdown: "planned maintenance"');
  });

  it('decodes a Hold Timer Expired with no data', () => {
    const bytes = message(3, [0x04, 0x00]); // Hold Timer Expired, subcode 0
    const decoded = decodeMessage(bytes, INITIAL_NEGOTIATED_STATE);
    expect(decoded).toEqual({ type: 'notification', errorCode: 4, errorSubcode: 0, data: new Uint8Array(0) });
    if (decoded.type === 'notification') expect(notificationToText(decoded)).toBe('Hold Timer Expired / Unspecific');
  });

  it('decodes ROUTE-REFRESH requests and enhanced route refresh markers (RFC 2918 §3, RFC 7313 §3.2)', () => {
    roundTrip(message(5, [0x00, 0x02, 0x00, 0x01]), INITIAL_NEGOTIATED_STATE, { type: 'route-refresh', afi: 2, safi: 1, subtype: 0 }); // IPv6 unicast, request
    roundTrip(message(5, [0x00, 0x01, 0x01, 0x01]), INITIAL_NEGOTIATED_STATE, { type: 'route-refresh', afi: 1, safi: 1, subtype: 1 }); // IPv4 unicast, BoRR
    roundTrip(message(5, [0x00, 0x01, 0x02, 0x01]), INITIAL_NEGOTIATED_STATE, { type: 'route-refresh', afi: 1, safi: 1, subtype: 2 }); // IPv4 unicast, EoRR
  });

  it('decodes a KEEPALIVE: the 19-octet header alone', () => {
    roundTrip(Uint8Array.from([...MARKER, 0x00, 0x13, 0x04]), INITIAL_NEGOTIATED_STATE, { type: 'keepalive' });
  });
});
