// Upstream cases where the cluster changes between probes: policies updated, added or
// deleted, pod and namespace labels added (network_policy.go).

import { labels, networkPolicy, type NetpolCase } from './fixture.js';

/** Cases with more than one step. */
export const LIFECYCLE_CASES: readonly NetpolCase[] = [
  {
    name: 'should enforce updated policy',
    suite: 'TCP',
    upstream: true,
    steps: [
      { policies: [networkPolicy('x', 'allow-all-mutate-to-deny-all', labels({}), { ingress: [{}] })], probes: [{ port: 81, protocol: 'TCP', expect: [] }] },
      { policies: [networkPolicy('x', 'allow-all-mutate-to-deny-all', labels({}), { ingress: [] })], probes: [{ port: 81, protocol: 'TCP', expect: [['*', 'x', false]] }] },
    ],
  },
  {
    name: 'should allow ingress access from updated namespace',
    suite: 'TCP',
    upstream: true,
    steps: [
      {
        policies: [networkPolicy('x', 'allow-client-a-via-ns-selector', labels({ pod: 'a' }), { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })],
        probes: [{ port: 80, protocol: 'TCP', expect: [['*', 'x/a', false]] }],
      },
      {
        policies: [networkPolicy('x', 'allow-client-a-via-ns-selector', labels({ pod: 'a' }), { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })],
        namespaceLabels: { y: { ns2: 'updated' } },
        probes: [{ port: 80, protocol: 'TCP', expect: [['*', 'x/a', false], ['y', '*', true]] }],
      },
    ],
  },
  {
    name: 'should allow ingress access from updated pod',
    suite: 'TCP',
    upstream: true,
    steps: [
      {
        policies: [networkPolicy('x', 'allow-client-a-via-pod-selector', labels({ pod: 'a' }), { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] })],
        probes: [{ port: 80, protocol: 'TCP', expect: [['*', 'x/a', false]] }],
      },
      {
        policies: [networkPolicy('x', 'allow-client-a-via-pod-selector', labels({ pod: 'a' }), { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] })],
        podLabels: { 'x/b': { pod2: 'updated' } },
        probes: [{ port: 80, protocol: 'TCP', expect: [['*', 'x/a', false], ['x/b', 'x/a', true]] }],
      },
    ],
  },
  {
    name: 'should deny ingress access to updated pod',
    suite: 'TCP',
    upstream: true,
    steps: [
      { policies: [networkPolicy('x', 'deny-ingress-via-label-selector', labels({ target: 'isolated' }), { ingress: [] })], probes: [{ port: 80, protocol: 'TCP', expect: [] }] },
      {
        policies: [networkPolicy('x', 'deny-ingress-via-label-selector', labels({ target: 'isolated' }), { ingress: [] })],
        podLabels: { 'x/a': { target: 'isolated' } },
        probes: [{ port: 80, protocol: 'TCP', expect: [['*', 'x/a', false]] }],
      },
    ],
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
    suite: 'TCP',
    upstream: true,
    steps: [
      {
        policies: [networkPolicy('x', 'allow-ingress-port-80', labels({}), { ingress: [{ ports: [{ port: 80 }] }] })],
        probes: [{ port: 81, protocol: 'TCP', expect: [['*', 'x', false]] }],
      },
      {
        policies: [
          networkPolicy('x', 'allow-ingress-port-80', labels({}), { ingress: [{ ports: [{ port: 80 }] }] }),
          networkPolicy('x', 'allow-ingress', labels({}), { ingress: [{}] }),
        ],
        probes: [{ port: 81, protocol: 'TCP', expect: [] }],
      },
    ],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
    suite: 'TCP',
    upstream: true,
    steps: [
      {
        policies: [networkPolicy('x', 'allow-egress-port-80', labels({}), { egress: [{ ports: [{ port: 80 }] }] })],
        probes: [{ port: 81, protocol: 'TCP', expect: [['x', '*', false]] }],
      },
      {
        policies: [
          networkPolicy('x', 'allow-egress-port-80', labels({}), { egress: [{ ports: [{ port: 80 }] }] }),
          networkPolicy('x', 'allow-egress', labels({}), { egress: [{}] }),
        ],
        probes: [{ port: 81, protocol: 'TCP', expect: [] }],
      },
    ],
  },
  {
    name: 'should stop enforcing policies after they are deleted',
    suite: 'TCP',
    upstream: true,
    steps: [
      { policies: [networkPolicy('x', 'deny-all', {}, { ingress: [], egress: [] })], probes: [{ port: 80, protocol: 'TCP', expect: [['x', '*', false], ['*', 'x', false]] }] },
      { policies: [], probes: [{ port: 80, protocol: 'TCP', expect: [] }] },
    ],
  },
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    suite: 'TCP',
    upstream: true,
    steps: [
      { policies: [networkPolicy('x', 'allow-egress-for-target', labels({ pod: 'a' }), { egress: [{}] })], probes: [{ port: 80, protocol: 'TCP', expect: [] }] },
      {
        policies: [
          networkPolicy('x', 'allow-egress-for-target', labels({ pod: 'a' }), { egress: [{}] }),
          networkPolicy('x', 'deny-ingress-via-label-selector', labels({ pod: 'a' }), { ingress: [] }),
        ],
        probes: [{ port: 80, protocol: 'TCP', expect: [['*', 'x/a', false]] }],
      },
    ],
  },
];
