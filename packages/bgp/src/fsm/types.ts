// The vocabulary of the BGP finite state machine (RFC 4271 §8): states, events,
// timers and the actions a step asks the speaker to carry out. The FSM itself does no
// I/O and keeps no timers; time comes in as `now` (milliseconds) with each event.
import { type Asn } from '../codec/asn.js';
import { type Capability } from '../codec/capabilities.js';
import { type NegotiatedState } from '../codec/negotiated.js';
import { type BgpNotificationMessage } from '../codec/notification.js';
import { type BgpOpen } from '../codec/open.js';
import { type BgpNotification } from '../errors.js';
import { type RouterId } from '../ids.js';

/** The six session states (RFC 4271 §8.2.2). */
export const SESSION_STATE = {
  IDLE: 'Idle',
  CONNECT: 'Connect',
  ACTIVE: 'Active',
  OPEN_SENT: 'OpenSent',
  OPEN_CONFIRM: 'OpenConfirm',
  ESTABLISHED: 'Established',
} as const;
/** One of {@link SESSION_STATE}. */
export type SessionState = (typeof SESSION_STATE)[keyof typeof SESSION_STATE];

/** The FSM's timers (RFC 4271 §8.1.3, IdleHoldTimer §8.1.1). */
export const TIMER = {
  CONNECT_RETRY: 'connect-retry',
  HOLD: 'hold',
  KEEPALIVE: 'keepalive',
  DELAY_OPEN: 'delay-open',
  IDLE_HOLD: 'idle-hold',
} as const;
/** One of {@link TIMER}. */
export type TimerName = (typeof TIMER)[keyof typeof TIMER];

/**
 * The events of RFC 4271 §8.1 the speaker feeds in. `passive` on a start is
 * "..._with_PassiveTcpEstablishment" (events 4, 5); NotifMsgVerErr (24) is a
 * `NotifMsg` carrying 2/1; BGPOpen with the DelayOpenTimer running (20) is a `BgpOpen`.
 */
export type FsmEvent =
  | { readonly type: 'ManualStart'; readonly passive?: boolean }
  /**
   * `communication`: the operator's words (RFC 9003), sent with Cease / Administrative
   * Shutdown. `deconfigured`: the peer was removed from the configuration, Cease / Peer
   * De-configured (RFC 4486 §4, no data).
   */
  | { readonly type: 'ManualStop'; readonly communication?: string; readonly deconfigured?: boolean }
  | { readonly type: 'AutomaticStart'; readonly passive?: boolean }
  | { readonly type: 'AutomaticStop'; readonly notification?: BgpNotification }
  | { readonly type: 'ConnectRetryTimerExpires' }
  | { readonly type: 'HoldTimerExpires' }
  | { readonly type: 'KeepaliveTimerExpires' }
  | { readonly type: 'DelayOpenTimerExpires' }
  | { readonly type: 'IdleHoldTimerExpires' }
  /** Event 16: the connection this speaker initiated is up. */
  | { readonly type: 'TcpConnectionAcknowledged' }
  /** Event 17: a connection from the peer was accepted. */
  | { readonly type: 'TcpConnectionConfirmed' }
  | { readonly type: 'TcpConnectionFails'; readonly reason?: string }
  | { readonly type: 'BgpOpen'; readonly open: BgpOpen }
  /** Events 21, 22: the codec threw while decoding a header or an OPEN. */
  | { readonly type: 'BgpHeaderErr'; readonly error: BgpNotification }
  | { readonly type: 'BgpOpenMsgErr'; readonly error: BgpNotification }
  /** Event 23: collision detection (§6.8) chose to close this connection. */
  | { readonly type: 'OpenCollisionDump' }
  | { readonly type: 'NotifMsg'; readonly notification: BgpNotificationMessage }
  | { readonly type: 'KeepAliveMsg' }
  | { readonly type: 'UpdateMsg' }
  | { readonly type: 'UpdateMsgErr'; readonly error: BgpNotification };

/** A session that reached OpenConfirm: what the two OPENs agreed. */
export interface SessionParameters {
  /** The peer's AS, from its 4-octet AS capability or else its My Autonomous System field (RFC 6793 §4.1); equals the configured `peerAs`. */
  readonly peerAs: Asn;
  /** The peer's BGP Identifier from its OPEN (RFC 4271 §4.2). */
  readonly peerId: RouterId;
  /** Negotiated hold time in seconds (0: no hold or keepalive timers). */
  readonly holdTime: number;
  /** Seconds between KEEPALIVEs (hold time / 3, or the configured smaller value; 0 when hold is 0). */
  readonly keepaliveTime: number;
  /** The capabilities the peer's OPEN carried, in its order. */
  readonly peerCapabilities: readonly Capability[];
  /** What the codec needs for this session. */
  readonly negotiated: NegotiatedState;
}

/** Why a session went to Idle, for logs and for the peer's last-error line. */
export interface DownReason {
  /** A stable category. */
  readonly kind:
    | 'stopped'
    | 'hold-timer-expired'
    | 'notification-received'
    | 'open-rejected'
    | 'message-error'
    | 'connection-failed'
    | 'collision'
    | 'fsm-error';
  /** In words: `"hold timer expired after 90 s with no KEEPALIVE or UPDATE from 10.0.0.2"`. */
  readonly text: string;
  /** The state the session was in. */
  readonly state: SessionState;
  /** `now` of the event. */
  readonly at: number;
  /** The NOTIFICATION sent or received, if any. */
  readonly notification?: BgpNotificationMessage;
  /** Whether it was sent (`sent`) or received (`received`). */
  readonly direction?: 'sent' | 'received';
}

/** What a step asks the speaker to do, in order. */
export type FsmAction =
  | { readonly type: 'connect' }
  | { readonly type: 'drop-connection' }
  | { readonly type: 'send-open'; readonly open: BgpOpen }
  | { readonly type: 'send-keepalive' }
  | { readonly type: 'send-notification'; readonly notification: BgpNotificationMessage }
  | { readonly type: 'start-timer'; readonly timer: TimerName; readonly seconds: number }
  | { readonly type: 'stop-timer'; readonly timer: TimerName }
  | { readonly type: 'established'; readonly session: SessionParameters }
  /** The session left for Idle; `wasEstablished` says whether its routes must be dropped (or kept stale). */
  | { readonly type: 'down'; readonly reason: DownReason; readonly wasEstablished: boolean };

/** Optional damping of restarts (RFC 4271 §8.1.1 IdleHoldTime, DampPeerOscillations). */
export interface IdleHoldConfig {
  /** Seconds in Idle after the first failure before the FSM restarts itself. */
  readonly initial: number;
  /** The wait doubles on each further failure up to this many seconds. */
  readonly max: number;
  /** A session that stayed Established this long (s) resets the wait to `initial` (default 60). */
  readonly stableAfter?: number;
}

/** The configuration of one peer's FSM. */
export interface FsmConfig {
  /** For messages: usually the peer's address. */
  readonly peerAddress: string;
  /** This speaker's AS: sent in My Autonomous System (AS_TRANS when above 65535) and in the 4-octet AS capability (RFC 6793 §3, §4.1). */
  readonly localAs: Asn;
  /** This speaker's BGP Identifier, sent in OPEN (RFC 4271 §4.2) and used for collision detection (§6.8). */
  readonly localId: RouterId;
  /** The AS the peer must announce in its OPEN (RFC 4271 §6.2). */
  readonly peerAs: Asn;
  /** Proposed hold time in seconds, 0 or at least 3 (default 90). */
  readonly holdTime?: number;
  /** Refuse a peer's non-zero hold time below this (default 3, RFC 4271 §6.2). */
  readonly minHoldTime?: number;
  /** At most this many seconds between KEEPALIVEs (default: hold time / 3). */
  readonly keepaliveTime?: number;
  /** Seconds between connection attempts (default 120, RFC 4271 §10). */
  readonly connectRetryTime?: number;
  /** The hold time used in OpenSent before the OPEN arrives (default 240, "4 minutes", §8.2.2). */
  readonly largeHoldTime?: number;
  /** Wait this many seconds after the connection is up before sending OPEN (DelayOpen, §8.1.1); default off. */
  readonly delayOpenTime?: number;
  /**
   * Damping of restarts: after a failure (not after a stop) the FSM starts the IdleHoldTimer;
   * an AutomaticStart meanwhile is ignored, and IdleHoldTimerExpires starts the session
   * again. Absent: no IdleHoldTimer, and an AutomaticStart in Idle takes effect at once.
   */
  readonly idleHold?: IdleHoldConfig;
  /** Capabilities to send; a 4-octet AS capability with `localAs` is added when missing (RFC 6793 §3). */
  readonly capabilities?: readonly Capability[];
  /** Capabilities the peer must send, else 2/7 Unsupported Capability (RFC 5492 §5). */
  readonly requiredCapabilities?: readonly Capability[];
}

/** The FSM's state between steps. Treat as opaque and immutable. */
export interface FsmState {
  /** The configuration given to {@link createFsm}. */
  readonly config: FsmConfig;
  /** The current session state (RFC 4271 §8.2.2). */
  readonly state: SessionState;
  /**
   * ConnectRetryCounter (RFC 4271 §8.1.1): 0 after a ManualStart or ManualStop, plus 1
   * each time the session goes to Idle for any other reason (a version error aside).
   */
  readonly connectRetryCounter: number;
  /** Passive TCP establishment: wait for the peer to connect (§8.1.1). */
  readonly passive: boolean;
  /** Timers running, as the actions left them. */
  readonly timers: readonly TimerName[];
  /** Set from OpenConfirm on. */
  readonly session?: SessionParameters;
  /** When the hold timer was last (re)started, ms. */
  readonly heardAt?: number;
  /** When the session reached Established, ms. */
  readonly establishedAt?: number;
  /** The current idle hold time, s, when damping is configured. */
  readonly idleHoldTime?: number;
  /** Why the session last went down. */
  readonly lastDown?: DownReason;
}

/** The result of one step. */
export interface FsmStep {
  /** The state to pass to the next {@link step}. */
  readonly state: FsmState;
  /** What the speaker must do now, in this order; may be empty. */
  readonly actions: readonly FsmAction[];
}
