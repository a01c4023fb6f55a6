// The driver's bookkeeping against a kernel port held in memory: fail-closed attach,
// incremental writes, detach, and adoption of a previous process's state.

import { describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex, type PolicyIndexDiff } from '@twill/policy-engine';

import { EbpfDataplane } from '../../../src/dataplane/ebpf/driver.js';
import { type DataplaneFlowEvent } from '../../../src/dataplane/port.js';
import { FakeKernel } from './fake-kernel.js';
import { addressBytes, type FakeRing } from './fake-ring.js';

const POLICY = compileNetworkPolicy(parseNetworkPolicy({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-from-a', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
}));
const pod = (name: string, ip: string) => ({ kind: 'workload' as const, namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const EMPTY: PolicyIndexDiff = { changed: [], removed: [], ipcache: { set: [], removed: [] } };
const full = (index: PolicyIndex): PolicyIndexDiff => ({
  changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] },
});

describe('EbpfDataplane', () => {
  it('attaches an endpoint without rules with no entries (the program drops), and programs it when rules come', async () => {
    const kernel = new FakeKernel();
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    await dataplane.apply({ policy: EMPTY, attach: [{ key: 'x/b', hostInterface: 'vb' }] });
    expect(kernel.log).toEqual(['attach vb ingress with 0 entries', 'attach vb egress with 0 entries']);
    expect((await dataplane.status()).endpoints).toEqual([{ key: 'x/b', hostInterface: 'vb', programmed: false }]);

    const index = new PolicyIndex();
    const report = await dataplane.apply({ policy: index.apply([{ kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') }, { kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') }, { kind: 'upsert-policy', policy: POLICY }]) });
    expect(kernel.entriesOf(12)).toBeGreaterThan(0);
    expect(report.endpoints).toBe(1);
    expect(await dataplane.status()).toEqual({ driver: 'ebpf', endpoints: [{ key: 'x/b', hostInterface: 'vb', programmed: true }], drift: [] });

    // Nothing changed: nothing written.
    const writes = kernel.policyMap.writes;
    expect((await dataplane.apply({ policy: EMPTY })).operations).toBe(0);
    expect(kernel.policyMap.writes).toBe(writes);
  });

  it('asks the programs for flow events only while a reader is open, one reader at a time', async () => {
    const kernel = new FakeKernel();
    kernel.flowEvents = true; // left on by a process that died reading
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    expect(kernel.flowEvents).toBe(false);
    const handler = { events: () => undefined, lost: () => undefined, error: () => undefined };
    const reader = dataplane.readFlows(handler);
    expect(kernel.flowEvents).toBe(true);
    expect(() => dataplane.readFlows(handler)).toThrow('the eBPF dataplane has a flow reader open already: close it first');
    reader.close();
    expect([kernel.flowEvents, kernel.ring?.closed]).toEqual([false, true]);
    dataplane.readFlows(handler);
    await dataplane.cleanup();
    expect([kernel.flowEvents, kernel.ring?.closed]).toEqual([false, true]);
  });

  it('names the attached endpoint and the compiler\'s rule of each flow event', async () => {
    const kernel = new FakeKernel();
    const dataplane = new EbpfDataplane({ kernel, now: () => 0, monotonicOffsetMs: () => 1000 });
    const index = new PolicyIndex();
    const diff = index.apply([
      { kind: 'upsert-namespace', namespace: { name: 'x', labels: {} } },
      { kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') },
      { kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') },
      { kind: 'upsert-policy', policy: POLICY },
    ]);
    await dataplane.apply({ policy: diff, attach: [{ key: 'x/b', hostInterface: 'vb' }] });
    const [key, value] = [...kernel.policyMap.entries()].find(([k]) => k.data.direction === 0 && k.data.protocol === 6) ?? [];
    const events: DataplaneFlowEvent[] = [];
    dataplane.readFlows({ events: (batch) => void events.push(...batch), lost: () => undefined, error: (e) => { throw e; } });
    const ring = kernel.ring as FakeRing;
    const tcp = { protocol: 6, destinationPort: 80, source: addressBytes('10.0.0.1'), destination: addressBytes('10.0.0.2'), identity: key?.data.identity ?? 0 };
    ring.event({ ...tcp, timeNs: 2_000_000n, endpoint: 12, rule: value?.rule ?? 0 });
    ring.event({ ...tcp, timeNs: 3_000_000n, endpoint: 11, rule: value?.rule ?? 0 });
    ring.wake();
    expect(events.map((e) => [e.timeMs, e.endpoint, e.rule === undefined ? undefined : dataplane.describeRule(e.rule.id)])).toEqual([
      [1002, 'x/b', 'NetworkPolicy x/b-from-a ingress rule 0 (tier default)'],
      // ifindex 11 is not attached here.
      [1003, undefined, 'NetworkPolicy x/b-from-a ingress rule 0 (tier default)'],
    ]);
    await dataplane.apply({ policy: EMPTY, detach: ['x/b'] });
    ring.event({ ...tcp, endpoint: 12 });
    // The reader stopped watching for 10 ms after emptying the ring.
    await new Promise((resolve) => setTimeout(resolve, 30));
    ring.wake();
    expect(events[2]?.endpoint).toBeUndefined();
  });

  it('after a run of incremental changes, holds exactly what a fresh driver programs from the full state', async () => {
    const kernel = new FakeKernel();
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    const index = new PolicyIndex();
    const other = compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'b-from-c', namespace: 'x' },
      spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ protocol: 'UDP', port: 53 }] }] },
    }));
    const attach = [{ key: 'x/b', hostInterface: 'vb' }, { key: 'x/c', hostInterface: 'vc' }];
    await dataplane.apply({ policy: index.apply([{ kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') }, { kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') }, { kind: 'upsert-endpoint', endpoint: pod('c', '10.0.0.3') }]), attach });
    const steps = [
      () => index.upsertPolicy(POLICY), () => index.upsertPolicy(other), () => index.deletePolicy(POLICY.ref),
      () => index.apply([{ kind: 'upsert-endpoint', endpoint: pod('c', '10.0.0.9') }]), () => index.upsertPolicy(POLICY), () => index.deletePolicy(other.ref),
    ];
    // Every key with its verdict and flags; rule ids are numbered in the order a compiler met
    // the rules, so a fresh driver numbers them differently.
    const verdicts = (k: FakeKernel): string[] =>
      [...k.policyMap.data.values()].map(([key, value]) => JSON.stringify([key, (value as { verdict: unknown }).verdict, (value as { flags: unknown }).flags])).sort();
    const expected = async (): Promise<string[]> => {
      const fresh = new FakeKernel();
      await new EbpfDataplane({ kernel: fresh, now: () => 0 }).apply({ policy: full(index), attach });
      return verdicts(fresh);
    };
    for (const step of steps) {
      await dataplane.apply({ policy: step() });
      expect(verdicts(kernel)).toEqual(await expected());
      expect((await dataplane.status()).drift).toEqual([]);
    }
  });

  it('programs entries before links, and detach removes both', async () => {
    const kernel = new FakeKernel();
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    const index = new PolicyIndex();
    const diff = index.apply([{ kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') }, { kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') }, { kind: 'upsert-policy', policy: POLICY }]);
    await dataplane.apply({ policy: diff, attach: [{ key: 'x/b', hostInterface: 'vb' }] });
    expect(kernel.log.every((line) => !line.endsWith('with 0 entries'))).toBe(true);
    await dataplane.apply({ policy: EMPTY, detach: ['x/b'] });
    expect(kernel.log.slice(-2)).toEqual(['detach vb ingress', 'detach vb egress']);
    expect(kernel.policyMap.data.size).toBe(0);
    expect((await dataplane.status()).drift).toEqual([]);
  });

  it('adopts what a previous process left: writes only differences, and prunes what no attached endpoint claims', async () => {
    const kernel = new FakeKernel();
    const index = new PolicyIndex();
    index.apply([{ kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') }, { kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') }, { kind: 'upsert-endpoint', endpoint: pod('c', '10.0.0.3') }, { kind: 'upsert-policy', policy: POLICY }]);
    const first = new EbpfDataplane({ kernel, now: () => 0 });
    await first.apply({ policy: full(index), attach: [{ key: 'x/b', hostInterface: 'vb' }, { key: 'x/c', hostInterface: 'vc' }] });
    const [ofB, ofC] = [kernel.entriesOf(12), kernel.entriesOf(13)];

    // The process dies; c left the node meanwhile. A new instance adopts.
    kernel.log.length = 0;
    const writes = kernel.policyMap.writes;
    const second = new EbpfDataplane({ kernel, now: () => 0 });
    expect((await second.status()).drift).toEqual([
      'a tcx ingress link on vb is pinned, but no attached endpoint has that interface',
      'a tcx egress link on vb is pinned, but no attached endpoint has that interface',
      'a tcx ingress link on vc is pinned, but no attached endpoint has that interface',
      'a tcx egress link on vc is pinned, but no attached endpoint has that interface',
      `${ofB} policy entries for ifindex 12, which no attached endpoint has`,
      `${ofC} policy entries for ifindex 13, which no attached endpoint has`,
    ]);
    await second.apply({ policy: full(index), attach: [{ key: 'x/b', hostInterface: 'vb' }] });
    expect(kernel.log, 'b keeps its links; c\'s go').toEqual(['detach vc ingress', 'detach vc egress']);
    expect(kernel.policyMap.writes - writes, 'only c\'s entries were written (deleted)').toBe(ofC);
    expect(await second.status()).toEqual({ driver: 'ebpf', endpoints: [{ key: 'x/b', hostInterface: 'vb', programmed: true }], drift: [] });
  });
});
