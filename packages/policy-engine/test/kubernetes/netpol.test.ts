// The Kubernetes upstream network-policy conformance cases (test/e2e/network/netpol),
// as fixtures: each case's policies go through parseNetworkPolicy and
// compileNetworkPolicy, and every pair of the nine pods is probed with evaluate. The
// expected truth table starts all-reachable and applies the case's expectations in
// order, as upstream's Reachability does; loopback is ignored, as upstream ignores it.

import { describe, expect, it } from 'vitest';

import { compileNetworkPolicy, evaluate, parseNetworkPolicy } from '@twill/policy-engine';

import { clusterSnapshot, podMatches, PODS } from './netpol/cluster.js';
import { EGRESS_CASES } from './netpol/cases-egress.js';
import { LIFECYCLE_CASES } from './netpol/cases-lifecycle.js';
import { PORT_CASES } from './netpol/cases-ports.js';
import { SELECTOR_CASES } from './netpol/cases-selectors.js';
import { UDP_SCTP_CASES } from './netpol/cases-udp-sctp.js';
import { type Expectation, type NetpolCase } from './netpol/fixture.js';

const CASES: readonly NetpolCase[] = [...SELECTOR_CASES, ...PORT_CASES, ...LIFECYCLE_CASES, ...EGRESS_CASES, ...UDP_SCTP_CASES];

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

describe('Kubernetes network policy conformance (upstream netpol cases)', () => {
  it('has at least 30 upstream cases', () => {
    expect(CASES.filter((c) => c.upstream).length).toBeGreaterThanOrEqual(30);
  });

  for (const testCase of CASES) {
    const title = `[${testCase.suite}]${testCase.upstream ? '' : ' [twill]'} ${testCase.name}`;
    it(title, () => {
      let podLabels: Record<string, Record<string, string>> = {};
      let namespaceLabels: Record<string, Record<string, string>> = {};
      testCase.steps.forEach((step, stepIndex) => {
        podLabels = { ...podLabels, ...step.podLabels };
        namespaceLabels = { ...namespaceLabels, ...step.namespaceLabels };
        const policies = step.policies.map((document) => compileNetworkPolicy(parseNetworkPolicy(document)));
        const snapshot = clusterSnapshot(policies, podLabels, namespaceLabels);
        for (const probe of step.probes) {
          const expected = expectedMatrix(probe.expect);
          const actual = new Map<string, boolean>();
          const wrong: string[] = [];
          for (const from of PODS) {
            for (const to of PODS) {
              if (from === to) continue;
              const [fromNs, fromName] = from.split('/') as [string, string];
              const [toNs, toName] = to.split('/') as [string, string];
              const verdict = evaluate({
                source: { endpoint: { namespace: fromNs, name: fromName } },
                destination: { endpoint: { namespace: toNs, name: toName } },
                protocol: probe.protocol,
                destinationPort: probe.port,
              }, snapshot);
              actual.set(`${from}>${to}`, verdict.allowed);
              if (verdict.allowed !== expected.get(`${from}>${to}`)) wrong.push(`${from} -> ${to}: ${verdict.explanation}`);
            }
          }
          const where = `step ${stepIndex}, ${probe.protocol}/${probe.port}`;
          expect(wrong, `${where}\nexpected:\n${table(expected)}\nactual:\n${table(actual)}`).toEqual([]);
        }
      });
    });
  }
});
