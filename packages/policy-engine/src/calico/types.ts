/**
 * The typed, validated Calico objects the front end produces. They keep Calico's own
 * shape (not yet the engine's IR): a rule is still a Calico rule, with its source and
 * destination entity rules, and every selector carries both its text and its tree.
 */
import { type SelectorNode } from './selector/ast.js';

/** The API versions this front end reads: the aggregated API and the CRD storage form. */
export const CALICO_API_VERSIONS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'] as const;

/** One of {@link CALICO_API_VERSIONS}. */
export type CalicoApiVersion = (typeof CALICO_API_VERSIONS)[number];

/** The rule actions. */
export const CALICO_ACTIONS = ['Allow', 'Deny', 'Pass', 'Log'] as const;

/** One of {@link CALICO_ACTIONS}. */
export type CalicoAction = (typeof CALICO_ACTIONS)[number];

/** `Ingress` or `Egress`. */
export type CalicoPolicyType = 'Ingress' | 'Egress';

/** The name of Calico's default tier, which every policy without `spec.tier` is in. */
export const CALICO_DEFAULT_TIER = 'default';

/** The order Calico gives the default tier (`DefaultTierOrder`, one million). */
export const CALICO_DEFAULT_TIER_ORDER = 1_000_000;

/** A selector as written and as parsed. */
export interface CalicoSelector {
  /** The text from the document. */
  readonly source: string;
  /** Its parsed tree. */
  readonly ast: SelectorNode;
}

/** The metadata fields the front end keeps. */
export interface CalicoMetadata {
  /** `metadata.name`, required; its format is checked per kind (a policy's may carry its tier as a `<tier>.` prefix). */
  readonly name: string;
  /** Set for namespaced kinds (defaulted to `default`), absent for global ones. */
  readonly namespace?: string;
  /** `metadata.labels` (Kubernetes label keys and values, checked); `{}` when absent. */
  readonly labels: Readonly<Record<string, string>>;
  /** `metadata.annotations`; `{}` when absent. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** The protocol names Calico accepts, with their IANA numbers. */
export const CALICO_PROTOCOL_NUMBERS = {
  TCP: 6,
  UDP: 17,
  ICMP: 1,
  ICMPv6: 58,
  SCTP: 132,
  UDPLite: 136,
} as const;

/** One of the keys of {@link CALICO_PROTOCOL_NUMBERS}. */
export type CalicoProtocolName = keyof typeof CALICO_PROTOCOL_NUMBERS;

/** An IP protocol, by IANA number; `name` when it was written (or is known) by name. */
export interface CalicoProtocol {
  /** The IANA protocol number, 1-255. */
  readonly number: number;
  /** The canonical Calico name when the number has one (`TCP`, `ICMPv6`...). */
  readonly name?: CalicoProtocolName;
}

/** A port match: an inclusive numeric range (a single port has `min === max`) or a named port. */
export type CalicoPort =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'named'; readonly name: string };

/** A CIDR from `nets` / `notNets` or a network set. */
export interface CalicoNet {
  /** As written in the document. */
  readonly text: string;
  /** Canonical `network/prefix` (a bare address gets /32 or /128). */
  readonly cidr: string;
  /** The address family: 4 or 6. */
  readonly version: 4 | 6;
  /** The prefix length in bits: 0-32 for IPv4, 0-128 for IPv6. */
  readonly prefixLength: number;
}

/** An ICMP match; `code` is only ever set together with `type`. */
export interface CalicoIcmp {
  /** ICMP type, 0-254. */
  readonly type?: number;
  /** ICMP code, 0-255. */
  readonly code?: number;
}

/** `serviceAccounts`: names and a selector over service-account labels (ANDed). */
export interface CalicoServiceAccountMatch {
  /** Service account names, any of which matches; empty: any name. */
  readonly names: readonly string[];
  /** A selector over the service account's labels; absent: any labels. */
  readonly selector?: CalicoSelector;
}

/** `services`: a Kubernetes service by name (and namespace). */
export interface CalicoServiceMatch {
  /** The service name, never empty. */
  readonly name: string;
  /** The service's namespace; absent: the policy's (required in a GlobalNetworkPolicy). */
  readonly namespace?: string;
}

/**
 * The source or destination half of a rule. Absent fields are `undefined` (no
 * constraint); empty lists mean the same. Note that an absent `selector` (any peer,
 * Calico-managed or not) differs from `all()` (any Calico endpoint).
 */
export interface CalicoEntityRule {
  /** The peer's address must be in one of these (rule nets: host bits must be clear); empty: any address. */
  readonly nets: readonly CalicoNet[];
  /** The peer's address must be in none of these. */
  readonly notNets: readonly CalicoNet[];
  /** Endpoints and network sets the peer must be, by labels; never uses `global()`. */
  readonly selector?: CalicoSelector;
  /** Endpoints and network sets the peer must not be, by labels, in every namespace; never uses `global()`. */
  readonly notSelector?: CalicoSelector;
  /**
   * For a NetworkPolicy, absent means "the policy's namespace"; `global()` means
   * non-namespaced endpoints (global network sets, host endpoints).
   */
  readonly namespaceSelector?: CalicoSelector;
  /** The peer's port must be in one of these (only with protocol TCP, UDP or SCTP); empty: any port. */
  readonly ports: readonly CalicoPort[];
  /** The peer's port must be in none of these (only with protocol TCP, UDP or SCTP). */
  readonly notPorts: readonly CalicoPort[];
  /** The peer must run as a service account this matches. */
  readonly serviceAccounts?: CalicoServiceAccountMatch;
  /** A Kubernetes service (an egress destination or an ingress source), alone on its side; parsed, but {@link compileCalicoPolicy} refuses it (`unsupported`). */
  readonly services?: CalicoServiceMatch;
}

/** An HTTP path match: exact or by prefix. */
export interface CalicoHttpPath {
  /** Whether the request path must equal `path` or start with it. */
  readonly kind: 'exact' | 'prefix';
  /** The path: starts with `/`, holds no `?`, `#` or space. */
  readonly path: string;
}

/** The L7 `http` match of an Allow ingress rule, kept for the L7 layer. */
export interface CalicoHttpMatch {
  /** Methods, ORed; empty means any. */
  readonly methods: readonly string[];
  /** Paths, ORed; empty means any. */
  readonly paths: readonly CalicoHttpPath[];
}

/** One ingress or egress rule. */
export interface CalicoRule {
  /** What the rule does to traffic it matches. */
  readonly action: CalicoAction;
  /** 4 or 6: the rule matches only that address family; absent: both. */
  readonly ipVersion?: 4 | 6;
  /** The protocol the traffic must have; absent: any. */
  readonly protocol?: CalicoProtocol;
  /** A protocol the traffic must not have. */
  readonly notProtocol?: CalicoProtocol;
  /** ICMP type (and code) the traffic must have; only with protocol ICMP or ICMPv6. */
  readonly icmp?: CalicoIcmp;
  /** ICMP type (and code) the traffic must not have (`notICMP` in the document). */
  readonly notIcmp?: CalicoIcmp;
  /** Conditions on the traffic's source; every field empty when the document has no `source`. */
  readonly source: CalicoEntityRule;
  /** Conditions on the traffic's destination; every field empty when the document has no `destination`. */
  readonly destination: CalicoEntityRule;
  /** HTTP conditions, only on Allow ingress rules with protocol TCP or none. */
  readonly http?: CalicoHttpMatch;
  /** `metadata.annotations` of the rule. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** What NetworkPolicy and GlobalNetworkPolicy share. */
export interface CalicoPolicyBase {
  /** The `apiVersion` the document was read with. */
  readonly apiVersion: CalicoApiVersion;
  /** The object's metadata. */
  readonly metadata: CalicoMetadata;
  /** The tier (`spec.tier`, or `default`). */
  readonly tier: string;
  /** The name without its tier prefix (`allow-dns` for `platform.allow-dns`). */
  readonly policyName: string;
  /** `<tier>.<policyName>`, the name Calico orders and reports by. */
  readonly qualifiedName: string;
  /** `spec.order`; absent means "after every ordered policy" in the tier. */
  readonly order?: number;
  /** The endpoints the policy applies to; an absent or empty selector is `all()`. */
  readonly selector: CalicoSelector;
  /** A selector over service-account labels: the policy applies only to endpoints running as a matching account; absent: no such condition. */
  readonly serviceAccountSelector?: CalicoSelector;
  /** The directions the policy applies to, given or inferred. */
  readonly types: readonly CalicoPolicyType[];
  /** True when `types` was inferred from the rules rather than written. */
  readonly typesInferred: boolean;
  /** `spec.ingress`, in order (at most 1024); used only when `types` has `Ingress`. */
  readonly ingress: readonly CalicoRule[];
  /** `spec.egress`, in order (at most 1024); used only when `types` has `Egress`. */
  readonly egress: readonly CalicoRule[];
  /** `spec.performanceHints` (only `AssumeNeededOnEveryNode`), kept but not used by the engine; empty when absent. */
  readonly performanceHints: readonly string[];
}

/** A `NetworkPolicy` (namespaced). */
export interface CalicoNetworkPolicy extends CalicoPolicyBase {
  /** Always `NetworkPolicy`. */
  readonly kind: 'NetworkPolicy';
  /** The policy's namespace (`metadata.namespace`, or `default`): it selects endpoints there only. */
  readonly namespace: string;
}

/** A `GlobalNetworkPolicy` (cluster-wide, may also select host endpoints). */
export interface CalicoGlobalNetworkPolicy extends CalicoPolicyBase {
  /** Always `GlobalNetworkPolicy`. */
  readonly kind: 'GlobalNetworkPolicy';
  /** Narrows the endpoints the policy applies to by their namespace's labels; absent: any namespace, and hosts. */
  readonly namespaceSelector?: CalicoSelector;
  /** Calico's untracked policy (host endpoints, before connection tracking); kept, not modelled by the engine. Needs `applyOnForward`. */
  readonly doNotTrack: boolean;
  /** Calico's pre-DNAT policy (host endpoints, before DNAT; ingress only); kept, not modelled by the engine. Needs `applyOnForward`; excludes `doNotTrack`. */
  readonly preDNAT: boolean;
  /** Whether the policy also applies to traffic forwarded through a host endpoint; kept, not modelled by the engine. */
  readonly applyOnForward: boolean;
}

/** Either policy kind. */
export type CalicoPolicy = CalicoNetworkPolicy | CalicoGlobalNetworkPolicy;

/** A `NetworkSet` (namespaced) or `GlobalNetworkSet`: labelled CIDRs that selectors can pick. */
export interface CalicoNetworkSet {
  /** `NetworkSet` (namespaced) or `GlobalNetworkSet`. */
  readonly kind: 'NetworkSet' | 'GlobalNetworkSet';
  /** The `apiVersion` the document was read with. */
  readonly apiVersion: CalicoApiVersion;
  /** The object's metadata (`namespace` for a `NetworkSet` only). */
  readonly metadata: CalicoMetadata;
  /** `spec.nets`: host bits are allowed here and cleared in `cidr`. */
  readonly nets: readonly CalicoNet[];
}

/** What a tier does with a packet that reaches its end unmatched. */
export type CalicoTierDefaultAction = 'Deny' | 'Pass';

/** A `Tier`. */
export interface CalicoTier {
  /** Always `Tier`. */
  readonly kind: 'Tier';
  /** The `apiVersion` the document was read with. */
  readonly apiVersion: CalicoApiVersion;
  /** The object's metadata; the name is a DNS-1123 label. */
  readonly metadata: CalicoMetadata;
  /** Absent means last. */
  readonly order?: number;
  /** What traffic that the tier's policies select but do not decide gets; `Deny` when not set. */
  readonly defaultAction: CalicoTierDefaultAction;
}

/** Any document this front end reads. */
export type CalicoDocument = CalicoPolicy | CalicoNetworkSet | CalicoTier;
