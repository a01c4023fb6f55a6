// cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, as validated
// documents (cilium `pkg/policy/api`: rule.go, ingress.go, egress.go, l4.go, http.go,
// icmp.go, entity.go, cidr.go). Only what validation let through reaches these types.
// A list field that was absent is `undefined`; one written empty is `[]`, because
// Cilium tells them apart (an explicitly empty peer list selects nothing).

import { type LabelSelector } from '../kubernetes/types.js';

/** The apiVersion this front end reads. */
export const CILIUM_API_VERSION = 'cilium.io/v2';

/** The kinds this front end reads. */
export const CILIUM_KINDS = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'] as const;

/** One of {@link CILIUM_KINDS}. */
export type CiliumKind = (typeof CILIUM_KINDS)[number];

/**
 * Cilium's entities (`pkg/policy/api/entity.go`). `world-ipv4` and `world-ipv6` are the
 * world restricted to one family; `none` selects nothing. (`ingress`, Cilium's Envoy
 * ingress, is refused as unsupported.)
 */
export const CILIUM_ENTITIES = [
  'all', 'world', 'world-ipv4', 'world-ipv6', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'init', 'health', 'unmanaged', 'none',
] as const;

/** One of {@link CILIUM_ENTITIES}. */
export type CiliumEntity = (typeof CILIUM_ENTITIES)[number];

/** The L4 protocols of a port rule; `ANY` (the default) is TCP, UDP and SCTP alike. */
export const CILIUM_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ANY'] as const;

/** One of {@link CILIUM_PROTOCOLS}. */
export type CiliumProtocol = (typeof CILIUM_PROTOCOLS)[number];

/** A Cilium endpoint selector: a label selector whose keys may carry a source prefix (`k8s:app`, `reserved:host`). */
export type CiliumEndpointSelector = LabelSelector;

/** `fromCIDRSet` / `toCIDRSet` entry: a CIDR minus the CIDRs inside it. */
export interface CiliumCidrRule {
  /** Canonical `network/length` (a bare address is a host prefix). */
  readonly cidr: string;
  readonly except: readonly string[];
}

/** `toPorts[].ports[]`. */
export interface CiliumPortProtocol {
  /** A port number (0: every port) or a port name (lower-cased); absent: every port. */
  readonly port?: number | string;
  /** The last port of a range starting at `port`. */
  readonly endPort?: number;
  readonly protocol: CiliumProtocol;
}

/**
 * `rules.http[]`. `method`, `path` and `host` are extended regular expressions that
 * Cilium (through Envoy) matches against the whole value: they are implicitly anchored.
 */
export interface CiliumHttpRule {
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  /** From `headers` (`"Name: value"` or `"Name"`) and `headerMatches` (name and value). */
  readonly headers: readonly { readonly name: string; readonly value?: string }[];
}

/** `toPorts[].rules`: HTTP rules, or another parser's rules kept verbatim (Kafka, DNS, `l7proto`). */
export type CiliumL7Rules =
  | { readonly kind: 'http'; readonly rules: readonly CiliumHttpRule[] }
  | { readonly kind: 'opaque'; readonly parser: string; readonly rules: readonly Readonly<Record<string, unknown>>[] };

/** `toPorts[]`: ports and the L7 rules that apply on them (allow rules only). */
export interface CiliumPortRule {
  readonly ports: readonly CiliumPortProtocol[];
  readonly rules?: CiliumL7Rules;
}

/** `icmps[].fields[]`: an ICMP (IPv4) or ICMPv6 type. */
export interface CiliumIcmpField {
  readonly family: 'IPv4' | 'IPv6';
  /** The ICMP type number (names are resolved when read). */
  readonly type: number;
}

/**
 * One ingress, ingressDeny, egress or egressDeny rule, direction-neutral: `endpoints` is
 * `fromEndpoints` or `toEndpoints`, and so on. The peer lists are ORed.
 */
export interface CiliumRule {
  readonly endpoints?: readonly CiliumEndpointSelector[];
  readonly nodes?: readonly CiliumEndpointSelector[];
  readonly cidr?: readonly string[];
  readonly cidrSet?: readonly CiliumCidrRule[];
  readonly entities?: readonly CiliumEntity[];
  readonly toPorts: readonly CiliumPortRule[];
  readonly icmps: readonly CiliumIcmpField[];
}

/** `spec` or an entry of `specs`: one Cilium rule (`api.Rule`). Exactly one of the selectors is set. */
export interface CiliumPolicyRule {
  readonly endpointSelector?: CiliumEndpointSelector;
  /** Host policies (CiliumClusterwideNetworkPolicy only): the nodes it applies to. */
  readonly nodeSelector?: CiliumEndpointSelector;
  readonly ingress?: readonly CiliumRule[];
  readonly ingressDeny?: readonly CiliumRule[];
  readonly egress?: readonly CiliumRule[];
  readonly egressDeny?: readonly CiliumRule[];
  /** Absent flags default to true: a rule for a direction puts the endpoint in default deny for it. */
  readonly enableDefaultDeny: { readonly ingress?: boolean; readonly egress?: boolean };
  readonly description?: string;
}

/** A validated CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy. */
export interface CiliumPolicy {
  readonly apiVersion: typeof CILIUM_API_VERSION;
  readonly kind: CiliumKind;
  readonly metadata: {
    readonly name: string;
    /** Set for CiliumNetworkPolicy (defaulted), absent for the clusterwide kind. */
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  /** The rules of `spec` then `specs`, each with its path in the document (`spec`, `specs[1]`). */
  readonly rules: readonly { readonly path: string; readonly rule: CiliumPolicyRule }[];
}
