// Configuration and diagnosis types of the speaker.
import { type Asn } from '../codec/asn.js';
import { type Capability } from '../codec/capabilities.js';
import { type DownReason, type IdleHoldConfig, type SessionState } from '../fsm/types.js';
import { type RouterId } from '../ids.js';
import { type CompiledPolicy } from '../policy/policy.js';
import { type FibSink } from '../rib/fib.js';

import { type GracefulRestartConfig } from './graceful-restart.js';
import { type SpeakerClock, type SpeakerTransport } from './ports.js';

/** One configured neighbour. */
export interface SpeakerPeerConfig {
  /** The peer's address; also its id in the RIB. */
  readonly address: string;
  /** The AS the peer must announce (equal to the local AS: iBGP). */
  readonly asn: Asn;
  /** TCP port to connect to (default 179). */
  readonly port?: number;
  /** Source address for the connection; the connection's own address is used as next hop when absent. */
  readonly localAddress?: string;
  /**
   * eBGP multihop: the TTL of packets to the peer, when it is more than one hop away and
   * the system default TTL is not wanted. Set through the transport's socket port.
   */
  readonly multihop?: number;
  /**
   * TTL security (RFC 5082 GTSM): send with TTL 255 and accept only packets that crossed
   * at most `hops` routers on the way (1: directly connected). Set through the
   * transport's socket port; the peer must use it too.
   */
  readonly ttlSecurity?: {
    /** Routers the peer's packets may cross, 1..255 (1: directly connected); they must arrive with TTL 256 - hops or more. */
    readonly hops: number;
  };
  /** TCP MD5 password shared with the peer (RFC 2385); set through the transport's socket port. */
  readonly md5Password?: string;
  /** This speaker's IPv6 address on the session, the next hop of IPv6 routes it advertises. */
  readonly localAddress6?: string;
  /** Wait for the peer to connect instead of connecting (RFC 4271 §8.1.1 PassiveTcpEstablishment). */
  readonly passive?: boolean;
  /** Proposed hold time, s (default 90). */
  readonly holdTime?: number;
  /** Seconds between KEEPALIVEs (default hold / 3). */
  readonly keepaliveTime?: number;
  /** Seconds between connection attempts (default 120). */
  readonly connectRetryTime?: number;
  /** Restart damping after a failure (default 5 s doubling to 120 s); the FSM restarts itself when it runs out. */
  readonly idleHold?: IdleHoldConfig;
  /**
   * Run on every route received from the peer before it enters the RIB: a rejected route
   * is dropped (and counted in {@link PeerStatus.filteredPrefixes}), an accepted one
   * stored with the policy's changes. Default: accept everything unchanged.
   */
  readonly importPolicy?: CompiledPolicy;
  /**
   * Run on each best path that may be advertised to the peer (after the RFC 1997
   * well-known community and RFC 4456 reflection rules), before the eBGP/iBGP rewrite of
   * AS_PATH and NEXT_HOP; a next hop or MED the policy sets is kept. Default: advertise
   * unchanged.
   */
  readonly exportPolicy?: CompiledPolicy;
  /** At most this many routes from the peer (RFC 4486 Cease / 1 beyond). */
  readonly prefixLimit?: number;
  /**
   * The peer (iBGP) is a route-reflector client of this speaker (RFC 4456 §6): routes
   * learned from it are reflected to every iBGP peer, and routes from non-client iBGP
   * peers are reflected to it, with ORIGINATOR_ID and CLUSTER_LIST set (§8). Default false.
   */
  readonly routeReflectorClient?: boolean;
  /**
   * On an iBGP session, advertise this speaker's address on the session (for IPv6,
   * `localAddress6` when set) as the next hop of routes learned over eBGP, instead of
   * passing their next hop on unchanged; a next hop set by the export policy is kept.
   * Default false.
   */
  readonly nextHopSelf?: boolean;
}

/** A pino-compatible logger (the subset the speaker uses). */
export interface SpeakerLogger {
  /** Routine events (a session changing state, a peer restarting): `object` holds fields such as `peer`, `message` says what happened. */
  info(object: object, message: string): void;
  /** Problems (a session going down, a connection attempt left unanswered, stale routes removed), with the same arguments as `info`. */
  warn(object: object, message: string): void;
}

/** Options of a {@link BgpSpeaker}. */
export interface BgpSpeakerOptions {
  /** This speaker's AS; a peer configured with the same AS is an iBGP peer. */
  readonly localAs: Asn;
  /** This speaker's BGP Identifier, sent in every OPEN (RFC 4271 §4.2); must differ from its iBGP peers' (RFC 6286 §2.2). */
  readonly routerId: RouterId;
  /**
   * The CLUSTER_ID this speaker puts in CLUSTER_LIST when it reflects routes to or from its
   * `routeReflectorClient` peers (RFC 4456 §7), a dotted quad; default the router id.
   * Reflectors serving the same clients share one.
   */
  readonly clusterId?: RouterId;
  /** Where best-path changes go (the agent's sink writes kernel routes). */
  readonly fib: FibSink;
  /** Connections to peers: `createTcpTransport()` from `sys/`, or a test double. */
  readonly transport: SpeakerTransport;
  /** Time and timers: `systemClock` from `sys/`, or a manual clock in tests. */
  readonly clock: SpeakerClock;
  /** Milliseconds to gather RIB changes before sending them (default 20); a change of 4096 prefixes or more goes at once. */
  readonly flushDelayMs?: number;
  /**
   * Milliseconds without a flush (no RIB change pushed out) after which the RIB gives
   * back the memory a larger table left for the next one (`Rib.releaseStandby`; default
   * 60,000). Until then a table withdrawn (whole, as when a session goes down, or in
   * part) keeps its hash slots, and once no path is left its path records, and the same
   * peer's table after the flap fills them without growing them.
   */
  readonly standbyReleaseMs?: number;
  /** Capabilities sent to every peer (default: multiprotocol IPv4 and IPv6 unicast, route refresh; 4-octet AS is always added). */
  readonly capabilities?: readonly Capability[];
  /** Graceful restart (RFC 4724), as helper and as restarting speaker; off when absent. Adds the capability. */
  readonly gracefulRestart?: GracefulRestartConfig;
  /** Where session changes and problems are logged (e.g. a pino logger); nothing is logged when absent. */
  readonly logger?: SpeakerLogger;
}

/** One peer, as `twill bgp status` shows it. */
export interface PeerStatus {
  /** The peer's configured address ({@link SpeakerPeerConfig.address}). */
  readonly address: string;
  /** The peer's configured AS ({@link SpeakerPeerConfig.asn}). */
  readonly asn: Asn;
  /** The session's FSM state (RFC 4271 §8.2.2). */
  readonly state: SessionState;
  /** Seconds since the session reached Established; undefined when it is not. */
  readonly uptimeSeconds: number | undefined;
  /** Routes held from the peer (after import policy). */
  readonly receivedPrefixes: number;
  /** Of the received routes, those kept stale while the peer restarts (RFC 4724). */
  readonly stalePrefixes: number;
  /** Routes currently advertised to the peer. */
  readonly advertisedPrefixes: number;
  /** Routes the import checks or policy rejected this session. */
  readonly filteredPrefixes: number;
  /** BGP messages of every type received from the peer since it was added, over all its sessions. */
  readonly messagesReceived: number;
  /** BGP messages of every type written to the peer since it was added, over all its sessions. */
  readonly messagesSent: number;
  /** UPDATE messages received, End-of-RIB markers included. */
  readonly updatesReceived: number;
  /** Why the session last went down, in words (`"hold timer expired after 90 s with no KEEPALIVE or UPDATE from peer 10.0.0.2"`). */
  readonly lastDown: string | undefined;
  /** The full reason, with the NOTIFICATION when there was one. */
  readonly lastDownReason: DownReason | undefined;
  /**
   * The latest problem in words: {@link PeerStatus.lastDown}, or a connection attempt that
   * got no answer (`"no answer from peer 10.0.0.2 port 179 within 2 s (3 attempts): TCP
   * MD5 is configured, and a wrong password ..."`), which leaves no session to go down,
   * or a session waiting in OpenSent for 10 s or more with no OPEN from the peer.
   */
  readonly lastError: string | undefined;
}
