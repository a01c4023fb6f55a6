// Per-session options derived from a peer's configuration and the two OPENs: the
// families the session carries and the socket's TTL settings.
import { type Capability } from '../codec/capabilities.js';
import { AFI, SAFI } from '../codec/constants.js';
import { BgpInvalidArgument } from '../errors.js';

import { type SpeakerPeerConfig } from './types.js';
import { type SessionFamilies } from './updates.js';

/**
 * The socket's TTL settings for a peer: TTL security sends 255 and accepts at least
 * 256 - hops (RFC 5082 §3); multihop sends the hop count.
 * @throws {BgpInvalidArgument} for hops outside 1..255, or both options at once.
 */
export function ttlOptions(peer: Pick<SpeakerPeerConfig, 'address' | 'multihop' | 'ttlSecurity'>): {
  /** The TTL (hop limit for IPv6) to send with: 255 with TTL security, the hop count with multihop; absent: the system default. */
  ttl?: number;
  /** The lowest TTL to accept from the peer (`IP_MINTTL`), with TTL security only. */
  minTtl?: number;
} {
  const hops = peer.ttlSecurity?.hops ?? peer.multihop;
  if (hops === undefined) return {};
  if (!Number.isInteger(hops) || hops < 1 || hops > 255) throw new BgpInvalidArgument(`peer ${peer.address}: a hop count of ${hops} is not within 1..255`);
  if (peer.ttlSecurity && peer.multihop !== undefined) throw new BgpInvalidArgument(`peer ${peer.address}: multihop and ttlSecurity exclude each other (TTL security sends 255)`);
  return peer.ttlSecurity ? { ttl: 255, minTtl: 256 - hops } : { ttl: hops };
}

/** The families both OPENs name (RFC 4760 §6); IPv4 unicast alone when either sent no multiprotocol capability. */
export function sessionFamilies(local: readonly Capability[], remote: readonly Capability[]): SessionFamilies {
  const mp = (caps: readonly Capability[], afi: number): boolean => caps.some((c) => c.kind === 'multiprotocol' && c.afi === afi && c.safi === SAFI.UNICAST);
  const anyMp = (caps: readonly Capability[]): boolean => caps.some((c) => c.kind === 'multiprotocol');
  if (!anyMp(local) || !anyMp(remote)) return { ipv4: true, ipv6: false };
  return { ipv4: mp(local, AFI.IPV4) && mp(remote, AFI.IPV4), ipv6: mp(local, AFI.IPV6) && mp(remote, AFI.IPV6) };
}
