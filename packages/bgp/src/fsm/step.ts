// The BGP finite state machine of RFC 4271 §8.2.2 as a pure step function:
// step(state, event, now) → { state, actions }. No timers and no sockets: the speaker
// runs the timers and the connection the actions name, and feeds back their events.
import { type BgpNotificationMessage, encodeShutdownCommunication } from '../codec/notification.js';
import { CEASE, FSM_ERROR, NOTIFICATION_CODE, OPEN_ERROR, UNSPECIFIC_SUBCODE } from '../codec/notification-codes.js';
import { BGP_VERSION, myAsField } from '../codec/open.js';

import { describeHoldTimerExpiry, describeReceivedNotification } from './describe.js';
import { checkOpen, localCapabilities } from './open-check.js';
import {
  type DownReason,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type FsmStep,
  type SessionParameters,
  type SessionState,
  type TimerName,
  SESSION_STATE,
  TIMER,
} from './types.js';

const S = SESSION_STATE;

/** A new FSM in Idle. */
export function createFsm(config: FsmConfig): FsmState {
  return { config, state: S.IDLE, connectRetryCounter: 0, passive: false, timers: [] };
}

function notification(errorCode: number, errorSubcode: number, data: Uint8Array = new Uint8Array(0)): BgpNotificationMessage {
  return { type: 'notification', errorCode, errorSubcode, data };
}

/** Collects actions and the running timers of one step. */
class Transition {
  readonly actions: FsmAction[] = [];
  readonly timers: Set<TimerName>;
  next: { -readonly [K in keyof FsmState]: FsmState[K] };

  constructor(
    readonly from: FsmState,
    readonly now: number,
  ) {
    this.timers = new Set(from.timers);
    this.next = { ...from };
  }

  start(timer: TimerName, seconds: number): void {
    if (seconds <= 0) return this.stop(timer);
    this.timers.add(timer);
    this.actions.push({ type: 'start-timer', timer, seconds });
    if (timer === TIMER.HOLD) this.next.heardAt = this.now;
  }

  stop(timer: TimerName): void {
    if (!this.timers.delete(timer)) return;
    this.actions.push({ type: 'stop-timer', timer });
  }

  act(action: FsmAction): void {
    this.actions.push(action);
  }

  to(state: SessionState): void {
    this.next.state = state;
  }

  done(): FsmStep {
    return { state: { ...this.next, timers: [...this.timers] }, actions: this.actions };
  }
}

interface DownInit {
  readonly kind: DownReason['kind'];
  readonly text: string;
  readonly send?: BgpNotificationMessage;
  readonly received?: BgpNotificationMessage;
  /** ManualStop sets ConnectRetryCounter to 0; everything else adds 1 (§8.2.2). */
  readonly resetCounter?: boolean;
  /** Leave ConnectRetryCounter as it is (a version error, §8.2.2 event 24). */
  readonly keepCounter?: boolean;
}

function goIdle(t: Transition, init: DownInit): FsmStep {
  const { from, now } = t;
  const config = from.config;
  if (init.send) t.act({ type: 'send-notification', notification: init.send });
  for (const timer of [...t.timers]) t.stop(timer);
  t.act({ type: 'drop-connection' });
  const notification = init.send ?? init.received;
  const reason: DownReason = {
    kind: init.kind,
    text: init.text,
    state: from.state,
    at: now,
    ...(notification ? { notification, direction: init.send ? ('sent' as const) : ('received' as const) } : {}),
  };
  const wasEstablished = from.state === S.ESTABLISHED;
  t.act({ type: 'down', reason, wasEstablished });
  t.next = { config, state: S.IDLE, connectRetryCounter: init.resetCounter ? 0 : init.keepCounter ? from.connectRetryCounter : from.connectRetryCounter + 1, passive: from.passive, timers: [], lastDown: reason };
  // RFC 4271 §8.1.1 DampPeerOscillations: wait longer after each failure.
  const damp = config.idleHold;
  if (damp && init.kind !== 'stopped') {
    const stable = wasEstablished && from.establishedAt !== undefined && now - from.establishedAt >= (damp.stableAfter ?? 60) * 1000;
    const previous = from.idleHoldTime;
    const wait = stable || previous === undefined ? damp.initial : Math.min(damp.max, previous * 2);
    t.next.idleHoldTime = wait;
    t.start(TIMER.IDLE_HOLD, wait);
  } else if (damp) {
    t.next.idleHoldTime = from.idleHoldTime;
  }
  return t.done();
}

function sendOpen(t: Transition): void {
  const c = t.from.config;
  t.act({
    type: 'send-open',
    open: { type: 'open', version: BGP_VERSION, myAs: myAsField(c.localAs), holdTime: c.holdTime ?? 90, bgpIdentifier: c.localId, capabilities: localCapabilities(c) },
  });
}

/** OpenSent after the connection (or the DelayOpen wait): OPEN sent, hold timer at the large value (§8.2.2). */
function openSent(t: Transition): FsmStep {
  t.stop(TIMER.CONNECT_RETRY);
  t.stop(TIMER.DELAY_OPEN);
  sendOpen(t);
  t.start(TIMER.HOLD, t.from.config.largeHoldTime ?? 240);
  t.to(S.OPEN_SENT);
  return t.done();
}

function connected(t: Transition): FsmStep {
  const delay = t.from.config.delayOpenTime ?? 0;
  if (delay > 0) {
    t.stop(TIMER.CONNECT_RETRY);
    t.start(TIMER.DELAY_OPEN, delay);
    return t.done();
  }
  return openSent(t);
}

/** A valid OPEN: KEEPALIVE, negotiated timers, OpenConfirm. */
function acceptOpen(t: Transition, session: SessionParameters, alsoSendOpen: boolean): FsmStep {
  t.stop(TIMER.CONNECT_RETRY);
  t.stop(TIMER.DELAY_OPEN);
  if (alsoSendOpen) sendOpen(t);
  t.act({ type: 'send-keepalive' });
  t.start(TIMER.KEEPALIVE, session.keepaliveTime);
  t.start(TIMER.HOLD, session.holdTime);
  t.next.session = session;
  t.to(S.OPEN_CONFIRM);
  return t.done();
}

function start(t: Transition, passive: boolean, manual: boolean): FsmStep {
  t.stop(TIMER.IDLE_HOLD);
  if (manual) t.next.connectRetryCounter = 0;
  t.next.passive = passive;
  t.start(TIMER.CONNECT_RETRY, t.from.config.connectRetryTime ?? 120);
  if (passive) {
    t.to(S.ACTIVE);
    return t.done();
  }
  t.act({ type: 'connect' });
  t.to(S.CONNECT);
  return t.done();
}

function eventName(e: FsmEvent): string {
  return e.type;
}

/** The shared handling of events that end a session the same way in every state but Idle. */
function commonDown(t: Transition, e: FsmEvent): FsmStep | undefined {
  const c = t.from.config;
  const peer = c.peerAddress;
  switch (e.type) {
    case 'ManualStop': {
      const hasOpen = t.from.state === S.OPEN_SENT || t.from.state === S.OPEN_CONFIRM || t.from.state === S.ESTABLISHED;
      if (e.deconfigured) {
        // RFC 4486 §4: Peer De-configured (RFC 9003 communications go with subcodes 2 and 4 only).
        return goIdle(t, {
          kind: 'stopped',
          text: `peer ${peer} removed from the configuration`,
          resetCounter: true,
          ...(hasOpen ? { send: notification(NOTIFICATION_CODE.CEASE, CEASE.PEER_DECONFIGURED) } : {}),
        });
      }
      // RFC 4486 §4 / RFC 9003: Administrative Shutdown, with the operator's words.
      const data = e.communication === undefined ? undefined : encodeShutdownCommunication(e.communication);
      return goIdle(t, {
        kind: 'stopped',
        text: `stopped by the operator${e.communication ? `: ${JSON.stringify(e.communication)}` : ''}`,
        resetCounter: true,
        ...(hasOpen ? { send: notification(NOTIFICATION_CODE.CEASE, CEASE.ADMINISTRATIVE_SHUTDOWN, data) } : {}),
      });
    }
    case 'AutomaticStop': {
      const hasOpen = t.from.state === S.OPEN_SENT || t.from.state === S.OPEN_CONFIRM || t.from.state === S.ESTABLISHED;
      const n = e.notification;
      const send = n ? notification(n.errorCode, n.errorSubcode, n.data) : notification(NOTIFICATION_CODE.CEASE, UNSPECIFIC_SUBCODE);
      return goIdle(t, { kind: 'stopped', text: n?.reason ?? 'stopped automatically', ...(hasOpen ? { send } : {}) });
    }
    case 'TcpConnectionFails':
      return goIdle(t, { kind: 'connection-failed', text: `connection to peer ${peer} failed${e.reason ? `: ${e.reason}` : ''} in ${t.from.state}` });
    case 'NotifMsg':
      return goIdle(t, {
        kind: 'notification-received',
        text: describeReceivedNotification(e.notification, c),
        received: e.notification,
        // §8.2.2: a version error (NotifMsgVerErr) does not count as a failure.
        keepCounter: isVersionError(e.notification),
      });
    case 'BgpHeaderErr':
    case 'BgpOpenMsgErr':
    case 'UpdateMsgErr':
      return goIdle(t, {
        kind: 'message-error',
        text: `peer ${peer} sent a bad message: ${e.error.reason}`,
        send: notification(e.error.errorCode, e.error.errorSubcode, e.error.data),
      });
    default:
      return undefined;
  }
}

/**
 * HoldTimer_Expires in OpenSent, OpenConfirm or Established (§8.2.2 event 10): NOTIFICATION
 * Hold Timer Expired, release, Idle, with how long the peer was silent in words.
 */
function holdTimerExpired(t: Transition): FsmStep {
  const silentSeconds = Math.round((t.now - (t.from.heardAt ?? t.now)) / 1000);
  return goIdle(t, {
    kind: 'hold-timer-expired',
    text: describeHoldTimerExpiry(t.from.config.peerAddress, silentSeconds, t.from.state),
    send: notification(NOTIFICATION_CODE.HOLD_TIMER_EXPIRED, UNSPECIFIC_SUBCODE),
  });
}

function fsmError(t: Transition, e: FsmEvent, messageSubcode: number): FsmStep {
  const isMessage = e.type === 'BgpOpen' || e.type === 'KeepAliveMsg' || e.type === 'UpdateMsg';
  return goIdle(t, {
    kind: 'fsm-error',
    text: `unexpected ${eventName(e)} in ${t.from.state} from peer ${t.from.config.peerAddress}`,
    send: notification(NOTIFICATION_CODE.FSM_ERROR, isMessage ? messageSubcode : FSM_ERROR.UNSPECIFIED),
  });
}

function checkAndAccept(t: Transition, e: Extract<FsmEvent, { type: 'BgpOpen' }>, alsoSendOpen: boolean): FsmStep {
  const result = checkOpen(e.open, t.from.config);
  if ('errorCode' in result) {
    if (alsoSendOpen) sendOpen(t); // §8.2.2 event 20: the OPEN goes out before the NOTIFICATION
    return goIdle(t, { kind: 'open-rejected', text: result.reason, send: notification(result.errorCode, result.errorSubcode, result.data) });
  }
  return acceptOpen(t, result, alsoSendOpen);
}

/**
 * One step of the FSM of RFC 4271 §8.2.2: the next state and the actions, in order.
 * `now` is the current time in milliseconds (any monotonic clock). Pure: the same
 * inputs give the same outputs.
 */
export function step(state: FsmState, event: FsmEvent, now: number): FsmStep {
  const t = new Transition(state, now);
  const c = state.config;
  switch (state.state) {
    case S.IDLE:
      switch (event.type) {
        case 'ManualStart':
          return start(t, event.passive ?? false, true);
        case 'AutomaticStart':
          // DampPeerOscillations: automatic starts wait for the IdleHoldTimer (§8.1.1).
          if (t.timers.has(TIMER.IDLE_HOLD)) return t.done();
          return start(t, event.passive ?? state.passive, false);
        case 'IdleHoldTimerExpires':
          t.timers.delete(TIMER.IDLE_HOLD);
          return start(t, state.passive, false);
        case 'TcpConnectionAcknowledged':
        case 'TcpConnectionConfirmed':
          // §8.2.2: Idle refuses connections.
          t.act({ type: 'drop-connection' });
          return t.done();
        default:
          return t.done();
      }

    case S.CONNECT:
    case S.ACTIVE: {
      switch (event.type) {
        case 'ManualStart':
        case 'AutomaticStart':
          return t.done();
        case 'ConnectRetryTimerExpires':
          if (state.passive) {
            // A passive peer keeps waiting for the peer to connect (§8.1.1 PassiveTcpEstablishment).
            t.start(TIMER.CONNECT_RETRY, c.connectRetryTime ?? 120);
            return t.done();
          }
          if (state.state === S.CONNECT) t.act({ type: 'drop-connection' });
          t.stop(TIMER.DELAY_OPEN);
          t.start(TIMER.CONNECT_RETRY, c.connectRetryTime ?? 120);
          t.act({ type: 'connect' });
          t.to(S.CONNECT);
          return t.done();
        case 'DelayOpenTimerExpires':
          t.timers.delete(TIMER.DELAY_OPEN);
          return openSent(t);
        case 'TcpConnectionAcknowledged':
        case 'TcpConnectionConfirmed':
          return connected(t);
        case 'TcpConnectionFails':
          if (t.timers.has(TIMER.DELAY_OPEN)) {
            t.start(TIMER.CONNECT_RETRY, c.connectRetryTime ?? 120);
            t.stop(TIMER.DELAY_OPEN);
            t.act({ type: 'drop-connection' });
            t.to(S.ACTIVE);
            return t.done();
          }
          return commonDown(t, event) ?? t.done();
        case 'BgpOpen':
          // Event 20: an OPEN while the DelayOpenTimer runs.
          if (t.timers.has(TIMER.DELAY_OPEN)) return checkAndAccept(t, event, true);
          return goIdle(t, { kind: 'fsm-error', text: `unexpected OPEN in ${state.state} from peer ${c.peerAddress}` });
        case 'NotifMsg':
        case 'ManualStop':
        case 'AutomaticStop':
        case 'BgpHeaderErr':
        case 'BgpOpenMsgErr':
          return commonDown(t, event) ?? t.done();
        default:
          // §8.2.2 "any other event": release, count, Idle (no NOTIFICATION before an OPEN).
          return goIdle(t, { kind: 'fsm-error', text: `unexpected ${eventName(event)} in ${state.state} from peer ${c.peerAddress}` });
      }
    }

    case S.OPEN_SENT:
      switch (event.type) {
        case 'ManualStart':
        case 'AutomaticStart':
        case 'TcpConnectionAcknowledged':
        case 'TcpConnectionConfirmed':
          // A second connection is the collision detection's business (§6.8).
          return t.done();
        case 'HoldTimerExpires':
          return holdTimerExpired(t);
        case 'TcpConnectionFails':
          // §8.2.2: back to Active to wait for the peer, ConnectRetryTimer restarted.
          t.act({ type: 'drop-connection' });
          t.stop(TIMER.HOLD);
          t.start(TIMER.CONNECT_RETRY, c.connectRetryTime ?? 120);
          t.to(S.ACTIVE);
          return t.done();
        case 'BgpOpen':
          return checkAndAccept(t, event, false);
        case 'OpenCollisionDump':
          return collisionDump(t);
        default:
          return commonDown(t, event) ?? fsmError(t, event, FSM_ERROR.UNEXPECTED_MESSAGE_IN_OPEN_SENT);
      }

    case S.OPEN_CONFIRM:
    case S.ESTABLISHED: {
      const established = state.state === S.ESTABLISHED;
      const session = state.session;
      switch (event.type) {
        case 'ManualStart':
        case 'AutomaticStart':
        case 'TcpConnectionAcknowledged':
        case 'TcpConnectionConfirmed':
          return t.done();
        case 'HoldTimerExpires':
          return holdTimerExpired(t);
        case 'KeepaliveTimerExpires':
          t.act({ type: 'send-keepalive' });
          t.start(TIMER.KEEPALIVE, session?.keepaliveTime ?? 0);
          return t.done();
        case 'OpenCollisionDump':
          return collisionDump(t);
        case 'KeepAliveMsg':
          t.start(TIMER.HOLD, session?.holdTime ?? 0);
          if (!established && session) {
            t.to(S.ESTABLISHED);
            t.next.establishedAt = now;
            t.act({ type: 'established', session });
          }
          return t.done();
        case 'UpdateMsg':
          if (!established) return fsmError(t, event, FSM_ERROR.UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM);
          t.start(TIMER.HOLD, session?.holdTime ?? 0);
          return t.done();
        case 'BgpOpen':
          return fsmError(t, event, established ? FSM_ERROR.UNEXPECTED_MESSAGE_IN_ESTABLISHED : FSM_ERROR.UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM);
        default:
          return commonDown(t, event) ?? fsmError(t, event, established ? FSM_ERROR.UNEXPECTED_MESSAGE_IN_ESTABLISHED : FSM_ERROR.UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM);
      }
    }
  }
}

function collisionDump(t: Transition): FsmStep {
  return goIdle(t, {
    kind: 'collision',
    text: `closed this connection to peer ${t.from.config.peerAddress}: the other connection won the collision (RFC 4271 §6.8)`,
    send: notification(NOTIFICATION_CODE.CEASE, CEASE.CONNECTION_COLLISION_RESOLUTION),
  });
}

/** Whether a NOTIFICATION is OPEN Message Error / Unsupported Version Number (event 24, NotifMsgVerErr). */
export function isVersionError(n: BgpNotificationMessage): boolean {
  return n.errorCode === NOTIFICATION_CODE.OPEN_MESSAGE_ERROR && n.errorSubcode === OPEN_ERROR.UNSUPPORTED_VERSION_NUMBER;
}
