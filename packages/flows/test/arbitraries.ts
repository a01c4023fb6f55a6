// fast-check arbitraries of the model: flows, filters, requests, responses, statuses.
import fc from 'fast-check';

import {
  DROP_REASON,
  type DecidingRule,
  type Flow,
  type FlowEndpoint,
  type FlowFilter,
  type FlowPolicy,
  type FlowTime,
  type GetFlowsRequest,
  type GetFlowsResponse,
  L7_FLOW_TYPE,
  type Layer4,
  type Layer7,
  type ServerStatus,
  TRAFFIC_DIRECTION,
  VERDICT,
} from '../src/index.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const port = fc.integer({ min: 0, max: 65_535 });
const byte = fc.integer({ min: 0, max: 255 });
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const text = fc.string({ maxLength: 12 });

export const flowTime: fc.Arbitrary<FlowTime> = fc.record({
  seconds: fc.integer({ min: -1e12, max: 1e12 }),
  nanos: fc.integer({ min: 0, max: 999_999_999 }),
});

const policy: fc.Arbitrary<FlowPolicy> = fc.record(
  { name: text, namespace: text, labels: fc.array(text, { maxLength: 3 }), revision: safe, kind: text },
  { requiredKeys: ['name', 'labels', 'revision', 'kind'], noNullPrototype: true },
);

const endpoint: fc.Arbitrary<FlowEndpoint> = fc.record(
  { ID: u32, identity: u32, namespace: text, labels: fc.array(text, { maxLength: 4 }), podName: text },
  { requiredKeys: ['ID', 'identity', 'labels'], noNullPrototype: true },
);

const trueFlag = fc.constant(true);
const layer4: fc.Arbitrary<Layer4> = fc.oneof(
  fc.record(
    {
      sourcePort: port,
      destinationPort: port,
      flags: fc.record(
        { FIN: trueFlag, SYN: trueFlag, RST: trueFlag, PSH: trueFlag, ACK: trueFlag, URG: trueFlag, ECE: trueFlag, CWR: trueFlag },
        { requiredKeys: [], noNullPrototype: true },
      ),
    },
    { requiredKeys: ['sourcePort', 'destinationPort'], noNullPrototype: true },
  ).map((TCP) => ({ TCP })),
  fc.record({ sourcePort: port, destinationPort: port }).map((UDP) => ({ UDP })),
  fc.record({ sourcePort: port, destinationPort: port }).map((SCTP) => ({ SCTP })),
  fc.record({ type: byte, code: byte }).map((ICMPv4) => ({ ICMPv4 })),
  fc.record({ type: byte, code: byte }).map((ICMPv6) => ({ ICMPv6 })),
);

const decidingRule: fc.Arbitrary<DecidingRule> = fc.record(
  {
    reason: fc.constantFrom('rule', 'isolated', 'not-selected', 'passed', 'no-entry'),
    direction: fc.constantFrom('ingress', 'egress'),
    policy,
    tier: text,
    ruleIndex: u32,
    rulePath: text,
    action: fc.constantFrom('allow', 'deny'),
    // Empty and absent read back the same (a repeated field); the model's users write absent.
    isolatedBy: fc.array(policy, { minLength: 1, maxLength: 2 }),
    attribution: fc.constantFrom('kernel', 'evaluated'),
    message: text,
  },
  { requiredKeys: ['reason', 'direction', 'attribution', 'message'], noNullPrototype: true },
);

const policies = fc.array(policy, { maxLength: 2 });

const layer7: fc.Arbitrary<Layer7> = fc.record(
  {
    type: fc.constantFrom(...Object.values(L7_FLOW_TYPE)),
    latencyNs: safe,
    http: fc.record({
      code: u32,
      method: text,
      url: text,
      protocol: text,
      headers: fc.array(fc.record({ key: text, value: text }), { maxLength: 2 }),
    }),
  },
  { requiredKeys: ['type', 'latencyNs'], noNullPrototype: true },
);

export const flow: fc.Arbitrary<Flow> = fc.record(
  {
    time: flowTime,
    uuid: fc.uuid(),
    verdict: fc.constantFrom(...Object.values(VERDICT)),
    dropReasonDesc: fc.constantFrom(...Object.values(DROP_REASON)),
    IP: fc.record({
      source: fc.oneof(fc.ipV4(), fc.ipV6()),
      destination: fc.oneof(fc.ipV4(), fc.ipV6()),
      ipVersion: fc.constantFrom('IPv4' as const, 'IPv6' as const),
    }),
    l4: layer4,
    source: endpoint,
    destination: endpoint,
    Type: fc.constantFrom('L3_L4' as const, 'L7' as const),
    l7: layer7,
    nodeName: text,
    isReply: fc.boolean(),
    trafficDirection: fc.constantFrom(...Object.values(TRAFFIC_DIRECTION)),
    egressAllowedBy: policies,
    ingressAllowedBy: policies,
    egressDeniedBy: policies,
    ingressDeniedBy: policies,
    interface: fc.record({ index: u32, name: text }),
    Summary: text,
    decidedBy: decidingRule,
  },
  {
    noNullPrototype: true,
    requiredKeys: [
      'time', 'uuid', 'verdict', 'IP', 'source', 'destination', 'Type', 'nodeName', 'isReply',
      'trafficDirection', 'egressAllowedBy', 'ingressAllowedBy', 'egressDeniedBy', 'ingressDeniedBy', 'Summary',
    ],
  },
);

const nonEmpty = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T[]> => fc.array(a, { minLength: 1, maxLength: 3 });

export const flowFilter: fc.Arbitrary<FlowFilter> = fc.record(
  {
    uuid: nonEmpty(text),
    sourceIp: nonEmpty(text),
    sourcePod: nonEmpty(text),
    sourceLabel: nonEmpty(text),
    destinationIp: nonEmpty(text),
    destinationPod: nonEmpty(text),
    destinationLabel: nonEmpty(text),
    verdict: nonEmpty(fc.constantFrom(...Object.values(VERDICT))),
    dropReasonDesc: nonEmpty(fc.constantFrom(...Object.values(DROP_REASON))),
    sourcePort: nonEmpty(text),
    destinationPort: nonEmpty(text),
    protocol: nonEmpty(text),
    httpStatusCode: nonEmpty(text),
    httpMethod: nonEmpty(text),
    httpPath: nonEmpty(text),
    httpUrl: nonEmpty(text),
    trafficDirection: nonEmpty(fc.constantFrom(...Object.values(TRAFFIC_DIRECTION))),
    nodeName: nonEmpty(text),
    reply: nonEmpty(fc.boolean()),
    policy: nonEmpty(text),
  },
  { requiredKeys: [], noNullPrototype: true },
);

export const getFlowsRequest: fc.Arbitrary<GetFlowsRequest> = fc.record(
  {
    number: safe,
    first: fc.boolean(),
    follow: fc.boolean(),
    whitelist: fc.array(flowFilter, { minLength: 1, maxLength: 2 }),
    blacklist: fc.array(flowFilter, { minLength: 1, maxLength: 2 }),
    since: flowTime,
    until: flowTime,
  },
  { requiredKeys: [], noNullPrototype: true },
);

export const getFlowsResponse: fc.Arbitrary<GetFlowsResponse> = fc.oneof(
  fc.record({ flow, nodeName: text, time: flowTime }),
  fc.record({
    lostEvents: fc.record({
      source: fc.oneof(fc.constantFrom('ebpf-ringbuf', 'nflog', 'conntrack', 'observer', 'toString', '__proto__'), text.filter((s) => s !== '')),
      numEventsLost: safe,
    }),
    nodeName: text,
    time: flowTime,
  }),
);

export const serverStatus: fc.Arbitrary<ServerStatus> = fc.record({
  numFlows: safe,
  maxFlows: safe,
  seenFlows: safe,
  uptimeNs: safe,
  numLostEvents: safe,
  nodeName: text,
  version: text,
});
