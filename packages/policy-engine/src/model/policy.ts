// The intermediate representation (IR) every dialect compiles to. One shape for
// Kubernetes, Calico and Cilium, so that one evaluator (and later one dataplane
// compiler) serves all three. The precedence model is in the package README; in short:
// tiers in order, policies in order within a tier, rules in order within a policy,
// first Allow/Deny/Pass wins; a tier whose policies select the endpoint but match
// nothing applies its default action. Kubernetes and Cilium allow policies sit in the
// default tier at order 1000 (as Calico places Kubernetes policies); Cilium deny rules
// sit in a reserved tier evaluated before every other.

import { type ProtocolNumber } from './endpoint.js';
import { type Selector } from './selector.js';

/** The policy dialects that compile to the IR. */
export const DIALECT = { KUBERNETES: 'kubernetes', CALICO: 'calico', CILIUM: 'cilium' } as const;

/** One of {@link DIALECT}. */
export type Dialect = (typeof DIALECT)[keyof typeof DIALECT];

/** Names the source object of a policy, for traces: `NetworkPolicy x/deny-all`. */
export interface PolicyRef {
  /** The dialect of the source object. */
  readonly dialect: Dialect;
  /** The source object's kind: `NetworkPolicy`, `GlobalNetworkPolicy`, `CiliumNetworkPolicy`, ... */
  readonly kind: string;
  /** Absent for cluster-scoped kinds. */
  readonly namespace?: string;
  /** The source object's `metadata.name`. */
  readonly name: string;
}

/** `NetworkPolicy x/deny-all`, or `GlobalNetworkPolicy default-deny`. */
export function formatPolicyRef(ref: PolicyRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** What a matching rule does. */
export const RULE_ACTION = {
  /** Accept; evaluation ends. */
  ALLOW: 'allow',
  /** Drop; evaluation ends. */
  DENY: 'deny',
  /** Skip the rest of this tier; continue with the next (Calico `Pass`). */
  PASS: 'pass',
  /** Record the match and continue (Calico `Log`). */
  LOG: 'log',
} as const;

/** One of {@link RULE_ACTION}. */
export type RuleAction = (typeof RULE_ACTION)[keyof typeof RULE_ACTION];

/** Cilium's entities: classes of peers that are not selected by labels. */
export const ENTITY = {
  ALL: 'all',
  WORLD: 'world',
  CLUSTER: 'cluster',
  HOST: 'host',
  REMOTE_NODE: 'remote-node',
  KUBE_APISERVER: 'kube-apiserver',
  INIT: 'init',
  HEALTH: 'health',
  UNMANAGED: 'unmanaged',
} as const;

/** One of {@link ENTITY}. */
export type Entity = (typeof ENTITY)[keyof typeof ENTITY];

/**
 * A predicate over one side of a flow (its endpoint, its address, the network sets
 * its address is in).
 */
export type PeerMatch =
  | { readonly kind: 'any' }
  /** The side is an endpoint, or its address is in a network set, that `selector` matches. */
  | { readonly kind: 'selector'; readonly selector: Selector }
  /** The side's address is in one of `cidrs` and in none of `except` (Kubernetes ipBlock, Calico nets, Cilium CIDRSet). */
  | { readonly kind: 'cidr'; readonly cidrs: readonly string[]; readonly except?: readonly string[] }
  /** The side belongs to one of these Cilium entities. */
  | { readonly kind: 'entity'; readonly entities: readonly Entity[] }
  | { readonly kind: 'and'; readonly of: readonly PeerMatch[] }
  | { readonly kind: 'or'; readonly of: readonly PeerMatch[] }
  | { readonly kind: 'not'; readonly of: PeerMatch };

/** A port or a range of ports (inclusive), or a named port resolved on the side's endpoint. */
export type PortSpec =
  | { readonly kind: 'range'; readonly first: number; readonly last: number }
  | { readonly kind: 'named'; readonly name: string };

/** What a rule requires of one side of a flow; every field present must hold. */
export interface SideMatch {
  /** Absent: any peer. */
  readonly peer?: PeerMatch;
  /** The side's port must be one of these (ranges or names); absent: any port. */
  readonly ports?: readonly PortSpec[];
  /** The side's port must be none of these. */
  readonly notPorts?: readonly PortSpec[];
}

/** ICMP type and optional code; `type` absent means any ICMP message. */
export interface IcmpMatch {
  /** The ICMP (or ICMPv6) type, 0-255; absent: any message. */
  readonly type?: number;
  /** The ICMP code, 0-255; absent: any code of that type. Ignored without `type`. */
  readonly code?: number;
}

/** An HTTP rule (Calico `http`, Cilium `rules.http`): every field present must match the request. */
export interface HttpRule {
  /**
   * The request method, as an RE2 pattern (kept as text) that must match the WHOLE method,
   * case-sensitively: `compileHttpMatcher` compiles it with `compileHttpPattern` and calls
   * `fullMatch`. Cilium's `method` is such a pattern (`GET|HEAD`). Calico names a method
   * exactly; an ordinary name (`GET`, `PURGE`: letters, digits, `-`, `_`) is the same
   * pattern, since it has no metacharacter, and a producer writing a name that holds one
   * (an RFC 9110 token may hold `.`, `*`, `+`, `|`, `^`, `$`) quotes it with
   * `quoteHttpPattern`. Absent: any method.
   */
  readonly method?: string;
  /** Calico has exact and prefix paths; Cilium a regular expression (RE2 syntax, kept as text). */
  readonly path?: {
    /** How `value` is matched: the whole path equals it, starts with it, or matches it as a regular expression. */
    readonly kind: 'exact' | 'prefix' | 'regex';
    /** The path, prefix or pattern. */
    readonly value: string;
  };
  /** The request's host, a regular expression (Cilium `host`, RE2, kept as text). Absent: any host. */
  readonly host?: string;
  /** Header requirements; `value` absent means the header must be present. */
  readonly headers?: readonly {
    /** The header name. */
    readonly name: string;
    /** The value the header must have; absent: present with any value. */
    readonly value?: string;
  }[];
}

/** L7 rules a rule attaches to the traffic it allows; kept as data for the proxy that enforces them. */
export type L7Rules =
  | { readonly kind: 'http'; readonly rules: readonly HttpRule[] }
  /** Another parser's rules (Kafka, DNS, ...), carried verbatim. */
  | { readonly kind: 'opaque'; readonly parser: string; readonly rules: readonly Readonly<Record<string, unknown>>[] };

/** Where a rule came from in its source document, for traces. */
export interface RuleOrigin {
  /** The rule's path in the source document: `spec.ingress[0]`. */
  readonly path: string;
  /** Which part of that rule this IR rule is, when the front end split it: `from[1], ports[0]`. */
  readonly detail?: string;
}

/**
 * One rule. Every condition present must hold; `source` is matched against the flow's
 * source and `destination` against its destination, whichever direction the rule is
 * enforced in.
 */
export interface Rule {
  /** What the rule does to a flow it matches. */
  readonly action: RuleAction;
  /** Absent: any protocol. */
  readonly protocol?: ProtocolNumber;
  /** The flow's protocol must not be this one; absent: no exclusion. */
  readonly notProtocol?: ProtocolNumber;
  /** The flow must be ICMP or ICMPv6 with this type (and code); absent: no ICMP condition. */
  readonly icmp?: IcmpMatch;
  /** The flow must not be an ICMP or ICMPv6 message this matches; absent: no exclusion. */
  readonly notIcmp?: IcmpMatch;
  /** What the flow's source must be; absent: any source. */
  readonly source?: SideMatch;
  /** What the flow's destination must be; absent: any destination. */
  readonly destination?: SideMatch;
  /** L7 rules the allowed traffic must still satisfy; only on `allow`. */
  readonly l7?: L7Rules;
  /** Where the rule came from in its source document. */
  readonly origin: RuleOrigin;
}

/** A policy's rules for one direction. */
export interface DirectionRules {
  /** The rules, in the order they are tried: `log` records and continues, `allow` and `deny` decide, `pass` leaves the tier. */
  readonly rules: readonly Rule[];
  /**
   * Whether selecting an endpoint isolates it in this direction: when no rule matches,
   * the tier's default action applies. True for Kubernetes and Calico; for Cilium, its
   * `enableDefaultDeny`.
   */
  readonly isolates: boolean;
}

/** A policy in the IR. */
export interface Policy {
  /** The source object the policy was compiled from. */
  readonly ref: PolicyRef;
  /**
   * Which part of its source document this is, when one document compiles to several IR
   * policies (a Cilium policy: one per rule and per allow/deny half). Absent is part 0.
   * Parts of one document live side by side in an index; deleting the document removes
   * them all.
   */
  readonly part?: number;
  /** The tier's name; see {@link DEFAULT_TIER} and {@link DENY_PRECEDENCE_TIER}. */
  readonly tier: string;
  /** Lower first; absent sorts after every number (Calico). Ties go by name. */
  readonly order?: number;
  /** The endpoints the policy applies to. */
  readonly subject: Selector;
  /** Absent: the policy says nothing about ingress. */
  readonly ingress?: DirectionRules;
  /** Absent: the policy says nothing about egress. */
  readonly egress?: DirectionRules;
}

/** What a tier does with traffic its policies selected but did not decide. */
export const TIER_DEFAULT_ACTION = { DENY: 'deny', PASS: 'pass' } as const;

/** One of {@link TIER_DEFAULT_ACTION}. */
export type TierDefaultAction = (typeof TIER_DEFAULT_ACTION)[keyof typeof TIER_DEFAULT_ACTION];

/** A tier: an ordered group of policies (Calico Tier). */
export interface Tier {
  /** The tier's name, unique among tiers; policies name their tier by it. */
  readonly name: string;
  /** Lower first; absent sorts last. */
  readonly order?: number;
  /** What happens to traffic that the tier's policies select but none of their rules decide: `deny`, or `pass` to the next tier. */
  readonly defaultAction: TierDefaultAction;
}

/** Calico's default tier (order 1,000,000): Kubernetes, Calico default-tier and Cilium allow policies. */
export const DEFAULT_TIER: Tier = Object.freeze({ name: 'default', order: 1_000_000, defaultAction: 'deny' });

/**
 * The reserved tier that holds Cilium's deny rules. It is evaluated before every other
 * tier, whatever their orders, and passes what it does not deny: a Cilium deny takes
 * precedence over any allow, in any dialect.
 */
export const DENY_PRECEDENCE_TIER: Tier = Object.freeze({ name: 'twill:deny-precedence', defaultAction: 'pass' });

/** The order Kubernetes (and Cilium allow) policies get in the default tier, as Calico gives Kubernetes policies. */
export const KUBERNETES_POLICY_ORDER = 1000;
