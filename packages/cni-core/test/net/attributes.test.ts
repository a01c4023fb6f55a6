import { describe, expect, it } from 'vitest';

import { IFLA_INFO, VETH_INFO, decodeLinkInfo, encodeVethLinkInfo } from '../../src/net/attributes.js';

// Netlink is host-endian; these fixtures are for the little-endian hosts Twill runs on.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A minimal independent TLV walker (include/uapi/linux/netlink.h, struct nlattr). */
function attributes(bytes: Uint8Array): { type: number; data: Uint8Array }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: number; data: Uint8Array }[] = [];
  let offset = 0;
  while (offset + 4 <= bytes.length) {
    const length = view.getUint16(offset, true);
    const type = view.getUint16(offset + 2, true) & 0x3fff;
    out.push({ type, data: bytes.subarray(offset + 4, offset + length) });
    offset += (length + 3) & ~3;
  }
  return out;
}

describe.skipIf(!littleEndian)('encodeVethLinkInfo', () => {
  it('encodes `type veth peer name veth1` byte for byte', () => {
    const expected = [
      '09000100', '7665746800', '000000', // IFLA_INFO_KIND (len 9) "veth\0", 3 bytes of padding
      '22000200', //                          IFLA_INFO_DATA (len 34)
      '1e000100', //                            VETH_INFO_PEER (len 30)
      '00000000000000000000000000000000', //      struct ifinfomsg, all zero
      '0a000300', '766574683100', //              IFLA_IFNAME (len 10) "veth1\0"
    ].join('');
    expect(hex(encodeVethLinkInfo({ name: 'veth1' }))).toBe(expected);
  });

  it('puts the peer namespace, MTU and MAC inside VETH_INFO_PEER, after its ifinfomsg', () => {
    const bytes = encodeVethLinkInfo({ name: 'eth0', netnsFd: 7, mtu: 1450, address: Uint8Array.of(2, 0, 0, 0, 0, 1) });
    const [kind, data] = attributes(bytes);
    expect(kind?.type).toBe(IFLA_INFO.KIND);
    expect(Buffer.from(kind?.data ?? []).toString()).toBe('veth\0');
    expect(data?.type).toBe(IFLA_INFO.DATA);
    const [peer] = attributes(data?.data ?? new Uint8Array());
    expect(peer?.type).toBe(VETH_INFO.PEER);
    const payload = peer?.data ?? new Uint8Array();
    expect(hex(payload.subarray(0, 16))).toBe('00'.repeat(16));
    const peerAttrs = new Map(attributes(payload.subarray(16)).map((a) => [a.type, hex(a.data)]));
    expect(peerAttrs).toEqual(
      new Map([
        [3, hex(Buffer.from('eth0\0'))], // IFLA_IFNAME
        [4, 'aa050000'], //                  IFLA_MTU 1450
        [1, '020000000001'], //              IFLA_ADDRESS
        [28, '07000000'], //                 IFLA_NET_NS_FD 7
      ]),
    );
  });
});

describe.skipIf(!littleEndian)('decodeLinkInfo', () => {
  it('reads the kind and skips unknown attributes', () => {
    const bytes = Buffer.from(
      [
        '09000100', '7665746800', '000000', // IFLA_INFO_KIND "veth"
        '08000300', '01020304', //           IFLA_INFO_XSTATS, ignored
        '0b000400', '6272696467650000', //   IFLA_INFO_SLAVE_KIND "bridge"
      ].join(''),
      'hex',
    );
    expect(decodeLinkInfo(bytes)).toEqual({ kind: 'veth', portKind: 'bridge' });
  });

  it('round-trips the kind of what encodeVethLinkInfo makes', () => {
    expect(decodeLinkInfo(encodeVethLinkInfo({ name: 'p' }))).toEqual({ kind: 'veth' });
  });

  it('gives nothing for an empty payload', () => {
    expect(decodeLinkInfo(new Uint8Array())).toEqual({});
  });

  it('rejects an attribute whose length runs past the payload', () => {
    // nla_len 0x20 but only 8 bytes follow.
    expect(() => decodeLinkInfo(Buffer.from('200001007665746800', 'hex'))).toThrow();
  });
});
