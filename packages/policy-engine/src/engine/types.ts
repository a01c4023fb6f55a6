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
  readonly first: number;
  readonly last: number;
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
  readonly ports?: readonly ResolvedPort[];
  readonly notPorts?: readonly ResolvedPort[];
}

/**
 * One resolved rule. For ingress the local side is the destination and the remote side
 * the source; for egress the other way round. An IR rule may give several resolved
 * rules in a row (one per group of remote endpoints sharing a named port's number);
 * they have the same `policy` and `ruleIndex`.
 */
export interface EffectiveRule {
  readonly action: RuleAction;
  /** The deciding policy and rule, for flow attribution. */
  readonly policy: PolicyRef;
  /** The rule's index in the policy's IR rules for the direction. */
  readonly ruleIndex: number;
  readonly origin: RuleOrigin;
  readonly protocol?: ProtocolNumber;
  readonly notProtocol?: ProtocolNumber;
  readonly icmp?: IcmpMatch;
  readonly notIcmp?: IcmpMatch;
  readonly local: LocalMatch;
  readonly remote: RemoteMatch;
  readonly l7?: L7Rules;
  /**
   * The policy's order. Allow rules of policies with the same order in a tier add up
   * for L7 (see the README's "Precedence").
   */
  readonly order?: number;
}

/** One tier's part of an endpoint's rules for a direction. */
export interface EffectiveTier {
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
  readonly tiers: readonly EffectiveTier[];
}

/** An endpoint's effective rules. */
export interface EndpointPolicy {
  readonly endpoint: EndpointRef;
  /** `x/a`, or `host:n1`: the endpoint's key in the index. */
  readonly key: string;
  /** The label identity (workloads) or `host` (host endpoints). */
  readonly identity: NumericIdentity;
  readonly addresses: readonly string[];
  readonly ingress: EffectiveDirection;
  readonly egress: EffectiveDirection;
}

/** An endpoint whose effective rules changed, with the new rules and which directions differ. */
export interface EndpointPolicyChange extends EndpointPolicy {
  /** The directions whose rules differ from before (both for a new endpoint). */
  readonly changed: readonly ('ingress' | 'egress')[];
}

/** An address (or prefix) and the identity the LPM map gives it. */
export interface IpIdentityEntry {
  readonly prefix: string;
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
  readonly ipcache: { readonly set: readonly IpIdentityEntry[]; readonly removed: readonly string[] };
}
