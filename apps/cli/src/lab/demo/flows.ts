// The flows of one step of the demonstration: what every node's agent recorded since the
// step began (its observer's GetFlows, `since` the step's start), counted per pair of
// endpoints, forwarded and dropped, with the policies that decided the drops; and the
// HTTP requests the agents' L7 proxies recorded (flows of type L7), counted per pair,
// request and answer. The counting and the text are pure; `readStepFlows` reads the
// observers through the CLI's port.

import { type Flow, type GetFlowsResponse } from '@twill/flows';

import { type CliIo } from '../../io.js';
import { flowTimeOf } from '../../observe/filters.js';
import { destinationText, flowDecisionText, sourceText } from '../../observe/render.js';
import { observerFailureText } from '../../observe/errors.js';
import { renderTable, type Style } from '../../output.js';
import { observerSocketOf } from '../plan.js';
import { type LabNode } from '../ports.js';

/** One pair's flows. */
export interface FlowPairCount {
  /** `production/frontend` (the source's port left out: each connection has its own). */
  readonly from: string;
  /** `production/api-server:8080`. */
  readonly to: string;
  readonly forwarded: number;
  readonly dropped: number;
  /** What decided the drops (`ingress: isolated by GlobalNetworkPolicy default-deny`), each once. */
  readonly droppedBy: readonly string[];
}

/** HTTP requests an L7 proxy recorded alike: same pair, method, path, status and verdict. */
export interface L7RequestCount {
  /** `default/web` (the source's port left out). */
  readonly from: string;
  /** `default/api:8080`. */
  readonly to: string;
  /** `GET`; `?` when the request had none. */
  readonly method: string;
  /** The request target without scheme and host: `/api/v1/products`; `?` when unknown. */
  readonly path: string;
  /** The status the proxy sent (`200`, `403`); 0 when none was sent. */
  readonly code: number;
  /** `forwarded`, `denied` (an HTTP rule refused it: DROPPED), or `error` (the proxy could not parse it). */
  readonly verdict: 'forwarded' | 'denied' | 'error';
  /** What decided (`ingress: no HTTP rule of CiliumNetworkPolicy default/l7-api-policy allows it`); `-` when nothing was recorded. */
  readonly decision: string;
  /** How many requests. */
  readonly requests: number;
}

/** A step's flows from every node. */
export interface StepFlowSummary {
  /** The nodes whose observer answered. */
  readonly nodes: readonly string[];
  readonly forwarded: number;
  readonly dropped: number;
  /** Flow events the observers said they lost (sampled, or the kernel's buffer was full). */
  readonly lost: number;
  /** Pairs in `from`, `to` order (L3/L4 flows only: the L7 proxies' requests are in `requests`). */
  readonly pairs: readonly FlowPairCount[];
  /** What dropped flows, most flows first: each decision with its pairs and flows. */
  readonly drops: readonly { readonly decision: string; readonly pairs: number; readonly flows: number }[];
  /** The HTTP requests the L7 proxies recorded (flows of type L7), in `from`, `to`, path, method, status order. */
  readonly requests: readonly L7RequestCount[];
  /** Observers that could not be read, one line each. */
  readonly problems: readonly string[];
}

const withoutPort = (text: string): string => text.replace(/:[0-9]+$/, '');

// An L7 flow's URL without its scheme and host (the pair names the host).
function pathOf(url: string): string {
  if (url === '') return '?';
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(url);
  const rest = m === null ? url : url.slice(m[0].length);
  return rest === '' ? '/' : rest;
}

function l7VerdictOf(flow: Flow): L7RequestCount['verdict'] {
  if (flow.verdict === 'DROPPED') return 'denied';
  return flow.verdict === 'FORWARDED' ? 'forwarded' : 'error';
}

// The L7 flows counted alike (see L7RequestCount).
function countRequests(flows: readonly Flow[]): L7RequestCount[] {
  const counts = new Map<string, L7RequestCount>();
  for (const flow of flows) {
    const http = flow.l7?.http;
    const request = {
      from: withoutPort(sourceText(flow)),
      to: destinationText(flow),
      method: http === undefined || http.method === '' ? '?' : http.method,
      path: http === undefined ? '?' : pathOf(http.url),
      code: http?.code ?? 0,
      verdict: l7VerdictOf(flow),
      decision: flowDecisionText(flow),
    };
    const key = JSON.stringify(request);
    counts.set(key, { ...request, requests: (counts.get(key)?.requests ?? 0) + 1 });
  }
  return [...counts.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.path.localeCompare(b.path) || a.method.localeCompare(b.method) || a.code - b.code);
}

/** Counts flows per pair; replies (the other half of a connection) are not counted again. */
export function summarizeStepFlows(answers: readonly { node: string; responses?: readonly GetFlowsResponse[]; problem?: string }[]): StepFlowSummary {
  const pairs = new Map<string, { from: string; to: string; forwarded: number; dropped: number; droppedBy: Set<string> }>();
  const drops = new Map<string, { pairs: Set<string>; flows: number }>();
  let lost = 0;
  const flows: Flow[] = [];
  const l7: Flow[] = [];
  for (const answer of answers) {
    for (const response of answer.responses ?? []) {
      if ('lostEvents' in response) lost += response.lostEvents.numEventsLost;
      else if (response.flow.Type === 'L7') l7.push(response.flow);
      else if (!response.flow.isReply) flows.push(response.flow);
    }
  }
  for (const flow of flows) {
    const from = withoutPort(sourceText(flow));
    const to = destinationText(flow);
    const key = `${from}\u0000${to}`;
    const pair = pairs.get(key) ?? { from, to, forwarded: 0, dropped: 0, droppedBy: new Set<string>() };
    if (flow.verdict === 'DROPPED') {
      const decided = flowDecisionText(flow);
      const decision = decided === '-' ? '(no deciding rule recorded)' : decided;
      pair.dropped += 1;
      pair.droppedBy.add(decision);
      const drop = drops.get(decision) ?? { pairs: new Set<string>(), flows: 0 };
      drop.pairs.add(key);
      drop.flows += 1;
      drops.set(decision, drop);
    } else if (flow.verdict === 'FORWARDED') {
      pair.forwarded += 1;
    }
    pairs.set(key, pair);
  }
  const list = [...pairs.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to)).map((p) => ({ ...p, droppedBy: [...p.droppedBy].sort() }));
  return {
    nodes: answers.filter((a) => a.problem === undefined).map((a) => a.node),
    forwarded: list.reduce((n, p) => n + p.forwarded, 0),
    dropped: list.reduce((n, p) => n + p.dropped, 0),
    lost,
    pairs: list,
    drops: [...drops].map(([decision, d]) => ({ decision, pairs: d.pairs.size, flows: d.flows })).sort((a, b) => b.flows - a.flows || a.decision.localeCompare(b.decision)),
    requests: countRequests(l7),
    problems: answers.flatMap((a) => (a.problem === undefined ? [] : [`${a.node}: ${a.problem}`])),
  };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** At most this many pairs with drops get a row each; more are grouped by what dropped them. */
export const PAIR_ROWS = 8;

/**
 * A step's flows for people, short: the totals, how many pairs were only forwarded, and
 * a row per pair with drops naming what dropped them; when more than {@link PAIR_ROWS}
 * pairs had drops, a row per deciding policy instead, with its pairs and flows.
 */
export function stepFlowsText(summary: StepFlowSummary, style: Style): string {
  const lines: string[] = [];
  if (summary.nodes.length > 0) {
    const onlyForwarded = summary.pairs.filter((p) => p.dropped === 0);
    lines.push(`Flows the agents recorded in this step (${summary.nodes.join(', ')}): ${summary.forwarded} forwarded, ${summary.dropped} dropped${summary.lost === 0 ? '' : `, ${summary.lost} lost`}`);
    if (onlyForwarded.length > 0) lines.push(`  ${plural(onlyForwarded.length, 'pair')} only forwarded (${plural(onlyForwarded.reduce((n, p) => n + p.forwarded, 0), 'flow')})`);
    const dropped = summary.pairs.filter((p) => p.dropped > 0);
    let table = '';
    if (dropped.length > 0 && dropped.length <= PAIR_ROWS) {
      table = renderTable(
        [{ header: 'PAIR' }, { header: 'FORWARDED', align: 'right' }, { header: 'DROPPED', align: 'right' }, { header: 'DROPPED BY' }],
        dropped.map((p) => [`${p.from} -> ${p.to}`, String(p.forwarded), String(p.dropped), p.droppedBy.join('; ')]),
        style,
      );
    } else if (dropped.length > PAIR_ROWS) {
      table = renderTable(
        [{ header: 'DROPPED BY' }, { header: 'PAIRS', align: 'right' }, { header: 'FLOWS', align: 'right' }],
        summary.drops.map((d) => [d.decision, String(d.pairs), String(d.flows)]),
        style,
      );
    }
    if (table !== '') lines.push(...table.trimEnd().split('\n').map((l) => `  ${l}`));
    lines.push(...requestsLines(summary.requests, style));
  }
  for (const problem of summary.problems) lines.push(style.warn(`Flows of ${problem}`));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** At most this many kinds of HTTP request get a row each; the rest are counted in one line. */
export const REQUEST_ROWS = 12;

// The L7 proxies' requests: the totals, then a row per kind (pair, request, answer, what decided).
function requestsLines(requests: readonly L7RequestCount[], style: Style): string[] {
  if (requests.length === 0) return [];
  const total = requests.reduce((n, r) => n + r.requests, 0);
  const denied = requests.filter((r) => r.verdict === 'denied').reduce((n, r) => n + r.requests, 0);
  const verdict = (r: L7RequestCount): string => (r.verdict === 'forwarded' ? style.good('forwarded') : r.verdict === 'denied' ? style.bad('DENIED') : style.warn('error'));
  const table = renderTable(
    [{ header: 'HTTP REQUEST' }, { header: 'STATUS', align: 'right' }, { header: 'REQUESTS', align: 'right' }, { header: 'VERDICT' }, { header: 'DECIDED BY' }],
    requests.slice(0, REQUEST_ROWS).map((r) => [`${r.from} -> ${r.to} ${r.method} ${r.path}`, r.code === 0 ? 'none' : String(r.code), String(r.requests), verdict(r), r.decision]),
    style,
  );
  const more = requests.slice(REQUEST_ROWS);
  return [
    `  ${plural(total, 'HTTP request')} through the agents' L7 proxies, ${denied} denied`,
    ...table.trimEnd().split('\n').map((l) => `  ${l}`),
    ...(more.length === 0 ? [] : [`  and ${plural(more.reduce((n, r) => n + r.requests, 0), 'request')} of ${more.length} more kinds (twill observe --lab --protocol http lists them)`]),
  ];
}

/**
 * Every node's flows at or after `sinceMs` (wall clock), summarized. A node whose
 * observer does not answer is a problem line, not an error.
 */
export async function readStepFlows(io: Pick<CliIo, 'observerClient'>, nodes: readonly LabNode[], sinceMs: number): Promise<StepFlowSummary> {
  const answers = await Promise.all(nodes.map(async (node) => {
    const target = `unix://${observerSocketOf(node)}`;
    const client = io.observerClient(target);
    const responses: GetFlowsResponse[] = [];
    try {
      for await (const response of client.getFlows({ since: flowTimeOf(sinceMs) })) responses.push(response);
      return { node: node.name, responses };
    } catch (error) {
      return { node: node.name, problem: observerFailureText(target, error).what };
    } finally {
      client.close();
    }
  }));
  return summarizeStepFlows(answers);
}
