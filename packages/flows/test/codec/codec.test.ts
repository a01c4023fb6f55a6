import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  decodeFlow,
  decodeGetFlowsRequest,
  decodeGetFlowsResponse,
  decodeServerStatus,
  decodeServerStatusRequest,
  encodeFlow,
  encodeGetFlowsRequest,
  encodeGetFlowsResponse,
  encodeServerStatus,
  type Flow,
  FlowCodecError,
  FlowsError,
} from '../../src/index.js';
import { flow, getFlowsRequest, getFlowsResponse, serverStatus } from '../arbitraries.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const golden: Flow = {
  time: { seconds: 1_700_000_000, nanos: 5 },
  uuid: 'u1',
  verdict: 'DROPPED',
  dropReasonDesc: 'POLICY_DENY',
  IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
  l4: { UDP: { sourcePort: 53, destinationPort: 1000 } },
  source: { ID: 1, identity: 2, namespace: 'a', labels: ['k8s:app=x'], podName: 'p' },
  destination: { ID: 0, identity: 2, labels: [] },
  Type: 'L3_L4',
  nodeName: 'n1',
  isReply: false,
  trafficDirection: 'EGRESS',
  egressAllowedBy: [],
  ingressAllowedBy: [],
  egressDeniedBy: [],
  ingressDeniedBy: [],
  Summary: '',
};

// The golden flow, field by field in field-number order (a protobuf tag is
// field_number << 3 | wire_type; wire type 0 varint, 2 length-delimited).
const GOLDEN = hex(`
  0a 08                     -- 1 time (Timestamp), 8 bytes:
    08 80 e2 cf aa 06       --   seconds 1700000000: 7-bit groups 0x00 0x62 0x4f 0x2a 0x06, low first, high bit = more
    10 05                   --   nanos 5
  10 02                     -- 2 verdict DROPPED (2)
  2a 16                     -- 5 IP, 22 bytes:
    0a 08 31302e302e302e31  --   source "10.0.0.1"
    12 08 31302e302e302e32  --   destination "10.0.0.2"
    18 01                   --   ipVersion IPv4 (1)
  32 07 12 05 08 35 10 e8 07 -- 6 l4: oneof UDP (field 2) {source_port 53, destination_port 1000 = e8 07}
  42 15                     -- 8 source, 21 bytes:
    08 01 10 02             --   ID 1, identity 2
    1a 01 61                --   namespace "a"
    22 09 6b38733a6170703d78 --  labels "k8s:app=x"
    2a 01 70                --   pod_name "p"
  4a 02 10 02               -- 9 destination: identity 2 (ID 0 and no labels are not written)
  50 01                     -- 10 Type L3_L4 (1)
  5a 02 6e31                -- 11 node_name "n1"
  b0 01 02                  -- 22 traffic_direction EGRESS: tag 22<<3 = 176 = b0 01
  c8 01 b5 01               -- 25 drop_reason_desc POLICY_DENY (181 = b5 01): tag 200 = c8 01
  d2 01 00                  -- 26 is_reply: an empty BoolValue (false), present
  92 02 02 7531             -- 34 uuid "u1": tag 34<<3|2 = 274 = 92 02
`.replace(/--.*$/gm, ''));

const goldenL7: Flow = {
  time: { seconds: 0, nanos: 0 },
  uuid: '',
  verdict: 'FORWARDED',
  IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
  source: { ID: 0, identity: 0, labels: [] },
  destination: { ID: 0, identity: 0, labels: [] },
  Type: 'L7',
  l7: { type: 'RESPONSE', latencyNs: 1_200_000, http: { code: 200, method: 'GET', url: '/a', protocol: 'HTTP/1.1', headers: [{ key: 'k', value: 'v' }] } },
  nodeName: '',
  isReply: false,
  trafficDirection: 'INGRESS',
  egressAllowedBy: [],
  ingressAllowedBy: [],
  egressDeniedBy: [],
  ingressDeniedBy: [],
  Summary: '',
};

// Hubble's Layer7 (Flow field 15): type 1, latency_ns 2, the oneof record's http 101 with
// HTTP {code 1, method 2, url 3, protocol 4, headers 5 {key 1, value 2}}.
const GOLDEN_L7 = hex(`
  0a 00                     -- 1 time: an empty Timestamp (the epoch)
  10 01                     -- 2 verdict FORWARDED (1)
  2a 16 0a08 31302e302e302e31 1208 31302e302e302e32 1801 -- 5 IP 10.0.0.1 -> 10.0.0.2, IPv4
  42 00  4a 00              -- 8 source, 9 destination: empty endpoints
  50 02                     -- 10 Type L7 (2)
  7a 27                     -- 15 l7 (tag 15<<3|2 = 122), 39 bytes:
    08 02                   --   1 type RESPONSE (2)
    10 80 9f 49             --   2 latency_ns 1200000 (7-bit groups 0x00 0x1f 0x49, low first)
    aa 06 1e                --   101 http (tag 101<<3|2 = 810 = aa 06), 30 bytes:
      08 c8 01              --     1 code 200
      12 03 474554          --     2 method "GET"
      1a 02 2f61            --     3 url "/a"
      22 08 485454502f312e31 --    4 protocol "HTTP/1.1"
      2a 06 0a016b 120176   --     5 headers [{key "k", value "v"}]
  b0 01 01                  -- 22 traffic_direction INGRESS
  d2 01 00                  -- 26 is_reply: an empty BoolValue (false), present
`.replace(/--.*$/gm, ''));

describe('flow codec', () => {
  it("encodes an L7 flow with Hubble's Layer7 field numbers, to the bytes worked out by hand, and back", () => {
    expect(toHex(encodeFlow(goldenL7))).toBe(toHex(GOLDEN_L7));
    expect(decodeFlow(GOLDEN_L7)).toStrictEqual(goldenL7);
  });

  it("reads a Hubble L7 record of a protocol Twill does not model (DNS, 100) as l7 without http", () => {
    // 15 l7 {type REQUEST, dns (100, tag 802 = a2 06) {query "x"}}; IP {IPv4}; Type L7.
    const f = decodeFlow(hex('2a021801 5002 7a08 0801 a20603 0a0178'));
    expect(f.l7).toStrictEqual({ type: 'REQUEST', latencyNs: 0 });
  });

  it('encodes the golden flow to the bytes worked out by hand', () => {
    expect(toHex(encodeFlow(golden))).toBe(toHex(GOLDEN));
  });

  it('decodes the golden bytes to the golden flow', () => {
    expect(decodeFlow(GOLDEN)).toStrictEqual(golden);
  });

  it('keeps an empty namespace apart from no namespace', () => {
    const empty = decodeFlow(encodeFlow({ ...golden, source: { ...golden.source, namespace: '' } }));
    expect(empty.source.namespace).toBe('');
    const absent = decodeFlow(encodeFlow({ ...golden, destination: { ID: 0, identity: 2, labels: [] } }));
    expect('namespace' in absent.destination).toBe(false);
  });

  it('round-trips any flow', () => {
    fc.assert(fc.property(flow, (f) => {
      expect(decodeFlow(encodeFlow(f))).toStrictEqual(structuredClone(f));
    }), { numRuns: 300 });
  });

  it('reads a flow without time, endpoints or reply as zero, no labels, not a reply', () => {
    // Only IP {ipVersion IPv6} and Type L7: 2a 02 18 02 50 02.
    const f = decodeFlow(hex('2a021802 5002'));
    expect(f).toMatchObject({
      time: { seconds: 0, nanos: 0 },
      verdict: 'VERDICT_UNKNOWN',
      source: { ID: 0, identity: 0, labels: [] },
      isReply: false,
      Type: 'L7',
      IP: { source: '', destination: '', ipVersion: 'IPv6' },
    });
  });

  it.each([
    ['no IP layer', '5001', 'flow.IP: is missing'],
    ['IP_NOT_USED', '2a00 5001', 'flow.IP.ipVersion: IP_NOT_USED is not IPv4 or IPv6'],
    ['a verdict Twill does not know (6, TRACED)', '1006 2a021801 5001', 'flow.verdict: 6 is not a Verdict value Twill knows'],
    ['UNKNOWN_TYPE', '2a021801', 'flow.Type: UNKNOWN_TYPE is not L3_L4 or L7'],
    ['a UDP port above 65535', '2a021801 5001 3206 1204 08808004', 'flow.l4.UDP.sourcePort: 65536 is not a port'],
    ['a truncated string (length 8, 2 bytes)', '0a083031', 'flow: malformed Flow: index out of range'],
    ['a deciding rule with an unknown reason', '2a021801 5001 c23e03 0a0178', 'flow.decidedBy.reason: "x" is not one of'],
    ['an L7 record type Twill does not know (9)', '2a021801 5002 7a02 0809', 'flow.l7.type: 9 is not a L7FlowType value Twill knows'],
    ['a truncated HTTP record', '2a021801 5002 7a05 aa0604 0801', 'flow: malformed Flow: index out of range'],
  ])('refuses %s', (_what, bytes, message) => {
    expect(() => decodeFlow(hex(bytes))).toThrow(FlowCodecError);
    expect(() => decodeFlow(hex(bytes))).toThrow(message);
  });

  it.each([
    ['a port above 65535', { ...golden, l4: { TCP: { sourcePort: 70_000, destinationPort: 1 } } }, 'flow.l4.TCP.sourcePort: 70000 is not a port (0 to 65535)'],
    ['a verdict that is not one', { ...golden, verdict: 'DENIED' }, 'flow.verdict: "DENIED" is not one of VERDICT_UNKNOWN'],
    ['two transports at once', { ...golden, l4: { UDP: { sourcePort: 1, destinationPort: 2 }, SCTP: { sourcePort: 1, destinationPort: 2 } } }, 'flow.l4: must hold exactly one'],
    ['a negative identity', { ...golden, source: { ...golden.source, identity: -1 } }, 'flow.source.identity: -1 is not an unsigned integer'],
    ['nanos out of range', { ...golden, time: { seconds: 1, nanos: 1e9 } }, 'flow.time.nanos: 1000000000 is not a count of nanoseconds'],
    ['a negative latency', { ...goldenL7, l7: { type: 'RESPONSE', latencyNs: -1 } }, 'flow.l7.latencyNs: -1 is not a count of nanoseconds'],
    ['an L7 type that is not one', { ...goldenL7, l7: { type: 'REPLY', latencyNs: 0 } }, 'flow.l7.type: "REPLY" is not one of UNKNOWN_L7_TYPE, REQUEST, RESPONSE, SAMPLE'],
    ['a status code that is not a number', { ...goldenL7, l7: { type: 'RESPONSE', latencyNs: 0, http: { code: '200', method: 'GET', url: '/', protocol: 'HTTP/1.1', headers: [] } } }, 'flow.l7.http.code: "200" is not an unsigned integer'],
    ['headers that are not a list', { ...goldenL7, l7: { type: 'RESPONSE', latencyNs: 0, http: { code: 200, method: 'GET', url: '/', protocol: 'HTTP/1.1', headers: {} } } }, 'flow.l7.http.headers: an object is not an array'],
    ['an unknown TCP flag', { ...golden, l4: { TCP: { sourcePort: 1, destinationPort: 2, flags: { NS: true } } } }, 'flow.l4.TCP.flags.NS: is not a TCP flag'],
  ])('refuses to encode %s', (_what, bad, message) => {
    expect(() => encodeFlow(bad as Flow)).toThrow(FlowCodecError);
    expect(() => encodeFlow(bad as Flow)).toThrow(message);
  });
});

describe('observer messages', () => {
  it('round-trips any GetFlowsRequest', () => {
    fc.assert(fc.property(getFlowsRequest, (r) => {
      expect(decodeGetFlowsRequest(encodeGetFlowsRequest(r))).toStrictEqual(structuredClone(r));
    }), { numRuns: 200 });
  });

  it('round-trips any GetFlowsResponse', () => {
    fc.assert(fc.property(getFlowsResponse, (r) => {
      expect(decodeGetFlowsResponse(encodeGetFlowsResponse(r))).toStrictEqual(structuredClone(r));
    }), { numRuns: 200 });
  });

  it('round-trips any ServerStatus', () => {
    fc.assert(fc.property(serverStatus, (s) => {
      expect(decodeServerStatus(encodeServerStatus(s))).toStrictEqual(structuredClone(s));
    }));
  });

  it("writes GetFlowsRequest with Hubble's field numbers", () => {
    // number 1 (varint 5), follow 3 (1), whitelist 6 {verdict 5: DROPPED}, since 7 {seconds 1}.
    const bytes = encodeGetFlowsRequest({ number: 5, follow: true, whitelist: [{ verdict: ['DROPPED'] }], since: { seconds: 1, nanos: 0 } });
    expect(toHex(bytes)).toBe('0805' + '1801' + '3203' + '2a0102' + '3a020801');
  });

  it("writes the HTTP filters with Hubble's field numbers and reads them back", () => {
    const request = { whitelist: [{ httpStatusCode: ['4+'], httpMethod: ['GET'], httpPath: ['/a'], httpUrl: ['b'] }] };
    const bytes = encodeGetFlowsRequest(request);
    // whitelist 6 {http_status_code 9 "4+", http_method 21 (aa 01) "GET", http_path 22 (b2 01) "/a", http_url 31 (fa 01) "b"}
    expect(toHex(bytes)).toBe('3213' + '4a02' + '342b' + 'aa0103' + '474554' + 'b20102' + '2f61' + 'fa0101' + '62');
    expect(decodeGetFlowsRequest(bytes)).toStrictEqual(request);
  });

  it('keeps number 0 apart from no number', () => {
    expect(decodeGetFlowsRequest(encodeGetFlowsRequest({ number: 0 }))).toStrictEqual({ number: 0 });
    expect(decodeGetFlowsRequest(encodeGetFlowsRequest({}))).toStrictEqual({});
  });

  it("maps lost-event sources to Hubble's and keeps Twill's name", () => {
    const bytes = encodeGetFlowsResponse({ lostEvents: { source: 'ebpf-ringbuf', numEventsLost: 3 }, nodeName: '', time: { seconds: 0, nanos: 0 } });
    // 3 lost_events {1 source PERF_EVENT_RING_BUFFER (1), 2 num_events_lost 3, 1000 source_name}; 1001 time (empty).
    expect(toHex(bytes)).toBe('1a13' + '0801' + '1003' + 'c23e0c' + Buffer.from('ebpf-ringbuf').toString('hex') + 'ca3e00');
    // A Hubble server's lost event (no source_name) reads with Twill's name for its source.
    expect(decodeGetFlowsResponse(hex('1a04 0802 1007'))).toStrictEqual({
      lostEvents: { source: 'observer', numEventsLost: 7 },
      nodeName: '',
      time: { seconds: 0, nanos: 0 },
    });
    // A ring a reader fell behind is Hubble's HUBBLE_RING_BUFFER (3), apart from the agent's budget.
    const ring = encodeGetFlowsResponse({ lostEvents: { source: 'ring', numEventsLost: 2 }, nodeName: '', time: { seconds: 0, nanos: 0 } });
    expect(toHex(ring).slice(4, 8)).toBe('0803');
    expect(decodeGetFlowsResponse(hex('1a04 0803 1002'))).toMatchObject({ lostEvents: { source: 'ring', numEventsLost: 2 } });
  });

  it('refuses a response with neither a flow nor lost events', () => {
    expect(() => decodeGetFlowsResponse(hex('c23e026e31'))).toThrow('response: holds neither flow nor lostEvents');
    expect(() => encodeGetFlowsResponse({ nodeName: 'n', time: { seconds: 0, nanos: 0 } } as never)).toThrow(FlowCodecError);
  });

  it('refuses a filter field that does not exist and a verdict that is not one', () => {
    expect(() => encodeGetFlowsRequest({ whitelist: [{ sourcePods: ['a/'] } as never] })).toThrow('whitelist[0].sourcePods: is not a flow filter field');
    expect(() => encodeGetFlowsRequest({ blacklist: [{}, { verdict: ['NOPE' as never] }] })).toThrow('blacklist[1].verdict[0]: "NOPE" is not one of');
  });

  it("refuses a Hubble filter field Twill does not serve, rather than skip it and select more", () => {
    // whitelist (6) [ {verdict (5): DROPPED}, {source_fqdn (7): "x"} ]
    const fqdn = hex('3203 2a0102  3203 3a0178');
    expect(() => decodeGetFlowsRequest(fqdn)).toThrow('whitelist[1].sourceFqdn: is not a filter Twill serves');
    // blacklist (5) [ {field 42: varint 1} ]: tag 42<<3 = 336 = d0 02
    expect(() => decodeGetFlowsRequest(hex('2a03 d00201'))).toThrow('blacklist[0].field 42: is not a filter Twill serves');
    // Unknown fields of the request itself (Hubble's field_mask, 10) do not select flows: skipped.
    expect(decodeGetFlowsRequest(hex('0803 5200'))).toStrictEqual({ number: 3 });
  });

  it('decodes the empty ServerStatusRequest and skips unknown fields', () => {
    expect(decodeServerStatusRequest(new Uint8Array(0))).toStrictEqual({});
    expect(decodeServerStatusRequest(hex('0801'))).toStrictEqual({});
  });
});

describe('decoding random bytes', () => {
  const decoders = [decodeFlow, decodeGetFlowsRequest, decodeGetFlowsResponse, decodeServerStatus, decodeServerStatusRequest];
  it('throws nothing but FlowsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...decoders), (bytes, decode) => {
        try {
          decode(bytes);
        } catch (e) {
          if (!(e instanceof FlowsError)) throw new Error(`${decode.name} threw ${String(e)}`);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('throws nothing but FlowsError for mutated valid flows', () => {
    fc.assert(
      fc.property(flow, fc.nat(), fc.integer({ min: 0, max: 255 }), (f, at, value) => {
        const bytes = encodeFlow(f);
        const bad = Uint8Array.from(bytes);
        bad[at % bad.length] = value;
        try {
          decodeFlow(bad.subarray(0, bad.length - (at % 3)));
        } catch (e) {
          if (!(e instanceof FlowsError)) throw new Error(`decodeFlow threw ${String(e)}`);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
