// The Kubernetes upstream network-policy conformance cases (test/e2e/network/netpol),
// as fixtures: each case's policies go through parseNetworkPolicy and
// compileNetworkPolicy, and every pair of the nine pods is probed with evaluate. The
// expected truth table starts all-reachable and applies the case's expectations in
// order, as upstream's Reachability does; loopback is ignored, as upstream ignores it.
//
// The same steps also drive one PolicyIndex change by change (policies created, updated
// and deleted, pods and namespaces relabelled, as upstream does to a live cluster), and
// its verdicts must match the same truth tables.

import { describe, expect, it } from 'vitest';

import {
  compileNetworkPolicy,
  evaluate,
  formatPolicyRef,
  parseNetworkPolicy,
  PolicyIndex,
  type Flow,
  type Policy,
  type PolicyIndexChange,
} from '@twill/policy-engine';

import { ALL_CASES as CASES } from './netpol/all-cases.js';
import { clusterObjects, clusterSnapshot, podMatches, PODS } from './netpol/cluster.js';
import { type Expectation, type Probe } from './netpol/fixture.js';

function expectedMatrix(expectations: readonly Expectation[]): Map<string, boolean> {
  const matrix = new Map<string, boolean>();
  for (const from of PODS) for (const to of PODS) matrix.set(`${from}>${to}`, true);
  for (const [fromPattern, toPattern, reachable] of expectations) {
    for (const from of PODS) {
      for (const to of PODS) if (podMatches(fromPattern, from) && podMatches(toPattern, to)) matrix.set(`${from}>${to}`, reachable);
    }
  }
  return matrix;
}

// Upstream's truth-table layout: rows are clients, columns servers, `.` reachable, `X` not.
function table(matrix: Map<string, boolean>): string {
  const rows = PODS.map((from) => `${from}\t${PODS.map((to) => (from === to ? '-' : matrix.get(`${from}>${to}`) ? '.' : 'X')).join('\t')}`);
  return [`-\t${PODS.join('\t')}`, ...rows].join('\n');
}

function probeFlow(from: string, to: string, probe: Probe): Flow {
  const [fromNs, fromName] = from.split('/') as [string, string];
  const [toNs, toName] = to.split('/') as [string, string];
  return {
    source: { endpoint: { namespace: fromNs, name: fromName } },
    destination: { endpoint: { namespace: toNs, name: toName } },
    protocol: probe.protocol,
    destinationPort: probe.port,
  };
}

/** Probes every pair with `allowed`; the pairs that disagree with the expectations, and the table of actual verdicts. */
function check(probe: Probe, allowed: (flow: Flow) => { allowed: boolean; explanation: string }): { wrong: string[]; actual: Map<string, boolean> } {
  const expected = expectedMatrix(probe.expect);
  const actual = new Map<string, boolean>();
  const wrong: string[] = [];
  for (const from of PODS) {
    for (const to of PODS) {
      if (from === to) continue;
      const verdict = allowed(probeFlow(from, to, probe));
      actual.set(`${from}>${to}`, verdict.allowed);
      if (verdict.allowed !== expected.get(`${from}>${to}`)) wrong.push(`${from} -> ${to}: ${verdict.explanation}`);
    }
  }
  return { wrong, actual };
}

describe('Kubernetes network policy conformance (upstream netpol cases)', () => {
  for (const testCase of CASES) {
    const title = `[${testCase.suite}]${testCase.upstream ? '' : ' [twill]'} ${testCase.name}`;
    it(title, () => {
      let podLabels: Record<string, Record<string, string>> = {};
      let namespaceLabels: Record<string, Record<string, string>> = {};
      const index = new PolicyIndex();
      let inForce = new Map<string, Policy>();
      testCase.steps.forEach((step, stepIndex) => {
        podLabels = { ...podLabels, ...step.podLabels };
        namespaceLabels = { ...namespaceLabels, ...step.namespaceLabels };
        const policies = step.policies.map((document) => compileNetworkPolicy(parseNetworkPolicy(document)));
        const snapshot = clusterSnapshot(policies, podLabels, namespaceLabels);

        // The same step as changes to the index: what a controller watching the cluster sees.
        const { namespaces, endpoints } = clusterObjects(podLabels, namespaceLabels);
        const next = new Map(policies.map((policy) => [formatPolicyRef(policy.ref), policy]));
        const changes: PolicyIndexChange[] = [
          ...namespaces.map((namespace) => ({ kind: 'upsert-namespace' as const, namespace })),
          ...endpoints.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })),
          ...[...inForce].filter(([key]) => !next.has(key)).map(([, policy]) => ({ kind: 'delete-policy' as const, ref: policy.ref })),
          ...policies.map((policy) => ({ kind: 'upsert-policy' as const, policy })),
        ];
        index.apply(changes);
        inForce = next;

        for (const probe of step.probes) {
          const where = `step ${stepIndex}, ${probe.protocol}/${probe.port}`;
          const expected = table(expectedMatrix(probe.expect));
          const byEvaluate = check(probe, (flow) => evaluate(flow, snapshot));
          expect(byEvaluate.wrong, `evaluate, ${where}\nexpected:\n${expected}\nactual:\n${table(byEvaluate.actual)}`).toEqual([]);
          const byIndex = check(probe, (flow) => {
            const verdict = index.evaluate(flow);
            const denied = [verdict.egress, verdict.ingress].find((side) => side !== undefined && !side.allowed);
            return { allowed: verdict.allowed, explanation: denied === undefined ? 'allowed' : `${denied.direction} ${denied.reason}` };
          });
          expect(byIndex.wrong, `PolicyIndex, ${where}\nexpected:\n${expected}\nactual:\n${table(byIndex.actual)}`).toEqual([]);
        }
      });
    });
  }
});
