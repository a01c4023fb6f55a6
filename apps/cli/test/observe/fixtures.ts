// Flows for the observe and explain --flow tests: six verdicts on two nodes, every kind
// of decision, TCP (with a reply), UDP, ICMP, a side that is no pod. Times are one
// second apart from 2026-11-28T10:00:00Z, the order below.

import { type Flow, type FlowEndpoint, type FlowPolicy } from '@twill/flows';

/** The first fixture flow's time, in milliseconds since the epoch. */
export const T0 = Date.parse('2026-11-28T10:00:00.000Z');

const pod = (namespace: string, podName: string, app: string, ID: number): FlowEndpoint => ({
  ID,
  identity: 10_000 + ID,
  namespace,
  podName,
  labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${namespace}`],
});
const world: FlowEndpoint = { ID: 0, identity: 2, labels: ['reserved:world'] };

/** The policies the flows name, as the test agent stores them. */
export const POLICY = {
  allowApi: { kind: 'NetworkPolicy', namespace: 'production', name: 'allow-api', labels: [], revision: 0 } satisfies FlowPolicy,
  noDev: { kind: 'GlobalNetworkPolicy', name: 'no-dev-to-prod', labels: [], revision: 0 } satisfies FlowPolicy,
} as const;

const base = {
  Type: 'L3_L4' as const,
  egressAllowedBy: [],
  ingressAllowedBy: [],
  egressDeniedBy: [],
  ingressDeniedBy: [],
  isReply: false,
};

const at = (seconds: number, millis = 0) => ({ seconds: T0 / 1000 + seconds, nanos: millis * 1_000_000 });

const frontend = pod('production', 'frontend', 'frontend', 11);
const api = pod('production', 'api-server', 'api-server', 12);
const web = pod('default', 'web', 'web', 21);
const tool = pod('dev', 'tool', 'tool', 31);
const database = pod('production', 'database', 'database', 13);

/** The fixture flows, oldest first. */
export const FLOWS: readonly Flow[] = [
  {
    ...base,
    time: at(0, 125),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-000000000001',
    verdict: 'FORWARDED',
    IP: { source: '10.244.0.5', destination: '10.244.0.70', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 43512, destinationPort: 8080, flags: { SYN: true } } },
    source: frontend,
    destination: api,
    nodeName: 'node-2',
    trafficDirection: 'INGRESS',
    ingressAllowedBy: [POLICY.allowApi],
    interface: { index: 7, name: 'twapiserver' },
    Summary: 'TCP Flags: SYN',
    decidedBy: { reason: 'rule', direction: 'ingress', policy: POLICY.allowApi, tier: 'default', ruleIndex: 0, rulePath: 'spec.ingress[0] from[0]', action: 'allow', attribution: 'kernel', message: 'production/api-server allows ingress from production/frontend: NetworkPolicy production/allow-api spec.ingress[0] matches.' },
  },
  {
    ...base,
    time: at(1),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-000000000002',
    verdict: 'FORWARDED',
    IP: { source: '10.244.0.70', destination: '10.244.0.5', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 8080, destinationPort: 43512, flags: { SYN: true, ACK: true } } },
    source: api,
    destination: frontend,
    nodeName: 'node-2',
    isReply: true,
    trafficDirection: 'EGRESS',
    Summary: 'TCP Flags: SYN, ACK',
  },
  {
    ...base,
    time: at(2),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-000000000003',
    verdict: 'DROPPED',
    dropReasonDesc: 'POLICY_DENIED',
    IP: { source: '10.244.0.9', destination: '10.244.0.70', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 50000, destinationPort: 8080, flags: { SYN: true } } },
    source: web,
    destination: api,
    nodeName: 'node-2',
    trafficDirection: 'INGRESS',
    Summary: 'TCP Flags: SYN',
    decidedBy: { reason: 'isolated', direction: 'ingress', isolatedBy: [POLICY.allowApi], attribution: 'evaluated', message: 'production/api-server is isolated for ingress by NetworkPolicy production/allow-api and no rule allows default/web.' },
  },
  {
    ...base,
    time: at(3),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-000000000004',
    verdict: 'DROPPED',
    dropReasonDesc: 'POLICY_DENY',
    IP: { source: '10.244.1.3', destination: '10.244.0.80', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 40001, destinationPort: 5432, flags: { SYN: true } } },
    source: tool,
    destination: database,
    nodeName: 'node-1',
    trafficDirection: 'INGRESS',
    ingressDeniedBy: [POLICY.noDev],
    Summary: 'TCP Flags: SYN',
    decidedBy: { reason: 'rule', direction: 'ingress', policy: POLICY.noDev, tier: 'default', ruleIndex: 0, rulePath: 'spec.ingress[0]', action: 'deny', attribution: 'evaluated', message: 'GlobalNetworkPolicy no-dev-to-prod spec.ingress[0] denies ingress to production/database from dev/tool.' },
  },
  {
    ...base,
    time: at(4),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-000000000005',
    verdict: 'FORWARDED',
    IP: { source: '10.244.0.5', destination: '10.96.0.10', ipVersion: 'IPv4' },
    l4: { UDP: { sourcePort: 33333, destinationPort: 53 } },
    source: frontend,
    destination: world,
    nodeName: 'node-1',
    trafficDirection: 'EGRESS',
    Summary: 'UDP',
    decidedBy: { reason: 'not-selected', direction: 'egress', attribution: 'kernel', message: 'No policy selects production/frontend for egress.' },
  },
  {
    ...base,
    time: at(5),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-000000000006',
    verdict: 'DROPPED',
    dropReasonDesc: 'POLICY_DENIED',
    IP: { source: '203.0.113.7', destination: '10.244.0.5', ipVersion: 'IPv4' },
    l4: { ICMPv4: { type: 8, code: 0 } },
    source: world,
    destination: frontend,
    nodeName: 'node-1',
    trafficDirection: 'INGRESS',
    Summary: 'ICMPv4 EchoRequest',
    decidedBy: { reason: 'no-entry', direction: 'ingress', attribution: 'kernel', message: 'production/frontend has no policy programmed yet: dropped (fail-closed).' },
  },
];
