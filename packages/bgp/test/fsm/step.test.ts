// The FSM of RFC 4271 §8.2.2 as tables: from a state, an event, at a fake time → the
// next state and the exact actions. No test sleeps.
import { describe, expect, it } from 'vitest';

import { type FsmEvent, type FsmState, type FsmStep, type SessionState, asn, createFsm, prefixLimitNotification, step } from '@twill/bgp';

import { CONFIG, TO_ESTABLISHED, drive, kinds, peerOpen } from './helpers.js';

/** Events that reach each state at t=0..2. */
const PREFIX: Record<SessionState, readonly (readonly [number, FsmEvent])[]> = {
  Idle: [],
  Connect: [[0, { type: 'ManualStart' }]],
  Active: [[0, { type: 'ManualStart', passive: true }]],
  OpenSent: [
    [0, { type: 'ManualStart' }],
    [1, { type: 'TcpConnectionAcknowledged' }],
  ],
  OpenConfirm: TO_ESTABLISHED.slice(0, 3),
  Established: TO_ESTABLISHED,
};

function reach(state: SessionState): FsmState {
  const s = drive(PREFIX[state]).state;
  expect(s.state).toBe(state);
  return s;
}

interface Row {
  readonly from: SessionState;
  readonly event: FsmEvent;
  readonly to: SessionState;
  readonly actions: readonly string[];
}

const NOTIF_CEASE = { type: 'notification', errorCode: 6, errorSubcode: 2, data: new Uint8Array(0) } as const;

const rows: Row[] = [
  // Idle
  { from: 'Idle', event: { type: 'ManualStart' }, to: 'Connect', actions: ['start connect-retry 120', 'connect'] },
  { from: 'Idle', event: { type: 'ManualStart', passive: true }, to: 'Active', actions: ['start connect-retry 120'] },
  { from: 'Idle', event: { type: 'AutomaticStart' }, to: 'Connect', actions: ['start connect-retry 120', 'connect'] },
  { from: 'Idle', event: { type: 'ManualStop' }, to: 'Idle', actions: [] },
  { from: 'Idle', event: { type: 'TcpConnectionConfirmed' }, to: 'Idle', actions: ['drop-connection'] },
  { from: 'Idle', event: { type: 'KeepAliveMsg' }, to: 'Idle', actions: [] },
  // Connect
  { from: 'Connect', event: { type: 'TcpConnectionAcknowledged' }, to: 'OpenSent', actions: ['stop connect-retry', 'send-open', 'start hold 240'] },
  { from: 'Connect', event: { type: 'TcpConnectionConfirmed' }, to: 'OpenSent', actions: ['stop connect-retry', 'send-open', 'start hold 240'] },
  { from: 'Connect', event: { type: 'ConnectRetryTimerExpires' }, to: 'Connect', actions: ['drop-connection', 'start connect-retry 120', 'connect'] },
  { from: 'Connect', event: { type: 'TcpConnectionFails' }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  { from: 'Connect', event: { type: 'ManualStop' }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  { from: 'Connect', event: { type: 'ManualStart' }, to: 'Connect', actions: [] },
  { from: 'Connect', event: { type: 'KeepAliveMsg' }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  { from: 'Connect', event: { type: 'HoldTimerExpires' }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  // Active (passive peer)
  { from: 'Active', event: { type: 'TcpConnectionConfirmed' }, to: 'OpenSent', actions: ['stop connect-retry', 'send-open', 'start hold 240'] },
  { from: 'Active', event: { type: 'ConnectRetryTimerExpires' }, to: 'Active', actions: ['start connect-retry 120'] },
  { from: 'Active', event: { type: 'TcpConnectionFails' }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  { from: 'Active', event: { type: 'ManualStop' }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  { from: 'Active', event: { type: 'UpdateMsg' }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  // OpenSent
  { from: 'OpenSent', event: { type: 'BgpOpen', open: peerOpen() }, to: 'OpenConfirm', actions: ['send-keepalive', 'start keepalive 30', 'start hold 90'] },
  { from: 'OpenSent', event: { type: 'BgpOpen', open: peerOpen({ holdTime: 9 }) }, to: 'OpenConfirm', actions: ['send-keepalive', 'start keepalive 3', 'start hold 9'] },
  { from: 'OpenSent', event: { type: 'BgpOpen', open: peerOpen({ holdTime: 0 }) }, to: 'OpenConfirm', actions: ['send-keepalive', 'stop hold'] },
  { from: 'OpenSent', event: { type: 'HoldTimerExpires' }, to: 'Idle', actions: ['notify 4/0', 'stop hold', 'drop-connection', 'down'] },
  { from: 'OpenSent', event: { type: 'TcpConnectionFails' }, to: 'Active', actions: ['drop-connection', 'stop hold', 'start connect-retry 120'] },
  { from: 'OpenSent', event: { type: 'TcpConnectionConfirmed' }, to: 'OpenSent', actions: [] },
  { from: 'OpenSent', event: { type: 'ManualStop' }, to: 'Idle', actions: ['notify 6/2', 'stop hold', 'drop-connection', 'down'] },
  { from: 'OpenSent', event: { type: 'OpenCollisionDump' }, to: 'Idle', actions: ['notify 6/7', 'stop hold', 'drop-connection', 'down'] },
  { from: 'OpenSent', event: { type: 'KeepAliveMsg' }, to: 'Idle', actions: ['notify 5/1', 'stop hold', 'drop-connection', 'down'] },
  { from: 'OpenSent', event: { type: 'UpdateMsg' }, to: 'Idle', actions: ['notify 5/1', 'stop hold', 'drop-connection', 'down'] },
  { from: 'OpenSent', event: { type: 'KeepaliveTimerExpires' }, to: 'Idle', actions: ['notify 5/0', 'stop hold', 'drop-connection', 'down'] },
  { from: 'OpenSent', event: { type: 'NotifMsg', notification: NOTIF_CEASE }, to: 'Idle', actions: ['stop hold', 'drop-connection', 'down'] },
  // OpenConfirm
  { from: 'OpenConfirm', event: { type: 'KeepAliveMsg' }, to: 'Established', actions: ['start hold 90', 'established'] },
  { from: 'OpenConfirm', event: { type: 'KeepaliveTimerExpires' }, to: 'OpenConfirm', actions: ['send-keepalive', 'start keepalive 30'] },
  { from: 'OpenConfirm', event: { type: 'HoldTimerExpires' }, to: 'Idle', actions: ['notify 4/0', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'OpenConfirm', event: { type: 'UpdateMsg' }, to: 'Idle', actions: ['notify 5/2', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'OpenConfirm', event: { type: 'BgpOpen', open: peerOpen() }, to: 'Idle', actions: ['notify 5/2', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'OpenConfirm', event: { type: 'OpenCollisionDump' }, to: 'Idle', actions: ['notify 6/7', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'OpenConfirm', event: { type: 'TcpConnectionFails' }, to: 'Idle', actions: ['stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'OpenConfirm', event: { type: 'ManualStop' }, to: 'Idle', actions: ['notify 6/2', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  // Established
  { from: 'Established', event: { type: 'KeepAliveMsg' }, to: 'Established', actions: ['start hold 90'] },
  { from: 'Established', event: { type: 'UpdateMsg' }, to: 'Established', actions: ['start hold 90'] },
  { from: 'Established', event: { type: 'KeepaliveTimerExpires' }, to: 'Established', actions: ['send-keepalive', 'start keepalive 30'] },
  { from: 'Established', event: { type: 'HoldTimerExpires' }, to: 'Idle', actions: ['notify 4/0', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'Established', event: { type: 'BgpOpen', open: peerOpen() }, to: 'Idle', actions: ['notify 5/3', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'Established', event: { type: 'ConnectRetryTimerExpires' }, to: 'Idle', actions: ['notify 5/0', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'Established', event: { type: 'TcpConnectionConfirmed' }, to: 'Established', actions: [] },
  { from: 'Established', event: { type: 'TcpConnectionFails' }, to: 'Idle', actions: ['stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'Established', event: { type: 'NotifMsg', notification: NOTIF_CEASE }, to: 'Idle', actions: ['stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'Established', event: { type: 'ManualStop', communication: 'maintenance' }, to: 'Idle', actions: ['notify 6/2', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'Established', event: { type: 'ManualStop', deconfigured: true }, to: 'Idle', actions: ['notify 6/3', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
  { from: 'OpenSent', event: { type: 'ManualStop', deconfigured: true }, to: 'Idle', actions: ['notify 6/3', 'stop hold', 'drop-connection', 'down'] },
  { from: 'Connect', event: { type: 'ManualStop', deconfigured: true }, to: 'Idle', actions: ['stop connect-retry', 'drop-connection', 'down'] },
  { from: 'Established', event: { type: 'OpenCollisionDump' }, to: 'Idle', actions: ['notify 6/7', 'stop hold', 'stop keepalive', 'drop-connection', 'down'] },
];

describe('FSM transitions (RFC 4271 §8.2.2)', () => {
  it.each(rows)('$from + $event.type → $to', ({ from, event, to, actions }) => {
    const s = step(reach(from), event, 10_000);
    expect(s.state.state).toBe(to);
    expect(kinds(s)).toEqual(actions);
  });

  it('sends an OPEN with AS_TRANS and the 4-octet AS capability for a 4-octet AS', () => {
    const s = step(createFsm({ ...CONFIG, localAs: asn(4_200_000_000) }), { type: 'ManualStart' }, 0);
    const open = step(s.state, { type: 'TcpConnectionAcknowledged' }, 1).actions.find((a) => a.type === 'send-open');
    expect(open).toMatchObject({ open: { myAs: 23456, holdTime: 90, bgpIdentifier: '10.0.0.1', capabilities: [{ kind: 'four-octet-as', asn: 4_200_000_000 }] } });
  });

  it('reports established with the negotiated session', () => {
    const s = drive(TO_ESTABLISHED);
    expect(s.actions.at(-1)).toMatchObject({ type: 'established', session: { peerAs: 65002, peerId: '10.0.0.2', holdTime: 90, keepaliveTime: 30, negotiated: { fourOctetAs: true } } });
  });

  it('counts connection retries and resets them on ManualStop', () => {
    let s = drive([[0, { type: 'ManualStart' }], [1, { type: 'TcpConnectionFails' }]]);
    expect(s.state.connectRetryCounter).toBe(1);
    s = drive([[2, { type: 'ManualStart' }], [3, { type: 'ManualStop' }]], CONFIG, s.state);
    expect(s.state.connectRetryCounter).toBe(0);
  });

  it('ManualStop in Established sends the shutdown communication (RFC 9003)', () => {
    const s = drive([...TO_ESTABLISHED, [5, { type: 'ManualStop', communication: 'maintenance' }]]);
    const sent = s.actions.find((a) => a.type === 'send-notification');
    expect(sent).toMatchObject({ notification: { errorCode: 6, errorSubcode: 2, data: Uint8Array.of(11, ...new TextEncoder().encode('maintenance')) } });
    expect(s.state.lastDown?.text).toBe('stopped by the operator: "maintenance"');
  });
});

describe('DelayOpen (RFC 4271 §8.1.1)', () => {
  const config = { ...CONFIG, delayOpenTime: 5 };
  it('waits before sending OPEN, then sends it when the timer expires', () => {
    let s = drive([[0, { type: 'ManualStart' }], [1, { type: 'TcpConnectionAcknowledged' }]], config);
    expect([s.state.state, kinds(s)]).toEqual(['Connect', ['stop connect-retry', 'start delay-open 5']]);
    s = drive([[6, { type: 'DelayOpenTimerExpires' }]], config, s.state);
    expect([s.state.state, kinds(s)]).toEqual(['OpenSent', ['send-open', 'start hold 240']]);
  });

  it('answers an OPEN that arrives during the wait with OPEN and KEEPALIVE', () => {
    const s = drive([[0, { type: 'ManualStart' }], [1, { type: 'TcpConnectionAcknowledged' }], [2, { type: 'BgpOpen', open: peerOpen() }]], config);
    expect([s.state.state, kinds(s)]).toEqual(['OpenConfirm', ['stop delay-open', 'send-open', 'send-keepalive', 'start keepalive 30', 'start hold 90']]);
  });
});

describe('IdleHoldTime damping (RFC 4271 §8.1.1)', () => {
  const config = { ...CONFIG, idleHold: { initial: 5, max: 20 } };
  it('restarts after the idle hold time, doubling it on each failure up to the maximum', () => {
    let s: FsmStep = drive([[0, { type: 'ManualStart' }], [1, { type: 'TcpConnectionFails' }]], config);
    const waits: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const timer = s.actions.find((a) => a.type === 'start-timer' && a.timer === 'idle-hold');
      waits.push(timer?.type === 'start-timer' ? timer.seconds : -1);
      // Automatic starts are ignored while the timer runs.
      expect(step(s.state, { type: 'AutomaticStart' }, 2000).actions).toEqual([]);
      s = drive([[100, { type: 'IdleHoldTimerExpires' }], [101, { type: 'TcpConnectionFails' }]], config, s.state);
    }
    expect(waits).toEqual([5, 10, 20, 20]);
  });
});

describe('OPEN checks (RFC 4271 §6.2) with the exact NOTIFICATION', () => {
  const cases = [
    { name: 'wrong peer AS', open: peerOpen({ myAs: asn(65003), capabilities: [] }), code: [2, 2], data: [], text: 'peer 10.0.0.2 sent OPEN with AS 65003, configured 65002' },
    { name: 'wrong 4-octet AS', open: peerOpen({ myAs: asn(23456), capabilities: [{ kind: 'four-octet-as', asn: asn(4_200_000_001) }] }), code: [2, 2], data: [], text: 'peer 10.0.0.2 sent OPEN with AS 4200000001, configured 65002' },
    { name: 'My AS inconsistent with the 4-octet AS', open: peerOpen({ myAs: asn(65009), capabilities: [{ kind: 'four-octet-as', asn: asn(65002) }] }), code: [2, 2], data: [], text: 'peer 10.0.0.2 sent OPEN with My AS 65009 but 4-octet AS 65002' },
    { name: 'AS_TRANS without the capability', open: peerOpen({ myAs: asn(23456), capabilities: [] }), code: [2, 2], data: [], text: 'peer 10.0.0.2 sent OPEN with AS 23456, configured 65002 (AS_TRANS without the 4-octet AS capability)' },
    { name: 'version 3', open: peerOpen({ version: 3 }), code: [2, 1], data: [0, 4], text: 'peer 10.0.0.2 sent OPEN with version 3, this speaker runs 4' },
    { name: 'hold time 2', open: peerOpen({ holdTime: 2 }), code: [2, 6], data: [], text: 'peer 10.0.0.2 sent OPEN with hold time 2 s, the minimum is 3 s (or 0)' },
    { name: 'our own identifier on iBGP', open: peerOpen({ myAs: asn(65001), bgpIdentifier: '10.0.0.1', capabilities: [] }), code: [2, 3], data: [], text: 'peer 10.0.0.2 sent OPEN with BGP Identifier 10.0.0.1, the same as ours in AS 65001', config: { peerAs: asn(65001) } },
    {
      name: 'missing required IPv6 capability',
      open: peerOpen(),
      code: [2, 7],
      data: [1, 4, 0, 2, 0, 1],
      text: 'peer 10.0.0.2 sent OPEN without the required capabilities: multiprotocol IPv6 unicast',
      config: { requiredCapabilities: [{ kind: 'multiprotocol' as const, afi: 2, safi: 1 }] },
    },
  ];
  it.each(cases)('$name → $code', ({ open, code, data, text, config }) => {
    const c = { ...CONFIG, ...config };
    const s = drive([[0, { type: 'ManualStart' }], [1, { type: 'TcpConnectionAcknowledged' }], [2, { type: 'BgpOpen', open }]], c);
    expect(s.state.state).toBe('Idle');
    const sent = s.actions.find((a) => a.type === 'send-notification');
    expect(sent).toEqual({ type: 'send-notification', notification: { type: 'notification', errorCode: code[0], errorSubcode: code[1], data: Uint8Array.from(data) } });
    expect(s.state.lastDown).toMatchObject({ kind: 'open-rejected', text, direction: 'sent' });
  });

  it('accepts an eBGP peer with the same identifier (RFC 6286 §2.2: unique within an AS)', () => {
    const s = drive([[0, { type: 'ManualStart' }], [1, { type: 'TcpConnectionAcknowledged' }], [2, { type: 'BgpOpen', open: peerOpen({ bgpIdentifier: '10.0.0.1' }) }]]);
    expect(s.state.state).toBe('OpenConfirm');
  });
});

describe('reasons in words', () => {
  it('hold timer expiry says how long and from whom', () => {
    const s = drive([...TO_ESTABLISHED, [30, { type: 'KeepAliveMsg' }], [120, { type: 'HoldTimerExpires' }]]);
    expect(s.actions.at(-1)).toMatchObject({ type: 'down', wasEstablished: true });
    expect(s.state.lastDown?.text).toBe('hold timer expired after 90 s with no KEEPALIVE or UPDATE from peer 10.0.0.2');
  });

  it('hold timer expiry in OpenSent', () => {
    const s = drive([[0, { type: 'ManualStart' }], [1, { type: 'TcpConnectionAcknowledged' }], [241, { type: 'HoldTimerExpires' }]]);
    expect(s.state.lastDown?.text).toBe('hold timer expired after 240 s in OpenSent with no OPEN from peer 10.0.0.2');
  });

  it('hold timer expiry in OpenConfirm: our OPEN was never acknowledged', () => {
    const toOpenConfirm = TO_ESTABLISHED.slice(0, 3);
    const s = drive([...toOpenConfirm, [91, { type: 'HoldTimerExpires' }]]);
    expect(s.state.lastDown?.text).toBe(
      'hold timer expired after 90 s in OpenConfirm: peer 10.0.0.2 sent its OPEN but never acknowledged ours; it may not receive our packets (TTL security, a one-way filter)',
    );
  });

  it.each([
    [{ errorCode: 2, errorSubcode: 2, data: new Uint8Array(0) }, "peer 10.0.0.2 sent NOTIFICATION OPEN Message Error / Bad Peer AS: it does not expect our AS 65001: check its neighbor's remote AS"],
    [{ errorCode: 4, errorSubcode: 0, data: new Uint8Array(0) }, 'peer 10.0.0.2 sent NOTIFICATION Hold Timer Expired / Unspecific: it heard no KEEPALIVE from us within its hold time'],
    [{ errorCode: 6, errorSubcode: 2, data: new Uint8Array(0), shutdownCommunication: 'upgrade' }, 'peer 10.0.0.2 sent NOTIFICATION Cease / Administrative Shutdown: "upgrade"'],
    [{ errorCode: 6, errorSubcode: 1, data: Uint8Array.of(0, 1, 1, 0, 0, 0, 100) }, 'peer 10.0.0.2 sent NOTIFICATION Cease / Maximum Number of Prefixes Reached: we sent more than its limit of 100 prefixes'],
  ])('received NOTIFICATION %#', (n, text) => {
    const s = drive([...TO_ESTABLISHED, [5, { type: 'NotifMsg', notification: { type: 'notification', ...n } }]]);
    expect(s.state.lastDown).toMatchObject({ kind: 'notification-received', text, direction: 'received' });
  });

  it('AutomaticStop with the prefix-limit NOTIFICATION sends it and records its reason', () => {
    const notification = prefixLimitNotification(4, 100, '10.0.0.2');
    const s = drive([...TO_ESTABLISHED, [5, { type: 'AutomaticStop', notification }]]);
    expect(s.actions[0]).toEqual({ type: 'send-notification', notification: { type: 'notification', errorCode: 6, errorSubcode: 1, data: Uint8Array.of(0, 1, 1, 0, 0, 0, 100) } });
    expect(s.state.lastDown?.text).toBe('peer 10.0.0.2 sent more than 100 prefixes (IPv4 unicast), the configured limit');
    expect(s.state.connectRetryCounter).toBe(1);
  });
});
