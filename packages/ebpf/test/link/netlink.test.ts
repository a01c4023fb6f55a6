import { describe, expect, it } from 'vitest';

import { NetlinkError } from '../../src/link/errors.js';
import {
  NlMsgType,
  decodeAttributes,
  decodeErrorCode,
  decodeMessages,
  encodeAttributes,
  encodeMessage,
  errnoName,
  nestedAttr,
  stringAttr,
  u32Attr,
} from '../../src/link/netlink/message.js';
import {
  clsactParent,
  decodeLinkIndex,
  deleteBpfFilter,
  filterInfo,
  getLinkByName,
  newBpfFilter,
  newClsactQdisc,
} from '../../src/link/netlink/tc.js';

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
function bytes(text: string): Uint8Array {
  return new Uint8Array(text.trim().split(/\s+/).map((b) => Number.parseInt(b, 16)));
}
function frame(request: { type: number; flags: number; payload: Uint8Array }, seq = 1): Uint8Array {
  return encodeMessage({ ...request, seq });
}

describe('netlink framing', () => {
  it('pads attributes to 4 bytes; rta_len counts the unpadded payload', () => {
    expect(hex(encodeAttributes([stringAttr(1, 'clsact'), u32Attr(6, 7)]))).toBe(
      // rta_len 11, TCA_KIND, "clsact\0", 1 byte of padding; rta_len 8, type 6, u32 7
      '0b 00 01 00 63 6c 73 61 63 74 00 00 08 00 06 00 07 00 00 00',
    );
  });

  it('round-trips attributes, nested ones included', () => {
    const encoded = encodeAttributes([stringAttr(1, 'bpf'), nestedAttr(2, [u32Attr(6, 9), stringAttr(7, 'name')])]);
    const [kind, options] = decodeAttributes(encoded);
    expect(kind?.type).toBe(1);
    expect(new TextDecoder().decode(kind?.value)).toBe('bpf\0');
    const children = decodeAttributes(options?.value ?? new Uint8Array());
    expect(children.map((c) => c.type)).toEqual([6, 7]);
  });

  it('refuses an attribute that runs past the end', () => {
    // rta_len 12 but only 8 bytes there
    expect(() => decodeAttributes(bytes('0c 00 01 00 61 62 63 00'))).toThrowError(
      expect.objectContaining({ name: 'NetlinkError', errno: 'EBADMSG' }),
    );
    // rta_len 2: shorter than its own header
    expect(() => decodeAttributes(bytes('02 00 01 00'))).toThrow(NetlinkError);
  });

  it('splits a datagram into messages and reads NLMSG_ERROR codes', () => {
    const ack = bytes(`
      24 00 00 00  02 00 00 01  05 00 00 00  00 00 00 00
      00 00 00 00
      10 00 00 00  2c 00 05 06  05 00 00 00  00 00 00 00`); // error 0: an ACK of request seq 5, capped
    const failure = bytes(`
      14 00 00 00  02 00 00 00  06 00 00 00  00 00 00 00
      ef ff ff ff`); // error -17: EEXIST
    const messages = decodeMessages(new Uint8Array([...ack, ...failure]));
    expect(messages.map((m) => [m.type, m.seq])).toEqual([
      [NlMsgType.ERROR, 5],
      [NlMsgType.ERROR, 6],
    ]);
    expect(messages.map((m) => errnoName(decodeErrorCode(m)))).toEqual(['errno 0', 'EEXIST']);
    expect(decodeErrorCode(messages[0]!)).toBe(0);
  });

  it('refuses truncated messages', () => {
    expect(() => decodeMessages(bytes('10 00 00 00 02 00'))).toThrowError(expect.objectContaining({ errno: 'EBADMSG' }));
    expect(() => decodeMessages(bytes('20 00 00 00 02 00 00 00 01 00 00 00 00 00 00 00'))).toThrowError(/length 32/);
    const short = decodeMessages(bytes('12 00 00 00 02 00 00 00 01 00 00 00 00 00 00 00 00 00'))[0]!;
    expect(() => decodeErrorCode(short)).toThrowError(/payload of 2 bytes/);
  });
});

describe('tc requests', () => {
  it('encodes RTM_NEWQDISC clsact as tc qdisc add dev X clsact does', () => {
    expect(hex(frame(newClsactQdisc(3)))).toBe(
      [
        '30 00 00 00 24 00 05 06 01 00 00 00 00 00 00 00', // len 48, RTM_NEWQDISC, REQUEST|ACK|EXCL|CREATE, seq 1
        '00 00 00 00 03 00 00 00 00 00 ff ff f1 ff ff ff 00 00 00 00', // AF_UNSPEC, ifindex 3, handle ffff:, parent TC_H_CLSACT
        '0b 00 01 00 63 6c 73 61 63 74 00 00', // TCA_KIND "clsact"
      ].join(' '),
    );
  });

  it('encodes RTM_NEWTFILTER bpf direct-action with fd and name', () => {
    const request = newBpfFilter({ ifindex: 3, direction: 'ingress', priority: 1, handle: 1, progFd: 7, name: 'f' });
    expect(hex(frame(request))).toBe(
      [
        '48 00 00 00 2c 00 05 06 01 00 00 00 00 00 00 00', // len 72, RTM_NEWTFILTER, REQUEST|ACK|EXCL|CREATE
        '00 00 00 00 03 00 00 00 01 00 00 00 f2 ff ff ff 00 03 01 00', // handle 1, parent ffff:fff2, info pref 1 proto ETH_P_ALL
        '08 00 01 00 62 70 66 00', // TCA_KIND "bpf"
        '1c 00 02 00', // TCA_OPTIONS, 28 bytes
        '08 00 06 00 07 00 00 00', //   TCA_BPF_FD 7
        '06 00 07 00 66 00 00 00', //   TCA_BPF_NAME "f"
        '08 00 08 00 01 00 00 00', //   TCA_BPF_FLAGS TCA_BPF_FLAG_ACT_DIRECT
      ].join(' '),
    );
    const replace = newBpfFilter({ ifindex: 3, direction: 'egress', priority: 2, handle: 9, progFd: 7, name: 'f', replace: true });
    expect(replace.flags).toBe(0x1 | 0x4 | 0x400 | 0x100); // REPLACE instead of EXCL
    expect(new DataView(replace.payload.buffer).getUint32(12, true)).toBe(0xfffffff3);
  });

  it('encodes RTM_DELTFILTER with the same address', () => {
    expect(hex(frame(deleteBpfFilter({ ifindex: 4, direction: 'egress', priority: 7, handle: 3 }), 2))).toBe(
      [
        '2c 00 00 00 2d 00 05 00 02 00 00 00 00 00 00 00', // len 44, RTM_DELTFILTER, REQUEST|ACK, seq 2
        '00 00 00 00 04 00 00 00 03 00 00 00 f3 ff ff ff 00 03 07 00',
        '08 00 01 00 62 70 66 00',
      ].join(' '),
    );
  });

  it('computes parents and tcm_info', () => {
    expect(clsactParent('ingress')).toBe(0xfffffff2);
    expect(clsactParent('egress')).toBe(0xfffffff3);
    expect(filterInfo(1)).toBe(0x00010300);
    expect(filterInfo(0xffff, 0x0800)).toBe(0xffff0008); // ETH_P_IP in network order
  });

  it('refuses priorities and handles out of range', () => {
    const base = { ifindex: 1, direction: 'ingress' as const, progFd: 1, name: 'x' };
    expect(() => newBpfFilter({ ...base, priority: 0, handle: 1 })).toThrowError(/priority 0/);
    expect(() => newBpfFilter({ ...base, priority: 0x10000, handle: 1 })).toThrow(RangeError);
    expect(() => deleteBpfFilter({ ifindex: 1, direction: 'ingress', priority: 1, handle: 0 })).toThrowError(/handle 0/);
  });

  it('encodes RTM_GETLINK by name and decodes the index of the answer', () => {
    expect(hex(getLinkByName('eth0').payload)).toBe('00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 09 00 03 00 65 74 68 30 00 00 00 00');
    expect(() => getLinkByName('a-name-of-16-byt')).toThrow(RangeError);
    expect(() => getLinkByName('')).toThrow(RangeError);
    // ifinfomsg with index 42 and one IFLA_MTU attribute
    expect(decodeLinkIndex(bytes('00 00 01 00 2a 00 00 00 43 10 01 00 00 00 00 00 08 00 04 00 dc 05 00 00'))).toBe(42);
    expect(() => decodeLinkIndex(bytes('00 00 01 00 2a 00'))).toThrowError(/payload of 6 bytes/);
  });
});
