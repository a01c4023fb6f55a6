// nfnetlink_log (NFLOG) messages: what the kernel sends for a packet a `log group N`
// rule logged, and the configuration messages that bind a socket to a group
// (include/uapi/linux/netfilter/nfnetlink_log.h). Pure.

import { badMessage, decodeNfGen, encodeAttribute, encodeNfMessage, NLM, readBigEndian, type NetlinkFrame } from './netlink.js';

/** `NFNL_SUBSYS_ULOG` (nfnetlink.h): the high byte of every NFLOG message type. */
const SUBSYS_ULOG = 4;

/** NFLOG message types: `(NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_*`. */
export const NFULNL_MSG = { PACKET: (SUBSYS_ULOG << 8) | 0, CONFIG: (SUBSYS_ULOG << 8) | 1 } as const;

/** `enum nfulnl_attr_type`: the attributes of a packet message. */
export const NFULA = {
  PACKET_HDR: 1,
  MARK: 2,
  TIMESTAMP: 3,
  IFINDEX_INDEV: 4,
  IFINDEX_OUTDEV: 5,
  PAYLOAD: 9,
  PREFIX: 10,
  SEQ: 12,
  SEQ_GLOBAL: 13,
} as const;

/** `enum nfulnl_attr_config` and its commands, copy modes and flags. */
const CFG = { CMD: 1, MODE: 2, NLBUFSIZ: 3, TIMEOUT: 4, QTHRESH: 5, FLAGS: 6 } as const;
const CMD = { BIND: 1, UNBIND: 2, PF_BIND: 3, PF_UNBIND: 4 } as const;
const COPY_PACKET = 2;
/** `NFULNL_CFG_F_SEQ`: each message carries the instance's sequence number (NFULA_SEQ), so gaps count lost messages. */
const FLAG_SEQ = 0x0001;

/** The netfilter hooks (`enum nf_inet_hooks`), as NFULA_PACKET_HDR names them. */
export const NF_INET_HOOK = ['prerouting', 'input', 'forward', 'output', 'postrouting'] as const;

/** One logged packet. */
export interface NflogPacket {
  /** The group (nfgenmsg resource id). */
  readonly group: number;
  /** `AF_INET` (2) or `AF_INET6` (10). */
  readonly family: number;
  /** The netfilter hook it was logged in (`enum nf_inet_hooks`: 0 prerouting ... 4 postrouting), when given. */
  readonly hook?: number;
  /** The rule's log prefix; absent when it has none. */
  readonly prefix?: string;
  /** The interface it came in on, 0 when none (locally sent). */
  readonly inIfindex: number;
  /** The interface it goes out on, 0 when none (locally delivered, or before routing). */
  readonly outIfindex: number;
  /** The packet's time (NFULA_TIMESTAMP), in milliseconds since the epoch; the kernel gives it on hooks up to forward only. */
  readonly timeMs?: number;
  /** The instance's sequence number (NFULNL_CFG_F_SEQ), when the socket asked for it. */
  readonly seq?: number;
  /** The packet from its network header, up to the copy range. */
  readonly payload?: Uint8Array;
}

/**
 * An NFULNL_MSG_PACKET message.
 * @throws {NftablesDataplaneError} `bad-flow-message` naming the attribute that does not parse.
 */
export function decodeNflogPacket(frame: NetlinkFrame): NflogPacket {
  if (frame.type !== NFULNL_MSG.PACKET) throw badMessage('NFLOG message', `type 0x${frame.type.toString(16)} is not NFULNL_MSG_PACKET`);
  const { header, attributes } = decodeNfGen(frame.payload, 'NFLOG packet');
  const get = (type: number, name: string): number | undefined => {
    const value = attributes.get(type);
    return value === undefined ? undefined : readBigEndian(value, name);
  };
  let hook: number | undefined;
  const packetHeader = attributes.get(NFULA.PACKET_HDR);
  if (packetHeader !== undefined) {
    // struct nfulnl_msg_packet_hdr { __be16 hw_protocol; __u8 hook; __u8 _pad; }
    if (packetHeader.length < 3) throw badMessage('NFULA_PACKET_HDR', `${packetHeader.length} bytes, shorter than 3`);
    hook = packetHeader[2] as number;
  }
  let timeMs: number | undefined;
  const timestamp = attributes.get(NFULA.TIMESTAMP);
  if (timestamp !== undefined) {
    // struct nfulnl_msg_packet_timestamp { __aligned_be64 sec; __aligned_be64 usec; }
    if (timestamp.length < 16) throw badMessage('NFULA_TIMESTAMP', `${timestamp.length} bytes, shorter than 16`);
    const data = new DataView(timestamp.buffer, timestamp.byteOffset, 16);
    timeMs = Number(data.getBigUint64(0, false)) * 1000 + Number(data.getBigUint64(8, false)) / 1000;
  }
  let prefix: string | undefined;
  const rawPrefix = attributes.get(NFULA.PREFIX);
  if (rawPrefix !== undefined) {
    // NUL-terminated (nla_put of strlen + 1 bytes).
    const end = rawPrefix.indexOf(0);
    prefix = new TextDecoder().decode(end < 0 ? rawPrefix : rawPrefix.subarray(0, end));
  }
  const seq = get(NFULA.SEQ, 'NFULA_SEQ');
  const payload = attributes.get(NFULA.PAYLOAD);
  return {
    group: header.resourceId,
    family: header.family,
    ...(hook === undefined ? {} : { hook }),
    ...(prefix === undefined ? {} : { prefix }),
    inIfindex: get(NFULA.IFINDEX_INDEV, 'NFULA_IFINDEX_INDEV') ?? 0,
    outIfindex: get(NFULA.IFINDEX_OUTDEV, 'NFULA_IFINDEX_OUTDEV') ?? 0,
    ...(timeMs === undefined ? {} : { timeMs }),
    ...(seq === undefined ? {} : { seq }),
    ...(payload === undefined ? {} : { payload }),
  };
}

/** Options of {@link encodeNflogSetup}. */
export interface NflogSetupOptions {
  readonly group: number;
  /** Bytes of each packet copied, from the network header (headers only: 128 holds IPv6 with a few extension headers and TCP). */
  readonly copyRange: number;
  /** How long the kernel may hold messages to batch them, in hundredths of a second. */
  readonly flushTimeout: number;
  /** How many messages it batches at most before sending. */
  readonly queueThreshold: number;
  /** The first netlink sequence number to use (each message gets the next). */
  readonly seq: number;
}

const be16 = (n: number): Uint8Array => new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
const be32 = (n: number): Uint8Array => new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

/**
 * The messages that set up an NFLOG socket, in order, each asking for an acknowledgement:
 * the per-family unbind and bind of old kernels (no-ops since Linux 3.17; their errors do
 * not matter), binding the group, then its configuration (copy mode packet with the copy
 * range, sequence numbers, batching). `required` says which ones must be acknowledged
 * without error.
 */
export function encodeNflogSetup(options: NflogSetupOptions): { readonly message: Uint8Array; readonly seq: number; readonly what: string; readonly required: boolean }[] {
  let seq = options.seq;
  const message = (family: number, resourceId: number, attributes: Uint8Array[], what: string, required: boolean) => {
    const m = { message: encodeNfMessage({ type: NFULNL_MSG.CONFIG, flags: NLM.F_REQUEST | NLM.F_ACK, seq, family, resourceId, attributes }), seq, what, required };
    seq += 1;
    return m;
  };
  const command = (cmd: number): Uint8Array => encodeAttribute(CFG.CMD, new Uint8Array([cmd]));
  // struct nfulnl_msg_config_mode { __be32 copy_range; __u8 copy_mode; __u8 _pad; } __packed
  const mode = new Uint8Array(6);
  mode.set(be32(options.copyRange), 0);
  mode[4] = COPY_PACKET;
  return [
    ...[2, 10].flatMap((family) => [
      message(family, 0, [command(CMD.PF_UNBIND)], `NFLOG unbind family ${family}`, false),
      message(family, 0, [command(CMD.PF_BIND)], `NFLOG bind family ${family}`, false),
    ]),
    message(0, options.group, [command(CMD.BIND)], `NFLOG bind group ${options.group}`, true),
    message(0, options.group, [
      encodeAttribute(CFG.MODE, mode),
      encodeAttribute(CFG.FLAGS, be16(FLAG_SEQ)),
      encodeAttribute(CFG.TIMEOUT, be32(options.flushTimeout)),
      encodeAttribute(CFG.QTHRESH, be32(options.queueThreshold)),
    ], `NFLOG configure group ${options.group}`, true),
  ];
}
