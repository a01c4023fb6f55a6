// The classic BPF socket filter of a conntrack event socket: it keeps an IPCTNL_MSG_CT_NEW
// message only when its original tuple's source (or destination) address is one of the
// given addresses or inside one of the given prefixes, and discards the rest before they
// are queued. A discarded message is not counted in the socket's drops, so the drop
// counter counts only messages the reader wanted. Pure.
//
// The message as the filter sees it: nlmsghdr (16 bytes; nlmsg_type at offset 4, host
// byte order), nfgenmsg (4 bytes), then attributes. The ancillary loads find attributes
// (Documentation/networking/filter.rst, net/core/filter.c): `ld #nla` takes A = the offset
// to search from, X = the type, and gives the offset of the first attribute of that type
// (0: none); `ld #nlanest` takes A = the offset of a nested attribute and searches inside
// it. Both ignore the NLA_F_NESTED and byte-order flags. CTA_TUPLE_ORIG > CTA_TUPLE_IP >
// CTA_IP_V4_SRC ... (include/uapi/linux/netfilter/nfnetlink_conntrack.h); an address's
// payload starts 4 bytes into its attribute, in network byte order, as `ld [x + k]` loads.

import type { SocketFilterInstruction } from '@twill/sys';

import { NftablesDataplaneError, NFTABLES_ERROR_CODE } from '../errors.js';
import { CT_NEW_MESSAGE } from './conntrack.js';

/** Which address of the original tuple must be a listed one. */
export type ConntrackFilterMatch = 'source' | 'destination';

/** Options of {@link compileConntrackFilter}. */
export interface ConntrackFilterOptions {
  readonly match: ConntrackFilterMatch;
  /** IPv4 or IPv6 addresses, kept when the matched address equals one (others, such as prefixes, are refused). */
  readonly addresses: readonly string[];
  /** IPv4 or IPv6 prefixes (`10.1.0.0/16`), kept when the matched address is inside one. */
  readonly prefixes?: readonly string[];
  /** Whether the host is little-endian (`os.endianness() === 'LE'`): nlmsg_type is in host byte order. */
  readonly littleEndian: boolean;
}

/**
 * `BPF_MAXINSNS`, as @twill/sys's SOCKET_FILTER_MAX_INSTRUCTIONS: a copy because importing
 * a value from @twill/sys loads its native addon, and this module is pure.
 */
export const MAX_FILTER_INSTRUCTIONS = 4096;

// Opcodes (include/uapi/linux/filter.h, bpf_common.h).
const LD_W_ABS = 0x20;
const LD_H_ABS = 0x28;
const LD_W_IND = 0x40;
const LD_IMM = 0x00;
const LD_MEM = 0x60;
const LDX_IMM = 0x01;
const ST = 0x02;
const TAX = 0x07;
const AND_K = 0x54;
const JA = 0x05;
const JEQ_K = 0x15;
const RET_K = 0x06;
/** SKF_AD_OFF + SKF_AD_NLATTR, SKF_AD_OFF + SKF_AD_NLATTR_NEST. */
const AD_NLATTR = 0xfffff000 + 12;
const AD_NLATTR_NEST = 0xfffff000 + 16;

const ACCEPT = 0xffffffff;
const REJECT = 0;
/** NLMSG_HDRLEN + sizeof(struct nfgenmsg). */
const ATTRIBUTES = 16 + 4;
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_IP = 1;
const CTA_IP = { source: { v4: 1, v6: 3 }, destination: { v4: 2, v6: 4 } } as const;

const insn = (code: number, k = 0, jt = 0, jf = 0): SocketFilterInstruction => ({ code, jt, jf, k });

interface Prefix {
  readonly v6: boolean;
  /** The address as 32-bit words (1 for IPv4, 4 for IPv6), network order. */
  readonly words: readonly number[];
  readonly length: number;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return [parts.reduce((n, p) => n * 256 + Number(p), 0)];
}

function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let hostname: string;
  try {
    // The URL parser expands and checks the address (an embedded IPv4 part too).
    hostname = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head = '', tail] = hostname.split('::') as [string, string | undefined];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array.from({ length: 8 - left.length - right.length }, () => 0), ...right];
  return [0, 1, 2, 3].map((i) => ((all[2 * i] ?? 0) * 0x10000 + (all[2 * i + 1] ?? 0)) >>> 0);
}

function parsePrefix(text: string, what: string, single: boolean): Prefix {
  const [address = '', length, extra] = text.split('/');
  const v6 = address.includes(':');
  const words = v6 ? parseIpv6(address) : parseIpv4(address);
  const max = v6 ? 128 : 32;
  const bits = length === undefined ? max : /^\d{1,3}$/.test(length) ? Number(length) : Number.NaN;
  if (words === undefined || extra !== undefined || !(bits >= 0 && bits <= max) || (single && bits !== max)) {
    throw new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, `conntrack event filter: ${what} ${JSON.stringify(text)} is not an IPv4 or IPv6 ${single ? 'address' : 'prefix'}`);
  }
  return { v6, words, length: bits };
}

/** Instructions that return ACCEPT when A's address (loaded word by word from X + 4) is inside `prefix`, and fall through otherwise. */
function matchPrefix(prefix: Prefix): SocketFilterInstruction[] {
  const steps: SocketFilterInstruction[][] = [];
  for (let i = 0; i < prefix.words.length; i += 1) {
    const bits = Math.min(32, Math.max(0, prefix.length - 32 * i));
    if (bits === 0) break;
    const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    const word = ((prefix.words[i] ?? 0) & mask) >>> 0;
    steps.push([insn(LD_W_IND, 4 + 4 * i), ...(bits === 32 ? [] : [insn(AND_K, mask)]), insn(JEQ_K, word)]);
  }
  const length = steps.reduce((n, s) => n + s.length, 0) + 1;
  const out: SocketFilterInstruction[] = [];
  for (const step of steps) {
    for (const i of step) {
      // A mismatch skips to the end of this prefix's instructions (past its return).
      out.push(i.code === JEQ_K ? insn(JEQ_K, i.k, 0, length - out.length - 1) : i);
    }
  }
  out.push(insn(RET_K, ACCEPT));
  return out;
}

/**
 * The classic BPF program of a conntrack event socket (see the file's header): keeps
 * IPCTNL_MSG_CT_NEW messages whose original `match` address is one of `addresses` or in
 * one of `prefixes`; discards everything else (no addresses and no prefixes: everything).
 * Each IPv4 entry costs 3 instructions, each IPv6 one up to 9.
 * @throws {NftablesDataplaneError} `flow-read-failed` naming an entry that is not an
 *   address (or prefix), or when the program would pass {@link MAX_FILTER_INSTRUCTIONS}.
 */
export function compileConntrackFilter(options: ConntrackFilterOptions): SocketFilterInstruction[] {
  const entries = [
    ...[...new Set(options.addresses)].map((a) => parsePrefix(a, 'address', true)),
    ...[...new Set(options.prefixes ?? [])].map((p) => parsePrefix(p, 'prefix', false)),
  ];
  // ldh loads big-endian; nlmsg_type is host order.
  const type = options.littleEndian ? ((CT_NEW_MESSAGE & 0xff) << 8) | (CT_NEW_MESSAGE >>> 8) : CT_NEW_MESSAGE;
  const program: SocketFilterInstruction[] = [
    insn(LD_H_ABS, 4),
    insn(JEQ_K, type, 1, 0),
    insn(RET_K, REJECT),
    insn(LD_IMM, ATTRIBUTES),
    insn(LDX_IMM, CTA_TUPLE_ORIG),
    insn(LD_W_ABS, AD_NLATTR),
    insn(JEQ_K, 0, 0, 1),
    insn(RET_K, REJECT),
    insn(LDX_IMM, CTA_TUPLE_IP),
    insn(LD_W_ABS, AD_NLATTR_NEST),
    insn(JEQ_K, 0, 0, 1),
    insn(RET_K, REJECT),
    // M[0]: the offset of CTA_TUPLE_IP, searched once per family.
    insn(ST, 0),
  ];
  for (const v6 of [false, true]) {
    const family = entries.filter((e) => e.v6 === v6);
    if (family.length === 0) continue;
    const body = [insn(TAX), ...family.flatMap(matchPrefix)];
    // A tuple has the one family's attributes: no such attribute, on to the next family.
    program.push(
      insn(LD_MEM, 0),
      insn(LDX_IMM, v6 ? CTA_IP[options.match].v6 : CTA_IP[options.match].v4),
      insn(LD_W_ABS, AD_NLATTR_NEST),
      insn(JEQ_K, 0, 0, 1),
      insn(JA, body.length),
      ...body,
    );
  }
  program.push(insn(RET_K, REJECT));
  if (program.length > MAX_FILTER_INSTRUCTIONS) {
    throw new NftablesDataplaneError(NFTABLES_ERROR_CODE.FLOW_READ_FAILED, `conntrack event filter: ${entries.length} addresses and prefixes need ${program.length} instructions, more than the kernel's ${MAX_FILTER_INSTRUCTIONS}`);
  }
  return program;
}
