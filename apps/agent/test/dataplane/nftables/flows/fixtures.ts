// Byte fixtures of the nftables flow readers: datagrams captured from a kernel (6.18,
// the lab of flows.root.test.ts: pod 10.1.1.3 -> 10.1.1.2:80 denied, 10.1.1.1 ->
// 10.1.1.2:80 allowed), and builders for messages the tests vary.

import { encodeAttribute, encodeNfMessage } from '../../../../src/dataplane/nftables/flows/netlink.js';

/** Bytes from hex text; `//` starts a comment that runs to the end of the line. */
export const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, ''), 'hex'));

/** A TCP SYN 10.1.1.3:20716 -> 10.1.1.2:80 dropped by x/b's ingress tier default, logged to group 9. */
export const NFLOG_TCP_SYN = hex(`
  e0000000000400000000000000000000   // nlmsghdr: 224 bytes, type 0x400, flags 0x0
  02000009   // nfgenmsg: family 2, version 0, resource id 9
  0800010008000200   // NFULA_PACKET_HDR (hw_protocol, hook 2 = forward)
  24000a007477696c6c3a69736f6c617465643a696e67726573733a646263633930656500   // NFULA_PREFIX 'twill:isolated:ingress:dbcc90ee'
  0800040000000004   // NFULA_IFINDEX_INDEV
  0800050000000003   // NFULA_IFINDEX_OUTDEV
  1000080000060000b2bec921a6510000   // NFULA_HWADDR
  06000f0000010000   // NFULA_HWTYPE
  06001100000e0000   // NFULA_HWLEN
  12001000a6863a92b6b2b2bec921a65108000000   // NFULA_HWHEADER
  14000300000000006b0b29ac00000000000d5eff   // NFULA_TIMESTAMP (be64 s, be64 us)
  08000c0000000000   // NFULA_SEQ
  400009004500003ce91840003f063c9d0a0101030a01010250ec0050547f204c00000000a002faf016350000020405b4   // NFULA_PAYLOAD (IPv4 header on)
  0402080ad44312f4000000000103030a
`);

/** A UDP datagram 10.1.1.3:20717 -> 10.1.1.2:80 ("probe"), same rule, NFULA_SEQ 1. */
export const NFLOG_UDP = hex(`
  c8000000000400000000000000000000   // nlmsghdr: 200 bytes, type 0x400, flags 0x0
  02000009   // nfgenmsg: family 2, version 0, resource id 9
  0800010008000200   // NFULA_PACKET_HDR (hw_protocol, hook 2 = forward)
  24000a007477696c6c3a69736f6c617465643a696e67726573733a646263633930656500   // NFULA_PREFIX 'twill:isolated:ingress:dbcc90ee'
  0800040000000004   // NFULA_IFINDEX_INDEV
  0800050000000003   // NFULA_IFINDEX_OUTDEV
  1000080000060000b2bec921a6510000   // NFULA_HWADDR
  06000f0000010000   // NFULA_HWTYPE
  06001100000e0000   // NFULA_HWLEN
  12001000a6863a92b6b2b2bec921a65108000000   // NFULA_HWHEADER
  14000300000000006b0b29ad000000000002c7a2   // NFULA_TIMESTAMP (be64 s, be64 us)
  08000c0000000001   // NFULA_SEQ
  25000900450000214c2b40003f11d99a0a0101030a01010250ed0050000d162570726f6265000000   // NFULA_PAYLOAD (IPv4 header on)
`);

/** ctnetlink IPCTNL_MSG_CT_NEW (NLM_F_CREATE|NLM_F_EXCL) for TCP 10.1.1.1:20715 -> 10.1.1.2:80 (the allowed connection). */
export const CT_NEW_TCP = hex(`
  c4000000000100060000000000000000   // nlmsghdr: 196 bytes, type 0x100, flags 0x600
  02000000   // nfgenmsg: family 2, version 0, resource id 0
  3400018014000180080001000a010101080002000a0101021c00028005000100060000000600020050eb000006000300   // CTA_TUPLE_ORIG
  00500000
  3400028014000180080001000a010102080002000a0101011c0002800500010006000000060002000050000006000300   // CTA_TUPLE_REPLY
  50eb0000
  08000c002c69c7ce   // CTA_ID
  0800030000000008   // CTA_STATUS
  0800070000000078   // CTA_TIMEOUT
  300004802c0001800500010001000000050002000a000000050003000000000006000400030000000600050000000000   // CTA_PROTOINFO
`);

/** An NFLOG packet message built from parts (tests vary the sequence number, prefix and payload). */
export function nflogPacket(options: { readonly group?: number; readonly seq?: number; readonly prefix?: string; readonly indev?: number; readonly outdev?: number; readonly payload?: Uint8Array; readonly family?: number }): Uint8Array {
  const be32 = (n: number): Uint8Array => new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const attributes = [encodeAttribute(1, new Uint8Array([0x08, 0x00, 2, 0]))];
  if (options.prefix !== undefined) attributes.push(encodeAttribute(10, new TextEncoder().encode(`${options.prefix}\0`)));
  if (options.indev !== undefined) attributes.push(encodeAttribute(4, be32(options.indev)));
  if (options.outdev !== undefined) attributes.push(encodeAttribute(5, be32(options.outdev)));
  if (options.seq !== undefined) attributes.push(encodeAttribute(12, be32(options.seq)));
  if (options.payload !== undefined) attributes.push(encodeAttribute(9, options.payload));
  return encodeNfMessage({ type: 0x400, flags: 0, seq: 0, family: options.family ?? 2, resourceId: options.group ?? 9, attributes });
}

/** An IPv4 TCP SYN header pair, 20 + 20 bytes. */
export function ipv4Tcp(source: readonly number[], destination: readonly number[], sourcePort: number, destinationPort: number, flags = 0x02): Uint8Array {
  const p = new Uint8Array(40);
  p.set([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, ...source, ...destination]);
  p.set([sourcePort >> 8, sourcePort & 0xff, destinationPort >> 8, destinationPort & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff], 20);
  return p;
}
