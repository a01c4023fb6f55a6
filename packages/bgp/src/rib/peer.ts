// A peer as the RIB sees it: configuration given when the session comes up, and the
// per-peer state the RIB keeps (route counts, Adj-RIB-Out).
import { type Asn } from '../codec/asn.js';
import { type PeerId, type RouterId } from '../ids.js';
import { type CompiledPolicy } from '../policy/policy.js';

import { type AttributeSet, ipv4ToNumber } from './attributes.js';
import { PrefixMap } from './prefix-map.js';

/** What the RIB needs to know about a peer whose session is up. */
export interface RibPeerConfig {
  /** The peer's id in the RIB (the speaker uses its address). */
  readonly id: PeerId;
  /** The peer's address (the last tie-breaker, RFC 4271 §9.1.2.2 g). */
  readonly address: string;
  /** The peer's AS; equal to the local AS makes it an iBGP peer. */
  readonly asn: Asn;
  /** The peer's BGP Identifier, from its OPEN. */
  readonly routerId: RouterId;
  /** This speaker's address on the session: the NEXT_HOP for eBGP and next-hop-self. */
  readonly localAddress: string;
  /** This speaker's IPv6 address on the session, the next hop of IPv6 routes it advertises. */
  readonly localAddress6?: string;
  /** The peer is a route-reflector client of this speaker (RFC 4456 §6). */
  readonly routeReflectorClient?: boolean;
  /** Advertise this speaker as the next hop of eBGP-learned and local routes to this iBGP peer. */
  readonly nextHopSelf?: boolean;
  /** Applied to every route received from the peer, after the protocol's checks; absent: accept all. */
  readonly importPolicy?: CompiledPolicy;
  /** Applied to every route before it is advertised to the peer, before the eBGP/iBGP rewrites; absent: advertise all. */
  readonly exportPolicy?: CompiledPolicy;
  /** At most this many routes from the peer; one more ends the session with Cease / 1 (RFC 4486). */
  readonly prefixLimit?: number;
  /** The families the session carries (RFC 4760 §6); others are never put in its Adj-RIB-Out. Default both. */
  readonly families?: {
    /** IPv4 unicast. */
    readonly ipv4: boolean;
    /** IPv6 unicast. */
    readonly ipv6: boolean;
  };
  /** eBGP: the first AS of a received AS_PATH must be the peer's (RFC 4271 §6.3); default true. */
  readonly enforceFirstAs?: boolean;
}

/** Internal per-peer state. */
export class PeerEntry {
  /** Routes held from this peer (Adj-RIB-In, after import policy). */
  count = 0;
  /** Of those, marked stale by graceful restart. */
  stale = 0;
  /** Routes rejected by import checks or policy since the session came up. */
  filtered = 0;
  /** The session is up: routes are exported to it. */
  up = true;
  /** The next flush must send the whole Loc-RIB (session just came up, or a route refresh). */
  fullExport = true;
  /** The prefix limit was hit; further UPDATEs are ignored until the session goes down. */
  limitReached = false;
  /** What was advertised to the peer, per prefix (Adj-RIB-Out, RFC 4271 §3.2). */
  readonly adjRibOut = new PrefixMap<AttributeSet>();
  ebgp = false;
  routerIdNumber = 0;
  /** A string that sorts like the address (IPv4 before IPv6). */
  addressKey = '';
  config!: RibPeerConfig;

  constructor(
    readonly index: number,
    config: RibPeerConfig,
    localAs: Asn,
    /** The pseudo-peer of locally originated routes. */
    readonly local = false,
  ) {
    this.configure(config, localAs);
  }

  /** Takes a (new) configuration, e.g. when the session comes up again. */
  configure(config: RibPeerConfig, localAs: Asn): void {
    this.config = config;
    this.ebgp = !this.local && config.asn !== localAs;
    this.routerIdNumber = ipv4ToNumber(config.routerId);
    this.addressKey = addressSortKey(config.address);
  }
}

/** Hex of the address's octets, IPv4 first, so that string order is numeric order. */
export function addressSortKey(address: string): string {
  if (!address.includes(':')) return `4${ipv4ToNumber(address).toString(16).padStart(8, '0')}`;
  const [head = '', tail = ''] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `6${groups.map((g) => g.padStart(4, '0')).join('')}`;
}
