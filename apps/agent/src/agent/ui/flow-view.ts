// A flow record as the dashboard reads it (packages/ui `UiFlow`): the sides as pods or
// what the address is, ports, protocol, and what decided in the words of `twill policy
// explain`'s DECIDED BY column. Pure.
import { type DecidingRule, type Flow, type FlowEndpoint, type FlowPolicy, type Layer7 } from '@twill/flows';

/** One side of a flow, for the dashboard. */
export interface UiFlowPeer {
  readonly namespace?: string;
  readonly pod?: string;
  readonly ip: string;
  /** `x/web`, or the reserved label (`reserved:world`), or the address. */
  readonly label: string;
}

/** An HTTP request's fields (Hubble's `l7.http`, without the headers). */
export interface UiFlowHttp {
  /** The response's status; 0 when none was sent. */
  readonly code: number;
  /** The request's method as sent (`GET`); `''` when it had none. */
  readonly method: string;
  /** `http://host/path?query` when the request named its host, else the request target as sent. */
  readonly url: string;
  /** `HTTP/1.1`. */
  readonly protocol: string;
}

/** What an L7 flow (a request through the agent's proxy) adds. */
export interface UiFlowL7 {
  /** `REQUEST` (no response came) or `RESPONSE`. */
  readonly type: string;
  /** Nanoseconds from the request's headers to the end of the response. */
  readonly latencyNs: number;
  /** The HTTP fields; absent for another L7 protocol. */
  readonly http?: UiFlowHttp;
}

/** One flow, for the dashboard. */
export interface UiFlow {
  readonly id: string;
  readonly timeMs: number;
  readonly verdict: string;
  readonly dropReason?: string;
  readonly protocol: string;
  readonly from: UiFlowPeer;
  readonly to: UiFlowPeer;
  readonly sourcePort?: number;
  readonly destinationPort?: number;
  readonly reply: boolean;
  readonly decidedBy?: string;
  readonly node: string;
  readonly summary: string;
  /** The request, for an L7 flow; absent for an L3/L4 one. */
  readonly l7?: UiFlowL7;
}

function peer(endpoint: FlowEndpoint, ip: string): UiFlowPeer {
  if (endpoint.namespace !== undefined && endpoint.podName !== undefined && endpoint.podName !== '') {
    return { namespace: endpoint.namespace, pod: endpoint.podName, ip, label: `${endpoint.namespace}/${endpoint.podName}` };
  }
  const reserved = endpoint.labels.find((l) => l.startsWith('reserved:'));
  return { ip, label: reserved === undefined ? ip : `${reserved} ${ip}` };
}

const policyText = (p: FlowPolicy): string => `${p.kind} ${p.namespace === undefined || p.namespace === '' ? '' : `${p.namespace}/`}${p.name}`;

/** What decided, as `twill policy explain` words it (`ingress: NetworkPolicy y/allow spec.ingress[0]`). */
export function describeDecidingRule(rule: DecidingRule): string {
  switch (rule.reason) {
    case 'rule':
      return `${rule.direction}: ${rule.policy === undefined ? '' : policyText(rule.policy)} ${rule.rulePath ?? ''}`.trimEnd();
    case 'isolated':
      return `${rule.direction}: isolated by ${(rule.isolatedBy ?? []).map(policyText).join(', ')}`;
    case 'not-selected':
      return `${rule.direction}: no policy selects the endpoint`;
    case 'no-entry':
      return `${rule.direction}: the endpoint's policy was not programmed yet (fail-closed)`;
    default:
      return `${rule.direction}: passed, default allow`;
  }
}

function uiL7Of(l7: Layer7): UiFlowL7 {
  const http = l7.http;
  return {
    type: l7.type,
    latencyNs: l7.latencyNs,
    // The headers stay out: the proxy records none, and a page has no use for them.
    ...(http === undefined ? {} : { http: { code: http.code, method: http.method, url: http.url, protocol: http.protocol } }),
  };
}

/** The dashboard's view of a flow record. */
export function uiFlowOf(flow: Flow): UiFlow {
  const l4 = flow.l4;
  let protocol = '';
  let ports: { sourcePort?: number; destinationPort?: number } = {};
  if (l4 !== undefined) {
    if ('TCP' in l4) [protocol, ports] = ['TCP', l4.TCP];
    else if ('UDP' in l4) [protocol, ports] = ['UDP', l4.UDP];
    else if ('SCTP' in l4) [protocol, ports] = ['SCTP', l4.SCTP];
    else protocol = 'ICMPv4' in l4 ? 'ICMPv4' : 'ICMPv6';
  }
  return {
    id: flow.uuid,
    timeMs: flow.time.seconds * 1000 + Math.floor(flow.time.nanos / 1e6),
    verdict: flow.verdict,
    ...(flow.dropReasonDesc === undefined ? {} : { dropReason: flow.dropReasonDesc }),
    protocol,
    from: peer(flow.source, flow.IP.source),
    to: peer(flow.destination, flow.IP.destination),
    ...(ports.sourcePort === undefined ? {} : { sourcePort: ports.sourcePort }),
    ...(ports.destinationPort === undefined ? {} : { destinationPort: ports.destinationPort }),
    reply: flow.isReply,
    ...(flow.decidedBy === undefined ? {} : { decidedBy: describeDecidingRule(flow.decidedBy) }),
    node: flow.nodeName,
    summary: flow.Summary,
    ...(flow.l7 === undefined ? {} : { l7: uiL7Of(flow.l7) }),
  };
}
