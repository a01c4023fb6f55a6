// Upstream cases about egress, and about ipBlock (network_policy.go). Pod addresses
// come from cluster.ts: x/b is 10.1.1.2, y/b is 10.1.2.2.

import { labels, networkPolicy, NS_LABEL, type NetpolCase } from './fixture.js';

// makeLargeCIDRForIP: the /4 holding x/b's address, 10.1.1.2 → 0.0.0.0/4 (it holds every pod).
const LARGE_CIDR_AROUND_XB = '0.0.0.0/4';
const exceptXb = { ipBlock: { cidr: LARGE_CIDR_AROUND_XB, except: ['10.1.1.2/32'] } };

/** Egress and ipBlock cases. */
export const EGRESS_CASES: readonly NetpolCase[] = [
  {
    name: 'should deny egress from pods based on PodSelector',
    suite: 'TCP',
    upstream: true,
    steps: [{ policies: [networkPolicy('x', 'deny-egress-pod-a', labels({ pod: 'a' }), { egress: [] })], probes: [{ port: 80, protocol: 'TCP', expect: [['x/a', '*', false]] }] }],
  },
  {
    name: 'should deny egress from all pods in a namespace',
    suite: 'TCP',
    upstream: true,
    steps: [{ policies: [networkPolicy('x', 'deny-egress-ns-x', {}, { egress: [] })], probes: [{ port: 80, protocol: 'TCP', expect: [['x', '*', false]] }] }],
  },
  {
    name: 'should work with Ingress, Egress specified together',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-client-a-via-pod-selector', labels({ pod: 'a' }), {
        ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }],
        egress: [{ ports: [{ port: 80 }] }],
        policyTypes: ['Egress', 'Ingress'],
      })],
      probes: [
        { port: 80, protocol: 'TCP', expect: [['*', 'x/a', false], ['x/b', 'x/a', true]] },
        { port: 81, protocol: 'TCP', expect: [['*', 'x/a', false], ['x/a', '*', false], ['x/b', 'x/a', true]] },
      ],
    }],
  },
  {
    name: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [
        networkPolicy('x', 'allow-to-ns-y-pod-a', labels({ pod: 'a' }), { egress: [{ to: [{ namespaceSelector: labels({ [NS_LABEL]: 'y' }), podSelector: labels({ pod: 'a' }) }] }] }),
        networkPolicy('y', 'allow-from-xa-on-ya-match-selector', labels({ pod: 'a' }), { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: 'x' }), podSelector: labels({ pod: 'a' }) }] }] }),
        networkPolicy('y', 'allow-from-xa-on-yb-match-selector', labels({ pod: 'b' }), { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: 'x' }), podSelector: labels({ pod: 'a' }) }] }] }),
      ],
      probes: [{ port: 80, protocol: 'TCP', expect: [['x/a', '*', false], ['*', 'y/a', false], ['x/a', 'y/a', true], ['*', 'y/b', false]] }],
    }],
  },
  {
    name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-to-ns-y-pod-a', labels({ pod: 'a' }), { egress: [{ to: [{ namespaceSelector: labels({ [NS_LABEL]: 'y' }), podSelector: labels({ pod: 'a' }) }] }] })],
      probes: [{ port: 80, protocol: 'TCP', expect: [['x/a', '*', false], ['x/a', 'y/a', true]] }],
    }],
  },
  {
    name: 'should allow egress access to server in CIDR block',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-client-a-via-cidr-egress-rule', labels({ pod: 'a' }), { egress: [{ to: [{ ipBlock: { cidr: '10.1.2.2/32' } }] }] })],
      probes: [{ port: 80, protocol: 'TCP', expect: [['x/a', '*', false], ['x/a', 'y/b', true]] }],
    }],
  },
  {
    name: 'should enforce except clause while egress access to server in CIDR block',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-client-a-via-cidr-egress-rule', labels({ pod: 'a' }), { egress: [{ to: [exceptXb] }] })],
      probes: [{ port: 80, protocol: 'TCP', expect: [['x/a', 'x/b', false]] }],
    }],
  },
  {
    name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed',
    suite: 'TCP',
    upstream: true,
    steps: [
      {
        policies: [networkPolicy('x', 'allow-client-a-via-cidr-egress-rule', labels({ pod: 'a' }), { egress: [{ to: [exceptXb] }] })],
        probes: [{ port: 80, protocol: 'TCP', expect: [['x/a', 'x/b', false]] }],
      },
      {
        // Upstream updates the policy in place (same name) to allow x/b's /32 only.
        policies: [networkPolicy('x', 'allow-client-a-via-cidr-egress-rule', labels({ pod: 'a' }), { egress: [{ to: [{ ipBlock: { cidr: '10.1.1.2/32' } }] }] })],
        probes: [{ port: 80, protocol: 'TCP', expect: [['x/a', '*', false], ['x/a', 'x/b', true]] }],
      },
    ],
  },
];
