// ctnetlink events: the original tuple of a connection conntrack has just confirmed
// (IPCTNL_MSG_CT_NEW sent to NFNLGRP_CONNTRACK_NEW;
// include/uapi/linux/netfilter/nfnetlink_conntrack.h). Pure.

import { badMessage, decodeAttributes, decodeNfGen, readBigEndian, type NetlinkFrame } from './netlink.js';
import { formatIpv4, formatIpv6, IP_PROTOCOL } from './packet.js';

/** `NFNL_SUBSYS_CTNETLINK` (1) << 8 | `IPCTNL_MSG_CT_NEW` (0). */
export const CT_NEW_MESSAGE = 1 << 8;

/** `NFNLGRP_CONNTRACK_NEW`: the multicast group of new connections. */
export const NFNLGRP_CONNTRACK_NEW = 1;

const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP = { V4_SRC: 1, V4_DST: 2, V6_SRC: 3, V6_DST: 4 } as const;
const CTA_PROTO = { NUM: 1, SRC_PORT: 2, DST_PORT: 3, ICMP_ID: 4, ICMP_TYPE: 5, ICMP_CODE: 6, ICMPV6_ID: 7, ICMPV6_TYPE: 8, ICMPV6_CODE: 9 } as const;

/** A new connection's original direction. */
export interface ConntrackTuple {
  readonly protocol: number;
  readonly source: string;
  readonly destination: string;
  /** TCP, UDP, UDP-Lite, SCTP, DCCP ports; ICMP and ICMPv6: the echo identifier as the source port. 0 otherwise. */
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly icmp?: { readonly type: number; readonly code: number };
}

function address(ip: Map<number, Uint8Array>, v4: number, v6: number, name: string): string {
  const a4 = ip.get(v4);
  if (a4 !== undefined) {
    if (a4.length !== 4) throw badMessage(`CTA_TUPLE_IP ${name}`, `an IPv4 address is 4 bytes, got ${a4.length}`);
    return formatIpv4(a4);
  }
  const a6 = ip.get(v6);
  if (a6 !== undefined) {
    if (a6.length !== 16) throw badMessage(`CTA_TUPLE_IP ${name}`, `an IPv6 address is 16 bytes, got ${a6.length}`);
    return formatIpv6(a6);
  }
  throw badMessage('CTA_TUPLE_IP', `no ${name} address`);
}

/**
 * The original tuple of an IPCTNL_MSG_CT_NEW message.
 * @throws {NftablesDataplaneError} `bad-flow-message` naming the attribute that is missing or does not parse.
 */
export function decodeConntrackNew(frame: NetlinkFrame): ConntrackTuple {
  if (frame.type !== CT_NEW_MESSAGE) throw badMessage('ctnetlink message', `type 0x${frame.type.toString(16)} is not IPCTNL_MSG_CT_NEW`);
  const { attributes } = decodeNfGen(frame.payload, 'ctnetlink event');
  const orig = attributes.get(CTA_TUPLE_ORIG);
  if (orig === undefined) throw badMessage('ctnetlink event', 'no CTA_TUPLE_ORIG');
  const tuple = decodeAttributes(orig, 'CTA_TUPLE_ORIG');
  const rawIp = tuple.get(CTA_TUPLE_IP);
  const rawProto = tuple.get(CTA_TUPLE_PROTO);
  if (rawIp === undefined || rawProto === undefined) throw badMessage('CTA_TUPLE_ORIG', `no ${rawIp === undefined ? 'CTA_TUPLE_IP' : 'CTA_TUPLE_PROTO'}`);
  const ip = decodeAttributes(rawIp, 'CTA_TUPLE_IP');
  const proto = decodeAttributes(rawProto, 'CTA_TUPLE_PROTO');
  const num = proto.get(CTA_PROTO.NUM);
  if (num === undefined || num.length !== 1) throw badMessage('CTA_TUPLE_PROTO', num === undefined ? 'no CTA_PROTO_NUM' : `CTA_PROTO_NUM is 1 byte, got ${num.length}`);
  const protocol = num[0] as number;
  const get = (type: number, name: string): number | undefined => {
    const value = proto.get(type);
    return value === undefined ? undefined : readBigEndian(value, name);
  };
  const base = { protocol, source: address(ip, CTA_IP.V4_SRC, CTA_IP.V6_SRC, 'source'), destination: address(ip, CTA_IP.V4_DST, CTA_IP.V6_DST, 'destination') };
  if (protocol === IP_PROTOCOL.ICMP || protocol === IP_PROTOCOL.ICMPV6) {
    const v6 = protocol === IP_PROTOCOL.ICMPV6;
    const type = get(v6 ? CTA_PROTO.ICMPV6_TYPE : CTA_PROTO.ICMP_TYPE, 'CTA_PROTO_ICMP_TYPE');
    const code = get(v6 ? CTA_PROTO.ICMPV6_CODE : CTA_PROTO.ICMP_CODE, 'CTA_PROTO_ICMP_CODE');
    const id = get(v6 ? CTA_PROTO.ICMPV6_ID : CTA_PROTO.ICMP_ID, 'CTA_PROTO_ICMP_ID');
    return { ...base, sourcePort: id ?? 0, destinationPort: 0, ...(type === undefined ? {} : { icmp: { type, code: code ?? 0 } }) };
  }
  return { ...base, sourcePort: get(CTA_PROTO.SRC_PORT, 'CTA_PROTO_SRC_PORT') ?? 0, destinationPort: get(CTA_PROTO.DST_PORT, 'CTA_PROTO_DST_PORT') ?? 0 };
}
