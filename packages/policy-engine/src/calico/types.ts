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
  readonly name: string;
  /** Set for namespaced kinds (defaulted to `default`), absent for global ones. */
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
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
  readonly version: 4 | 6;
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
  readonly names: readonly string[];
  readonly selector?: CalicoSelector;
}

/** `services`: a Kubernetes service by name (and namespace). */
export interface CalicoServiceMatch {
  readonly name: string;
  readonly namespace?: string;
}

/**
 * The source or destination half of a rule. Absent fields are `undefined` (no
 * constraint); empty lists mean the same. Note that an absent `selector` (any peer,
 * Calico-managed or not) differs from `all()` (any Calico endpoint).
 */
export interface CalicoEntityRule {
  readonly nets: readonly CalicoNet[];
  readonly notNets: readonly CalicoNet[];
  readonly selector?: CalicoSelector;
  readonly notSelector?: CalicoSelector;
  /**
   * For a NetworkPolicy, absent means "the policy's namespace"; `global()` means
   * non-namespaced endpoints (global network sets, host endpoints).
   */
  readonly namespaceSelector?: CalicoSelector;
  readonly ports: readonly CalicoPort[];
  readonly notPorts: readonly CalicoPort[];
  readonly serviceAccounts?: CalicoServiceAccountMatch;
  readonly services?: CalicoServiceMatch;
}

/** An HTTP path match: exact or by prefix. */
export interface CalicoHttpPath {
  readonly kind: 'exact' | 'prefix';
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
  readonly action: CalicoAction;
  readonly ipVersion?: 4 | 6;
  readonly protocol?: CalicoProtocol;
  readonly notProtocol?: CalicoProtocol;
  readonly icmp?: CalicoIcmp;
  readonly notIcmp?: CalicoIcmp;
  readonly source: CalicoEntityRule;
  readonly destination: CalicoEntityRule;
  readonly http?: CalicoHttpMatch;
  /** `metadata.annotations` of the rule. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** What NetworkPolicy and GlobalNetworkPolicy share. */
export interface CalicoPolicyBase {
  readonly apiVersion: CalicoApiVersion;
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
  readonly serviceAccountSelector?: CalicoSelector;
  /** The directions the policy applies to, given or inferred. */
  readonly types: readonly CalicoPolicyType[];
  /** True when `types` was inferred from the rules rather than written. */
  readonly typesInferred: boolean;
  readonly ingress: readonly CalicoRule[];
  readonly egress: readonly CalicoRule[];
  readonly performanceHints: readonly string[];
}

/** A `NetworkPolicy` (namespaced). */
export interface CalicoNetworkPolicy extends CalicoPolicyBase {
  readonly kind: 'NetworkPolicy';
  readonly namespace: string;
}

/** A `GlobalNetworkPolicy` (cluster-wide, may also select host endpoints). */
export interface CalicoGlobalNetworkPolicy extends CalicoPolicyBase {
  readonly kind: 'GlobalNetworkPolicy';
  readonly namespaceSelector?: CalicoSelector;
  readonly doNotTrack: boolean;
  readonly preDNAT: boolean;
  readonly applyOnForward: boolean;
}

/** Either policy kind. */
export type CalicoPolicy = CalicoNetworkPolicy | CalicoGlobalNetworkPolicy;

/** A `NetworkSet` (namespaced) or `GlobalNetworkSet`: labelled CIDRs that selectors can pick. */
export interface CalicoNetworkSet {
  readonly kind: 'NetworkSet' | 'GlobalNetworkSet';
  readonly apiVersion: CalicoApiVersion;
  readonly metadata: CalicoMetadata;
  readonly nets: readonly CalicoNet[];
}

/** What a tier does with a packet that reaches its end unmatched. */
export type CalicoTierDefaultAction = 'Deny' | 'Pass';

/** A `Tier`. */
export interface CalicoTier {
  readonly kind: 'Tier';
  readonly apiVersion: CalicoApiVersion;
  readonly metadata: CalicoMetadata;
  /** Absent means last. */
  readonly order?: number;
  readonly defaultAction: CalicoTierDefaultAction;
}

/** Any document this front end reads. */
export type CalicoDocument = CalicoPolicy | CalicoNetworkSet | CalicoTier;
