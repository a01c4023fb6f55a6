// evaluate(flow, snapshot): the verdict, the rule that decided it, and why.
//
// Precedence (README, "Precedence"): a flow passes the source's egress, then the
// destination's ingress; each is evaluated alone. For one endpoint and direction, tiers
// go in order (the deny-precedence tier first); in each tier that has policies
// selecting the endpoint, policies go in order and rules in order: Log records and
// continues, Allow and Deny decide, Pass leaves the tier. A tier whose selecting
// policies match nothing applies its default action when one of them isolates. When
// no tier decides, the flow is allowed (no policy, or only passing ones).

import { FlowError } from '../errors.js';
import { type NumericIdentity, RESERVED_IDENTITY } from '../identity/reserved.js';
import { cidrContainsAddress, parseIpAddress, type IpAddress } from '../model/cidr.js';
import { formatEndpointRef, protocolName, protocolNumber, type EndpointRef } from '../model/endpoint.js';
import { type Flow, type FlowPeer } from '../model/flow.js';
import { DEFAULT_TIER, formatPolicyRef, type L7Rules, type Policy, type PolicyRef, type Rule, type RuleAction, type RuleOrigin } from '../model/policy.js';
import { matchRule, type MatchContext, type ResolvedSide } from './match.js';
import { endpointKey, selectingTiers, type IndexedEndpoint, type Snapshot } from './snapshot.js';

/** A rule that matched: which policy, which rule (its index in the policy's IR rules for the direction, and its origin). */
export interface RuleHit {
  /** The policy that holds the rule. */
  readonly policy: PolicyRef;
  /** The name of the tier the policy was evaluated in. */
  readonly tier: string;
  /** The rule's 0-based index in the policy's IR rules for the direction (not in the source document: see `origin`). */
  readonly ruleIndex: number;
  /** Where the rule came from in its source document. */
  readonly origin: RuleOrigin;
  /** The rule's action. */
  readonly action: RuleAction;
}

/** Why a direction's verdict is what it is. */
export const VERDICT_REASON = {
  /** An Allow or Deny rule decided. */
  RULE: 'rule',
  /** Policies selected the endpoint and isolate it; no rule matched; the tier's default denied. */
  ISOLATED: 'isolated',
  /** No policy selects the endpoint for this direction. */
  NOT_SELECTED: 'not-selected',
  /** Every selecting tier passed or had only non-isolating policies: the end-of-tiers default allows. */
  PASSED: 'passed',
} as const;

/** One of {@link VERDICT_REASON}. */
export type VerdictReason = (typeof VERDICT_REASON)[keyof typeof VERDICT_REASON];

/** The verdict of one enforcement point (the source's egress or the destination's ingress). */
export interface DirectionVerdict {
  /** Which enforcement point: the destination's `ingress` or the source's `egress`. */
  readonly direction: 'ingress' | 'egress';
  /** The endpoint whose policy was evaluated. */
  readonly endpoint: EndpointRef;
  /** Whether this enforcement point lets the flow through. */
  readonly allowed: boolean;
  /** Why: a rule decided, the endpoint is isolated, no policy selects it, or every selecting tier passed. */
  readonly reason: VerdictReason;
  /** The rule that decided, when `reason` is `rule`. */
  readonly decidedBy?: RuleHit;
  /** The isolating policies of the tier whose default denied, when `reason` is `isolated`. */
  readonly isolatedBy?: readonly PolicyRef[];
  /** Pass and Log rules met on the way, in order. */
  readonly passedThrough: readonly RuleHit[];
  /** L7 rules the allowed traffic must still satisfy (empty: none). */
  readonly l7: readonly L7Rules[];
  /** One sentence: what decided and why. */
  readonly message: string;
}

/** One side of the flow as evaluated. */
export interface VerdictPeer {
  /** The endpoint of the snapshot this side is; absent when the side is a bare address no endpoint has. */
  readonly endpoint?: EndpointRef;
  /** The address the side used (for an endpoint without one in the flow, its first address); absent when it has none. */
  readonly ip?: string;
  /** The side's numeric identity: a workload's own; `host` or `remote-node` for a host endpoint (same node as the other side or not); for a bare address, its IP cache entry (`world` when nothing covers it, or when there is no address). */
  readonly identity: NumericIdentity;
  /** `x/a`, `host:node-1`, or the address. */
  readonly label: string;
}

/** The result of {@link evaluate}. */
export interface Verdict {
  /** Whether every enforcement point allowed the flow. */
  readonly allowed: boolean;
  /** The flow's source as evaluated. */
  readonly source: VerdictPeer;
  /** The flow's destination as evaluated. */
  readonly destination: VerdictPeer;
  /** Absent when the source is not an endpoint (or the flow's direction is `ingress`). */
  readonly egress?: DirectionVerdict;
  /** Absent when the destination is not an endpoint (or the flow's direction is `egress`). */
  readonly ingress?: DirectionVerdict;
  /** The L7 rules of both directions that still apply to allowed traffic. */
  readonly l7: readonly {
    /** The enforcement point whose allow rule carried these L7 rules. */
    readonly direction: 'ingress' | 'egress';
    /** The L7 rules. */
    readonly rules: L7Rules;
  }[];
  /** The messages of the evaluated directions, egress first. */
  readonly explanation: string;
}

function resolveSide(peer: FlowPeer, port: number | undefined, snapshot: Snapshot, path: string): ResolvedSide {
  let endpoint: IndexedEndpoint | undefined;
  let address: IpAddress | undefined;
  if ('endpoint' in peer) {
    endpoint = snapshot.endpoints.get(endpointKey(peer.endpoint));
    if (endpoint === undefined) throw new FlowError(`${path}.endpoint`, `no endpoint ${formatEndpointRef(peer.endpoint)} in the snapshot`);
    if (peer.ip !== undefined) {
      address = parseIpAddress(peer.ip);
      if (address === undefined || !endpoint.addresses.some((a) => a.text === address?.text)) {
        throw new FlowError(`${path}.ip`, `${JSON.stringify(peer.ip)} is not an address of ${formatEndpointRef(peer.endpoint)}`);
      }
    } else {
      address = endpoint.addresses[0];
    }
  } else {
    address = parseIpAddress(peer.ip);
    if (address === undefined) throw new FlowError(`${path}.ip`, `invalid IP address ${JSON.stringify(peer.ip)}`);
    endpoint = snapshot.endpointsByAddress.get(address.text);
  }
  const found = address;
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(found === undefined ? {} : { address: found }),
    networkSets: found === undefined ? [] : snapshot.networkSets.filter((set) => set.nets.some((net) => cidrContainsAddress(net, found))),
    kubeApiServer: found !== undefined && snapshot.kubeApiServer.some((net) => cidrContainsAddress(net, found)),
    ...(port === undefined ? {} : { port }),
  };
}

function sideLabel(side: ResolvedSide): string {
  if (side.endpoint !== undefined) return formatEndpointRef(side.endpoint.ref);
  return side.address?.text ?? 'unknown';
}

function describeTraffic(context: MatchContext, port: number | undefined): string {
  const name = protocolName(context.protocol);
  if (context.icmp !== undefined) return `${name} type ${context.icmp.type}${context.icmp.code === undefined ? '' : ` code ${context.icmp.code}`}`;
  return port === undefined ? name : `${name}/${port}`;
}

const describeHit = (hit: RuleHit): string =>
  `${formatPolicyRef(hit.policy)} rule ${hit.origin.path}${hit.origin.detail === undefined ? '' : ` (${hit.origin.detail})`}`;

const tierSuffix = (tier: string): string => (tier === DEFAULT_TIER.name ? '' : ` in tier ${tier}`);

// Allow rules from policies of equal order add up, as Kubernetes and Cilium allows do:
// if any of them allows without L7 rules, the traffic has no L7 restriction.
function collectL7(first: Rule, policies: readonly Policy[], from: number, direction: 'ingress' | 'egress', context: MatchContext, local: IndexedEndpoint): L7Rules[] {
  if (first.l7 === undefined) return [];
  const l7: L7Rules[] = [first.l7];
  const order = policies[from]?.order;
  for (const policy of policies.slice(from)) {
    if (policy.order !== order) break;
    for (const rule of policy[direction]?.rules ?? []) {
      if (rule === first || rule.action !== 'allow' || !matchRule(rule, context, local)) continue;
      if (rule.l7 === undefined) return [];
      l7.push(rule.l7);
    }
  }
  return l7;
}

function evaluateDirection(direction: 'ingress' | 'egress', local: IndexedEndpoint, context: MatchContext, snapshot: Snapshot): DirectionVerdict {
  const remote = direction === 'ingress' ? context.source : context.destination;
  const traffic = `${describeTraffic(context, context.destination.port)} ${direction === 'ingress' ? 'from' : 'to'} ${sideLabel(remote)}`;
  const who = formatEndpointRef(local.ref);
  const passedThrough: RuleHit[] = [];
  const tiers = selectingTiers(snapshot, local, direction);
  const base = { direction, endpoint: local.ref, passedThrough };
  if (tiers.length === 0) {
    return { ...base, allowed: true, reason: 'not-selected', l7: [], message: `no policy selects ${who} for ${direction}; ${traffic} is allowed by default` };
  }
  tiers: for (const { tier, policies } of tiers) {
    for (const [policyIndex, policy] of policies.entries()) {
      const rules = policy[direction]?.rules ?? [];
      for (const [ruleIndex, rule] of rules.entries()) {
        if (!matchRule(rule, context, local)) continue;
        const hit: RuleHit = { policy: policy.ref, tier: tier.name, ruleIndex, origin: rule.origin, action: rule.action };
        if (rule.action === 'log') {
          passedThrough.push(hit);
          continue;
        }
        if (rule.action === 'pass') {
          passedThrough.push(hit);
          continue tiers;
        }
        const allowed = rule.action === 'allow';
        const l7 = allowed ? collectL7(rule, policies, policyIndex, direction, context, local) : [];
        return {
          ...base, allowed, reason: 'rule', decidedBy: hit, l7,
          message: `${describeHit(hit)}${tierSuffix(tier.name)} ${allowed ? 'allows' : 'denies'} ${traffic} ${direction === 'ingress' ? 'to' : 'from'} ${who}`,
        };
      }
    }
    const isolating = policies.filter((p) => p[direction]?.isolates === true);
    if (isolating.length > 0 && tier.defaultAction === 'deny') {
      const by = isolating.map((p) => formatPolicyRef(p.ref)).join(', ');
      return {
        ...base, allowed: false, reason: 'isolated', isolatedBy: isolating.map((p) => p.ref), l7: [],
        message: `${who} is isolated for ${direction} by ${by}${tierSuffix(tier.name)}; no rule allowed ${traffic}`,
      };
    }
  }
  const last = passedThrough.filter((h) => h.action === 'pass').at(-1);
  return {
    ...base, allowed: true, reason: 'passed', l7: [],
    message: last === undefined
      ? `no policy selecting ${who} isolates it for ${direction}; ${traffic} is allowed by default`
      : `${describeHit(last)} passed ${traffic}; no later tier decided, so it is allowed by default`,
  };
}

function peerIdentity(side: ResolvedSide, other: ResolvedSide, snapshot: Snapshot): NumericIdentity {
  const endpoint = side.endpoint;
  if (endpoint !== undefined) {
    if (endpoint.endpoint.kind !== 'host') return endpoint.identity;
    const node = endpoint.endpoint.node;
    return node !== undefined && node === other.endpoint?.endpoint.node ? RESERVED_IDENTITY.HOST : RESERVED_IDENTITY.REMOTE_NODE;
  }
  return side.address === undefined ? RESERVED_IDENTITY.WORLD : snapshot.ipCache.lookup(side.address.text);
}

function verdictPeer(side: ResolvedSide, other: ResolvedSide, snapshot: Snapshot): VerdictPeer {
  return {
    ...(side.endpoint === undefined ? {} : { endpoint: side.endpoint.ref }),
    ...(side.address === undefined ? {} : { ip: side.address.text }),
    identity: peerIdentity(side, other, snapshot),
    label: sideLabel(side),
  };
}

/**
 * Evaluates `flow` against `snapshot`: the source's egress policy, then the
 * destination's ingress policy (each only when that side is an endpoint of the
 * snapshot, and as `flow.direction` asks). The flow is allowed when every evaluated
 * direction allows it.
 * @throws {FlowError} when the flow names an endpoint the snapshot lacks, an address
 *   that does not parse, or a protocol that is not one.
 */
export function evaluate(flow: Flow, snapshot: Snapshot): Verdict {
  const protocol = protocolNumber(flow.protocol);
  if (protocol === undefined) throw new FlowError('protocol', `unknown protocol ${JSON.stringify(flow.protocol)}`);
  const source = resolveSide(flow.source, flow.sourcePort, snapshot, 'source');
  const destination = resolveSide(flow.destination, flow.destinationPort, snapshot, 'destination');
  const context: MatchContext = { source, destination, protocol, ...(flow.icmp === undefined ? {} : { icmp: flow.icmp }) };
  const direction = flow.direction ?? 'both';
  const egress = direction !== 'ingress' && source.endpoint !== undefined ? evaluateDirection('egress', source.endpoint, context, snapshot) : undefined;
  const ingress = direction !== 'egress' && destination.endpoint !== undefined ? evaluateDirection('ingress', destination.endpoint, context, snapshot) : undefined;
  const evaluated = [egress, ingress].filter((v): v is DirectionVerdict => v !== undefined);
  const allowed = evaluated.every((v) => v.allowed);
  return {
    allowed,
    source: verdictPeer(source, destination, snapshot),
    destination: verdictPeer(destination, source, snapshot),
    ...(egress === undefined ? {} : { egress }),
    ...(ingress === undefined ? {} : { ingress }),
    l7: allowed ? evaluated.flatMap((v) => v.l7.map((rules) => ({ direction: v.direction, rules }))) : [],
    explanation: evaluated.length === 0
      ? `neither ${sideLabel(source)} nor ${sideLabel(destination)} is an endpoint of the snapshot; no policy applies`
      : evaluated.map((v) => v.message).join('; '),
  };
}
