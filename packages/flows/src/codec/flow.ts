// Flow <-> flow.Flow message. Enums travel as numbers and read back as the model's
// strings; `l4` is the oneof `protocol`; `isReply` is Hubble's BoolValue `is_reply`;
// fields the model marks optional keep their presence (proto3 `optional`), so an empty
// namespace and no namespace read back differently. Repeated fields cannot tell empty
// from absent: `decidedBy.isolatedBy` reads back absent when it was empty.
import type protobuf from 'protobufjs';

import { FlowCodecError } from '../errors.js';
import type {
  DecidingRule,
  Flow,
  FlowEndpoint,
  FlowIp,
  FlowPolicy,
  L7FlowType,
  Layer4,
  Layer7,
  PortPair,
  TcpFlags,
} from '../model.js';
import { flowsSchema } from './schema.js';
import {
  checkBoolean,
  checkString,
  checkStrings,
  checkUnsigned,
  describe,
  enumName,
  enumNumber,
  has,
  longToNumber,
  type Message,
  put,
  timeFromMessage,
  timeToMessage,
  U32_MAX,
} from './values.js';

interface Enums {
  readonly verdict: protobuf.Enum;
  readonly dropReason: protobuf.Enum;
  readonly direction: protobuf.Enum;
  readonly ipVersion: protobuf.Enum;
  readonly flowType: protobuf.Enum;
  readonly l7Type: protobuf.Enum;
}

let enums: Enums | undefined;
function flowEnums(): Enums {
  if (enums !== undefined) return enums;
  const { root } = flowsSchema();
  enums = {
    verdict: root.lookupEnum('flow.Verdict'),
    dropReason: root.lookupEnum('flow.DropReason'),
    direction: root.lookupEnum('flow.TrafficDirection'),
    ipVersion: root.lookupEnum('flow.IPVersion'),
    flowType: root.lookupEnum('flow.FlowType'),
    l7Type: root.lookupEnum('flow.L7FlowType'),
  };
  return enums;
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;
const PORT_MAX = 65_535;
const ICMP_MAX = 255;

const DECIDING_REASONS: ReadonlySet<string> = new Set(['rule', 'isolated', 'not-selected', 'passed', 'no-entry']);
const DIRECTIONS: ReadonlySet<string> = new Set(['ingress', 'egress']);
const ACTIONS: ReadonlySet<string> = new Set(['allow', 'deny']);
const ATTRIBUTIONS: ReadonlySet<string> = new Set(['kernel', 'evaluated']);
const LATENCY_MAX = Number.MAX_SAFE_INTEGER;

function object(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FlowCodecError(path, `${describe(value)} is not an object`);
  }
  return value as Record<string, unknown>;
}

function oneOf(set: ReadonlySet<string>, value: unknown, path: string): string {
  if (typeof value !== 'string' || !set.has(value)) {
    throw new FlowCodecError(path, `${describe(value)} is not one of ${[...set].join(', ')}`);
  }
  return value;
}

// ---- model -> message ----------------------------------------------------------------

/** A Flow as a plain object protobufjs encodes as `flow.Flow`; throws FlowCodecError naming a bad field. */
export function flowToMessage(flow: Flow, path = 'flow'): Message {
  const e = flowEnums();
  const f = object(flow, path);
  const m: Message = {
    time: timeToMessage(f.time as Flow['time'], `${path}.time`),
    IP: ipToMessage(f.IP, `${path}.IP`),
    source: endpointToMessage(f.source, `${path}.source`),
    destination: endpointToMessage(f.destination, `${path}.destination`),
    // is_reply is a BoolValue: present (Twill always knows), its value left off when false.
    isReply: checkBoolean(f.isReply, `${path}.isReply`) ? { value: true } : {},
  };
  put(m, 'uuid', checkString(f.uuid, `${path}.uuid`));
  put(m, 'verdict', enumNumber(e.verdict, f.verdict, `${path}.verdict`));
  put(m, 'Type', enumNumber(e.flowType, f.Type, `${path}.Type`));
  put(m, 'nodeName', checkString(f.nodeName, `${path}.nodeName`));
  put(m, 'trafficDirection', enumNumber(e.direction, f.trafficDirection, `${path}.trafficDirection`));
  put(m, 'Summary', checkString(f.Summary, `${path}.Summary`));
  m.egressAllowedBy = policiesToMessage(f.egressAllowedBy, `${path}.egressAllowedBy`);
  m.ingressAllowedBy = policiesToMessage(f.ingressAllowedBy, `${path}.ingressAllowedBy`);
  m.egressDeniedBy = policiesToMessage(f.egressDeniedBy, `${path}.egressDeniedBy`);
  m.ingressDeniedBy = policiesToMessage(f.ingressDeniedBy, `${path}.ingressDeniedBy`);
  if (f.dropReasonDesc !== undefined) m.dropReasonDesc = enumNumber(e.dropReason, f.dropReasonDesc, `${path}.dropReasonDesc`);
  if (f.l4 !== undefined) m.l4 = layer4ToMessage(f.l4, `${path}.l4`);
  if (f.l7 !== undefined) m.l7 = layer7ToMessage(f.l7, `${path}.l7`);
  if (f.interface !== undefined) {
    const i = object(f.interface, `${path}.interface`);
    const iface: Message = {};
    put(iface, 'index', checkUnsigned(i.index, `${path}.interface.index`, U32_MAX));
    put(iface, 'name', checkString(i.name, `${path}.interface.name`));
    m.interface = iface;
  }
  if (f.decidedBy !== undefined) m.decidedBy = decidingRuleToMessage(f.decidedBy, `${path}.decidedBy`);
  return m;
}

function ipToMessage(value: unknown, path: string): Message {
  const ip = object(value, path);
  const m: Message = {};
  put(m, 'source', checkString(ip.source, `${path}.source`));
  put(m, 'destination', checkString(ip.destination, `${path}.destination`));
  if (ip.ipVersion !== 'IPv4' && ip.ipVersion !== 'IPv6') failWith(`${path}.ipVersion`, `${describe(ip.ipVersion)} is not IPv4 or IPv6`);
  m.ipVersion = enumNumber(flowEnums().ipVersion, ip.ipVersion, `${path}.ipVersion`);
  return m;
}

function failWith(path: string, reason: string): never {
  throw new FlowCodecError(path, reason);
}

function portsToMessage(value: Record<string, unknown>, path: string): Message {
  const m: Message = {};
  put(m, 'sourcePort', checkUnsigned(value.sourcePort, `${path}.sourcePort`, PORT_MAX, 'a port'));
  put(m, 'destinationPort', checkUnsigned(value.destinationPort, `${path}.destinationPort`, PORT_MAX, 'a port'));
  return m;
}

function icmpToMessage(value: Record<string, unknown>, path: string): Message {
  const m: Message = {};
  put(m, 'type', checkUnsigned(value.type, `${path}.type`, ICMP_MAX));
  put(m, 'code', checkUnsigned(value.code, `${path}.code`, ICMP_MAX));
  return m;
}

function layer4ToMessage(value: unknown, path: string): Message {
  const l4 = object(value, path);
  const keys = Object.keys(l4).filter((k) => l4[k] !== undefined);
  if (keys.length !== 1) throw new FlowCodecError(path, `must hold exactly one of TCP, UDP, SCTP, ICMPv4, ICMPv6 (has ${keys.length})`);
  const key = keys[0] as string;
  const inner = object(l4[key], `${path}.${key}`);
  switch (key) {
    case 'TCP': {
      const tcp = portsToMessage(inner, `${path}.TCP`);
      if (inner.flags !== undefined) {
        const flags = object(inner.flags, `${path}.TCP.flags`);
        const out: Message = {};
        for (const [name, set] of Object.entries(flags)) {
          if (set === undefined) continue;
          if (!(TCP_FLAGS as readonly string[]).includes(name)) throw new FlowCodecError(`${path}.TCP.flags.${name}`, 'is not a TCP flag');
          if (checkBoolean(set, `${path}.TCP.flags.${name}`)) out[name] = true;
        }
        tcp.flags = out;
      }
      return { TCP: tcp };
    }
    case 'UDP':
    case 'SCTP':
      return { [key]: portsToMessage(inner, `${path}.${key}`) };
    case 'ICMPv4':
    case 'ICMPv6':
      return { [key]: icmpToMessage(inner, `${path}.${key}`) };
    default:
      throw new FlowCodecError(`${path}.${key}`, 'is not one of TCP, UDP, SCTP, ICMPv4, ICMPv6');
  }
}

// Hubble's Layer7: type 1, latency_ns 2, the oneof record's http 101.
function layer7ToMessage(value: unknown, path: string): Message {
  const l7 = object(value, path);
  const m: Message = {};
  put(m, 'type', enumNumber(flowEnums().l7Type, l7.type, `${path}.type`));
  put(m, 'latencyNs', checkUnsigned(l7.latencyNs, `${path}.latencyNs`, LATENCY_MAX, 'a count of nanoseconds'));
  if (l7.http !== undefined) {
    const http = object(l7.http, `${path}.http`);
    const h: Message = {};
    put(h, 'code', checkUnsigned(http.code, `${path}.http.code`, U32_MAX));
    put(h, 'method', checkString(http.method, `${path}.http.method`));
    put(h, 'url', checkString(http.url, `${path}.http.url`));
    put(h, 'protocol', checkString(http.protocol, `${path}.http.protocol`));
    if (!Array.isArray(http.headers)) throw new FlowCodecError(`${path}.http.headers`, `${describe(http.headers)} is not an array`);
    h.headers = http.headers.map((header: unknown, i) => {
      const at = `${path}.http.headers[${i}]`;
      const o = object(header, at);
      const out: Message = {};
      put(out, 'key', checkString(o.key, `${at}.key`));
      put(out, 'value', checkString(o.value, `${at}.value`));
      return out;
    });
    m.http = h;
  }
  return m;
}

function endpointToMessage(value: unknown, path: string): Message {
  const ep = object(value, path);
  const m: Message = {};
  put(m, 'ID', checkUnsigned(ep.ID, `${path}.ID`, U32_MAX));
  put(m, 'identity', checkUnsigned(ep.identity, `${path}.identity`, U32_MAX));
  m.labels = checkStrings(ep.labels, `${path}.labels`);
  if (ep.namespace !== undefined) m.namespace = checkString(ep.namespace, `${path}.namespace`);
  if (ep.podName !== undefined) m.podName = checkString(ep.podName, `${path}.podName`);
  return m;
}

function policyToMessage(value: unknown, path: string): Message {
  const p = object(value, path);
  const m: Message = {};
  put(m, 'name', checkString(p.name, `${path}.name`));
  m.labels = checkStrings(p.labels, `${path}.labels`);
  put(m, 'revision', checkUnsigned(p.revision, `${path}.revision`, Number.MAX_SAFE_INTEGER));
  put(m, 'kind', checkString(p.kind, `${path}.kind`));
  if (p.namespace !== undefined) m.namespace = checkString(p.namespace, `${path}.namespace`);
  return m;
}

function policiesToMessage(value: unknown, path: string): Message[] {
  if (!Array.isArray(value)) throw new FlowCodecError(path, `${describe(value)} is not an array`);
  return value.map((p, i) => policyToMessage(p, `${path}[${i}]`));
}

function decidingRuleToMessage(value: unknown, path: string): Message {
  const d = object(value, path);
  const m: Message = {};
  put(m, 'reason', oneOf(DECIDING_REASONS, d.reason, `${path}.reason`));
  put(m, 'direction', oneOf(DIRECTIONS, d.direction, `${path}.direction`));
  put(m, 'attribution', oneOf(ATTRIBUTIONS, d.attribution, `${path}.attribution`));
  put(m, 'message', checkString(d.message, `${path}.message`));
  if (d.policy !== undefined) m.policy = policyToMessage(d.policy, `${path}.policy`);
  if (d.tier !== undefined) m.tier = checkString(d.tier, `${path}.tier`);
  if (d.ruleIndex !== undefined) m.ruleIndex = checkUnsigned(d.ruleIndex, `${path}.ruleIndex`, U32_MAX);
  if (d.rulePath !== undefined) m.rulePath = checkString(d.rulePath, `${path}.rulePath`);
  if (d.action !== undefined) m.action = oneOf(ACTIONS, d.action, `${path}.action`);
  if (d.isolatedBy !== undefined) m.isolatedBy = policiesToMessage(d.isolatedBy, `${path}.isolatedBy`);
  return m;
}

// ---- message -> model ----------------------------------------------------------------

// Decoded messages carry every field: a message field is null when absent, a scalar its
// default; only `optional` fields need a presence check (has).

function sub(value: unknown): Message | undefined {
  return value === null || value === undefined ? undefined : (value as Message);
}

/** A decoded flow.Flow message as a Flow; throws FlowCodecError for values the model cannot hold. */
export function flowFromMessage(m: Message, path = 'flow'): Flow {
  const e = flowEnums();
  const ipMessage = sub(m.IP);
  if (ipMessage === undefined) throw new FlowCodecError(`${path}.IP`, 'is missing');
  const ipVersion = enumName(e.ipVersion, ipMessage.ipVersion, `${path}.IP.ipVersion`);
  if (ipVersion !== 'IPv4' && ipVersion !== 'IPv6') throw new FlowCodecError(`${path}.IP.ipVersion`, `${ipVersion} is not IPv4 or IPv6`);
  const IP: FlowIp = { source: ipMessage.source as string, destination: ipMessage.destination as string, ipVersion };
  const type = enumName(e.flowType, m.Type, `${path}.Type`);
  if (type !== 'L3_L4' && type !== 'L7') throw new FlowCodecError(`${path}.Type`, `${type} is not L3_L4 or L7`);
  const time = sub(m.time);
  const isReply = sub(m.isReply);
  const flow: {
    -readonly [K in keyof Flow]: Flow[K];
  } = {
    time: time === undefined ? { seconds: 0, nanos: 0 } : timeFromMessage(time, `${path}.time`),
    uuid: m.uuid as string,
    verdict: enumName(e.verdict, m.verdict, `${path}.verdict`) as Flow['verdict'],
    IP,
    source: endpointFromMessage(sub(m.source)),
    destination: endpointFromMessage(sub(m.destination)),
    Type: type,
    nodeName: m.nodeName as string,
    isReply: isReply !== undefined && isReply.value === true,
    trafficDirection: enumName(e.direction, m.trafficDirection, `${path}.trafficDirection`) as Flow['trafficDirection'],
    egressAllowedBy: policiesFromMessage(m.egressAllowedBy, `${path}.egressAllowedBy`),
    ingressAllowedBy: policiesFromMessage(m.ingressAllowedBy, `${path}.ingressAllowedBy`),
    egressDeniedBy: policiesFromMessage(m.egressDeniedBy, `${path}.egressDeniedBy`),
    ingressDeniedBy: policiesFromMessage(m.ingressDeniedBy, `${path}.ingressDeniedBy`),
    Summary: m.Summary as string,
  };
  if (has(m, 'dropReasonDesc')) {
    flow.dropReasonDesc = enumName(e.dropReason, m.dropReasonDesc, `${path}.dropReasonDesc`) as Flow['dropReasonDesc'];
  }
  const l4 = sub(m.l4);
  if (l4 !== undefined) flow.l4 = layer4FromMessage(l4, `${path}.l4`);
  const l7 = sub(m.l7);
  if (l7 !== undefined) flow.l7 = layer7FromMessage(l7, `${path}.l7`);
  const iface = sub(m.interface);
  if (iface !== undefined) flow.interface = { index: iface.index as number, name: iface.name as string };
  const decided = sub(m.decidedBy);
  if (decided !== undefined) flow.decidedBy = decidingRuleFromMessage(decided, `${path}.decidedBy`);
  return flow;
}

function portsFromMessage(m: Message, path: string): PortPair {
  const sourcePort = m.sourcePort as number;
  const destinationPort = m.destinationPort as number;
  if (sourcePort > PORT_MAX) throw new FlowCodecError(`${path}.sourcePort`, `${sourcePort} is not a port`);
  if (destinationPort > PORT_MAX) throw new FlowCodecError(`${path}.destinationPort`, `${destinationPort} is not a port`);
  return { sourcePort, destinationPort };
}

function icmpFromMessage(m: Message): { type: number; code: number } {
  return { type: m.type as number, code: m.code as number };
}

function layer4FromMessage(m: Message, path: string): Layer4 {
  const tcp = sub(m.TCP);
  if (tcp !== undefined) {
    const flagsMessage = sub(tcp.flags);
    if (flagsMessage === undefined) return { TCP: portsFromMessage(tcp, `${path}.TCP`) };
    const flags: { -readonly [K in keyof TcpFlags]: TcpFlags[K] } = {};
    for (const name of TCP_FLAGS) if (flagsMessage[name] === true) flags[name] = true;
    return { TCP: { ...portsFromMessage(tcp, `${path}.TCP`), flags } };
  }
  const udp = sub(m.UDP);
  if (udp !== undefined) return { UDP: portsFromMessage(udp, `${path}.UDP`) };
  const sctp = sub(m.SCTP);
  if (sctp !== undefined) return { SCTP: portsFromMessage(sctp, `${path}.SCTP`) };
  const icmp4 = sub(m.ICMPv4);
  if (icmp4 !== undefined) return { ICMPv4: icmpFromMessage(icmp4) };
  const icmp6 = sub(m.ICMPv6);
  if (icmp6 !== undefined) return { ICMPv6: icmpFromMessage(icmp6) };
  throw new FlowCodecError(path, 'holds none of TCP, UDP, SCTP, ICMPv4, ICMPv6');
}

function layer7FromMessage(m: Message, path: string): Layer7 {
  const type = enumName(flowEnums().l7Type, m.type, `${path}.type`) as L7FlowType;
  const latencyNs = longToNumber(m.latencyNs, `${path}.latencyNs`);
  const http = sub(m.http);
  if (http === undefined) return { type, latencyNs };
  const headers = (http.headers as Message[]).map((h) => ({ key: h.key as string, value: h.value as string }));
  return { type, latencyNs, http: { code: http.code as number, method: http.method as string, url: http.url as string, protocol: http.protocol as string, headers } };
}

function endpointFromMessage(m: Message | undefined): FlowEndpoint {
  if (m === undefined) return { ID: 0, identity: 0, labels: [] };
  const ep: { -readonly [K in keyof FlowEndpoint]: FlowEndpoint[K] } = {
    ID: m.ID as number,
    identity: m.identity as number,
    labels: m.labels as string[],
  };
  if (has(m, 'namespace')) ep.namespace = m.namespace as string;
  if (has(m, 'podName')) ep.podName = m.podName as string;
  return ep;
}

function policyFromMessage(m: Message, path: string): FlowPolicy {
  const p: { -readonly [K in keyof FlowPolicy]: FlowPolicy[K] } = {
    name: m.name as string,
    labels: m.labels as string[],
    revision: longToNumber(m.revision, `${path}.revision`),
    kind: m.kind as string,
  };
  if (has(m, 'namespace')) p.namespace = m.namespace as string;
  return p;
}

function policiesFromMessage(value: unknown, path: string): FlowPolicy[] {
  const list = value as Message[];
  return list.length === 0 ? [] : list.map((p, i) => policyFromMessage(p, `${path}[${i}]`));
}

function decidingRuleFromMessage(m: Message, path: string): DecidingRule {
  const d: { -readonly [K in keyof DecidingRule]: DecidingRule[K] } = {
    reason: oneOf(DECIDING_REASONS, m.reason, `${path}.reason`) as DecidingRule['reason'],
    direction: oneOf(DIRECTIONS, m.direction, `${path}.direction`) as DecidingRule['direction'],
    attribution: oneOf(ATTRIBUTIONS, m.attribution, `${path}.attribution`) as DecidingRule['attribution'],
    message: m.message as string,
  };
  const policy = sub(m.policy);
  if (policy !== undefined) d.policy = policyFromMessage(policy, `${path}.policy`);
  if (has(m, 'tier')) d.tier = m.tier as string;
  if (has(m, 'ruleIndex')) d.ruleIndex = m.ruleIndex as number;
  if (has(m, 'rulePath')) d.rulePath = m.rulePath as string;
  if (has(m, 'action')) d.action = oneOf(ACTIONS, m.action, `${path}.action`) as DecidingRule['action'];
  const isolatedBy = policiesFromMessage(m.isolatedBy, `${path}.isolatedBy`);
  if (isolatedBy.length > 0) d.isolatedBy = isolatedBy;
  return d;
}
