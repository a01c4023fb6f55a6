// The flow readers' decoders against byte fixtures: netlink framing, NFLOG packets and
// setup messages, IP and transport headers, ctnetlink new-connection events; and the
// exact error of each malformed input.

import { describe, expect, it } from 'vitest';

import { CT_NEW_MESSAGE, decodeConntrackNew } from '../../../../src/dataplane/nftables/flows/conntrack.js';
import { normalizeAddress } from '../../../../src/dataplane/nftables/flows/endpoints.js';
import { decodeAttributes, decodeErrorFrame, decodeFrames, encodeAttribute, encodeNfMessage, type NetlinkFrame } from '../../../../src/dataplane/nftables/flows/netlink.js';
import { decodeNflogPacket, encodeNflogSetup } from '../../../../src/dataplane/nftables/flows/nflog.js';
import { decodePacketHeaders, formatIpv6 } from '../../../../src/dataplane/nftables/flows/packet.js';
import { NftablesDataplaneError } from '../../../../src/dataplane/nftables/index.js';
import { CT_NEW_TCP, hex, ipv4Tcp, NFLOG_TCP_SYN, NFLOG_UDP } from './fixtures.js';

const only = (datagram: Uint8Array): NetlinkFrame => {
  const { frames, error } = decodeFrames(datagram);
  expect(error).toBeUndefined();
  expect(frames).toHaveLength(1);
  return frames[0] as NetlinkFrame;
};

describe('netlink framing', () => {
  it('splits a datagram of several messages at their aligned lengths', () => {
    const two = new Uint8Array([...NFLOG_UDP, ...NFLOG_TCP_SYN]);
    const { frames, error } = decodeFrames(two);
    expect(error).toBeUndefined();
    expect(frames.map((f) => [f.type, f.payload.length])).toEqual([[0x400, 200 - 16], [0x400, 224 - 16]]);
  });

  it('keeps the messages before a malformed one and names where it broke', () => {
    const cut = new Uint8Array([...NFLOG_UDP, ...NFLOG_TCP_SYN.subarray(0, 100)]);
    const { frames, error } = decodeFrames(cut);
    expect(frames).toHaveLength(1);
    expect(error?.message).toBe('netlink message at byte 200: length 224 is outside 16..100');
    expect(error?.code).toBe('bad-flow-message');
    expect(decodeFrames(new Uint8Array(10)).error?.message).toBe('netlink message at byte 0: 10 bytes left, shorter than the 16-byte header');
    expect(decodeFrames(hex('08000000 0000 0000 00000000 00000000')).error?.message).toBe('netlink message at byte 0: length 8 is outside 16..16');
  });

  it('reads attributes with their flag bits cleared, and refuses one that overruns', () => {
    const nested = encodeAttribute(0x8001, encodeAttribute(2, new Uint8Array([7])));
    expect([...decodeAttributes(nested, 'x').keys()]).toEqual([1]);
    expect(() => decodeAttributes(hex('0900 0100 0000 0000'), 'CTA_TUPLE_ORIG')).toThrow('CTA_TUPLE_ORIG attribute at byte 0: length 9 is outside 4..8');
    expect(() => decodeAttributes(hex('0200 0100'), 'x')).toThrow('x attribute at byte 0: length 2 is outside 4..4');
  });

  it('reads an acknowledgement and an error answer', () => {
    const ack = only(hex('24000000 0200 0001 01000000 00000000 00000000 1c000000 0104 0500 01000000 00000000'));
    expect(decodeErrorFrame(ack)).toBe(0);
    const busy = only(hex('24000000 0200 0000 05000000 00000000 f0ffffff 1c000000 0104 0500 05000000 00000000'));
    expect(decodeErrorFrame(busy)).toBe(16);
    expect(() => decodeErrorFrame({ type: 2, flags: 0, seq: 0, portId: 0, payload: new Uint8Array(2) })).toThrow('NLMSG_ERROR: 2 bytes, shorter than its 4-byte error code');
  });
});

describe('NFLOG', () => {
  it('decodes a logged TCP SYN as the kernel sent it', () => {
    const packet = decodeNflogPacket(only(NFLOG_TCP_SYN));
    const { payload, ...rest } = packet;
    expect(rest).toEqual({ group: 9, family: 2, hook: 2, prefix: 'twill:isolated:ingress:dbcc90ee', inIfindex: 4, outIfindex: 3, timeMs: 1795893676876.287, seq: 0 });
    expect(decodePacketHeaders(payload as Uint8Array)).toEqual({ protocol: 6, source: '10.1.1.3', destination: '10.1.1.2', sourcePort: 20716, destinationPort: 80, tcpFlags: 0x02 });
  });

  it('decodes a logged UDP datagram', () => {
    const packet = decodeNflogPacket(only(NFLOG_UDP));
    expect(packet.seq).toBe(1);
    expect(decodePacketHeaders(packet.payload as Uint8Array)).toEqual({ protocol: 17, source: '10.1.1.3', destination: '10.1.1.2', sourcePort: 20717, destinationPort: 80 });
  });

  it('refuses what is not an NFLOG packet or has a short attribute, naming it', () => {
    expect(() => decodeNflogPacket(only(CT_NEW_TCP))).toThrow('NFLOG message: type 0x100 is not NFULNL_MSG_PACKET');
    const short = (type: number, bytes: number[]) => only(encodeNfMessage({ type: 0x400, flags: 0, seq: 0, family: 2, resourceId: 9, attributes: [encodeAttribute(type, new Uint8Array(bytes))] }));
    expect(() => decodeNflogPacket(short(1, [8, 0]))).toThrow('NFULA_PACKET_HDR: 2 bytes, shorter than 3');
    expect(() => decodeNflogPacket(short(3, [0, 0, 0, 0]))).toThrow('NFULA_TIMESTAMP: 4 bytes, shorter than 16');
    expect(() => decodeNflogPacket(short(12, [0, 0, 1]))).toThrow('NFULA_SEQ: 3 bytes, not a 1, 2 or 4-byte integer');
    expect(() => decodeNflogPacket({ type: 0x400, flags: 0, seq: 0, portId: 0, payload: new Uint8Array(3) })).toThrow('NFLOG packet: 3 bytes, shorter than the 4-byte nfgenmsg');
  });

  it('writes the setup: family unbind and bind, group bind, then copy mode packet with sequence numbers', () => {
    const setup = encodeNflogSetup({ group: 9, copyRange: 128, flushTimeout: 5, queueThreshold: 64, seq: 1 });
    expect(setup.map((s) => [s.seq, s.what, s.required])).toEqual([
      [1, 'NFLOG unbind family 2', false],
      [2, 'NFLOG bind family 2', false],
      [3, 'NFLOG unbind family 10', false],
      [4, 'NFLOG bind family 10', false],
      [5, 'NFLOG bind group 9', true],
      [6, 'NFLOG configure group 9', true],
    ]);
    expect(Buffer.from(setup[4]?.message as Uint8Array).toString('hex')).toBe([
      '1c000000 0104 0500 05000000 00000000', // 28 bytes, NFULNL_MSG_CONFIG, NLM_F_REQUEST|NLM_F_ACK, seq 5
      '00 00 0009', // AF_UNSPEC, group 9
      '0500 0100 01 000000', // NFULA_CFG_CMD BIND
    ].join('').replace(/ /g, ''));
    expect(Buffer.from(setup[5]?.message as Uint8Array).toString('hex')).toBe([
      '38000000 0104 0500 06000000 00000000 00000009', // 56 bytes
      '0a00 0200 00000080 02 00 0000', // NFULA_CFG_MODE: copy range 128, NFULNL_COPY_PACKET
      '0600 0600 0001 0000', // NFULA_CFG_FLAGS: NFULNL_CFG_F_SEQ
      '0800 0400 00000005', // NFULA_CFG_TIMEOUT 5 (1/100 s)
      '0800 0500 00000040', // NFULA_CFG_QTHRESH 64
    ].join('').replace(/ /g, ''));
  });
});

describe('IP and transport headers', () => {
  it('reads IPv4 TCP flags and ports, and only the first fragment\'s ports', () => {
    expect(decodePacketHeaders(ipv4Tcp([10, 0, 0, 1], [10, 0, 0, 2], 1234, 443, 0x12))).toEqual({ protocol: 6, source: '10.0.0.1', destination: '10.0.0.2', sourcePort: 1234, destinationPort: 443, tcpFlags: 0x12 });
    const fragment = ipv4Tcp([10, 0, 0, 1], [10, 0, 0, 2], 1234, 443);
    fragment[6] = 0x00;
    fragment[7] = 0x10; // fragment offset 16 (x 8 bytes)
    expect(decodePacketHeaders(fragment)).toEqual({ protocol: 6, source: '10.0.0.1', destination: '10.0.0.2', sourcePort: 0, destinationPort: 0 });
    // Cut by the copy range after the ports: no flags.
    expect(decodePacketHeaders(ipv4Tcp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2).subarray(0, 26))).toEqual({ protocol: 6, source: '10.0.0.1', destination: '10.0.0.2', sourcePort: 1, destinationPort: 2 });
  });

  it('reads ICMP echo (the identifier as source port) and an ICMP error', () => {
    const echo = hex('45000054 00004000 40010000 0a000001 0a000002 // IPv4, ICMP\n 0800 0000 1234 0001 // echo request, id 0x1234');
    expect(decodePacketHeaders(echo)).toEqual({ protocol: 1, source: '10.0.0.1', destination: '10.0.0.2', sourcePort: 0x1234, destinationPort: 0, icmp: { type: 8, code: 0 } });
    const unreachable = hex('45000054 00004000 40010000 0a000001 0a000002 0303 0000 00000000');
    expect(decodePacketHeaders(unreachable)).toEqual({ protocol: 1, source: '10.0.0.1', destination: '10.0.0.2', sourcePort: 0, destinationPort: 0, icmp: { type: 3, code: 3 } });
  });

  it('walks IPv6 extension headers to the transport header', () => {
    const v6 = hex(`
      60000000 0020 00 40                       // IPv6, payload 32, next header 0 (hop-by-hop), hop limit 64
      fd000000000000000000000000000001          // fd00::1
      fd000000000000000000000000000a00          // fd00::a00
      3a 00 0000 00000000                       // hop-by-hop, next 58 (ICMPv6), 8 bytes
      80 00 0000 abcd 0007                      // ICMPv6 echo request, id 0xabcd
    `);
    expect(decodePacketHeaders(v6)).toEqual({ protocol: 58, source: 'fd00::1', destination: 'fd00::a00', sourcePort: 0xabcd, destinationPort: 0, icmp: { type: 128, code: 0 } });
    const sctp = hex(`
      60000000 0010 2c 40                       // next header 44 (fragment)
      20010db8000000000000000000000001 20010db8000000000000000000000002
      84 00 0000 00000001                       // fragment header: next 132 (SCTP), offset 0
      0bb8 0bb9 00000000                        // SCTP 3000 -> 3001
    `);
    expect(decodePacketHeaders(sctp)).toEqual({ protocol: 132, source: '2001:db8::1', destination: '2001:db8::2', sourcePort: 3000, destinationPort: 3001 });
    const later = hex('60000000 0010 2c 40 20010db8000000000000000000000001 20010db8000000000000000000000002 84 00 0008 00000001 0bb8 0bb9 00000000');
    expect(decodePacketHeaders(later)).toMatchObject({ protocol: 132, sourcePort: 0, destinationPort: 0 });
  });

  it('writes IPv6 addresses in their shortest form', () => {
    expect(formatIpv6(hex('00000000000000000000000000000000'))).toBe('::');
    expect(formatIpv6(hex('00000000000000000000000000000001'))).toBe('::1');
    expect(formatIpv6(hex('20010db8000000010000000000000001'))).toBe('2001:db8:0:1::1');
    expect(formatIpv6(hex('20010db8000000000001000000000001'))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(hex('20010db8000100010001000100010001'))).toBe('2001:db8:1:1:1:1:1:1');
    expect(formatIpv6(hex('fe800000000000000000000000000000'))).toBe('fe80::');
  });

  it('refuses a payload that is not an IP packet, naming why', () => {
    expect(() => decodePacketHeaders(new Uint8Array())).toThrow('NFULA_PAYLOAD: empty');
    expect(() => decodePacketHeaders(hex('5500'))).toThrow('NFULA_PAYLOAD: IP version 5 is neither 4 nor 6');
    expect(() => decodePacketHeaders(hex('4500001c'))).toThrow('NFULA_PAYLOAD: an IPv4 header is at least 20 bytes, got 4');
    expect(() => decodePacketHeaders(new Uint8Array([0x44, ...new Uint8Array(19)]))).toThrow('NFULA_PAYLOAD: IPv4 header length 16 is below 20');
    expect(() => decodePacketHeaders(new Uint8Array([0x60, ...new Uint8Array(30)]))).toThrow('NFULA_PAYLOAD: an IPv6 header is 40 bytes, got 31');
  });
});

describe('conntrack events', () => {
  it('decodes the original tuple of a new connection as the kernel sent it', () => {
    const frame = only(CT_NEW_TCP);
    expect(frame.type).toBe(CT_NEW_MESSAGE);
    expect(decodeConntrackNew(frame)).toEqual({ protocol: 6, source: '10.1.1.1', destination: '10.1.1.2', sourcePort: 20715, destinationPort: 80 });
  });

  const event = (tuple: Uint8Array[]): NetlinkFrame => only(encodeNfMessage({ type: CT_NEW_MESSAGE, flags: 0x600, seq: 0, family: 10, resourceId: 0, attributes: [encodeAttribute(0x8001, Buffer.concat(tuple))] }));
  const nest = (type: number, ...parts: Uint8Array[]): Uint8Array => encodeAttribute(0x8000 | type, Buffer.concat(parts));
  const v6ip = nest(1, encodeAttribute(3, hex('fd000000000000000000000000000001')), encodeAttribute(4, hex('fd000000000000000000000000000002')));

  it('decodes an ICMPv6 echo connection', () => {
    const proto = nest(2, encodeAttribute(1, new Uint8Array([58])), encodeAttribute(7, hex('0102')), encodeAttribute(8, new Uint8Array([128])), encodeAttribute(9, new Uint8Array([0])));
    expect(decodeConntrackNew(event([v6ip, proto]))).toEqual({ protocol: 58, source: 'fd00::1', destination: 'fd00::2', sourcePort: 0x0102, destinationPort: 0, icmp: { type: 128, code: 0 } });
  });

  it('refuses an event without what it needs, naming what is missing', () => {
    const proto = nest(2, encodeAttribute(1, new Uint8Array([17])));
    expect(() => decodeConntrackNew(only(encodeNfMessage({ type: CT_NEW_MESSAGE, flags: 0, seq: 0, family: 2, resourceId: 0, attributes: [] })))).toThrow('ctnetlink event: no CTA_TUPLE_ORIG');
    expect(() => decodeConntrackNew(event([proto]))).toThrow('CTA_TUPLE_ORIG: no CTA_TUPLE_IP');
    expect(() => decodeConntrackNew(event([v6ip]))).toThrow('CTA_TUPLE_ORIG: no CTA_TUPLE_PROTO');
    expect(() => decodeConntrackNew(event([v6ip, nest(2)]))).toThrow('CTA_TUPLE_PROTO: no CTA_PROTO_NUM');
    expect(() => decodeConntrackNew(event([nest(1, encodeAttribute(1, hex('0a0101'))), proto]))).toThrow('CTA_TUPLE_IP source: an IPv4 address is 4 bytes, got 3');
    expect(() => decodeConntrackNew(event([nest(1, encodeAttribute(3, hex('fd00'))), proto]))).toThrow('CTA_TUPLE_IP source: an IPv6 address is 16 bytes, got 2');
    expect(() => decodeConntrackNew(event([nest(1, encodeAttribute(1, hex('0a010101'))), proto]))).toThrow('CTA_TUPLE_IP: no destination address');
    expect(() => decodeConntrackNew(only(NFLOG_UDP))).toThrow('ctnetlink message: type 0x400 is not IPCTNL_MSG_CT_NEW');
    expect(() => decodeConntrackNew(only(NFLOG_UDP))).toThrow(NftablesDataplaneError);
  });
});

describe('endpoint addresses', () => {
  it('are written as the decoders write packet addresses, so that they match', () => {
    expect(['10.1.1.2', '10.1.1.2/32', 'FD00:0:0::2', 'fd00::2/128', '2001:db8:0:0:1:0:0:1', '::ffff:10.1.1.1'].map(normalizeAddress))
      .toEqual(['10.1.1.2', '10.1.1.2', 'fd00::2', 'fd00::2', '2001:db8::1:0:0:1', formatIpv6(hex('00000000000000000000ffff0a010101'))]);
  });
});
