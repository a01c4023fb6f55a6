// The programs' verdicts reach the agent through readFlows: with the endpoint, the
// deciding rule and the time; a burst the ring has no room for is counted as lost; close
// stops the programs' writing and leaves nothing open.

import { existsSync, readdirSync, readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadCollection, openPinnedMap, readCollectionSpec, u32, type Collection } from '@twill/ebpf';
import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH, FLOW_EVENT_SIZE, type EbpfDataplane } from '../../../src/dataplane/ebpf/index.js';
import { CONFIG_VALUE } from '../../../src/dataplane/ebpf/layout.js';
import { type DataplaneFlowEvent, type DataplaneFlowHandler } from '../../../src/dataplane/port.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';
import { RESTART_POLICY } from './owner.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

/** A handler that keeps everything, with `until` to wait (bounded, through the event loop) for what a test expects. */
class Collector implements DataplaneFlowHandler {
  readonly received: DataplaneFlowEvent[] = [];
  readonly arrivals: number[] = [];
  readonly errors: unknown[] = [];
  lostCount = 0;
  readonly sources = new Set<string>();
  events(batch: readonly DataplaneFlowEvent[]): void {
    this.received.push(...batch);
    for (let i = 0; i < batch.length; i += 1) this.arrivals.push(Date.now());
  }
  lost(count: number, source: string): void {
    this.lostCount += count;
    this.sources.add(source);
  }
  error(error: unknown): void {
    this.errors.push(error);
  }
  /** Waits up to ~10 s of event loop turns for `done`. */
  async until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !done(); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An Ethernet frame of an IPv4 UDP datagram 10.99.0.1 -> 10.99.0.2 from `sourcePort` to port 53. */
function udpFrame(sourcePort: number): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 8 + 4);
  const view = new DataView(frame.buffer);
  view.setUint16(12, 0x0800);
  frame.set([0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 99, 0, 1, 10, 99, 0, 2], 14);
  view.setUint16(34, sourcePort);
  view.setUint16(36, 53);
  view.setUint16(38, 12);
  return frame;
}

/** This process's open fds and its mappings of BPF maps. */
function openThings(): { fds: number; mappings: number } {
  return { fds: readdirSync('/proc/self/fd').length, mappings: readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('bpf')).length };
}

describe.skipIf(reason)(`eBPF dataplane flow events as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it('reports each new connection\'s verdict with the endpoint, the deciding rule, the SYN and the time, its first reply at each end as a reply, and none for other packets of known connections', async () => {
    const lab = await DataplaneLab.create({ pods: [{ key: 'x/a', ip: '10.78.0.1' }, { key: 'x/b', ip: '10.78.0.2' }], ports: [80, 81] });
    const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot: bpffs.pinRoot() });
    const collector = new Collector();
    const reader = dataplane.readFlows(collector);
    try {
      const index = new PolicyIndex();
      const diff = index.apply([
        { kind: 'upsert-namespace', namespace: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } } },
        ...lab.pods.map((p) => ({ kind: 'upsert-endpoint' as const, endpoint: { kind: 'workload' as const, namespace: 'x', name: p.key.slice(2), labels: { pod: p.key.slice(2) }, ips: [p.ip] } })),
        { kind: 'upsert-policy', policy: compileNetworkPolicy(parseNetworkPolicy(RESTART_POLICY)) },
      ]);
      await dataplane.apply({ policy: diff, attach: lab.attachments() });
      expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP' }, 2000)).toBe(true);
      expect(await lab.attempt({ from: 'x/a', to: 'x/b', port: 81, protocol: 'TCP' }, 500)).toBe(false);
      await collector.until(() => collector.received.some((e) => e.verdict === 'deny'));
      const b = lab.pod('x/b');
      const describe = (e: DataplaneFlowEvent): string => (e.rule === undefined ? 'no rule' : dataplane.describeRule(e.rule.id));
      const seen = collector.received.map((e) => `${e.endpoint} ${e.direction} ${e.source} -> ${e.destination}:${e.destinationPort} ${e.verdict} by ${describe(e)}`);
      const toB = collector.received.filter((e) => e.direction === 'ingress' && e.destination === b.ip);
      expect(toB.map((e) => [e.endpoint, e.destinationPort, e.verdict, e.reason, describe(e), e.tcpFlags]), seen.join('\n')).toEqual([
        ['x/b', 80, 'allow', 'policy', 'NetworkPolicy x/b-from-a ingress rule 0 (tier default)', 0x02],
        // The denied SYN is retransmitted: every attempt is a new decision.
        ...toB.slice(1).map(() => ['x/b', 81, 'deny', 'policy', 'tier default default deny (ingress, isolated by NetworkPolicy x/b-from-a)', 0x02]),
      ]);
      expect(toB.length).toBeGreaterThanOrEqual(2);
      // The kernel's time, on the wall clock: within a second of when the event arrived here.
      for (const [i, e] of collector.received.entries()) expect(Math.abs(e.timeMs - (collector.arrivals[i] ?? 0)), seen[i]).toBeLessThan(1000);
      // The allowed connection's SYN-ACK, at b's egress and a's ingress: a reply, allowed by
      // the rule that allowed the connection there; no other packet of it is reported.
      const a = lab.pod('x/a');
      const fromB = collector.received.filter((e) => e.source === b.ip);
      const [aOut] = collector.received.filter((e) => e.endpoint === 'x/a' && e.direction === 'egress' && e.destinationPort === 80);
      expect(fromB.map((e) => [e.endpoint, e.direction, `${e.source}:${e.sourcePort} -> ${e.destination}`, e.verdict, e.reason, e.isReply, describe(e), e.tcpFlags]).sort(), seen.join('\n')).toEqual([
        ['x/a', 'ingress', `${b.ip}:80 -> ${a.ip}`, 'allow', 'policy', true, describe(aOut!), 0x12],
        ['x/b', 'egress', `${b.ip}:80 -> ${a.ip}`, 'allow', 'policy', true, 'NetworkPolicy x/b-from-a ingress rule 0 (tier default)', 0x12],
      ]);
      expect(collector.received.filter((e) => e.source !== b.ip && e.isReply)).toEqual([]);
      expect([collector.lostCount, collector.errors]).toEqual([0, []]);
    } finally {
      reader.close();
      await dataplane.cleanup();
      lab.close();
    }
  }, 60_000);

  describe('with the programs run on crafted packets (BPF_PROG_TEST_RUN)', () => {
    let dataplane: EbpfDataplane;
    let collection: Collection;
    let pinRoot: string;
    beforeAll(async () => {
      pinRoot = bpffs.pinRoot();
      dataplane = await createEbpfDataplane({ pinRoot });
      // A second load of the object shares the pinned maps: its programs write to the driver's ring.
      collection = loadCollection(readCollectionSpec(DEFAULT_OBJECT_PATH), { pinPath: pinRoot });
    });
    afterAll(async () => {
      collection.close();
      await dataplane.cleanup();
    });
    /** Runs the pod-egress program `times` times on one UDP packet; each run is a new decision (nothing is programmed: no-entry, denied). */
    const run = (times: number, sourcePort = 40000): void => void collection.program('tw_from_pod').testRun({ data: udpFrame(sourcePort), repeat: times });

    it('reports a burst beyond the ring\'s room as lost, every event delivered or counted', async () => {
      const room = Math.floor(collection.maps.tw_events!.info().maxEntries / (FLOW_EVENT_SIZE + 8));
      const collector = new Collector();
      const reader = dataplane.readFlows(collector);
      try {
        // testRun holds the event loop: the reader drains nothing until all runs are done.
        const burst = 2 * room + 1000;
        run(burst);
        await collector.until(() => collector.received.length + collector.lostCount >= burst);
        expect(collector.received.length).toBe(room);
        expect(collector.lostCount).toBe(burst - room);
        expect([...collector.sources]).toEqual(['ebpf-ringbuf']);
        expect(collector.received[0]).toMatchObject({ verdict: 'deny', reason: 'no-entry', direction: 'egress', protocol: 17, source: '10.99.0.1', destination: '10.99.0.2', sourcePort: 40000, destinationPort: 53 });
        expect(collector.errors).toEqual([]);
      } finally {
        reader.close();
      }
    }, 60_000);

    it('close turns the programs\' writing off (tw_config) and leaves no fd or mapping open; a new reader sees nothing of the time between', async () => {
      const before = openThings();
      const first = new Collector();
      const reader = dataplane.readFlows(first);
      run(1, 1);
      await first.until(() => first.received.length === 1);
      reader.close();
      expect(openThings()).toEqual(before);
      const config = openPinnedMap(`${pinRoot}/tw_config`, { key: u32, value: CONFIG_VALUE });
      try {
        expect(config.lookup(0)).toEqual({ flags: 0 });
      } finally {
        config.close();
      }
      run(1000, 2); // while no reader is open
      const second = new Collector();
      const again = dataplane.readFlows(second);
      try {
        run(1, 3);
        await second.until(() => second.received.length > 0);
        expect([first.received.map((e) => e.sourcePort), second.received.map((e) => e.sourcePort), second.lostCount]).toEqual([[1], [3], 0]);
      } finally {
        again.close();
      }
    }, 60_000);
  });
});
