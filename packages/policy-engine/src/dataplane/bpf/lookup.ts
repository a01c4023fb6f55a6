// What the tc program does with the maps, in TypeScript: the reference for tests and
// for explaining a verdict. It follows apps/agent/bpf/policy.bpf.c step by step.

import { RESERVED_IDENTITY } from '../../identity/reserved.js';
import { PROTOCOL } from '../../model/endpoint.js';
import { cidrContainsAddress, parseIpAddress } from '../../model/cidr.js';
import { parsePrefix, type IpcacheEntry } from './peer-classes.js';
import { BPF_ANY_IDENTITY, type BpfPolicyEntry } from './types.js';

/** A packet as one endpoint's hook sees it. */
export interface BpfPacket {
  /** The endpoint's hook that sees the packet: `ingress` (arriving) or `egress` (leaving). */
  readonly direction: 'ingress' | 'egress';
  /** The remote side's address (source for ingress, destination for egress). */
  readonly remote: string;
  /** The IP protocol number. */
  readonly protocol: number;
  /** The destination port (TCP, UDP, SCTP). */
  readonly port?: number;
  /** The ICMP type and code, for ICMP and ICMPv6; absent there, the key's port is 0. */
  readonly icmp?: {
    /** The ICMP type, 0-255. */
    readonly type: number;
    /** The ICMP code, 0-255. */
    readonly code: number;
  };
}

/** The ipcache lookup: the longest prefix holding `address`, or world. */
export function lookupPeerClass(ipcache: readonly IpcacheEntry[], address: string): number {
  const parsed = parseIpAddress(address);
  if (parsed === undefined) return RESERVED_IDENTITY.WORLD;
  let best: { length: number; id: number } | undefined;
  for (const entry of ipcache) {
    const cidr = parsePrefix(entry.prefix);
    if (cidr === undefined || !cidrContainsAddress(cidr, parsed)) continue;
    if (best === undefined || cidr.prefixLength > best.length) best = { length: cidr.prefixLength, id: entry.class };
  }
  return best?.id ?? RESERVED_IDENTITY.WORLD;
}

/** The key's port: the destination port, or ICMP `type << 8 | code`, or 0. */
export function keyPort(packet: BpfPacket): number {
  if (packet.protocol === PROTOCOL.ICMP || packet.protocol === PROTOCOL.ICMPV6) return packet.icmp === undefined ? 0 : (packet.icmp.type << 8) | packet.icmp.code;
  return packet.port ?? 0;
}

/** The policy map's longest match for one identity, or `undefined`. */
export function lookupPolicyEntry(entries: readonly BpfPolicyEntry[], direction: 'ingress' | 'egress', identity: number, protocol: number, port: number): BpfPolicyEntry | undefined {
  let best: { entry: BpfPolicyEntry; length: number } | undefined;
  for (const entry of entries) {
    if (entry.direction !== direction || entry.identity !== identity) continue;
    let length: number;
    if (entry.protocol === undefined) {
      length = 0;
    } else {
      if (entry.protocol !== protocol) continue;
      const shift = 16 - entry.portBits;
      if (entry.portBits > 0 && port >>> shift !== entry.port >>> shift) continue;
      length = 8 + entry.portBits;
    }
    if (best === undefined || length > best.length) best = { entry, length };
  }
  return best?.entry;
}

/**
 * The tc program's decision for a packet of a new connection: the identity from the
 * ipcache, then the entry for it, else the entry for any identity; none drops.
 */
export function lookupBpfVerdict(entries: readonly BpfPolicyEntry[], ipcache: readonly IpcacheEntry[], packet: BpfPacket): {
  /** The remote address's identity or peer class, from the ipcache (world when no prefix holds it). */
  readonly identity: number;
  /** The deciding entry; absent: none matched and the packet is dropped. */
  readonly entry?: BpfPolicyEntry;
} {
  const identity = lookupPeerClass(ipcache, packet.remote);
  const port = keyPort(packet);
  const entry = lookupPolicyEntry(entries, packet.direction, identity, packet.protocol, port)
    ?? lookupPolicyEntry(entries, packet.direction, BPF_ANY_IDENTITY, packet.protocol, port);
  return entry === undefined ? { identity } : { identity, entry };
}
