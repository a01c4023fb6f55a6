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

const l7Policy: FlowPolicy = { kind: 'CiliumNetworkPolicy', namespace: 'production', name: 'l7-api', labels: [], revision: 0 };
const http = (code: number, method: string, url: string, latencyNs: number) => ({
  type: code === 0 ? ('REQUEST' as const) : ('RESPONSE' as const),
  latencyNs,
  http: { code, method, url, protocol: 'HTTP/1.1', headers: [] },
});

/** L7 flows (requests through the agent's proxy), one second apart from T0 + 10 s: allowed, denied, invalid, upstream failure. */
export const L7_FLOWS: readonly Flow[] = [
  {
    ...base,
    Type: 'L7',
    time: at(10),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-0000000000a1',
    verdict: 'FORWARDED',
    IP: { source: '10.244.0.5', destination: '10.244.0.70', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 43600, destinationPort: 8080 } },
    l7: http(200, 'GET', 'http://api-server.production:8080/api/v1/users?limit=1', 1_234_567),
    source: frontend,
    destination: api,
    nodeName: 'node-2',
    trafficDirection: 'INGRESS',
    ingressAllowedBy: [l7Policy],
    Summary: 'HTTP/1.1 200 1.2 ms (GET http://api-server.production:8080/api/v1/users?limit=1)',
    decidedBy: { reason: 'rule', direction: 'ingress', policy: l7Policy, rulePath: 'spec.ingress[0].toPorts[0].rules.http[0]', action: 'allow', attribution: 'evaluated', message: 'CiliumNetworkPolicy production/l7-api HTTP rule spec.ingress[0].toPorts[0].rules.http[0] allows GET /api/v1/users?limit=1 (ingress)' },
  },
  {
    ...base,
    Type: 'L7',
    time: at(11),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-0000000000a2',
    verdict: 'DROPPED',
    dropReasonDesc: 'POLICY_DENIED',
    IP: { source: '10.244.0.5', destination: '10.244.0.70', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 43601, destinationPort: 8080 } },
    l7: http(403, 'DELETE', 'http://api-server.production:8080/api/v1/users/7', 250_000),
    source: frontend,
    destination: api,
    nodeName: 'node-2',
    trafficDirection: 'INGRESS',
    ingressDeniedBy: [l7Policy],
    Summary: 'HTTP/1.1 403 250 µs (DELETE http://api-server.production:8080/api/v1/users/7): no HTTP rule of CiliumNetworkPolicy production/l7-api (ingress) allows DELETE /api/v1/users/7',
    decidedBy: { reason: 'isolated', direction: 'ingress', isolatedBy: [l7Policy], attribution: 'evaluated', message: 'the L7 proxy denied DELETE /api/v1/users/7: no HTTP rule of CiliumNetworkPolicy production/l7-api (ingress) allows DELETE /api/v1/users/7' },
  },
  {
    ...base,
    Type: 'L7',
    time: at(12),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-0000000000a3',
    verdict: 'ERROR',
    IP: { source: '10.244.0.5', destination: '10.244.0.70', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 43602, destinationPort: 8080 } },
    l7: http(400, '', '', 90_000),
    source: frontend,
    destination: api,
    nodeName: 'node-2',
    trafficDirection: 'INGRESS',
    Summary: 'HTTP/1.1 400 90 µs ( ): a malformed request line',
  },
  {
    ...base,
    Type: 'L7',
    time: at(13),
    uuid: '6f1c2b1e-0a3d-4c5e-9f10-0000000000a4',
    verdict: 'FORWARDED',
    IP: { source: '10.244.0.5', destination: '203.0.113.80', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 43603, destinationPort: 80 } },
    l7: http(502, 'POST', '/upload', 12_500_000_000),
    source: frontend,
    destination: world,
    nodeName: 'node-2',
    trafficDirection: 'EGRESS',
    Summary: 'HTTP/1.1 502 12.5 s (POST /upload): connect ECONNREFUSED 203.0.113.80:80',
  },
];
