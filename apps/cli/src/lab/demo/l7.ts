// What an L7 (HTTP) rule decides for a request, from the policy engine's verdict: the
// HTTP rules a probe's allowed traffic must still satisfy. Every node's agent enforces
// them (issue 14): its L7 proxy, behind a tproxy redirect, forwards a request a rule
// admits and answers 403 to one none admits. The demonstration shows what each HTTP
// probe really got beside what the rule decides, and flags where they differ. Pure.

import { parseAllDocuments } from 'yaml';

import { type Style } from '../../output.js';

import {
  compileHttpMatcher,
  compileResourceDocument,
  createSnapshot,
  endpointFromPod,
  evaluate,
  formatPolicyRef,
  l7RuleSetsOf,
  namespaceFromResource,
  type HttpMatcher,
  type Policy,
  type Snapshot,
  type Tier,
  type NetworkSet,
} from '@twill/policy-engine';

/** The engine's snapshot of a snapshot YAML (Namespace and Pod documents) and policy documents. */
export function engineSnapshot(clusterYaml: string, policyDocuments: readonly unknown[]): Snapshot {
  const namespaces = [];
  const endpoints = [];
  for (const doc of parseAllDocuments(clusterYaml)) {
    const value = doc.toJS() as { kind?: string };
    if (value.kind === 'Namespace') namespaces.push(namespaceFromResource(value));
    else if (value.kind === 'Pod') endpoints.push(endpointFromPod(value));
  }
  const policies: Policy[] = [];
  const tiers: Tier[] = [];
  const networkSets: NetworkSet[] = [];
  for (const document of policyDocuments) {
    const compiled = compileResourceDocument(document);
    policies.push(...compiled.policies);
    tiers.push(...compiled.tiers);
    networkSets.push(...compiled.networkSets);
  }
  return createSnapshot({ namespaces, endpoints, policies, tiers, networkSets });
}

/** The documents of a YAML file's text. */
export function yamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).map((doc) => doc.toJS() as unknown).filter((value) => value !== null && value !== undefined);
}

/** HTTP rules that apply to a probe, with the policies that carry them. */
export interface HttpRulesOfProbe {
  /** The rules of both enforcement points, compiled once: each point must allow. */
  readonly rules: HttpMatcher;
  /** `CiliumNetworkPolicy default/l7-api-policy`. */
  readonly policies: readonly string[];
}

/**
 * The HTTP rules either enforcement point attaches to TCP traffic from `from` to `to`
 * on `port` (whether or not L3/L4 allows it), or undefined when none does.
 * @throws {FieldError} when a rule's pattern does not compile (naming its field).
 */
export function httpRulesOf(snapshot: Snapshot, from: { namespace: string; name: string }, to: { namespace: string; name: string }, port: number): HttpRulesOfProbe | undefined {
  const verdict = evaluate({ source: { endpoint: from }, destination: { endpoint: to }, protocol: 'TCP', destinationPort: port }, snapshot);
  // The verdict's own `l7` lists only the rules of a flow both points allow; the probe
  // also shows what a rule would decide when the other point refuses the flow.
  const l7 = (['egress', 'ingress'] as const).flatMap((direction) => (verdict[direction]?.l7 ?? []).map((rules) => ({ direction, rules })));
  if (!l7.some((entry) => entry.rules.kind === 'http')) return undefined;
  const policies = new Set<string>();
  for (const direction of [verdict.egress, verdict.ingress]) {
    if (direction !== undefined && direction.l7.length > 0 && direction.decidedBy !== undefined) policies.add(formatPolicyRef(direction.decidedBy.policy));
  }
  return { rules: compileHttpMatcher(l7RuleSetsOf({ ...verdict, l7 })), policies: [...policies] };
}

/** Whether an HTTP request without host or headers (what the probes send) passes `rules`. */
export function httpRequestAllowed(rules: HttpMatcher, request: { method: string; path: string }): boolean {
  return rules.match({ ...request, headers: {} }).allowed;
}

/**
 * What an HTTP probe should get: `no-answer` when L3/L4 policy denies the connection (no
 * HTTP rule is reached), else `success` (a 2xx from the pod's server) when the HTTP rule
 * admits the request, `forbidden` (403 from the agent's L7 proxy) when it does not.
 */
export type HttpExpectation = 'no-answer' | 'success' | 'forbidden';

/** What an HTTP probe should get, from simulate's L3/L4 verdict for its pair and the HTTP rule's decision. */
export function expectedHttpAnswer(connectionAllowed: boolean, ruleAdmits: boolean): HttpExpectation {
  if (!connectionAllowed) return 'no-answer';
  return ruleAdmits ? 'success' : 'forbidden';
}

/** Whether an answer (`status` undefined: none) is what `expected` says. */
export function httpAnswerAgrees(expected: HttpExpectation, status: number | undefined): boolean {
  switch (expected) {
    case 'no-answer':
      return status === undefined;
    case 'success':
      return status !== undefined && status >= 200 && status < 300;
    default:
      return status === 403;
  }
}

/** One HTTP probe of a step: what it got and what the rules decide. */
export interface HttpProbeReport {
  /** `default/web`. */
  readonly from: string;
  /** `default/api`. */
  readonly to: string;
  /** The port the target serves (`8080`). */
  readonly port: number;
  /** Always `GET` (what the probes send). */
  readonly method: string;
  /** `/api/v1/products`. */
  readonly path: string;
  /** The policies whose HTTP rules apply (`CiliumNetworkPolicy default/l7-api-policy`). */
  readonly policies: readonly string[];
  /** Whether the HTTP rules admit the request. */
  readonly ruleAdmits: boolean;
  /** Whether `twill policy simulate` lets the connection through at L3/L4. */
  readonly connectionAllowed: boolean;
  /** What simulate says decided the connection (`egress: isolated by GlobalNetworkPolicy default-deny`). */
  readonly connectionDecidedBy: string;
  /** The answer's HTTP status; absent when there was none. */
  readonly status?: number;
  /** The start of the answer's body (a 403 from the proxy says why: `denied by policy: ...`). */
  readonly body?: string;
  /** Why there was no answer (`timeout`, `ECONNREFUSED`). */
  readonly error?: string;
  /** What the rules call for. */
  readonly expected: HttpExpectation;
  /** Whether the answer is what `expected` says. */
  readonly agrees: boolean;
}

const EXPECTED_TEXT: Readonly<Record<HttpExpectation, string>> = {
  'no-answer': 'no answer (L3/L4 denies the connection)',
  success: 'a 2xx from the pod\'s server',
  forbidden: '403 from the agent\'s L7 proxy',
};

// The first line of a body, short: what a 403 from the proxy says.
function bodyLine(body: string | undefined): string {
  const line = (body ?? '').trim().split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** `HTTP 200`, `HTTP 403 "denied by policy: ..."` (the body of an answer other than 2xx), `no answer (timeout)`. */
export function httpAnswerText(probe: Pick<HttpProbeReport, 'status' | 'body' | 'error'>): string {
  if (probe.status === undefined) return `no answer (${probe.error ?? 'no result'})`;
  const body = probe.status >= 200 && probe.status < 300 ? '' : bodyLine(probe.body);
  return `HTTP ${probe.status}${body === '' ? '' : ` ${JSON.stringify(body)}`}`;
}

/**
 * The HTTP probes of a step for people: a line each with what it got and what the rule
 * decides (or that L3/L4 denies the connection first), each one whose answer differs
 * flagged `DISAGREEMENT` in warn style with what the rules call for; then the count, as
 * the matrix counts its disagreements. Empty for no probes.
 */
export function renderHttpProbes(probes: readonly HttpProbeReport[], style: Style): string {
  if (probes.length === 0) return '';
  const lines = probes.map((p) => {
    const rule = `${p.policies.join(', ')}'s HTTP rule`;
    const decides = p.connectionAllowed
      ? `${rule} ${p.ruleAdmits ? 'admits' : 'refuses'} it`
      : `L3/L4 denies the connection first (${p.connectionDecidedBy}); ${rule} would ${p.ruleAdmits ? 'admit' : 'refuse'} it`;
    const line = `  ${p.from} -> ${p.to}:${p.port} ${p.method} ${p.path}: ${httpAnswerText(p)}; ${decides}`;
    return p.agrees ? line : style.warn(`${line}; DISAGREEMENT: the rules call for ${EXPECTED_TEXT[p.expected]}`);
  });
  const wrong = probes.filter((p) => !p.agrees).length;
  const tally = `${probes.length} HTTP probe${probes.length === 1 ? '' : 's'}: ${wrong === 0 ? 'every answer is what the rules decide' : style.bold(style.bad(`${wrong} DISAGREE with the rules`))}`;
  return `HTTP probes where an L7 rule applies (the agents' L7 proxies enforce it: 403 for a request no rule admits):\n${lines.join('\n')}\n${tally}\n`;
}
