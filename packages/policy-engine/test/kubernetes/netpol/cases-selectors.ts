// Upstream cases about pod and namespace selectors (network_policy.go, "NetworkPolicy
// between server and client"), TCP/80.

import { expression, labels, networkPolicy, NS_LABEL, type NetpolCase } from './fixture.js';

const tcp80 = (expect: NetpolCase['steps'][number]['probes'][number]['expect']) => [{ port: 80, protocol: 'TCP', expect }] as const;

/** Selector cases. */
export const SELECTOR_CASES: readonly NetpolCase[] = [
  {
    name: "should support a 'default-deny-ingress' policy",
    suite: 'TCP',
    upstream: true,
    steps: [{ policies: [networkPolicy('x', 'deny-ingress', {}, { ingress: [] })], probes: tcp80([['*', 'x', false]]) }],
  },
  {
    name: "should support a 'default-deny-all' policy",
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'deny-all', {}, { ingress: [], egress: [] })],
      probes: tcp80([['*', 'x', false], ['x', '*', false]]),
    }],
  },
  {
    name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'x-a-allows-x-b', labels({ pod: 'a' }), { ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }] })],
      probes: tcp80([['*', 'x/a', false], ['x/b', 'x/a', true]]),
    }],
  },
  {
    name: 'should enforce policy to allow ingress traffic for a target',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [
        networkPolicy('x', 'deny-all', {}, { ingress: [] }),
        networkPolicy('x', 'allow-all-to-a', labels({ pod: 'a' }), { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] }),
      ],
      probes: tcp80([['*', 'x', false], ['*', 'x/a', true]]),
    }],
  },
  {
    name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-from-another-ns', labels({ pod: 'a' }), { ingress: [{ from: [{ namespaceSelector: labels({}) }] }] })],
      probes: tcp80([]),
    }],
  },
  {
    name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-client-a-via-ns-selector', labels({ pod: 'a' }), { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: 'y' }) }] }] })],
      probes: tcp80([['x', 'x/a', false], ['z', 'x/a', false]]),
    }],
  },
  {
    name: 'should enforce policy based on PodSelector with MatchExpressions',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'x-a-allows-x-b', labels({ pod: 'a' }), { ingress: [{ from: [{ podSelector: expression('pod', 'In', ['b']) }] }] })],
      probes: tcp80([['*', 'x/a', false], ['x/b', 'x/a', true]]),
    }],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ns-y-match-selector', labels({ pod: 'a' }), { ingress: [{ from: [{ namespaceSelector: expression(NS_LABEL, 'In', ['y']) }] }] })],
      probes: tcp80([['x', 'x/a', false], ['z', 'x/a', false]]),
    }],
  },
  {
    name: 'should enforce policy based on PodSelector or NamespaceSelector',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ns-y-match-selector', labels({ pod: 'a' }), {
        ingress: [{ from: [{ namespaceSelector: expression(NS_LABEL, 'NotIn', ['x']) }, { podSelector: labels({ pod: 'b' }) }] }],
      })],
      probes: tcp80([['x/a', 'x/a', false], ['x/c', 'x/a', false]]),
    }],
  },
  {
    name: 'should enforce policy based on PodSelector and NamespaceSelector',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ns-y-podselector-and-nsselector', labels({ pod: 'a' }), {
        ingress: [{ from: [{ namespaceSelector: expression(NS_LABEL, 'NotIn', ['x']), podSelector: labels({ pod: 'b' }) }] }],
      })],
      probes: tcp80([['*', 'x/a', false], ['y/b', 'x/a', true], ['z/b', 'x/a', true]]),
    }],
  },
  {
    name: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ns-y-z-pod-b-c', labels({ pod: 'a' }), {
        ingress: [{ from: [{ namespaceSelector: expression(NS_LABEL, 'NotIn', ['x']), podSelector: expression('pod', 'In', ['b', 'c']) }] }],
      })],
      // Upstream's trimmed topology lists x → x/a and y/a → x/a; z/a is denied the same way.
      probes: tcp80([['x', 'x/a', false], ['y/a', 'x/a', false], ['z/a', 'x/a', false]]),
    }],
  },
  {
    name: 'should enforce policy based on any PodSelectors',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ns-x-pod-b-c', labels({ pod: 'a' }), {
        ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }, { podSelector: labels({ pod: 'c' }) }] }],
      })],
      probes: tcp80([['*', 'x/a', false], ['x/b', 'x/a', true], ['x/c', 'x/a', true]]),
    }],
  },
  {
    name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', labels({ pod: 'a' }), {
        ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: 'y' }), podSelector: labels({ pod: 'a' }) }] }],
      })],
      probes: tcp80([['*', 'x/a', false], ['y/a', 'x/a', true]]),
    }],
  },
  {
    name: 'should deny ingress from pods on other namespaces',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'deny-empty-policy', {}, { ingress: [{ from: [{ podSelector: labels({}) }] }] })],
      probes: tcp80([['y', 'x', false], ['z', 'x', false]]),
    }],
  },
  {
    name: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-client-a-via-ns-selector-for-immutable-ns-label', labels({ pod: 'a' }), {
        ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: 'y' }) }] }],
      })],
      probes: tcp80([['x', 'x/a', false], ['z', 'x/a', false]]),
    }],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ns-y-match-selector-for-immutable-ns-label', labels({ pod: 'a' }), {
        egress: [{ to: [{ namespaceSelector: expression(NS_LABEL, 'NotIn', ['y']) }] }],
      })],
      probes: tcp80([['x/a', 'y', false]]),
    }],
  },
];
