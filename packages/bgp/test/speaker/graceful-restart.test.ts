// Graceful restart (RFC 4724) between two speakers over the in-memory transport with a
// manual clock: A restarts (stopForRestart, then a new A with `restarting`), B is the
// helper. What B keeps, for how long, and when it lets go.
import { describe, expect, it } from 'vitest';

import { type FibBatch, type GracefulRestartConfig, BgpSpeaker, CollectingFibSink, asn, familiesToFlush, helperRetention, prefixToText, routerId } from '@twill/bgp';

import { ManualClock, MemoryNetwork } from './helpers.js';

function installed(batches: readonly FibBatch[]): string[] {
  const table = new Map<string, string>();
  for (const b of batches) {
    for (const p of b.remove) table.delete(prefixToText(p));
    for (const r of b.add) table.set(prefixToText(r.prefix), r.nextHops.join(','));
  }
  return [...table.keys()].sort();
}

interface World {
  clock: ManualClock;
  net: MemoryNetwork;
  b: BgpSpeaker;
  fibB: CollectingFibSink;
  /** Starts a new A and lets `settleMs` pass (default 3 s: enough for B's Idle wait and A's retry). */
  startA(gr: GracefulRestartConfig | undefined, prefixes: string[], settleMs?: number): Promise<BgpSpeaker>;
}

/** B (10.0.0.2, passive helper) and a way to start A (10.0.0.1) again and again. */
async function world(grB: GracefulRestartConfig | 'off' = { restartTime: 120 }): Promise<World> {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const fibB = new CollectingFibSink();
  const b = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.0.0.2'), fib: fibB, transport: net.transport('10.0.0.2'), clock, ...(grB === 'off' ? {} : { gracefulRestart: grB }) });
  b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true, idleHold: { initial: 1, max: 2 } });
  await b.start();
  const startA = async (gr: GracefulRestartConfig | undefined, prefixes: string[], settleMs = 3000): Promise<BgpSpeaker> => {
    const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.1'), clock, ...(gr ? { gracefulRestart: gr } : {}) });
    a.addPeer({ address: '10.0.0.2', asn: asn(65002), idleHold: { initial: 1, max: 2 } });
    for (const p of prefixes) a.originate(p);
    await a.start();
    // B may still wait in Idle after the last session (1 s); A retries after its own 1 s.
    await clock.advance(settleMs);
    return a;
  };
  return { clock, net, b, fibB, startA };
}

describe('graceful restart', () => {
  it('keeps a restarting peer\'s routes, stale, until its End-of-RIB, then drops what it did not resend', async () => {
    const { clock, b, fibB, startA } = await world();
    const a1 = await startA({ restartTime: 60 }, ['10.244.1.0/26', '10.244.2.0/26']);
    expect(installed(fibB.batches)).toEqual(['10.244.1.0/26', '10.244.2.0/26']);

    await a1.stopForRestart();
    await clock.advance(100);
    expect(b.peers()[0]).toMatchObject({ state: 'Idle', receivedPrefixes: 2, stalePrefixes: 2 });
    expect(installed(fibB.batches)).toEqual(['10.244.1.0/26', '10.244.2.0/26']);

    await startA({ restartTime: 60, restarting: true }, ['10.244.1.0/26']);
    expect(b.peers()[0]).toMatchObject({ state: 'Established', receivedPrefixes: 1, stalePrefixes: 0 });
    expect(installed(fibB.batches)).toEqual(['10.244.1.0/26']);
  });

  it('leaves the stopped speaker Idle, and able to start again', async () => {
    const { clock, b, startA } = await world();
    const a = await startA({ restartTime: 60 }, ['10.244.1.0/26']);
    await a.stopForRestart();
    await clock.advance(1500);
    expect(a.peers()[0]).toMatchObject({ state: 'Idle', lastDown: undefined });
    await a.start();
    await clock.advance(1500);
    expect(a.peers()[0]?.state).toBe('Established');
    expect(b.peers()[0]).toMatchObject({ state: 'Established', receivedPrefixes: 1, stalePrefixes: 0 });
  });

  it("drops the routes when the peer's restart time runs out", async () => {
    const { clock, b, fibB, startA } = await world();
    const a1 = await startA({ restartTime: 30 }, ['10.244.1.0/26']);
    await a1.stopForRestart();
    await clock.advance(29_900);
    expect(b.peers()[0]?.stalePrefixes).toBe(1);
    await clock.advance(200);
    expect(b.peers()[0]).toMatchObject({ receivedPrefixes: 0, stalePrefixes: 0 });
    expect(installed(fibB.batches)).toEqual([]);
  });

  it('drops the stale routes at once when the peer comes back without its forwarding state', async () => {
    const { clock, b, startA } = await world();
    const a1 = await startA({ restartTime: 60 }, ['10.244.1.0/26']);
    await a1.stopForRestart();
    await clock.advance(100);
    // Not `restarting`: the new OPEN has no F bit. Its new table replaces the old one.
    await startA({ restartTime: 60 }, ['10.244.9.0/26']);
    expect(b.peers()[0]).toMatchObject({ state: 'Established', receivedPrefixes: 1, stalePrefixes: 0 });
  });

  it('withdraws at once when either side did not announce graceful restart, or the peer sent a NOTIFICATION', async () => {
    const noHelper = await world('off');
    const a1 = await noHelper.startA({ restartTime: 60 }, ['10.244.1.0/26']);
    await a1.stopForRestart();
    await noHelper.clock.advance(100);
    expect(noHelper.b.peers()[0]).toMatchObject({ receivedPrefixes: 0, stalePrefixes: 0 });

    const helper = await world();
    const a2 = await helper.startA(undefined, ['10.244.1.0/26']);
    await a2.stopForRestart();
    await helper.clock.advance(100);
    expect(helper.b.peers()[0]).toMatchObject({ receivedPrefixes: 0, stalePrefixes: 0 });

    const stopped = await world();
    const a3 = await stopped.startA({ restartTime: 60 }, ['10.244.1.0/26']);
    await a3.stop('maintenance');
    await stopped.clock.advance(100);
    expect(stopped.b.peers()[0]).toMatchObject({ receivedPrefixes: 0, stalePrefixes: 0 });
  });

  it("the restarting speaker holds its table until the peer's End-of-RIB, or the deferral time", async () => {
    const { clock, net, b, startA } = await world();
    const a1 = await startA({ restartTime: 60 }, ['10.244.1.0/26']);
    await a1.stopForRestart();
    await clock.advance(1500);
    const a2 = await startA({ restartTime: 60, restarting: true, selectionDeferralTime: 10 }, ['10.244.1.0/26'], 1);
    expect(a2.peers()[0]?.state).toBe('Established');
    // B's End-of-RIB (due after its 20 ms flush delay) never arrives: A keeps its table back...
    net.silenced.add('10.0.0.2');
    await clock.advance(9000);
    expect(b.peers()[0]).toMatchObject({ state: 'Established', stalePrefixes: 1 });
    // ...until its deferral time ends.
    await clock.advance(1100);
    expect(b.peers()[0]).toMatchObject({ receivedPrefixes: 1, stalePrefixes: 0 });
  });
});

describe('graceful restart decisions', () => {
  const down = (kind: 'connection-failed' | 'notification-received' | 'hold-timer-expired') => ({ kind, text: '', state: 'Established' as const, at: 0 });
  const peer = { kind: 'graceful-restart' as const, restarting: false, notification: false, restartTime: 90, families: [{ afi: 1, safi: 1, forwardingPreserved: false }] };

  it.each([
    ['a TCP failure, both sides capable', { restartTime: 120 }, peer, down('connection-failed'), 90],
    ['a NOTIFICATION', { restartTime: 120 }, peer, down('notification-received'), 0],
    ['a hold timer expiry (a NOTIFICATION was sent)', { restartTime: 120 }, peer, down('hold-timer-expired'), 0],
    ['no local configuration', undefined, peer, down('connection-failed'), 0],
    ['no capability from the peer', { restartTime: 120 }, undefined, down('connection-failed'), 0],
    ['a restart time of 0', { restartTime: 120 }, { ...peer, restartTime: 0 }, down('connection-failed'), 0],
    ['no families', { restartTime: 120 }, { ...peer, families: [] }, down('connection-failed'), 0],
  ])('as helper, after %s', (_what, local, remote, reason, seconds) => {
    expect(helperRetention(local, remote, reason)).toBe(seconds);
  });

  it('flushes at once the families without the F bit on the new session', () => {
    expect([...familiesToFlush(undefined)].sort()).toEqual([4, 6]);
    expect([...familiesToFlush({ ...peer, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] })]).toEqual([6]);
    expect([...familiesToFlush({ ...peer, families: [{ afi: 1, safi: 1, forwardingPreserved: false }, { afi: 2, safi: 1, forwardingPreserved: true }] })]).toEqual([4]);
  });
});
