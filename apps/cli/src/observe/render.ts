// Flows as `twill observe` prints them: one line each (compact), aligned rows (table),
// or one JSON object a line (the Flow exactly as @twill/flows models it). Pure.

import { type DecidingRule, type Flow, type FlowEndpoint, type FlowPolicy, formatLatency, type LostEvent } from '@twill/flows';

import { renderTable, type Column, type Style } from '../output.js';

/** The `-o` formats of `twill observe`. */
export const OBSERVE_OUTPUTS = ['compact', 'table', 'json'] as const;
/** One of {@link OBSERVE_OUTPUTS}. */
export type ObserveOutput = (typeof OBSERVE_OUTPUTS)[number];

/** `2026-11-28T19:10:24.123Z`: a flow's time, UTC, to the millisecond. */
export function flowTimeText(flow: Pick<Flow, 'time'>): string {
  const ms = flow.time.seconds * 1000 + Math.floor(flow.time.nanos / 1e6);
  return new Date(ms).toISOString();
}

function ports(flow: Flow): { source?: number; destination?: number } {
  const l4 = flow.l4;
  if (l4 === undefined) return {};
  const pair = 'TCP' in l4 ? l4.TCP : 'UDP' in l4 ? l4.UDP : 'SCTP' in l4 ? l4.SCTP : undefined;
  return pair === undefined ? {} : { source: pair.sourcePort, destination: pair.destinationPort };
}

/** `production/frontend`, or the address when the side is no pod of the cluster (`203.0.113.7`, `[fd00::1]` with a port). */
function endpointText(endpoint: FlowEndpoint, address: string, port: number | undefined): string {
  const name = endpoint.podName !== undefined && endpoint.podName !== '' ? `${endpoint.namespace ?? ''}/${endpoint.podName}` : address.includes(':') && port !== undefined ? `[${address}]` : address;
  return port === undefined ? name : `${name}:${port}`;
}

/** The source side: `production/frontend:43512`. */
export const sourceText = (flow: Flow): string => endpointText(flow.source, flow.IP.source, ports(flow).source);
/** The destination side: `production/api-server:8080`. */
export const destinationText = (flow: Flow): string => endpointText(flow.destination, flow.IP.destination, ports(flow).destination);

/** A URL without its scheme and host (the destination column names the host): `/api/v1/users?limit=1`. */
function requestTarget(url: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(url);
  const rest = m === null ? url : url.slice(m[0].length);
  return rest === '' ? '/' : rest;
}

/** An L7 flow's request and answer: `GET /api/v1/users -> 200 (1.2 ms)`; `HTTP` for an L7 flow of another protocol. */
export function l7Text(flow: Flow): string | undefined {
  const l7 = flow.l7;
  if (l7 === undefined) return undefined;
  const http = l7.http;
  if (http === undefined) return 'L7';
  const request = `${http.method === '' ? '?' : http.method} ${http.url === '' ? '?' : requestTarget(http.url)}`;
  return `${request} -> ${http.code === 0 ? 'no status' : http.code} (${formatLatency(l7.latencyNs)})`;
}

/** `TCP SYN,ACK`, `UDP`, `ICMPv4 8/0` (type/code); an L7 flow's HTTP request and status (`GET /api/v1/users -> 200 (1.2 ms)`). */
export function protocolText(flow: Flow): string {
  const l7 = l7Text(flow);
  if (l7 !== undefined) return l7;
  const l4 = flow.l4;
  if (l4 === undefined) return flow.IP.ipVersion;
  if ('TCP' in l4) {
    const flags = Object.entries(l4.TCP.flags ?? {}).filter(([, set]) => set === true).map(([name]) => name);
    return flags.length === 0 ? 'TCP' : `TCP ${flags.join(',')}`;
  }
  if ('UDP' in l4) return 'UDP';
  if ('SCTP' in l4) return 'SCTP';
  if ('ICMPv4' in l4) return `ICMPv4 ${l4.ICMPv4.type}/${l4.ICMPv4.code}`;
  return `ICMPv6 ${l4.ICMPv6.type}/${l4.ICMPv6.code}`;
}

/** `DROPPED (POLICY_DENY)`, `FORWARDED`. */
export function verdictText(flow: Flow, style?: Style): string {
  const text = flow.dropReasonDesc === undefined || flow.dropReasonDesc === 'DROP_REASON_UNKNOWN' ? flow.verdict : `${flow.verdict} (${flow.dropReasonDesc})`;
  if (style === undefined) return text;
  return flow.verdict === 'FORWARDED' ? style.good(text) : flow.verdict === 'DROPPED' || flow.verdict === 'ERROR' ? style.bad(text) : style.warn(text);
}

/** `GlobalNetworkPolicy default-deny`, `NetworkPolicy shop/api`. */
export const policyText = (policy: FlowPolicy): string => `${policy.kind} ${policy.namespace === undefined || policy.namespace === '' ? '' : `${policy.namespace}/`}${policy.name}`;

/**
 * What decided, in a few words: `ingress: NetworkPolicy shop/api spec.ingress[0]` (as
 * `policy explain`'s DECIDED BY says it). For an L7 flow (`l7`), the isolation is the HTTP
 * rules': `ingress: no HTTP rule of CiliumNetworkPolicy shop/api allows it`.
 */
export function decisionText(decided: DecidingRule, l7 = false): string {
  if (l7 && decided.reason === 'isolated') {
    const policies = (decided.isolatedBy ?? []).map(policyText).join(', ');
    return `${decided.direction}: no HTTP rule${policies === '' ? '' : ` of ${policies}`} allows it`;
  }
  switch (decided.reason) {
    case 'rule':
      return `${decided.direction}: ${decided.policy === undefined ? 'a rule' : policyText(decided.policy)}${decided.rulePath === undefined ? '' : ` ${decided.rulePath}`}`;
    case 'isolated':
      return `${decided.direction}: isolated by ${(decided.isolatedBy ?? []).map(policyText).join(', ')}`;
    case 'not-selected':
      return `${decided.direction}: no policy selects it`;
    case 'passed':
      return `${decided.direction}: passed, default allow`;
    default:
      return `${decided.direction}: no policy programmed yet (fail-closed)`;
  }
}

/** The deciding policy of a flow: `decidedBy`, else Hubble's allowed/denied-by lists, else `reply` for a reply, else `-`. */
export function flowDecisionText(flow: Flow): string {
  if (flow.decidedBy !== undefined) return decisionText(flow.decidedBy, flow.Type === 'L7');
  const lists: [string, readonly FlowPolicy[]][] = [['egress denied by', flow.egressDeniedBy], ['ingress denied by', flow.ingressDeniedBy], ['egress allowed by', flow.egressAllowedBy], ['ingress allowed by', flow.ingressAllowedBy]];
  const found = lists.find(([, list]) => list.length > 0);
  if (found !== undefined) return `${found[0]} ${found[1].map(policyText).join(', ')}`;
  // A reply of an established connection passes as part of it: no policy is asked.
  return flow.isReply ? 'reply of an established connection' : '-';
}

/** One flow in one line: time, node, `source -> destination`, protocol, verdict, what decided. */
export function compactLine(flow: Flow, style?: Style): string {
  const arrow = flow.isReply ? '<-' : '->';
  const [left, right] = flow.isReply ? [destinationText(flow), sourceText(flow)] : [sourceText(flow), destinationText(flow)];
  return `${flowTimeText(flow)} ${flow.nodeName} ${left} ${arrow} ${right} ${protocolText(flow)} ${verdictText(flow, style)} ${flowDecisionText(flow)}\n`;
}

/** The table's columns. */
export const FLOW_COLUMNS: readonly Column[] = [{ header: 'TIME' }, { header: 'NODE' }, { header: 'SOURCE' }, { header: 'DESTINATION' }, { header: 'PROTOCOL' }, { header: 'VERDICT' }, { header: 'DECIDED BY' }];

/** A flow's table cells. */
export function tableRow(flow: Flow, style?: Style): string[] {
  return [flowTimeText(flow), flow.nodeName, sourceText(flow), destinationText(flow), protocolText(flow), verdictText(flow, style), flowDecisionText(flow)];
}

/** Flows as one aligned table (the header included). */
export function flowTable(flows: readonly Flow[], style?: Style): string {
  return renderTable(FLOW_COLUMNS, flows.map((f) => tableRow(f, style)), style);
}

/**
 * Rows aligned to widths that only grow: a followed table cannot know its widest
 * cell before it is printed. Each call returns the lines to print now.
 */
export class FollowedTable {
  readonly #widths: number[];
  #headerDone = false;

  constructor(private readonly style?: Style, initial: readonly Flow[] = []) {
    const minimum = [24, 6, 20, 20, 8, 9, 0];
    this.#widths = FLOW_COLUMNS.map((c, i) => Math.max(c.header.length, minimum[i] ?? 0, ...initial.map((f) => visible(tableRow(f)[i] ?? ''))));
  }

  /** The lines of `flows`, after the header the first time. */
  rows(flows: readonly Flow[]): string {
    const lines: string[] = [];
    if (!this.#headerDone) {
      this.#headerDone = true;
      const header = this.#line(FLOW_COLUMNS.map((c) => c.header), FLOW_COLUMNS.map((c) => c.header));
      lines.push(this.style === undefined ? header : this.style.bold(header));
    }
    for (const flow of flows) lines.push(this.#line(tableRow(flow, this.style), tableRow(flow)));
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  #line(cells: readonly string[], plain: readonly string[]): string {
    plain.forEach((cell, i) => {
      this.#widths[i] = Math.max(this.#widths[i] ?? 0, visible(cell));
    });
    return cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (this.#widths[i] ?? 0) - visible(plain[i] ?? ''))))).join('  ').trimEnd();
  }
}

const visible = (text: string): number => text.length;

/** A flow as one JSON line: the Flow as @twill/flows models it. */
export const jsonLine = (flow: Flow): string => `${JSON.stringify(flow)}\n`;

/** `EVENTS LOST: node-1: 25 flow events lost (nflog)`. */
export function lostLine(nodeName: string, lost: LostEvent): string {
  return `EVENTS LOST: ${nodeName === '' ? '' : `${nodeName}: `}${lost.numEventsLost} flow event${lost.numEventsLost === 1 ? '' : 's'} lost (${lost.source})\n`;
}
