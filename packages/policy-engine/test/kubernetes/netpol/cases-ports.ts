// Upstream cases about ports, named ports and protocols (network_policy.go), plus two
// endPort cases of ours.

import { labels, networkPolicy, NS_LABEL, type NetpolCase } from './fixture.js';

const fromY = { namespaceSelector: labels({ [NS_LABEL]: 'y' }) };

/** Port and protocol cases. */
export const PORT_CASES: readonly NetpolCase[] = [
  {
    name: 'should enforce policy based on Ports',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-client-a-via-ns-selector', labels({ pod: 'a' }), { ingress: [{ from: [fromY], ports: [{ port: 81, protocol: 'TCP' }] }] })],
      probes: [
        { port: 81, protocol: 'TCP', expect: [['x', 'x/a', false], ['y', 'x/a', true], ['z', 'x/a', false]] },
        { port: 80, protocol: 'TCP', expect: [['*', 'x/a', false]], extra: true },
      ],
    }],
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors',
    suite: 'TCP',
    upstream: true,
    steps: [
      {
        policies: [networkPolicy('x', 'allow-client-a-via-ns-selector', labels({ pod: 'a' }), { ingress: [{ from: [fromY], ports: [{ port: 81, protocol: 'TCP' }] }] })],
        probes: [
          { port: 81, protocol: 'TCP', expect: [['x', 'x/a', false], ['y', 'x/a', true], ['z', 'x/a', false]] },
          { port: 80, protocol: 'TCP', expect: [['*', 'x/a', false]] },
        ],
      },
      {
        policies: [
          networkPolicy('x', 'allow-client-a-via-ns-selector', labels({ pod: 'a' }), { ingress: [{ from: [fromY], ports: [{ port: 81, protocol: 'TCP' }] }] }),
          networkPolicy('x', 'allow-client-a-via-ns-selector-80', labels({ pod: 'a' }), { ingress: [{ from: [fromY], ports: [{ port: 80, protocol: 'TCP' }] }] }),
        ],
        probes: [{ port: 80, protocol: 'TCP', expect: [['x', 'x/a', false], ['y', 'x/a', true], ['z', 'x/a', false]] }],
      },
    ],
  },
  {
    name: 'should support allow-all policy',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-all', labels({}), { ingress: [{}] })],
      probes: [{ port: 80, protocol: 'TCP', expect: [] }, { port: 81, protocol: 'TCP', expect: [] }],
    }],
  },
  {
    name: 'should allow ingress access on one named port',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-all', labels({}), { ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
      probes: [{ port: 81, protocol: 'TCP', expect: [] }, { port: 80, protocol: 'TCP', expect: [['*', 'x', false]] }],
    }],
  },
  {
    name: 'should allow ingress access from namespace on one named port',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-client-a-via-ns-selector-80', labels({ pod: 'a' }), {
        ingress: [{ from: [fromY], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }],
      })],
      probes: [
        { port: 80, protocol: 'TCP', expect: [['x', 'x/a', false], ['z', 'x/a', false]] },
        { port: 81, protocol: 'TCP', expect: [['*', 'x/a', false]] },
      ],
    }],
  },
  {
    name: 'should allow egress access on one named port',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-egress', labels({}), { egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })],
      probes: [{ port: 80, protocol: 'TCP', expect: [] }, { port: 81, protocol: 'TCP', expect: [['x', '*', false]] }],
    }],
  },
  {
    name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-ingress-by-proto', labels({ pod: 'a' }), { ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
      probes: [
        { port: 80, protocol: 'TCP', expect: [] },
        { port: 80, protocol: 'UDP', expect: [['*', 'x/a', false]] },
        { port: 81, protocol: 'SCTP', expect: [['*', 'x/a', false]], extra: true },
      ],
    }],
  },
  {
    name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [
        networkPolicy('x', 'deny-ingress', {}, { ingress: [] }),
        networkPolicy('x', 'allow-only-sctp-ingress-on-port-81', labels({ pod: 'a' }), { ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] }),
      ],
      probes: [
        { port: 81, protocol: 'TCP', expect: [['*', 'x', false]] },
        { port: 81, protocol: 'SCTP', expect: [['*', 'x', false], ['*', 'x/a', true]], extra: true },
      ],
    }],
  },
  {
    name: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-only-sctp-ingress-on-port-80', labels({ pod: 'a' }), { ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })],
      probes: [
        { port: 81, protocol: 'TCP', expect: [['*', 'x/a', false]] },
        { port: 80, protocol: 'SCTP', expect: [], extra: true },
      ],
    }],
  },
  {
    name: 'should not allow access by TCP when a policy specifies only UDP',
    suite: 'TCP',
    upstream: true,
    steps: [{
      policies: [networkPolicy('x', 'allow-only-udp-ingress-on-port-81', labels({ pod: 'a' }), { ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })],
      probes: [
        { port: 81, protocol: 'TCP', expect: [['*', 'x/a', false]] },
        { port: 81, protocol: 'UDP', expect: [], extra: true },
      ],
    }],
  },
  {
    name: 'should allow ingress on a port range (endPort) from one namespace',
    suite: 'TCP',
    upstream: false,
    steps: [{
      policies: [networkPolicy('x', 'allow-range-from-y', labels({ pod: 'a' }), { ingress: [{ from: [fromY], ports: [{ port: 80, endPort: 81 }] }] })],
      probes: [
        { port: 80, protocol: 'TCP', expect: [['*', 'x/a', false], ['y', 'x/a', true]] },
        { port: 81, protocol: 'TCP', expect: [['*', 'x/a', false], ['y', 'x/a', true]] },
        { port: 81, protocol: 'UDP', expect: [['*', 'x/a', false]] },
      ],
    }],
  },
  {
    name: 'should allow egress on a port range (endPort) that ends below a port',
    suite: 'TCP',
    upstream: false,
    steps: [{
      policies: [networkPolicy('x', 'allow-egress-range', labels({}), { egress: [{ ports: [{ protocol: 'TCP', port: 70, endPort: 80 }] }] })],
      probes: [
        { port: 80, protocol: 'TCP', expect: [] },
        { port: 81, protocol: 'TCP', expect: [['x', '*', false]] },
      ],
    }],
  },
];
