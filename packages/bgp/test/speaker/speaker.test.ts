import { describe, expect, it } from 'vitest';

import { BgpSpeaker, CollectingFibSink, type FibBatch, asn, prefixToText, routerId } from '@twill/bgp';

import { ManualClock, MemoryNetwork } from './helpers.js';

/** Prefixes currently installed, replaying a sink's batches. */
function installed(batches: readonly FibBatch[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const b of batches) {
    for (const p of b.remove) table.delete(prefixToText(p));
    for (const r of b.add) table.set(prefixToText(r.prefix), r.nextHops.join(','));
  }
  return table;
}

/** Speaker A (10.0.0.1, AS 65001, connects) and B (10.0.0.2, AS 65002, passive), back to back. */
async function pair(): Promise<{ clock: ManualClock; net: MemoryNetwork; a: BgpSpeaker; b: BgpSpeaker; fibA: CollectingFibSink; fibB: CollectingFibSink }> {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const fibA = new CollectingFibSink();
  const fibB = new CollectingFibSink();
  const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: fibA, transport: net.transport('10.0.0.1'), clock });
  const b = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.0.0.2'), fib: fibB, transport: net.transport('10.0.0.2'), clock });
  a.addPeer({ address: '10.0.0.2', asn: asn(65002) });
  b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true });
  await b.start();
  await a.start();
  await clock.advance(100);
  return { clock, net, a, b, fibA, fibB };
}

describe('BgpSpeaker', () => {
  it('establishes a session and exchanges originated routes', async () => {
    const { clock, a, b, fibA, fibB } = await pair();
    expect(a.peers()[0]?.state).toBe('Established');
    expect(b.peers()[0]?.state).toBe('Established');
    a.originate('10.244.1.0/26');
    b.originate('10.244.2.0/26');
    await clock.advance(100);
    expect(installed(fibB.batches)).toEqual(new Map([['10.244.1.0/26', '10.0.0.1']]));
    expect(installed(fibA.batches)).toEqual(new Map([['10.244.2.0/26', '10.0.0.2']]));
    expect(a.peers()[0]).toMatchObject({ address: '10.0.0.2', receivedPrefixes: 1, advertisedPrefixes: 1, lastDown: undefined });
    await clock.advance(30_000);
    expect(a.peers()[0]?.uptimeSeconds).toBe(30);
  });

  it('propagates withdrawals', async () => {
    const { clock, a, b, fibB } = await pair();
    a.originate('10.244.1.0/26');
    a.originate('10.244.3.0/26');
    await clock.advance(100);
    a.withdraw('10.244.1.0/26');
    await clock.advance(100);
    expect([...installed(fibB.batches).keys()]).toEqual(['10.244.3.0/26']);
    expect(b.peers()[0]?.receivedPrefixes).toBe(1);
  });

  it('sends a change of thousands of routes at once, its tail at once, and a small one after the flush delay', async () => {
    const { clock, a, fibB } = await pair();
    // 5,000 /24s from 11.0.0.0: more than the speaker waits to gather.
    for (let i = 0; i < 5000; i += 1) a.originate(`11.${i >> 8}.${i & 0xff}.0/24`);
    await clock.advance(1);
    expect(installed(fibB.batches).size).toBe(5000);
    // Right after a large change, a small one is its tail (a table's last read): no delay.
    a.originate('10.244.1.0/26');
    await clock.advance(1);
    expect(installed(fibB.batches).get('10.244.1.0/26')).toBe('10.0.0.1');
    // After that small flush, a small change waits for the delay again.
    a.originate('10.244.2.0/26');
    await clock.advance(1);
    expect(installed(fibB.batches).has('10.244.2.0/26')).toBe(false);
    // A's delay, then B's.
    await clock.advance(40);
    expect(installed(fibB.batches).get('10.244.2.0/26')).toBe('10.0.0.1');
    expect(installed(fibB.batches).size).toBe(5002);
  });

  it('keeps flushing at once while a large change goes on in smaller parts, its last part too', async () => {
    const { clock, a, fibB } = await pair();
    for (let i = 0; i < 5000; i += 1) a.originate(`11.${i >> 8}.${i & 0xff}.0/24`);
    await clock.advance(1);
    expect(installed(fibB.batches).size).toBe(5000);
    // A table arriving at its sender's pace: parts of hundreds of routes, each passed on at once, by A and by B.
    for (let part = 1; part <= 3; part += 1) {
      for (let i = 0; i < 300; i += 1) a.originate(`12.${part}.${i >> 8}.${i & 0xff}/32`);
      await clock.advance(1);
      expect(installed(fibB.batches).size).toBe(5000 + part * 300);
    }
    // Its last part, small: at once too.
    a.originate('10.244.1.0/26');
    await clock.advance(1);
    expect(installed(fibB.batches).has('10.244.1.0/26')).toBe(true);
    // After that, a small change waits for the delay again.
    a.originate('10.244.2.0/26');
    await clock.advance(1);
    expect(installed(fibB.batches).has('10.244.2.0/26')).toBe(false);
    await clock.advance(40);
    expect(installed(fibB.batches).has('10.244.2.0/26')).toBe(true);
  });

  it('sends the initial table to a peer that comes up later, split into messages that fit 4096 octets', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork();
    const fibB = new CollectingFibSink();
    const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.1'), clock });
    const b = new BgpSpeaker({ localAs: asn(65002), routerId: routerId('10.0.0.2'), fib: fibB, transport: net.transport('10.0.0.2'), clock });
    for (let i = 0; i < 2000; i += 1) a.originate(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
    a.addPeer({ address: '10.0.0.2', asn: asn(65002) });
    b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true });
    await b.start();
    await a.start();
    await clock.advance(100);
    expect(installed(fibB.batches).size).toBe(2000);
    // 2000 /24s take 4 octets each: at least two UPDATEs, plus the End-of-RIB.
    expect(b.peers()[0]?.messagesReceived).toBeGreaterThanOrEqual(2 + 3);
  });

  it('ends the session when the hold timer expires and says why', async () => {
    const { clock, net, a, b, fibB } = await pair();
    a.originate('10.244.1.0/26');
    await clock.advance(100);
    net.silenced.add('10.0.0.1');
    await clock.advance(90_000);
    expect(b.peers()[0]).toMatchObject({
      state: 'Idle',
      lastDown: 'hold timer expired after 90 s with no KEEPALIVE or UPDATE from peer 10.0.0.1',
      receivedPrefixes: 0,
    });
    expect(b.peers()[0]?.lastDownReason?.notification?.errorCode).toBe(4);
    expect(installed(fibB.batches).size).toBe(0);
    // A heard B's NOTIFICATION (Hold Timer Expired) and says so.
    await clock.advance(1000);
    expect(a.peers()[0]?.lastDown).toBe('peer 10.0.0.2 sent NOTIFICATION Hold Timer Expired / Unspecific: it heard no KEEPALIVE from us within its hold time');
  });

  it('says why when the peer shuts the session down', async () => {
    const { clock, a, b } = await pair();
    await b.stop('maintenance');
    await clock.advance(100);
    expect(a.peers()[0]?.lastDown).toContain('maintenance');
    expect(a.peers()[0]?.state).not.toBe('Established');
  });
});
