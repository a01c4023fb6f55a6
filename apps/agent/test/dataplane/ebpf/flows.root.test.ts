// The programs' verdicts reach the agent as flow events, with the rule that decided.

import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy, PolicyIndex } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { createEbpfDataplane, DEFAULT_OBJECT_PATH, type FlowEvent } from '../../../src/dataplane/ebpf/index.js';
import { DataplaneLab } from '../harness/index.js';
import { mountPrivateBpffs, type PrivateBpffs } from './bpffs.js';
import { RESTART_POLICY } from './owner.js';

const reason = rootSkipReason('creates network namespaces, loads eBPF programs and mounts bpffs')
  ?? (existsSync(DEFAULT_OBJECT_PATH) ? undefined : `no ${DEFAULT_OBJECT_PATH}: run npm run build:bpf`);

describe.skipIf(reason)(`eBPF dataplane flow events as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let bpffs: PrivateBpffs;
  beforeAll(() => {
    bpffs = mountPrivateBpffs();
  });
  afterAll(() => bpffs.close());

  it('reports each new connection\'s verdict with the deciding rule, and none for packets of known connections', async () => {
    const lab = await DataplaneLab.create({ pods: [{ key: 'x/a', ip: '10.78.0.1' }, { key: 'x/b', ip: '10.78.0.2' }], ports: [80, 81] });
    const events: FlowEvent[] = [];
    const dataplane = await createEbpfDataplane({ netns: lab.node, pinRoot: bpffs.pinRoot(), onFlow: (e) => events.push(e) });
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
      // Events arrive through the event loop: wait until the denial is in (bounded).
      for (let i = 0; i < 50 && !events.some((e) => e.verdict === 'deny'); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      const b = lab.pod('x/b');
      const seen = events.map((e) => `${e.direction} ${e.source} -> ${e.destination}:${e.destinationPort} ${e.verdict} by ${dataplane.describeRule(e.rule)}`);
      const toB = events.filter((e) => e.direction === 'ingress' && e.destination === b.ip);
      expect(toB.map((e) => [e.destinationPort, e.verdict, dataplane.describeRule(e.rule)]), seen.join('\n')).toEqual([
        [80, 'allow', 'NetworkPolicy x/b-from-a ingress rule 0 (tier default)'],
        // The denied SYN is retransmitted: every attempt is a new decision.
        ...toB.slice(1).map(() => [81, 'deny', 'tier default default deny (ingress, isolated by NetworkPolicy x/b-from-a)']),
      ]);
      expect(toB.length).toBeGreaterThanOrEqual(2);
      // a's egress (no policy) allowed both by default; the reply of the allowed connection is no new decision.
      expect(events.filter((e) => e.direction === 'egress' && e.source === b.ip)).toEqual([]);
    } finally {
      await dataplane.cleanup();
      lab.close();
    }
  }, 60_000);
});
