// Builders for FSM tests: a configuration, an OPEN from the peer, and a driver that
// feeds events at fake times.
import { type BgpOpen, type FsmConfig, type FsmEvent, type FsmState, type FsmStep, asn, createFsm, routerId, step } from '@twill/bgp';

/** Local AS 65001 (10.0.0.1), peer 10.0.0.2 in AS 65002, hold 90 s. */
export const CONFIG: FsmConfig = {
  peerAddress: '10.0.0.2',
  localAs: asn(65001),
  localId: routerId('10.0.0.1'),
  peerAs: asn(65002),
  holdTime: 90,
  connectRetryTime: 120,
};

/** The peer's OPEN: AS 65002, id 10.0.0.2, hold 90, the 4-octet AS capability. */
export function peerOpen(overrides: Partial<BgpOpen> = {}): BgpOpen {
  return { type: 'open', version: 4, myAs: asn(65002), holdTime: 90, bgpIdentifier: '10.0.0.2', capabilities: [{ kind: 'four-octet-as', asn: asn(65002) }], ...overrides };
}

/** Runs events from a fresh FSM; returns the last step. Times are in seconds. */
export function drive(events: readonly (readonly [number, FsmEvent])[], config: FsmConfig = CONFIG, from?: FsmState): FsmStep {
  let state = from ?? createFsm(config);
  let last: FsmStep = { state, actions: [] };
  for (const [seconds, event] of events) {
    last = step(state, event, seconds * 1000);
    state = last.state;
  }
  return last;
}

/** The events that bring an active peer to Established at t=0..2. */
export const TO_ESTABLISHED: readonly (readonly [number, FsmEvent])[] = [
  [0, { type: 'ManualStart' }],
  [1, { type: 'TcpConnectionAcknowledged' }],
  [1, { type: 'BgpOpen', open: peerOpen() }],
  [2, { type: 'KeepAliveMsg' }],
];

/** Action types, for compact expectations. */
export function kinds(s: FsmStep): string[] {
  return s.actions.map((a) => (a.type === 'start-timer' ? `start ${a.timer} ${a.seconds}` : a.type === 'stop-timer' ? `stop ${a.timer}` : a.type === 'send-notification' ? `notify ${a.notification.errorCode}/${a.notification.errorSubcode}` : a.type));
}
