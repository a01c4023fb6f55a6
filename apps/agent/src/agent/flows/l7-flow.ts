// One request through the L7 proxy (an L7FlowRecord) as a Hubble-style flow of type L7:
// `l7.http` with the status, method, URL and protocol, `l7.latency_ns`, the verdict, and
// what decided it, read from the record's rule labels (allowed) or its reason (denied).
// The proxy's verdicts map to Hubble's as Cilium's access log does: forwarded is
// FORWARDED; denied is DROPPED with POLICY_DENIED (Hubble's reason for a policy's drop);
// invalid (malformed or over a limit, answered 4xx, never forwarded) is ERROR, Cilium's
// verdict for a request its proxy could not parse; upstream-error is FORWARDED (policy let
// it through: the 502/503 code and the Summary say the destination failed). Pure.
import { DROP_REASON, type DecidingRule, type Flow, type FlowEndpoint, formatLatency, type FlowPolicy, type FlowTime, L7_FLOW_TYPE, type LazyFlow, TRAFFIC_DIRECTION, type TrafficDirection, VERDICT, type Verdict } from '@twill/flows';
import { type Dialect, type PolicyRef } from '@twill/policy-engine';

import { L7_VERDICT, type L7FlowRecord } from '../l7/ports.js';
import { type FlowPolicies, policyLabel } from './attribution.js';
import { type ObservedFlowContext } from './observed-flow.js';

/** What an L7 flow's verdict and counters take from its record. */
export interface L7Decision {
  /** The flow's verdict (see the module comment for the mapping). */
  readonly verdict: Verdict;
  /** What decided: the HTTP rule that allowed it, or the policies whose HTTP rules were tried and refused it; absent when no L7 rule applied or the request was invalid. */
  readonly decidedBy: DecidingRule | undefined;
  /** The policies that allowed (by direction) or denied it. */
  readonly allowedBy: readonly FlowPolicy[];
  readonly deniedBy: readonly FlowPolicy[];
  /** `Kind namespace/name` for `twill_policy_drops_total`: "" for a denied request, as for any drop no single rule decided. */
  readonly policyLabel: string;
}

const NONE: readonly FlowPolicy[] = Object.freeze([]);

// The kinds that carry HTTP rules, and their dialect: Cilium's, and Calico's (a
// Kubernetes NetworkPolicy has no L7 rules, so `NetworkPolicy` here is Calico's).
const DIALECT_OF_KIND: Readonly<Record<string, Dialect>> = {
  CiliumNetworkPolicy: 'cilium',
  CiliumClusterwideNetworkPolicy: 'cilium',
  NetworkPolicy: 'calico',
  GlobalNetworkPolicy: 'calico',
};

/** `Kind namespace/name` or `Kind name` (@twill/policy-engine's formatPolicyRef) as a reference; undefined for another kind. */
function parsePolicy(kind: string, qualified: string): PolicyRef | undefined {
  const dialect = Object.hasOwn(DIALECT_OF_KIND, kind) ? DIALECT_OF_KIND[kind] : undefined;
  if (dialect === undefined) return undefined;
  const slash = qualified.indexOf('/');
  return slash < 0 ? { dialect, kind, name: qualified } : { dialect, kind, namespace: qualified.slice(0, slash), name: qualified.slice(slash + 1) };
}

/** A matcher hit's label (`CiliumNetworkPolicy default/api spec.ingress[0].toPorts[0] http[1]`), parsed. */
interface RuleLabel {
  readonly policy?: PolicyRef;
  /** The HTTP rule's field: `spec.ingress[0].toPorts[0].rules.http[1]`. */
  readonly path: string;
  readonly direction?: 'ingress' | 'egress';
}

// @twill/policy-engine's HttpRuleHit.label: `${Kind} ${namespace/}${name} ${origin} http[${i}]`, or `${set} http[${i}]` without a policy.
const RULE_LABEL = /^(.+) http\[(\d+)\]$/;

/** A rule label of the record, parsed; undefined when it is not in the matcher's form. */
export function parseRuleLabel(label: string): RuleLabel | undefined {
  const m = RULE_LABEL.exec(label);
  if (m === null) return undefined;
  const head = m[1] as string;
  const [kind, qualified, ...rest] = head.split(' ');
  // The origin may hold spaces (`spec.ingress[0].from[1], ports[0]`); the kind and name do not.
  const policy = kind !== undefined && qualified !== undefined && rest.length > 0 ? parsePolicy(kind, qualified) : undefined;
  const base = policy === undefined ? head : rest.join(' ');
  const direction = /^spec\.(ingress|egress)\b/.exec(base)?.[1] as 'ingress' | 'egress' | undefined;
  return { ...(policy === undefined ? {} : { policy }), path: `${base}.rules.http[${m[2] as string}]`, ...(direction === undefined ? {} : { direction }) };
}

// @twill/policy-engine's deny reason: `no HTTP rule of A ns/a, B b (ingress) allows GET /x[; ...]`.
const DENY_REASON = /^no HTTP rule of (.+?)(?: \((ingress|egress)\))? allows /;

/** The policies (and the enforcement point) a denied request's reason names. */
export function parseDenyReason(why: string): { readonly policies: readonly PolicyRef[]; readonly direction?: 'ingress' | 'egress' } {
  const m = DENY_REASON.exec(why);
  if (m === null) return { policies: [] };
  const policies: PolicyRef[] = [];
  for (const part of (m[1] as string).split(', ')) {
    const [kind, qualified, extra] = part.split(' ');
    const ref = kind !== undefined && qualified !== undefined && extra === undefined ? parsePolicy(kind, qualified) : undefined;
    if (ref !== undefined) policies.push(ref);
  }
  return { policies, ...(m[2] === undefined ? {} : { direction: m[2] as 'ingress' | 'egress' }) };
}

/** The request line as flows show it: `GET /api/v1/users`. */
function requestText(record: L7FlowRecord): string {
  return `${record.method === '' ? '(no method)' : record.method} ${record.path === '' ? '(no path)' : record.path}`;
}

/**
 * What decided an L7 request, for its flow and the counters.
 * @param direction the flow's traffic direction: the enforcement point when the record does not say
 * @param cache where the rules' part of forwarded requests' decisions is kept (by labels
 *   and direction), to be cleared with `policies`: without it each request parses its labels again.
 *   A forwarded request's `decidedBy` is built when first read.
 */
export function l7Decision(record: L7FlowRecord, direction: TrafficDirection, policies: FlowPolicies, cache?: L7DecisionCache): L7Decision {
  const fallback: 'ingress' | 'egress' = direction === TRAFFIC_DIRECTION.EGRESS ? 'egress' : 'ingress';
  switch (record.verdict) {
    case L7_VERDICT.DENIED: {
      const why = record.why ?? 'no HTTP rule allows it';
      const parsed = parseDenyReason(why);
      const isolatedBy = Object.freeze(parsed.policies.map((p) => policies.of(p)));
      const decidedBy: DecidingRule = Object.freeze({
        // Policies with HTTP rules select the traffic and none of their rules allowed the
        // request: their default deny, as `isolated` is for L3/L4.
        reason: 'isolated',
        direction: parsed.direction ?? fallback,
        ...(isolatedBy.length === 0 ? {} : { isolatedBy }),
        attribution: 'evaluated',
        message: `the L7 proxy denied ${requestText(record)}: ${why}`,
      });
      return { verdict: VERDICT.DROPPED, decidedBy, allowedBy: NONE, deniedBy: isolatedBy, policyLabel: '' };
    }
    case L7_VERDICT.INVALID:
      return { verdict: VERDICT.ERROR, decidedBy: undefined, allowedBy: NONE, deniedBy: NONE, policyLabel: '' };
    default: {
      // forwarded, upstream-error: allowed by the rules the record names (none: no L7 rule applies).
      const rules = cache === undefined ? forwardedRules(record.rules, fallback, policies) : cache.rules(record.rules, fallback, policies);
      if (rules.decidedBy === undefined) return { verdict: VERDICT.FORWARDED, decidedBy: undefined, allowedBy: NONE, deniedBy: NONE, policyLabel: '' };
      return new ForwardedDecision(rules, record);
    }
  }
}

/**
 * A forwarded request's decision: the rule's part is the same for every request it
 * allows, and the message naming this request is built when the flow is read (most
 * records are counted and kept in the ring, never read).
 */
class ForwardedDecision implements L7Decision {
  readonly verdict = VERDICT.FORWARDED;
  readonly deniedBy = NONE;
  readonly allowedBy: readonly FlowPolicy[];
  readonly policyLabel: string;
  private built: DecidingRule | undefined;

  constructor(
    private readonly rules: L7ForwardedRules,
    private readonly record: L7FlowRecord,
  ) {
    this.allowedBy = rules.allowedBy;
    this.policyLabel = rules.policyLabel;
  }

  get decidedBy(): DecidingRule | undefined {
    const rule = this.rules.decidedBy;
    if (rule === undefined) return undefined;
    this.built ??= Object.freeze({ ...rule, message: `${rule.message} allows ${requestText(this.record)} (${rule.direction})` });
    return this.built;
  }
}

/**
 * Where {@link l7Decision} keeps the rules' part of forwarded requests' decisions, by
 * labels and direction, until the policies change ({@link L7DecisionCache.clear}). A
 * connection's requests carry the same labels array (the proxy keeps it while the rules
 * that allow them stay the same), so the last one is checked first, by identity, before
 * any key is made.
 */
export class L7DecisionCache {
  private readonly byKey = new Map<string, L7ForwardedRules>();
  private lastLabels: readonly string[] | undefined;
  private lastDirection = '';
  private last: L7ForwardedRules | undefined;

  /** The rules' part for `labels` enforced at `direction`. */
  rules(labels: readonly string[], direction: 'ingress' | 'egress', policies: FlowPolicies): L7ForwardedRules {
    if (labels === this.lastLabels && direction === this.lastDirection && this.last !== undefined) return this.last;
    const key = `${direction} ${labels.join('\n')}`;
    let rules = this.byKey.get(key);
    if (rules === undefined) {
      rules = forwardedRules(labels, direction, policies);
      if (this.byKey.size >= L7_DECISION_CACHE_MAX) this.byKey.clear();
      this.byKey.set(key, rules);
    }
    this.lastLabels = labels;
    this.lastDirection = direction;
    this.last = rules;
    return rules;
  }

  /** Forgets every decision (the policies changed). */
  clear(): void {
    this.byKey.clear();
    this.lastLabels = undefined;
    this.last = undefined;
  }
}

/** Most sets of rule labels whose decision {@link l7Decision} keeps; beyond it the cache starts again. */
const L7_DECISION_CACHE_MAX = 1024;

/**
 * What a forwarded request's rule labels decide, the same for every request they allow:
 * the deciding rule (its message the rule's part alone), the allowing policies and the
 * policy label. Kept by the caller per labels and direction until the policies change.
 */
export interface L7ForwardedRules {
  readonly decidedBy: DecidingRule | undefined;
  readonly allowedBy: readonly FlowPolicy[];
  readonly policyLabel: string;
}

function forwardedRules(labels: readonly string[], fallback: 'ingress' | 'egress', policies: FlowPolicies): L7ForwardedRules {
  const parsed = labels.map(parseRuleLabel).filter((l): l is RuleLabel => l !== undefined);
  const first = parsed[0];
  if (first === undefined) return { decidedBy: undefined, allowedBy: NONE, policyLabel: '' };
  const policy = first.policy === undefined ? undefined : policies.of(first.policy);
  const direction = first.direction ?? fallback;
  const decidedBy: DecidingRule = Object.freeze({
    reason: 'rule',
    direction,
    ...(policy === undefined ? {} : { policy }),
    rulePath: first.path,
    action: 'allow',
    attribution: 'evaluated',
    message: `${first.policy === undefined ? 'an HTTP rule' : `${policyLabel(first.policy)} HTTP rule`} ${first.path}`,
  });
  const allowedBy = Object.freeze(parsed.flatMap((l) => (l.policy === undefined ? [] : [policies.of(l.policy)])).filter((p, i, all) => all.indexOf(p) === i));
  return Object.freeze({ decidedBy, allowedBy, policyLabel: first.policy === undefined ? '' : policyLabel(first.policy) });
}

/** The record's URL as Hubble's `l7.http.url`: `http://host/path` when the request named its host, else the path alone. */
export function l7Url(record: L7FlowRecord): string {
  // The proxy serves cleartext HTTP (the tproxy redirect): the scheme is http.
  return record.host === undefined || record.host === '' ? record.path : `http://${record.host}${record.path}`;
}

function flowTime(ms: number): FlowTime {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round(ms - seconds * 1000) * 1_000_000 };
}

/** The parts of an L7 flow the observer resolves. */
export interface L7FlowParts {
  readonly uuid: string;
  readonly nodeName: string;
  readonly client: FlowEndpoint;
  readonly destination: FlowEndpoint;
  readonly direction: TrafficDirection;
  readonly decision: L7Decision;
}

/** The flow of one L7 record. */
export function buildL7Flow(record: L7FlowRecord, parts: L7FlowParts): Flow {
  const { decision, direction } = parts;
  const url = l7Url(record);
  const egress = decision.decidedBy?.direction === 'egress';
  const status = record.status === 0 ? 'no status' : String(record.status);
  const why = record.why === undefined || record.verdict === L7_VERDICT.FORWARDED ? '' : `: ${record.why}`;
  return {
    time: flowTime(record.time),
    uuid: parts.uuid,
    verdict: decision.verdict,
    ...(decision.verdict === VERDICT.DROPPED ? { dropReasonDesc: DROP_REASON.POLICY_DENIED } : {}),
    IP: { source: record.client.address, destination: record.destination.address, ipVersion: record.client.address.includes(':') ? 'IPv6' : 'IPv4' },
    l4: { TCP: { sourcePort: record.client.port, destinationPort: record.destination.port } },
    source: parts.client,
    destination: parts.destination,
    Type: 'L7',
    l7: {
      type: record.status === 0 ? L7_FLOW_TYPE.REQUEST : L7_FLOW_TYPE.RESPONSE,
      latencyNs: Math.max(0, Math.round(record.latencyNs)),
      http: { code: record.status, method: record.method, url, protocol: record.protocol, headers: [] },
    },
    nodeName: parts.nodeName,
    isReply: false,
    trafficDirection: direction,
    egressAllowedBy: egress ? decision.allowedBy : NONE,
    ingressAllowedBy: egress ? NONE : decision.allowedBy,
    egressDeniedBy: egress ? decision.deniedBy : NONE,
    ingressDeniedBy: egress ? NONE : decision.deniedBy,
    // Hubble's L7 summary shape: `HTTP/1.1 200 1.2 ms (GET http://api/users)`.
    Summary: `${record.protocol} ${status} ${formatLatency(record.latencyNs)} (${record.method} ${url})${why}`,
    ...(decision.decidedBy === undefined ? {} : { decidedBy: decision.decidedBy }),
  };
}

/**
 * One L7 request's flow, built on the first {@link flow} call and kept (most flows are
 * never read: building each one as it came cost as much as the rest of the observer).
 * Made by `FlowObserver`; constructor arguments are positional because one is made per request.
 */
export class ObservedL7Flow implements LazyFlow {
  #flow: Flow | undefined;

  /**
   * @param context what the observer's flows share
   * @param record the proxy's record
   * @param serial the observer's count of flows, this one's (the uuid's last group)
   */
  constructor(
    readonly context: ObservedFlowContext,
    readonly record: L7FlowRecord,
    readonly serial: number,
    readonly client: FlowEndpoint,
    readonly destination: FlowEndpoint,
    readonly direction: TrafficDirection,
    readonly decision: L7Decision,
  ) {}

  /** The request's time (when its headers were read). */
  time(): FlowTime {
    return flowTime(this.record.time);
  }

  /** The Hubble-style record, built on the first call. */
  flow(): Flow {
    this.#flow ??= buildL7Flow(this.record, {
      uuid: this.context.uuidPrefix + this.serial.toString(16).padStart(12, '0'),
      nodeName: this.context.nodeName,
      client: this.client,
      destination: this.destination,
      direction: this.direction,
      decision: this.decision,
    });
    return this.#flow;
  }
}
