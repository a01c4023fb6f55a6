// BgpSpeaker.removePeer over the in-memory transport with a manual clock: what the removed
// peer hears (Cease / Peer De-configured), what leaves the FibSink and the other peers,
// and that the address can be configured again.
import { describe, expect, it } from 'vitest';

import { type FibBatch, BgpSpeaker, CollectingFibSink, asn, prefixToText, routerId } from '@twill/bgp';

import { ManualClock, MemoryNetwork } from './helpers.js';

/** Prefixes currently installed, replaying a sink's batches. */
function installed(batches: readonly FibBatch[]): string[] {
  const table = new Map<string, string>();
  for (const b of batches) {
    for (const p of b.remove) table.delete(prefixToText(p));
    for (const r of b.add) table.set(prefixToText(r.prefix), r.nextHops.join(','));
  }
  return [...table.keys()].sort();
}

/**
 * A (10.0.0.1, AS 65001) in the middle, connecting to B (10.0.0.2, AS 65002) and
 * C (10.0.0.3, AS 65003), both passive. B originates two prefixes, C one.
 */
async function triangle(): Promise<{ clock: ManualClock; a: BgpSpeaker; b: BgpSpeaker; c: BgpSpeaker; fibA: CollectingFibSink; fibC: CollectingFibSink }> {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const fibA = new CollectingFibSink();
  const fibC = new CollectingFibSink();
  const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: fibA, transport: net.transport('10.0.0.1'), clock });
  const b = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.0.0.2'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.2'), clock });
  const c = new BgpSpeaker({ localAs: asn(65003), routerId: routerId('10.0.0.3'), fib: fibC, transport: net.transport('10.0.0.3'), clock });
  a.addPeer({ address: '10.0.0.2', asn: asn(65002), idleHold: { initial: 1, max: 2 } });
  a.addPeer({ address: '10.0.0.3', asn: asn(65003) });
  b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true, idleHold: { initial: 1, max: 2 } });
  c.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true });
  b.originate('10.244.2.0/26');
  b.originate('10.244.20.0/26');
  c.originate('10.244.3.0/26');
  await b.start();
  await c.start();
  await a.start();
  await clock.advance(200);
  return { clock, a, b, c, fibA, fibC };
}

describe('BgpSpeaker.removePeer', () => {
  it("ends the session with Cease / Peer De-configured and withdraws the peer's routes from the FibSink and the other peers", async () => {
    const { clock, a, b, c, fibA, fibC } = await triangle();
    expect(installed(fibA.batches)).toEqual(['10.244.2.0/26', '10.244.20.0/26', '10.244.3.0/26']);
    expect(installed(fibC.batches)).toEqual(['10.244.2.0/26', '10.244.20.0/26']);
    expect(b.peers()[0]?.receivedPrefixes).toBe(1);

    await a.removePeer('10.0.0.2');
    // The FibSink heard before removePeer returned.
    expect(installed(fibA.batches)).toEqual(['10.244.3.0/26']);
    expect(a.peers().map((p) => p.address)).toEqual(['10.0.0.3']);
    expect(a.rib.best({ family: 4, length: 26, bytes: new Uint8Array([10, 244, 2, 0]) })).toBeUndefined();

    await clock.advance(100);
    const heard = b.peers()[0];
    expect(heard?.state).not.toBe('Established');
    expect(heard?.lastDownReason?.notification).toMatchObject({ errorCode: 6, errorSubcode: 3 });
    expect(heard?.lastDown).toBe('peer 10.0.0.1 sent NOTIFICATION Cease / Peer De-configured');
    // B no longer holds A's route (C's, via A).
    expect(heard?.receivedPrefixes).toBe(0);
    // C was told: only its own route's absence from A's view is left.
    expect(installed(fibC.batches)).toEqual([]);
    expect(c.peers()[0]).toMatchObject({ state: 'Established', receivedPrefixes: 0 });
  });

  it('stops every timer of the peer: no reconnection, no KEEPALIVE, however long the wait', async () => {
    const { clock, a, b } = await triangle();
    await a.removePeer('10.0.0.2');
    await clock.advance(100);
    const before = b.peers()[0]?.messagesReceived;
    await clock.advance(600_000);
    expect(b.peers()[0]).toMatchObject({ state: 'Active', messagesReceived: before });
  });

  it('does nothing for an address that is not configured, or already removed', async () => {
    const { clock, a } = await triangle();
    await expect(a.removePeer('192.0.2.9')).resolves.toBeUndefined();
    await a.removePeer('10.0.0.2');
    await expect(a.removePeer('10.0.0.2')).resolves.toBeUndefined();
    await clock.advance(100);
    expect(a.peers().map((p) => [p.address, p.state])).toEqual([['10.0.0.3', 'Established']]);
  });

  it('lets the same address be added again, which starts a fresh session with the routes back', async () => {
    const { clock, a, b, fibA, fibC } = await triangle();
    await a.removePeer('10.0.0.2');
    await clock.advance(100);
    a.addPeer({ address: '10.0.0.2', asn: asn(65002) });
    // B waits in Idle (1 s) after the NOTIFICATION and may refuse A's first attempt; A retries after its Idle wait (5 s).
    await clock.advance(10_000);
    const again = a.peers().find((p) => p.address === '10.0.0.2');
    expect(again).toMatchObject({ state: 'Established', receivedPrefixes: 2, advertisedPrefixes: 1 });
    // A new peer: the removed one's history is not carried over.
    expect(again?.lastDown ?? '').not.toContain('removed from the configuration');
    expect(b.peers()[0]).toMatchObject({ state: 'Established', receivedPrefixes: 1 });
    expect(installed(fibA.batches)).toEqual(['10.244.2.0/26', '10.244.20.0/26', '10.244.3.0/26']);
    expect(installed(fibC.batches)).toEqual(['10.244.2.0/26', '10.244.20.0/26']);
  });

  it('removes a peer that is not Established yet without a NOTIFICATION', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork();
    const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.1'), clock });
    // Nobody listens at 10.0.0.9: the peer cycles through Connect and Idle.
    a.addPeer({ address: '10.0.0.9', asn: asn(65009), idleHold: { initial: 1, max: 1 } });
    await a.start();
    await clock.advance(100);
    expect(a.peers()[0]?.state).not.toBe('Established');
    await a.removePeer('10.0.0.9');
    await clock.advance(10_000);
    expect(a.peers()).toEqual([]);
  });

  it("drops the stale routes kept for a restarting peer, and its restart timer", async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork();
    const fibB = new CollectingFibSink();
    const b = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.0.0.2'), fib: fibB, transport: net.transport('10.0.0.2'), clock, gracefulRestart: { restartTime: 120 } });
    b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true });
    await b.start();
    const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.1'), clock, gracefulRestart: { restartTime: 60 } });
    a.addPeer({ address: '10.0.0.2', asn: asn(65002) });
    a.originate('10.244.1.0/26');
    await a.start();
    await clock.advance(200);
    await a.stopForRestart();
    await clock.advance(100);
    expect(b.peers()[0]).toMatchObject({ state: 'Idle', stalePrefixes: 1 });
    expect(installed(fibB.batches)).toEqual(['10.244.1.0/26']);

    await b.removePeer('10.0.0.1');
    expect(installed(fibB.batches)).toEqual([]);
    const batches = fibB.batches.length;
    // The restart timer is gone with the peer: nothing more reaches the FibSink when it would have run out.
    await clock.advance(120_000);
    expect(fibB.batches.length).toBe(batches);
  });
});
