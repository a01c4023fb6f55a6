// `twill policy simulate --matrix` on the policy engine's truth-table fixtures: the
// Kubernetes upstream netpol conformance cases (packages/policy-engine/test/kubernetes/netpol),
// the same cases the dataplane harness runs. Each step's cluster is written as the YAML
// Kubernetes writes (Namespaces and Pods with labels, status.podIPs and named container
// ports), its policies as YAML files, and every probe of the step must get the verdict
// of the fixture's truth table. The fixtures are not exported by the engine, so they
// are imported by path at run time, as the agent's harness does.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';

import { twill } from '../helpers.js';
import { netpolClusterYaml, NETPOL_PODS } from './cluster-yaml.js';

const NETPOL = join(import.meta.dirname, '..', '..', '..', '..', 'packages', 'policy-engine', 'test', 'kubernetes', 'netpol');

interface Probe {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly expect: readonly (readonly [string, string, boolean])[];
}
interface NetpolCase {
  readonly name: string;
  readonly suite: string;
  readonly steps: readonly {
    readonly policies: readonly unknown[];
    readonly podLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    readonly namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    readonly probes: readonly Probe[];
  }[];
}

const { ALL_CASES } = (await import(pathToFileURL(join(NETPOL, 'all-cases.ts')).href)) as { ALL_CASES: readonly NetpolCase[] };

const matches = (pattern: string, pod: string): boolean =>
  pattern === '*' || (pattern.includes('/') ? pattern === pod : pod.startsWith(`${pattern}/`));

// Upstream's Reachability: all reachable, then each expectation in order.
function expected(probe: Probe, from: string, to: string): boolean {
  let reachable = true;
  for (const [f, t, r] of probe.expect) if (matches(f, from) && matches(t, to)) reachable = r;
  return reachable;
}

interface ProbeJson {
  from: string;
  to: string;
  port: number;
  protocol: string;
  verdict: 'allow' | 'deny';
  explanation: string;
}

describe('twill policy simulate on the netpol conformance fixtures', () => {
  it('has the fixtures', () => {
    expect(ALL_CASES.length).toBeGreaterThan(40);
  });

  for (const testCase of ALL_CASES) {
    it(`[${testCase.suite}] ${testCase.name}`, async () => {
      const podLabels: Record<string, Record<string, string>> = {};
      const namespaceLabels: Record<string, Record<string, string>> = {};
      for (const [stepIndex, step] of testCase.steps.entries()) {
        // Label changes are cumulative over a case's steps, as upstream applies them to a live cluster.
        for (const [pod, labels] of Object.entries(step.podLabels ?? {})) podLabels[pod] = { ...podLabels[pod], ...labels };
        for (const [ns, labels] of Object.entries(step.namespaceLabels ?? {})) namespaceLabels[ns] = { ...namespaceLabels[ns], ...labels };
        // One file per policy, in a folder, so folders are read too.
        const files: Record<string, string> = { 'cluster.yaml': netpolClusterYaml(podLabels, namespaceLabels), 'policies/none.yaml': '# no policy in force in this step\n' };
        step.policies.forEach((policy, i) => {
          files[`policies/${String(i).padStart(2, '0')}.yaml`] = stringify(policy);
        });
        const ports = [...new Set(step.probes.map((p) => p.port))];
        const protocols = [...new Set(step.probes.map((p) => p.protocol))];
        const run = await twill(['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'policies', '--matrix',
          '--ports', ports.join(','), '--protocols', protocols.join(','), '-o', 'json'], { files });
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const probes = (JSON.parse(run.stdout) as { probes: ProbeJson[] }).probes;
        expect(probes).toHaveLength(ports.length * protocols.length * NETPOL_PODS.length * (NETPOL_PODS.length - 1));
        const byKey = new Map(probes.map((p) => [`${p.protocol}/${p.port} ${p.from}>${p.to}`, p]));
        const wrong: string[] = [];
        for (const probe of step.probes) {
          for (const from of NETPOL_PODS) {
            for (const to of NETPOL_PODS) {
              if (from === to) continue;
              const got = byKey.get(`${probe.protocol}/${probe.port} ${from}>${to}`);
              const want = expected(probe, from, to) ? 'allow' : 'deny';
              if (got?.verdict !== want) wrong.push(`step ${stepIndex} ${probe.protocol}/${probe.port} ${from} -> ${to}: want ${want}, got ${got?.verdict}: ${got?.explanation}`);
            }
          }
        }
        expect(wrong).toEqual([]);
      }
    });
  }
});
