// The UDP ("Netpol [LinuxOnly]") and SCTP ("Netpol [Feature:SCTPConnectivity]") suites
// of network_policy.go: the same three cases, probed over each protocol.

import { labels, networkPolicy, NS_LABEL, type NetpolCase } from './fixture.js';

function suite(protocol: 'UDP' | 'SCTP'): NetpolCase[] {
  return [
    {
      name: "should support a 'default-deny-ingress' policy",
      suite: protocol,
      upstream: true,
      steps: [{ policies: [networkPolicy('x', 'deny-all', {}, { ingress: [] })], probes: [{ port: 80, protocol, expect: [['*', 'x', false]] }] }],
    },
    {
      name: 'should enforce policy based on Ports',
      suite: protocol,
      upstream: true,
      steps: [{
        policies: [networkPolicy('x', 'allow-ingress-on-port-81-ns-x', labels({ pod: 'a' }), {
          ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: 'y' }) }], ports: [{ port: 81, protocol }] }],
        })],
        probes: [
          { port: 81, protocol, expect: [['x', 'x/a', false], ['z', 'x/a', false]] },
          { port: 81, protocol: 'TCP', expect: [['*', 'x/a', false]], extra: true },
        ],
      }],
    },
    {
      name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
      suite: protocol,
      upstream: true,
      steps: [{
        policies: [networkPolicy('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', labels({ pod: 'a' }), {
          ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: 'y' }), podSelector: labels({ pod: 'a' }) }] }],
        })],
        probes: [{ port: 80, protocol, expect: [['*', 'x/a', false], ['y/a', 'x/a', true]] }],
      }],
    },
  ];
}

/** The UDP and SCTP suites. */
export const UDP_SCTP_CASES: readonly NetpolCase[] = [...suite('UDP'), ...suite('SCTP')];
