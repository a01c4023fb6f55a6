// The eBPF flow reader against a ring buffer in memory written as the kernel writes it:
// decoding, batches per wake-up, the ring's wrap, busy and discarded records, lost
// counts, and close.

import { describe, expect, it, vi } from 'vitest';

import { type BpfRuleRef } from '@twill/policy-engine';

import { EbpfFlowReader } from '../../../src/dataplane/ebpf/flow-reader.js';
import { type DataplaneFlowEvent, type DataplaneFlowHandler } from '../../../src/dataplane/port.js';
import { addressBytes, FakeRing } from './fake-ring.js';

const RULE: BpfRuleRef = { id: 7, kind: 'rule', direction: 'ingress', policy: { kind: 'NetworkPolicy', namespace: 'x', name: 'b-from-a' }, ruleIndex: 0, tier: 'default' } as BpfRuleRef;

/** A handler that writes down what it is given, in order. */
class Recorder implements DataplaneFlowHandler {
  readonly calls: (string | readonly DataplaneFlowEvent[])[] = [];
  readonly all: DataplaneFlowEvent[] = [];
  events(batch: readonly DataplaneFlowEvent[]): void {
    this.calls.push(batch);
    this.all.push(...batch);
  }
  lost(count: number, source: string): void {
    this.calls.push(`lost ${count} ${source}`);
  }
  error(error: unknown): void {
    this.calls.push(`error ${(error as Error).message}`);
  }
}

/** A reader that watches all the time (coalesceMs 0) unless told otherwise. */
function open(ring: FakeRing, handler: DataplaneFlowHandler, maxBatch?: number, coalesceMs = 0): { reader: EbpfFlowReader; flags: boolean[] } {
  const flags: boolean[] = [];
  const reader = new EbpfFlowReader({
    ring,
    handler,
    endpoints: new Map([[12, 'x/b']]),
    rule: (id) => (id === 7 ? RULE : undefined),
    setFlowEvents: (on) => void flags.push(on),
    monotonicOffsetMs: () => 1_700_000_000_000,
    coalesceMs,
    ...(maxBatch === undefined ? {} : { maxBatch }),
  });
  return { reader, flags };
}

describe('EbpfFlowReader', () => {
  it('decodes a record with the endpoint, the rule, the wall-clock time, TCP flags, the addresses and whether it is a reply', () => {
    const ring = new FakeRing();
    const handler = new Recorder();
    const { reader, flags } = open(ring, handler);
    expect(flags).toEqual([true]);
    ring.event({
      timeNs: 5_000_125_000n, endpoint: 12, identity: 300, rule: 7, direction: 0, verdict: 1, protocol: 6, family: 4, reason: 0, tcpFlags: 0x02,
      sourcePort: 40000, destinationPort: 80, source: addressBytes('10.78.0.1'), destination: addressBytes('10.78.0.2'),
    });
    ring.event({
      timeNs: 6_000_000_000n, endpoint: 13, identity: 2, rule: 0, direction: 1, verdict: 2, protocol: 58, family: 6, reason: 1, icmpType: 128, icmpCode: 0,
      sourcePort: 9, destinationPort: 9, source: addressBytes('fd00::1'), destination: addressBytes('2001:db8:0:0:1:0:0:1'),
    });
    // TW_REASON_REPLY: x/b's SYN-ACK back to 10.78.0.1, passed because rule 7 allowed the connection.
    ring.event({
      timeNs: 5_000_200_000n, endpoint: 12, identity: 300, rule: 7, direction: 1, verdict: 1, protocol: 6, family: 4, reason: 2, tcpFlags: 0x12,
      sourcePort: 80, destinationPort: 40000, source: addressBytes('10.78.0.2'), destination: addressBytes('10.78.0.1'),
    });
    ring.wake();
    expect(handler.all).toEqual([
      {
        timeMs: 1_700_000_005_000.125, ifindex: 12, endpoint: 'x/b', direction: 'ingress', verdict: 'allow', reason: 'policy', rule: RULE, remoteIdentity: 300,
        protocol: 6, source: '10.78.0.1', destination: '10.78.0.2', sourcePort: 40000, destinationPort: 80, tcpFlags: 0x02, isReply: false,
      },
      {
        timeMs: 1_700_000_006_000, ifindex: 13, direction: 'egress', verdict: 'deny', reason: 'no-entry', remoteIdentity: 2,
        protocol: 58, source: 'fd00::1', destination: '2001:db8::1:0:0:1', sourcePort: 9, destinationPort: 9, icmp: { type: 128, code: 0 }, isReply: false,
      },
      {
        timeMs: 1_700_000_005_000.2, ifindex: 12, endpoint: 'x/b', direction: 'egress', verdict: 'allow', reason: 'policy', rule: RULE, remoteIdentity: 300,
        protocol: 6, source: '10.78.0.2', destination: '10.78.0.1', sourcePort: 80, destinationPort: 40000, tcpFlags: 0x12, isReply: true,
      },
    ]);
    reader.close();
  });

  it('delivers one batch per wake-up, at most maxBatch events, the rest on the next wake-up, across the ring\'s wrap', () => {
    const ring = new FakeRing(1024); // 14 records of 72 bytes
    const handler = new Recorder();
    open(ring, handler, 5);
    let port = 1;
    for (let round = 0; round < 4; round += 1) {
      for (let i = 0; i < 12; i += 1) expect(ring.event({ sourcePort: port++ })).toBe(true);
      while (ring.consumer < ring.producer) ring.wake();
    }
    expect(handler.calls.map((c) => (typeof c === 'string' ? c : c.length))).toEqual([5, 5, 2, 5, 5, 2, 5, 5, 2, 5, 5, 2]);
    expect(handler.all.map((e) => e.sourcePort)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
  });

  it('after emptying the ring, stops watching for coalesceMs so that events gather into one batch; a full batch is followed at once', () => {
    vi.useFakeTimers();
    try {
      const ring = new FakeRing();
      const handler = new Recorder();
      const { reader } = open(ring, handler, 3, 10);
      ring.event({ sourcePort: 1 });
      ring.wake();
      expect(ring.watching).toBe(false);
      for (let port = 2; port <= 6; port += 1) ring.event({ sourcePort: port });
      ring.wake(); // not watching: the kernel's wake-up reaches no one
      vi.advanceTimersByTime(9);
      expect(ring.watching).toBe(false);
      vi.advanceTimersByTime(1);
      expect(ring.watching).toBe(true);
      ring.wake(); // a full batch of 3: still watching, the rest on the next turn
      expect(ring.watching).toBe(true);
      ring.wake();
      expect(handler.calls.map((c) => (typeof c === 'string' ? c : c.map((e) => e.sourcePort)))).toEqual([[1], [2, 3, 4], [5, 6]]);
      expect(ring.watching).toBe(false);
      reader.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops at a record still being written and skips discarded ones', () => {
    const ring = new FakeRing();
    const handler = new Recorder();
    open(ring, handler);
    ring.event({ sourcePort: 1 });
    const busyAt = ring.producer;
    ring.write(new Uint8Array(64), 0x80000000);
    ring.wake();
    expect(handler.all.map((e) => e.sourcePort)).toEqual([1]);
    // The producer discards it (the header's busy bit cleared, discard set), then writes another.
    new DataView(ring.data.buffer).setUint32(busyAt, (64 | 0x40000000) >>> 0, true);
    ring.event({ sourcePort: 2 });
    ring.wake();
    expect(handler.all.map((e) => e.sourcePort)).toEqual([1, 2]);
  });

  it('reports the programs\' lost count as increases since it opened, after the batch of the same wake-up', () => {
    const ring = new FakeRing(1024);
    ring.lostCount = 40; // before this reader: not its loss
    const handler = new Recorder();
    open(ring, handler);
    let written = 0;
    for (let i = 0; i < 20; i += 1) if (ring.event({ sourcePort: i })) written += 1;
    ring.wake();
    ring.wake(); // nothing new: no second report
    expect(written).toBe(14);
    expect(handler.calls.map((c) => (typeof c === 'string' ? c : `${c.length} events`))).toEqual(['14 events', 'lost 6 ebpf-ringbuf']);
  });

  it('reports a handler\'s throw and a short record as errors and goes on reading', () => {
    const ring = new FakeRing();
    const calls: string[] = [];
    let throwing = true;
    open(ring, {
      events: (batch) => {
        calls.push(`events ${batch.map((e) => e.sourcePort).join(',')}`);
        if (throwing) throw new Error('handler broke');
      },
      lost: () => undefined,
      error: (error) => void calls.push(`error ${(error as Error).message}`),
    });
    ring.event({ sourcePort: 1 });
    ring.wake();
    throwing = false;
    ring.write(new Uint8Array(20));
    ring.event({ sourcePort: 2 });
    ring.wake();
    expect(calls).toEqual(['events 1', 'error handler broke', 'events 2', 'error a tw_events record is 64 bytes, got 20']);
  });

  it('close turns event writing off, stops watching and releases the ring; a late wake-up delivers nothing', () => {
    const ring = new FakeRing();
    const handler = new Recorder();
    const { reader, flags } = open(ring, handler);
    expect(ring.watching).toBe(true);
    reader.close();
    reader.close();
    expect(flags).toEqual([true, false]);
    expect([ring.watching, ring.closed]).toEqual([false, true]);
    ring.event({ sourcePort: 1 });
    ring.wake();
    expect(handler.calls).toEqual([]);
  });

  it('lets the handler close the reader from its events call', () => {
    const ring = new FakeRing();
    const seen: number[] = [];
    const flags: boolean[] = [];
    const reader: EbpfFlowReader = new EbpfFlowReader({
      ring,
      handler: { events: (batch) => { seen.push(batch.length); reader.close(); }, lost: () => undefined, error: (e) => { throw e; } },
      endpoints: new Map(),
      rule: () => undefined,
      setFlowEvents: (on) => void flags.push(on),
      monotonicOffsetMs: () => 0,
    });
    ring.event({});
    ring.event({});
    expect(() => ring.wake()).not.toThrow();
    expect([seen, flags, ring.closed]).toEqual([[2], [true, false], true]);
  });

  it('closes itself and says so when watching the ring fails', () => {
    const ring = new FakeRing();
    const handler = new Recorder();
    const { flags } = open(ring, handler);
    ring.wake(new Error('EBADF'));
    expect(handler.calls).toEqual(['error EBADF']);
    expect([flags, ring.watching, ring.closed]).toEqual([[true, false], false, true]);
  });
});
