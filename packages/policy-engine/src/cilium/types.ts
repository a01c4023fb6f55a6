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
  /** CIDRs inside `cidr` to leave out, canonical like `cidr`; empty when none. */
  readonly except: readonly string[];
}

/** `toPorts[].ports[]`. */
export interface CiliumPortProtocol {
  /** A port number (0: every port) or a port name (lower-cased); absent: every port. */
  readonly port?: number | string;
  /** The last port of a range starting at `port`. */
  readonly endPort?: number;
  /** The L4 protocol; `ANY` when not written. */
  readonly protocol: CiliumProtocol;
}

/**
 * `rules.http[]`. `method`, `path` and `host` are extended regular expressions that
 * Cilium (through Envoy) matches against the whole value: they are implicitly anchored.
 */
export interface CiliumHttpRule {
  /** The request method pattern; absent: any method. */
  readonly method?: string;
  /** The request path pattern; absent: any path. */
  readonly path?: string;
  /** The request host pattern; absent: any host. */
  readonly host?: string;
  /** From `headers` (`"Name: value"` or `"Name"`) and `headerMatches` (name and value). */
  readonly headers: readonly {
    /** The header name. */
    readonly name: string;
    /** The value it must have; absent: present with any value. */
    readonly value?: string;
  }[];
}

/** `toPorts[].rules`: HTTP rules, or another parser's rules kept verbatim (Kafka, DNS, `l7proto`). */
export type CiliumL7Rules =
  | { readonly kind: 'http'; readonly rules: readonly CiliumHttpRule[] }
  | { readonly kind: 'opaque'; readonly parser: string; readonly rules: readonly Readonly<Record<string, unknown>>[] };

/** `toPorts[]`: ports and the L7 rules that apply on them (allow rules only). */
export interface CiliumPortRule {
  /** The ports (at most {@link CILIUM_MAX_PORTS}); empty: every port. */
  readonly ports: readonly CiliumPortProtocol[];
  /** L7 rules on those ports (never in deny rules or host policies); absent: none. */
  readonly rules?: CiliumL7Rules;
}

/** `icmps[].fields[]`: an ICMP (IPv4) or ICMPv6 type. */
export interface CiliumIcmpField {
  /** `IPv4` (ICMP) or `IPv6` (ICMPv6); `IPv4` when not written. */
  readonly family: 'IPv4' | 'IPv6';
  /** The ICMP type number (names are resolved when read). */
  readonly type: number;
}

/**
 * One ingress, ingressDeny, egress or egressDeny rule, direction-neutral: `endpoints` is
 * `fromEndpoints` or `toEndpoints`, and so on. The peer lists are ORed.
 */
export interface CiliumRule {
  /** `fromEndpoints` / `toEndpoints`: pods by labels; in a CiliumNetworkPolicy, of its namespace unless the selector names a namespace or a `reserved:` label. */
  readonly endpoints?: readonly CiliumEndpointSelector[];
  /** `fromNodes` / `toNodes`: nodes (host endpoints) by labels. */
  readonly nodes?: readonly CiliumEndpointSelector[];
  /** `fromCIDR` / `toCIDR`: prefixes, canonical (a bare address is a host prefix); they never match endpoints of the cluster. */
  readonly cidr?: readonly string[];
  /** `fromCIDRSet` / `toCIDRSet`: prefixes with exceptions; they never match endpoints of the cluster. */
  readonly cidrSet?: readonly CiliumCidrRule[];
  /** `fromEntities` / `toEntities`: classes of peers (`world`, `host`, `cluster`, ...). */
  readonly entities?: readonly CiliumEntity[];
  /** The destination ports (and L7 rules) the rule applies to; empty, with no `icmps`: every port and protocol. Never together with `icmps`. */
  readonly toPorts: readonly CiliumPortRule[];
  /** The ICMP and ICMPv6 types the rule applies to; empty: no ICMP condition. Never together with `toPorts`. */
  readonly icmps: readonly CiliumIcmpField[];
}

/** `spec` or an entry of `specs`: one Cilium rule (`api.Rule`). Exactly one of the selectors is set. */
export interface CiliumPolicyRule {
  /** The pods the rule applies to (in a CiliumNetworkPolicy, of its namespace only). */
  readonly endpointSelector?: CiliumEndpointSelector;
  /** Host policies (CiliumClusterwideNetworkPolicy only): the nodes it applies to. */
  readonly nodeSelector?: CiliumEndpointSelector;
  /** Ingress allow rules. A non-empty `ingress` or `ingressDeny` puts the selected endpoints in ingress default deny, unless `enableDefaultDeny.ingress` is false. */
  readonly ingress?: readonly CiliumRule[];
  /** Ingress deny rules, which take precedence over every allow in any policy. */
  readonly ingressDeny?: readonly CiliumRule[];
  /** Egress allow rules. A non-empty `egress` or `egressDeny` puts the selected endpoints in egress default deny, unless `enableDefaultDeny.egress` is false. */
  readonly egress?: readonly CiliumRule[];
  /** Egress deny rules, which take precedence over every allow in any policy. */
  readonly egressDeny?: readonly CiliumRule[];
  /** Absent flags default to true: a rule for a direction puts the endpoint in default deny for it. */
  readonly enableDefaultDeny: {
    /** Whether the rule's ingress sections put the selected endpoints in ingress default deny; absent: true. */
    readonly ingress?: boolean;
    /** Whether the rule's egress sections put the selected endpoints in egress default deny; absent: true. */
    readonly egress?: boolean;
  };
  /** The rule's free-text description, when written. */
  readonly description?: string;
}

/** A validated CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy. */
export interface CiliumPolicy {
  /** Always `cilium.io/v2`. */
  readonly apiVersion: typeof CILIUM_API_VERSION;
  /** `CiliumNetworkPolicy` (namespaced) or `CiliumClusterwideNetworkPolicy`. */
  readonly kind: CiliumKind;
  /** The object's metadata; ObjectMeta's other fields (`uid`, `resourceVersion`, ...) are accepted and dropped. */
  readonly metadata: {
    /** The policy's name, a DNS-1123 subdomain. */
    readonly name: string;
    /** Set for CiliumNetworkPolicy (defaulted), absent for the clusterwide kind. */
    readonly namespace?: string;
    /** The object's labels, when it has any. */
    readonly labels?: Readonly<Record<string, string>>;
    /** The object's annotations, when it has any. */
    readonly annotations?: Readonly<Record<string, string>>;
  };
  /** The rules of `spec` then `specs`, each with its path in the document (`spec`, `specs[1]`). */
  readonly rules: readonly {
    /** Where the rule is in the document: `spec` or `specs[i]`. */
    readonly path: string;
    /** The rule. */
    readonly rule: CiliumPolicyRule;
  }[];
}
