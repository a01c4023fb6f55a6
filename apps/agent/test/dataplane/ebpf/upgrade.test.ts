// The driver's side of an upgrade, against a kernel port in memory: a start that finds
// another version's programs on the links and maps it had to replace fills the new
// maps first, then moves the links (completeUpgrade), and says what it did in status().

import { describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex, type PolicyIndexDiff } from '@twill/policy-engine';

import { EbpfDataplane } from '../../../src/dataplane/ebpf/driver.js';
import { FakeKernel } from './fake-kernel.js';

const POLICY = compileNetworkPolicy(parseNetworkPolicy({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-from-a', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
}));
const pod = (name: string, ip: string) => ({ kind: 'workload' as const, namespace: 'x', name, labels: { pod: name }, ips: [ip] });
const full = (index: PolicyIndex): PolicyIndexDiff => ({
  changed: index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] })), removed: [], ipcache: { set: index.ipIdentities(), removed: [] },
});
const ATTACH = [{ key: 'x/b', hostInterface: 'vb' }, { key: 'x/c', hostInterface: 'vc' }];

/** A kernel programmed by a first agent, then loaded by a new version whose tw_policy, tw_ct and tw_events did not match. */
async function upgradedKernel(): Promise<{ kernel: FakeKernel; index: PolicyIndex; entries: number }> {
  const kernel = new FakeKernel();
  const index = new PolicyIndex();
  index.apply([{ kind: 'upsert-endpoint', endpoint: pod('a', '10.0.0.1') }, { kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') }, { kind: 'upsert-endpoint', endpoint: pod('c', '10.0.0.3') }, { kind: 'upsert-policy', policy: POLICY }]);
  await new EbpfDataplane({ kernel, now: () => 0 }).apply({ policy: full(index), attach: ATTACH });
  const entries = kernel.policyMap.data.size;
  // The new version's load: new programs, a new (empty) tw_policy, the ipcache reused.
  kernel.generation = 2;
  kernel.policyMap.data.clear();
  kernel.log.length = 0;
  kernel.maps = [
    { name: 'tw_ct', outcome: 'replaced', differences: 'max entries 131072 (the spec says 262144)', state: 'copied' },
    { name: 'tw_events', outcome: 'replaced', differences: 'max entries 1048576 (the spec says 4194304)', state: 'discarded' },
    { name: 'tw_ipcache', outcome: 'reused' },
    { name: 'tw_policy', outcome: 'replaced', differences: 'max entries 524288 (the spec says 1048576)', state: 'refilled' },
  ];
  return { kernel, index, entries };
}

/** Applies a policy that selects x/c and checks that its entries are in the map that x/c's links' program reads. */
async function changeReachesC(dataplane: EbpfDataplane, kernel: FakeKernel, index: PolicyIndex): Promise<void> {
  const before = kernel.entriesOf(13);
  const policy = compileNetworkPolicy(parseNetworkPolicy({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'c-from-a', namespace: 'x' },
    spec: { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'TCP', port: 443 }] }] },
  }));
  await dataplane.apply({ policy: index.apply([{ kind: 'upsert-policy', policy }]) });
  expect(kernel.entriesOf(13)).not.toBe(before);
  expect([kernel.links.get('vc/ingress')?.programId, kernel.links.get('vc/egress')?.programId], 'x/c runs this agent\'s programs').toEqual([21, 22]);
  const status = await dataplane.status();
  expect(status.drift).toEqual([]);
  expect(status.endpoints.find((e) => e.key === 'x/c')?.programmed).toBe(true);
}

describe('EbpfDataplane upgrade', () => {
  it('refills the replaced maps, then moves the adopted links to its programs; status says what it did', async () => {
    const { kernel, index, entries } = await upgradedKernel();
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    const before = await dataplane.status();
    expect(before.upgrade?.done).toBe(false);
    expect(before.upgrade?.notes.at(-1)).toMatch(/^pending: the first full apply fills the new maps/);

    await dataplane.apply({ policy: full(index), attach: ATTACH });
    expect(kernel.log, 'the links move once the new policy map holds every entry').toEqual([`upgrade vb.ingress vb.egress vc.ingress vc.egress with ${entries} entries`]);
    expect([...kernel.links.values()].map((l) => l.programId)).toEqual([21, 22, 21, 22]);
    const after = await dataplane.status();
    expect(after.drift).toEqual([]);
    expect(after.endpoints.every((e) => e.programmed)).toBe(true);
    expect(after.upgrade).toEqual({
      done: true,
      maps: [
        { name: 'tw_ct', outcome: 'replaced', differences: 'max entries 131072 (the spec says 262144)', state: 'copied', copied: 3, dropped: 0 },
        { name: 'tw_events', outcome: 'replaced', differences: 'max entries 1048576 (the spec says 4194304)', state: 'discarded' },
        { name: 'tw_ipcache', outcome: 'reused' },
        { name: 'tw_policy', outcome: 'replaced', differences: 'max entries 524288 (the spec says 1048576)', state: 'refilled' },
      ],
      programsUpdated: ['vb.ingress', 'vb.egress', 'vc.ingress', 'vc.egress'],
      failures: [],
      notes: [
        'tw_ct: the pinned map did not match this agent\'s object (max entries 131072 (the spec says 262144)) and is replaced; 3 entries copied',
        'tw_events: the pinned map did not match this agent\'s object (max entries 1048576 (the spec says 4194304)) and is replaced; its entries are not kept',
        'tw_policy: the pinned map did not match this agent\'s object (max entries 524288 (the spec says 1048576)) and is replaced; refilled from the policy model',
        '4 tcx links moved to this agent\'s programs',
      ],
    });
  });

  it('an endpoint that left while the agent was down loses its links instead of moving them; a new one is attached with the new programs', async () => {
    const { kernel, index } = await upgradedKernel();
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    await dataplane.apply({ policy: full(index), attach: [{ key: 'x/b', hostInterface: 'vb' }, { key: 'x/a', hostInterface: 'va' }] });
    expect(kernel.log).toEqual([
      'attach va ingress with 2 entries',
      'attach va egress with 2 entries',
      expect.stringMatching(/^upgrade vb\.ingress vb\.egress with \d+ entries$/),
      'detach vc ingress',
      'detach vc egress',
    ]);
    expect([...kernel.links.values()].map((l) => `${l.hostInterface}.${l.hook} ${l.programId}`)).toEqual(['vb.ingress 21', 'vb.egress 22', 'va.ingress 21', 'va.egress 22']);
  });

  it('a link the kernel will not move is replaced by a new link with the new program, so a later policy change reaches its endpoint', async () => {
    const { kernel, index } = await upgradedKernel();
    kernel.stuck.add('vc.egress');
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    await dataplane.apply({ policy: full(index), attach: ATTACH });
    expect(kernel.links.get('vc/egress')?.programId).toBe(22);
    expect(kernel.committed).toBe(true);
    const status = await dataplane.status();
    expect(status.drift).toEqual([]);
    expect(status.upgrade?.failures).toEqual([]);
    expect(status.upgrade?.notes).toContain('vc.egress: the link could not be moved to this agent\'s program and was replaced by a new link');

    await changeReachesC(dataplane, kernel, index);
  });

  it('a link that can be neither moved nor replaced is attached anew by the next apply, which then puts the new maps in place', async () => {
    const { kernel, index } = await upgradedKernel();
    kernel.unmovable.add('vc.egress');
    const dataplane = new EbpfDataplane({ kernel, now: () => 0 });
    await dataplane.apply({ policy: full(index), attach: ATTACH });
    expect(kernel.committed, 'the old maps stay pinned while an old program uses them').toBe(false);
    const stuck = await dataplane.status();
    expect(stuck.upgrade?.done).toBe(false);
    expect(stuck.upgrade?.failures).toEqual(['tcx egress link on vc keeps its old program: stuck']);
    expect(stuck.drift).toEqual(['x/c: the tcx egress link on vc runs program 12, not this agent\'s 22']);

    // A policy change: the stuck link is attached anew with the new program, which reads the new maps.
    kernel.log.length = 0;
    await changeReachesC(dataplane, kernel, index);
    expect(kernel.log.slice(0, 2)).toEqual([expect.stringMatching(/^attach vc egress with \d+ entries$/), expect.stringMatching(/^upgrade {2}with \d+ entries$/)]);
    expect(kernel.committed).toBe(true);
    expect((await dataplane.status()).upgrade?.done).toBe(true);
  });

  it('a restart of the same programs with every map reused reports no upgrade', async () => {
    const kernel = new FakeKernel();
    const index = new PolicyIndex();
    index.apply([{ kind: 'upsert-endpoint', endpoint: pod('b', '10.0.0.2') }, { kind: 'upsert-policy', policy: POLICY }]);
    await new EbpfDataplane({ kernel, now: () => 0 }).apply({ policy: full(index), attach: ATTACH });
    kernel.log.length = 0;
    const second = new EbpfDataplane({ kernel, now: () => 0 });
    await second.apply({ policy: full(index), attach: ATTACH });
    expect(kernel.log).toEqual([]);
    expect((await second.status()).upgrade).toBeUndefined();
  });
});
