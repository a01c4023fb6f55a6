// The network and transport headers of a logged packet (NFULA_PAYLOAD starts at the
// network header): IPv4 (RFC 791) or IPv6 (RFC 8200, extension headers walked), then
// TCP (RFC 9293), UDP (RFC 768), UDP-Lite, SCTP (RFC 9260), ICMP (RFC 792) or ICMPv6
// (RFC 4443). Pure. A payload cut short by the copy range gives what it holds.

import { badMessage } from './netlink.js';

/** IP protocol numbers this decoder knows. */
export const IP_PROTOCOL = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132, UDPLITE: 136 } as const;

/** What a packet's headers say about its flow. */
export interface PacketHeaders {
  readonly protocol: number;
  readonly source: string;
  readonly destination: string;
  /** TCP, UDP, UDP-Lite and SCTP ports; ICMP and ICMPv6 echo: the identifier as the source port. 0 otherwise. */
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly tcpFlags?: number;
  readonly icmp?: { readonly type: number; readonly code: number };
}

/** IPv6 extension headers that may sit between the fixed header and the transport header (RFC 8200 §4). */
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTHENTICATION = 51;
const DESTINATION_OPTIONS = 60;

/** An IPv4 address as dotted decimal. */
export function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * An IPv6 address as text in its shortest form (RFC 5952 §4: lower-case hex, no leading
 * zeros, the longest run of two or more zero groups, the first of equals, as `::`).
 */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);

/** Ports, flags and ICMP type of the transport header at `l4` (whatever of it the payload holds). */
function transport(protocol: number, l4: Uint8Array | undefined): Omit<PacketHeaders, 'protocol' | 'source' | 'destination'> {
  if (l4 === undefined) return { sourcePort: 0, destinationPort: 0 };
  switch (protocol) {
    case IP_PROTOCOL.TCP:
      if (l4.length < 4) return { sourcePort: 0, destinationPort: 0 };
      return { sourcePort: u16(l4, 0), destinationPort: u16(l4, 2), ...(l4.length >= 14 ? { tcpFlags: l4[13] as number } : {}) };
    case IP_PROTOCOL.UDP:
    case IP_PROTOCOL.UDPLITE:
    case IP_PROTOCOL.SCTP:
      return l4.length < 4 ? { sourcePort: 0, destinationPort: 0 } : { sourcePort: u16(l4, 0), destinationPort: u16(l4, 2) };
    case IP_PROTOCOL.ICMP:
    case IP_PROTOCOL.ICMPV6: {
      if (l4.length < 2) return { sourcePort: 0, destinationPort: 0 };
      const type = l4[0] as number;
      const icmp = { type, code: l4[1] as number };
      // Echo request and reply (ICMP 8 and 0, ICMPv6 128 and 129): the identifier stands for the source port.
      const echo = protocol === IP_PROTOCOL.ICMP ? type === 8 || type === 0 : type === 128 || type === 129;
      return { sourcePort: echo && l4.length >= 6 ? u16(l4, 4) : 0, destinationPort: 0, icmp };
    }
    default:
      return { sourcePort: 0, destinationPort: 0 };
  }
}

/**
 * The flow of a packet from its network header on.
 * @throws {NftablesDataplaneError} `bad-flow-message` when the payload is not an IPv4 or
 *   IPv6 packet or its fixed header is cut short.
 */
export function decodePacketHeaders(payload: Uint8Array): PacketHeaders {
  const version = (payload[0] ?? 0) >> 4;
  if (version === 4) {
    if (payload.length < 20) throw badMessage('NFULA_PAYLOAD', `an IPv4 header is at least 20 bytes, got ${payload.length}`);
    const headerLength = ((payload[0] as number) & 0x0f) * 4;
    if (headerLength < 20) throw badMessage('NFULA_PAYLOAD', `IPv4 header length ${headerLength} is below 20`);
    const protocol = payload[9] as number;
    // Only the first fragment (offset 0) carries the transport header.
    const fragmentOffset = u16(payload, 6) & 0x1fff;
    const l4 = fragmentOffset === 0 && payload.length > headerLength ? payload.subarray(headerLength) : undefined;
    return { protocol, source: formatIpv4(payload.subarray(12, 16)), destination: formatIpv4(payload.subarray(16, 20)), ...transport(protocol, l4) };
  }
  if (version === 6) {
    if (payload.length < 40) throw badMessage('NFULA_PAYLOAD', `an IPv6 header is 40 bytes, got ${payload.length}`);
    let next = payload[6] as number;
    let offset = 40;
    let l4Present = true;
    // RFC 8200 §4.1: extension headers in any order; each names the next.
    for (let hops = 0; hops < 8; hops += 1) {
      if (next !== HOP_BY_HOP && next !== ROUTING && next !== FRAGMENT && next !== AUTHENTICATION && next !== DESTINATION_OPTIONS) break;
      if (offset + 8 > payload.length) {
        l4Present = false;
        break;
      }
      const header = next;
      next = payload[offset] as number;
      if (header === FRAGMENT) {
        // A later fragment (offset != 0) has no transport header.
        if ((u16(payload, offset + 2) & 0xfff8) !== 0) l4Present = false;
        offset += 8;
      } else if (header === AUTHENTICATION) {
        offset += ((payload[offset + 1] as number) + 2) * 4; // RFC 4302 §2.2: in 4-octet units, minus 2
      } else {
        offset += ((payload[offset + 1] as number) + 1) * 8;
      }
    }
    const l4 = l4Present && offset < payload.length ? payload.subarray(offset) : undefined;
    return { protocol: next, source: formatIpv6(payload.subarray(8, 24)), destination: formatIpv6(payload.subarray(24, 40)), ...transport(next, l4) };
  }
  throw badMessage('NFULA_PAYLOAD', payload.length === 0 ? 'empty' : `IP version ${version} is neither 4 nor 6`);
}
