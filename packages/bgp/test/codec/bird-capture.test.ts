// Real bytes from BIRD 2.0.12 (Debian bird2), captured in a throwaway network namespace:
// BIRD with fixtures/bird-capture.conf (AS 4200000002, ADD-PATH and extended messages
// on) peered over a veth pair with a listener that answered with this codec's OPEN
// (AS 65001, 4-octet AS, ADD-PATH IPv4 send/receive, extended messages) and later sent
// a ROUTE-REFRESH; then `birdc 'disable peer "planned maintenance"'`.
import { describe, expect, it } from 'vitest';

import { type Asn, type Capability, type NegotiatedState, decodeMessage, encodeMessage, endOfRibFamily, negotiate, parsePrefix, splitMessages } from '@twill/bgp';

/** Hex octets, one group per line; two or more spaces start a comment. */
function fromHex(text: string): Uint8Array {
  const clean = text
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/)[0] ?? '')
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(clean)) throw new Error(`bad hex fixture: ${clean}`);
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16));
}

const MARKER = 'ffffffffffffffffffffffffffffffff';

const OPEN = fromHex(`${MARKER}
  004b 01         length 75, OPEN
  04 5ba0 005a    version 4, My AS = AS_TRANS, hold time 90
  0a000002 2e     BGP Identifier 10.0.0.2, optional parameters length 46
  02 2c           one Capabilities parameter of 44 octets (BIRD's style)
  01 04 0001 00 01    multiprotocol IPv4 unicast
  01 04 0002 00 01    multiprotocol IPv6 unicast
  02 00               route refresh
  06 00               extended message
  40 0a 0078 000101 00 000201 00   graceful restart: 120 s; IPv4 and IPv6 unicast, F=0
  41 04 fa56ea02      4-octet AS 4200000002
  45 04 0001 01 03    ADD-PATH IPv4 unicast, send and receive
  46 00               enhanced route refresh
  47 00               long-lived graceful restart (71), not interpreted: kept as unknown
`);

const UPDATE_V4 = fromHex(`${MARKER}
  003a 02         length 58, UPDATE
  0000            no withdrawn routes
  0014            path attributes, 20 octets
  40 01 01 00                 ORIGIN IGP
  40 02 06 02 01 fa56ea02     AS_PATH AS_SEQUENCE [4200000002] (4-octet)
  40 03 04 0a630002           NEXT_HOP 10.99.0.2
  00000002 18 c0a800          path 2: 192.168.0.0/24
  00000002 10 0a0a            path 2: 10.10.0.0/16
`);

const EOR_V4 = fromHex(`${MARKER} 0017 02 0000 0000`); // End-of-RIB IPv4 unicast

const UPDATE_V6 = fromHex(`${MARKER}
  0044 02         length 68, UPDATE
  0000 002d       no withdrawn routes, 45 octets of attributes
  90 0e 001c      MP_REACH_NLRI with the Extended Length bit, 28 octets
  0002 01 10      AFI IPv6, SAFI unicast, next hop length 16
  20010db8000000000000000000000002   next hop 2001:db8::2
  00              reserved
  30 20010db80100   2001:db8:100::/48
  40 01 01 00                 ORIGIN IGP
  40 02 06 02 01 fa56ea02     AS_PATH [4200000002]
`);

const EOR_V6 = fromHex(`${MARKER} 001d 02 0000 0006 800f03 0002 01`); // End-of-RIB IPv6 unicast

const SHUTDOWN = fromHex(`${MARKER}
  0029 03         length 41, NOTIFICATION
  06 02           Cease / Administrative Shutdown
  13 706c616e6e6564206d61696e74656e616e6365   19 octets: "planned maintenance"
`);

/** What the listener's OPEN and BIRD's agreed: 4-octet AS, extended messages, ADD-PATH IPv4 both ways. */
const STATE: NegotiatedState = { fourOctetAs: true, extendedMessage: true, addPathReceive: [{ afi: 1, safi: 1 }], addPathSend: [{ afi: 1, safi: 1 }] };

describe('bytes captured from BIRD 2', () => {
  it('frames the whole capture', () => {
    const stream = Uint8Array.from([OPEN, UPDATE_V4, EOR_V4, UPDATE_V6, EOR_V6, SHUTDOWN].flatMap((m) => Array.from(m)));
    const { messages, rest } = splitMessages(stream, STATE);
    expect(messages.map((m) => m.length)).toEqual([75, 58, 23, 68, 29, 41]);
    expect(rest.length).toBe(0);
  });

  it('decodes the OPEN, and negotiation with our OPEN gives the session state', () => {
    const open = decodeMessage(OPEN, STATE);
    if (open.type !== 'open') throw new Error('not OPEN');
    expect(open.capabilities.map((c) => c.kind)).toEqual([
      'multiprotocol', 'multiprotocol', 'route-refresh', 'extended-message', 'graceful-restart', 'four-octet-as', 'add-path', 'enhanced-route-refresh', 'unknown',
    ]);
    const ours: Capability[] = [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', asn: 65001 as Asn },
      { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: true }] },
      { kind: 'extended-message' },
    ];
    expect(negotiate(ours, open.capabilities)).toEqual(STATE);
  });

  it('decodes the IPv4 UPDATE with path identifiers and re-encodes it byte for byte', () => {
    const update = decodeMessage(UPDATE_V4, STATE);
    expect(update).toEqual({
      type: 'update',
      withdrawn: [],
      attributes: { origin: 0, asPath: [{ type: 2, asns: [4200000002] }], nextHop: '10.99.0.2' },
      nlri: [{ prefix: parsePrefix('192.168.0.0/24'), pathId: 2 }, { prefix: parsePrefix('10.10.0.0/16'), pathId: 2 }],
    });
    expect(encodeMessage(update, STATE)).toEqual(UPDATE_V4);
  });

  it('decodes the IPv6 MP_REACH_NLRI UPDATE', () => {
    expect(decodeMessage(UPDATE_V6, STATE)).toEqual({
      type: 'update',
      withdrawn: [],
      attributes: {
        mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::2'], nlri: [{ prefix: parsePrefix('2001:db8:100::/48') }] },
        origin: 0,
        asPath: [{ type: 2, asns: [4200000002] }],
      },
      nlri: [],
    });
  });

  it('recognizes both End-of-RIB markers', () => {
    for (const [bytes, afi] of [[EOR_V4, 1], [EOR_V6, 2]] as const) {
      const eor = decodeMessage(bytes, STATE);
      if (eor.type !== 'update') throw new Error('not UPDATE');
      expect(endOfRibFamily(eor)).toEqual({ afi, safi: 1 });
    }
  });

  it('reads the shutdown communication', () => {
    expect(decodeMessage(SHUTDOWN, STATE)).toMatchObject({ type: 'notification', errorCode: 6, errorSubcode: 2, shutdownCommunication: 'planned maintenance' });
  });
});
