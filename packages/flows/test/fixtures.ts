// Flows for tests, built from a base with a few fields changed.
import type { Flow, FlowTime } from '../src/index.js';

/** A forwarded TCP flow from default/frontend-1 to prod/api-7:8080 on node-a, at `time`. */
export function makeFlow(overrides: Partial<Flow> = {}, time: FlowTime = { seconds: 100, nanos: 0 }): Flow {
  return {
    time,
    uuid: 'f-1',
    verdict: 'FORWARDED',
    IP: { source: '10.0.1.5', destination: '10.0.2.9', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 40000, destinationPort: 8080, flags: { SYN: true } } },
    source: { ID: 11, identity: 1001, namespace: 'default', podName: 'frontend-1', labels: ['k8s:app=frontend', 'k8s:tier=web'] },
    destination: { ID: 12, identity: 1002, namespace: 'prod', podName: 'api-7', labels: ['k8s:app=api', 'reserved:host'] },
    Type: 'L3_L4',
    nodeName: 'node-a',
    isReply: false,
    trafficDirection: 'INGRESS',
    egressAllowedBy: [],
    ingressAllowedBy: [{ name: 'allow-web', namespace: 'prod', labels: [], revision: 3, kind: 'NetworkPolicy' }],
    egressDeniedBy: [],
    ingressDeniedBy: [],
    Summary: 'TCP Flags: SYN',
    ...overrides,
  };
}
