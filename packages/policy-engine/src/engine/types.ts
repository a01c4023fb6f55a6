// The effective rules of an endpoint, as the incremental index hands them to dataplane
// drivers. Everything here is plain data (no classes, no functions) so a driver can
// serialise it, compare it, or compile it:
// - nftables: one chain per endpoint and direction, one sub-chain per tier (Pass is
//   `return`, the tier's end is `drop` or falls through), peers as named sets of
//   identities' addresses and CIDR interval sets, ports as concatenated sets;
// - eBPF: per endpoint and direction, a first-match walk over the rules for each
//   (identity, protocol, port) key gives the policy-map entries; atoms with CIDRs become
//   LPM entries.

import { type NumericIdentity } from '../identity/reserved.js';
import { type EndpointRef, type ProtocolNumber } from '../model/endpoint.js';
import { type IcmpMatch, type L7Rules, type PolicyRef, type RuleAction, type RuleOrigin } from '../model/policy.js';

/**
 * A port range, inclusive. `protocol` is set when the range came from a named port,
 * which only names a port for one protocol; absent, the range holds for the rule's
 * protocol (or any).
 */
export interface ResolvedPort {
  /** The first port of the range. */
  readonly first: number;
  /** The last port of the range (inclusive), not below `first`. */
  readonly last: number;
  /** The only protocol the range holds for (a named port's); absent: the rule's protocol, or any. */
  readonly protocol?: ProtocolNumber;
}

/**
 * One conjunction of a peer: the remote side's identity is one of `identities` (absent:
 * any) and its address is in one of `cidrs` (absent: any address) and in none of
 * `except`. A peer is a list of atoms, any of which may match; `[]` matches nothing,
 * `[{}]` everything.
 *
 * Identities are the index's: a workload's label identity; `host` (1) or `remote-node`
 * (6) for host endpoints, as seen from the local endpoint's node; `world` (2) or
 * `kube-apiserver` (7) for addresses of no endpoint. Host endpoints and network sets
 * that a selector matches appear as CIDRs.
 */
export interface PeerAtom {
  /** Sorted ascending. */
  readonly identities?: readonly NumericIdentity[];
  /** Canonical CIDR texts. */
  readonly cidrs?: readonly string[];
  /** Canonical CIDR texts, each inside one of `cidrs`. */
  readonly except?: readonly string[];
}

/** What a rule requires of the remote side: its identity or address, and its ports. */
export interface RemoteMatch {
  /** The remote side must match one of these atoms; `[]` matches nothing, `[{}]` everything. */
  readonly peers: readonly PeerAtom[];
  /** The remote port must be in one of these; absent: any port. */
  readonly ports?: readonly ResolvedPort[];
  /** The remote port must be in none of these. */
  readonly notPorts?: readonly ResolvedPort[];
}

/** What a rule requires of the local endpoint (named ports already resolved on it). */
export interface LocalMatch {
  /** The local address the flow uses must be one of these; absent: any of the endpoint's. */
  readonly addresses?: readonly string[];
  /** The local endpoint's port must be in one of these; absent: any port. */
  readonly ports?: readonly ResolvedPort[];
  /** The local endpoint's port must be in none of these. */
  readonly notPorts?: readonly ResolvedPort[];
}

/**
 * One resolved rule. For ingress the local side is the destination and the remote side
 * the source; for egress the other way round. An IR rule may give several resolved
 * rules in a row (one per group of remote endpoints sharing a named port's number);
 * they have the same `policy` and `ruleIndex`.
 */
export interface EffectiveRule {
  /** What the rule does to a flow it matches. */
  readonly action: RuleAction;
  /** The deciding policy and rule, for flow attribution. */
  readonly policy: PolicyRef;
  /** The rule's index in the policy's IR rules for the direction. */
  readonly ruleIndex: number;
  /** Where the IR rule came from in its source document. */
  readonly origin: RuleOrigin;
  /** The flow's IP protocol number must be this; absent: any protocol. */
  readonly protocol?: ProtocolNumber;
  /** The flow's IP protocol number must not be this. */
  readonly notProtocol?: ProtocolNumber;
  /** The flow must be ICMP or ICMPv6 with this type (and code). */
  readonly icmp?: IcmpMatch;
  /** The flow must not be an ICMP or ICMPv6 message this matches. */
  readonly notIcmp?: IcmpMatch;
  /** What the local endpoint's side of the flow must be. */
  readonly local: LocalMatch;
  /** What the remote side of the flow must be. */
  readonly remote: RemoteMatch;
  /** L7 rules the allowed traffic must still satisfy; only on `allow`. */
  readonly l7?: L7Rules;
  /**
   * The policy's order. Allow rules of policies with the same order in a tier add up
   * for L7 (see the README's "Precedence").
   */
  readonly order?: number;
}

/** One tier's part of an endpoint's rules for a direction. */
export interface EffectiveTier {
  /** The tier's name. */
  readonly tier: string;
  /** In evaluation order: first match decides (Allow, Deny), leaves the tier (Pass) or is recorded (Log). */
  readonly rules: readonly EffectiveRule[];
  /** What happens when no rule decided: `deny` when an isolating policy selects the endpoint and the tier's default is Deny; otherwise `pass` (on to the next tier). */
  readonly end: 'deny' | 'pass';
  /** The isolating policies behind `end: 'deny'`. */
  readonly isolatedBy: readonly PolicyRef[];
}

/**
 * An endpoint's rules for one direction: its tiers in order. No tier: no policy
 * selects the endpoint for the direction and everything is allowed. When every tier
 * passes, the flow is allowed.
 */
export interface EffectiveDirection {
  /** The tiers with policies selecting the endpoint for the direction, in evaluation order (the deny-precedence tier first). */
  readonly tiers: readonly EffectiveTier[];
}

/** An endpoint's effective rules. */
export interface EndpointPolicy {
  /** The endpoint's reference: namespace (workloads only) and name. */
  readonly endpoint: EndpointRef;
  /** `x/a`, or `host:n1`: the endpoint's key in the index. */
  readonly key: string;
  /** The label identity (workloads) or `host` (host endpoints). */
  readonly identity: NumericIdentity;
  /** The endpoint's addresses in canonical text (RFC 5952 for IPv6), in the order of its `ips`. */
  readonly addresses: readonly string[];
  /** The rules of traffic arriving at the endpoint. */
  readonly ingress: EffectiveDirection;
  /** The rules of traffic leaving the endpoint. */
  readonly egress: EffectiveDirection;
}

/** An endpoint whose effective rules changed, with the new rules and which directions differ. */
export interface EndpointPolicyChange extends EndpointPolicy {
  /** The directions whose rules differ from before (both for a new endpoint). */
  readonly changed: readonly ('ingress' | 'egress')[];
}

/** An address (or prefix) and the identity the LPM map gives it. */
export interface IpIdentityEntry {
  /** A workload's address (canonical text, no length) or an API server prefix (`network/length`). */
  readonly prefix: string;
  /** The identity of the addresses `prefix` covers. */
  readonly identity: NumericIdentity;
}

/**
 * What one change (or batch) did, for dataplane drivers to apply: the endpoints whose
 * effective rules changed with their new rules, the endpoints that are gone, and the
 * changes of the address → identity map.
 */
export interface PolicyIndexDiff {
  /** Endpoints whose effective rules changed (or that are new), sorted by key. */
  readonly changed: readonly EndpointPolicyChange[];
  /** Endpoints removed from the index: drop their rules. */
  readonly removed: readonly EndpointRef[];
  /** Address → identity entries to set (new, or with a new identity) and to remove. */
  readonly ipcache: {
    /** Entries to add or update, sorted by prefix. */
    readonly set: readonly IpIdentityEntry[];
    /** Prefixes (workload addresses) that no longer map to an identity, sorted. */
    readonly removed: readonly string[];
  };
}
