// The harness itself: a lab's pods reach each other with no dataplane, and a driver
// that programs nothing is caught, with each disagreement named in words.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { compileNetworkPolicy, parseNetworkPolicy } from '@twill/policy-engine';
import { rootSkipReason } from '@twill/sys/testing';

import { type Dataplane } from '../../../src/dataplane/port.js';
import { DataplaneLab, labPods, NETPOL_CLUSTER, runTruthTable } from './index.js';

const reason = rootSkipReason('creates network namespaces');

const doesNothing: Dataplane = {
  driver: 'nftables',
  apply: () => Promise.resolve({ endpoints: 0, operations: 0, durationMs: 0 }),
  status: () => Promise.resolve({ driver: 'nftables', endpoints: [], drift: [] }),
  cleanup: () => Promise.resolve(),
};

describe.skipIf(reason)(`truth-table harness as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: DataplaneLab;
  const cluster = { ...NETPOL_CLUSTER, endpoints: NETPOL_CLUSTER.endpoints.filter((e) => e.namespace === 'x') };
  beforeEach(async () => {
    lab = await DataplaneLab.create({ pods: labPods(cluster), ports: [80] });
  });
  afterEach(() => lab.close());

  it('connects every pair of pods over TCP and UDP when nothing filters', async () => {
    const results = await Promise.all([['x/a', 'x/b'], ['x/b', 'x/c'], ['x/c', 'x/a']].flatMap(([from, to]) =>
      (['TCP', 'UDP'] as const).map((protocol) => lab.attempt({ from: from as string, to: to as string, port: 80, protocol }, 2000))));
    expect(results).toEqual([true, true, true, true, true, true]);
  });

  it('reports every probe where the kernel disagrees with evaluate', async () => {
    const denyAll = compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-b', namespace: 'x' },
      spec: { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'] },
    }));
    const report = await runTruthTable({ lab, factory: () => Promise.resolve(doesNothing), cluster: { ...cluster, ports: [80] }, cases: [{ name: 'deny b', steps: [{ policies: [denyAll] }] }] });
    expect(report.probes).toBe(12);
    expect(report.mismatches).toHaveLength(4);
    expect(report.mismatches[0]).toBe('deny b [step 1] x/a -> x/b TCP/80: the kernel allowed it, evaluate says deny '
      + '(no policy selects x/a for egress; TCP/80 to x/b is allowed by default; x/b is isolated for ingress by NetworkPolicy x/deny-b; no rule allowed TCP/80 from x/a)');
  });
});
