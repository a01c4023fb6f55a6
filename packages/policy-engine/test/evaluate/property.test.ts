// Property: on random pods, namespaces and Kubernetes policies, evaluate agrees with the
// naive reference evaluator on every flow.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { compileNetworkPolicy, createSnapshot, evaluate, parseNetworkPolicy, PROTOCOL } from '@twill/policy-engine';

import { naiveAllowed, type RefPod } from './naive-reference.js';

const NAMESPACES = ['x', 'y', 'z'];
const KEYS = ['app', 'tier'];
const VALUES = ['a', 'b', 'c'];
const PORTS = [80, 81, 443, 8080];

const labelSet = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 2 });

const selector = fc.record({
  matchLabels: fc.option(labelSet, { nil: undefined }),
  matchExpressions: fc.option(fc.array(fc.oneof(
    fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('In', 'NotIn'), values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }) }),
    fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
  ), { maxLength: 2 }), { nil: undefined }),
}, { requiredKeys: [] });

const peer = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: selector }),
  fc.record({ podSelector: selector, namespaceSelector: selector }),
  fc.constantFrom(
    { ipBlock: { cidr: '10.9.0.0/16' } },
    { ipBlock: { cidr: '10.9.0.0/16', except: ['10.9.1.0/24'] } },
    { ipBlock: { cidr: '10.9.2.0/23', except: ['10.9.2.1/32', '10.9.3.0/25'] } },
  ),
);

const port = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') }, { requiredKeys: [] }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'), port: fc.constantFrom(...PORTS) }, { requiredKeys: ['port'] }),
  fc.record({ port: fc.constantFrom(80, 81), endPort: fc.constantFrom(81, 443, 8080) }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom('http', 'metrics') }, { requiredKeys: ['port'] }),
);

const rules = (peersKey: 'from' | 'to') => fc.option(fc.array(fc.record({
  [peersKey]: fc.option(fc.array(peer, { maxLength: 3 }), { nil: undefined }),
  ports: fc.option(fc.array(port, { maxLength: 2 }), { nil: undefined }),
}, { requiredKeys: [] }), { maxLength: 2 }), { nil: undefined });

const policySpec = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  podSelector: selector,
  ingress: rules('from'),
  egress: rules('to'),
  policyTypes: fc.option(fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress'], []), { nil: undefined }),
});

const world = fc.record({
  namespaceLabels: fc.tuple(labelSet, labelSet, labelSet),
  pods: fc.array(fc.record({
    namespace: fc.constantFrom(...NAMESPACES),
    labels: labelSet,
    httpPort: fc.constantFrom(80, 8080),
    metricsProtocol: fc.constantFrom('TCP', 'UDP'),
  }), { minLength: 2, maxLength: 6 }),
  policies: fc.array(policySpec, { maxLength: 4 }),
  flows: fc.array(fc.record({ from: fc.nat(), to: fc.nat(), protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'), port: fc.constantFrom(...PORTS) }), { minLength: 1, maxLength: 10 }),
});

function strip<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('evaluate versus a naive reference evaluator', () => {
  it('agrees on random pods, policies and flows', () => {
    fc.assert(fc.property(world, (w) => {
      const nsLabels = (ns: string): Record<string, string> => ({ 'kubernetes.io/metadata.name': ns, ...w.namespaceLabels[NAMESPACES.indexOf(ns)] });
      // Pods are spread over three /24s so that the ipBlocks above cut through them.
      const pods: RefPod[] = w.pods.map((p, i) => ({
        namespace: p.namespace,
        name: `p${i}`,
        labels: p.labels,
        ip: `10.9.${i % 3 + 1}.${i + 1}`,
        namedPorts: [{ name: 'http', protocol: 'TCP', port: p.httpPort }, { name: 'metrics', protocol: p.metricsProtocol, port: 81 }],
      }));
      const documents = w.policies.map((p, i) => strip({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: `np${i}`, namespace: p.namespace },
        spec: { podSelector: p.podSelector, ingress: p.ingress, egress: p.egress, policyTypes: p.policyTypes },
      }));
      const snapshot = createSnapshot({
        namespaces: NAMESPACES.map((name) => ({ name, labels: nsLabels(name) })),
        endpoints: pods.map((p) => ({
          kind: 'workload',
          namespace: p.namespace,
          name: p.name,
          labels: p.labels,
          ips: [p.ip],
          namedPorts: p.namedPorts.map((n) => ({ name: n.name, protocol: PROTOCOL[n.protocol as 'TCP'], port: n.port })),
        })),
        policies: documents.map((d) => compileNetworkPolicy(parseNetworkPolicy(d))),
      });
      for (const f of w.flows) {
        const from = pods[f.from % pods.length] as RefPod;
        const to = pods[f.to % pods.length] as RefPod;
        const flow = { from, to, protocol: f.protocol as 'TCP', port: f.port };
        const verdict = evaluate({
          source: { endpoint: { namespace: from.namespace, name: from.name } },
          destination: { endpoint: { namespace: to.namespace, name: to.name } },
          protocol: f.protocol,
          destinationPort: f.port,
        }, snapshot);
        expect(verdict.allowed, verdict.explanation).toBe(naiveAllowed(flow, documents, nsLabels));
      }
    }), { numRuns: 500 });
  });
});
