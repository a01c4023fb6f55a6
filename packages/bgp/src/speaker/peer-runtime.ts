// The speaker's state for one configured neighbour: its FSM, connection, timers, the
// graceful restart bookkeeping and the counters `peers()` reports.
import { type GracefulRestartCapability } from '../codec/capabilities.js';
import { type NegotiatedState, INITIAL_NEGOTIATED_STATE } from '../codec/negotiated.js';
import { type FsmState, type TimerName } from '../fsm/types.js';
import { type PeerId } from '../ids.js';

import { type CancelTimer, type Connection } from './ports.js';
import { type SpeakerPeerConfig } from './types.js';
import { type SessionFamilies } from './updates.js';

/** Timers the speaker runs beside the FSM's. */
export const SPEAKER_TIMER = {
  /** Helper: the peer's Restart Time, from its session's end until it is back (RFC 4724 §4.2). */
  RESTART: 'restart',
  /** Helper: from the peer's return until its End-of-RIB. */
  STALE: 'stale',
  /** Restarting: how long to wait for the peer's End-of-RIB before sending ours (RFC 4724 §4.1). */
  DEFERRAL: 'deferral',
} as const;
/** One of {@link SPEAKER_TIMER}. */
export type SpeakerTimerName = (typeof SPEAKER_TIMER)[keyof typeof SPEAKER_TIMER];

/** The speaker's state for one peer. */
export class PeerRuntime {
  fsm: FsmState;
  connection: Connection | undefined;
  buffer: Uint8Array = new Uint8Array(0);
  negotiated: NegotiatedState = INITIAL_NEGOTIATED_STATE;
  families: SessionFamilies = { ipv4: true, ipv6: false };
  readonly timers = new Map<TimerName | SpeakerTimerName, CancelTimer>();
  /** The RIB knows the peer (it was Established once), so its counters can be read. */
  inRib = false;
  /** End-of-RIB goes out after the first flush of a new session (RFC 4724 §2). */
  endOfRibPending = false;
  /** The peer's graceful restart capability on the current (or last) session. */
  peerGracefulRestart: GracefulRestartCapability | undefined;
  /** The peer announced route refresh (RFC 2918) on the current session. */
  peerRouteRefresh = false;
  /** Restarting: messages held until the peer's End-of-RIB (undefined: send at once). */
  deferred: Uint8Array[] | undefined;
  /** This speaker stopped for a restart while the session was up (`stopForRestart`). */
  localRestart = false;
  /** Restarting: the first session after the restart has been through the deferral. */
  restartDone = false;
  /** Restarting: families whose End-of-RIB the peer has sent on this session. */
  readonly endOfRibReceived = new Set<4 | 6>();
  messagesReceived = 0;
  messagesSent = 0;
  updatesReceived = 0;
  /** Connection attempts since the last Established. */
  connectAttempts = 0;
  /** The latest problem in words, from the FSM or the connection. */
  lastError: string | undefined;
  /** When the FSM entered its current state (the speaker clock's ms). */
  stateSince = 0;

  constructor(
    readonly config: SpeakerPeerConfig,
    readonly id: PeerId,
    fsm: FsmState,
  ) {
    this.fsm = fsm;
  }

  /** Cancels one of the timers. */
  cancel(timer: TimerName | SpeakerTimerName): void {
    this.timers.get(timer)?.();
    this.timers.delete(timer);
  }

  /** Cancels every timer. */
  cancelAll(): void {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }
}

/**
 * Why a connection attempt got no answer, in words: a peer with a TCP MD5 password on
 * one side only, or a different one, never answers (its kernel drops the segments); with
 * TTL security here, a peer that does not send TTL 255 is never heard.
 */
export function describeConnectTimeout(peer: SpeakerPeerConfig, seconds: number, attempts: number): string {
  const where = `peer ${peer.address} port ${peer.port ?? 179}`;
  const base = `no answer from ${where} within ${seconds} s (${attempts} attempt${attempts === 1 ? '' : 's'})`;
  if (peer.md5Password !== undefined) {
    return `${base}: TCP MD5 is configured, and a wrong password (or none on the peer) looks exactly like this: the peer's kernel drops the segments without a reply`;
  }
  if (peer.ttlSecurity !== undefined) {
    // RFC 5082 §3: this side drops whatever arrives with less; a peer without TTL security sends 64, or 1 for eBGP.
    const least = 256 - peer.ttlSecurity.hops;
    return `${base}: TTL security is configured, so this node drops the peer's packets unless they arrive with TTL ${least} or more; a peer without TTL security (BIRD: \`ttl security on\`) sends less and looks exactly like this`;
  }
  return `${base}: the peer is down, unreachable, filtered, or expects a TCP MD5 password or TTL security`;
}

/** How long a session may wait in OpenSent before `peers()` says so (the FSM itself waits 240 s, RFC 4271 §8.2.2). */
export const OPEN_WAIT_REPORT_SECONDS = 10;

/**
 * Why a session waits in OpenSent, in words: the connection is up and our OPEN went out,
 * but nothing came back. With TTL security here, a peer that does not send TTL 255 gets
 * through the handshake (its listener may send 255) and is dropped after it.
 */
export function describeOpenWait(peer: SpeakerPeerConfig, seconds: number): string {
  const base = `connected to peer ${peer.address} ${seconds} s ago and sent our OPEN, but no OPEN came back`;
  if (peer.ttlSecurity !== undefined) {
    return `${base}: TTL security is configured, so this node drops the peer's packets unless they arrive with TTL ${256 - peer.ttlSecurity.hops} or more; a peer without TTL security (BIRD: \`ttl security on\`) sends less`;
  }
  return `${base}: the peer may not want this session (its neighbor address or AS for this node), or its packets are lost on the way back`;
}
