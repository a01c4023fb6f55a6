// networking.k8s.io/v1 NetworkPolicy, as validated documents (k8s.io/api/networking/v1
// types.go). Only what validation let through reaches these types.

/** A label selector requirement operator (k8s.io/apimachinery metav1). */
export const LABEL_SELECTOR_OPERATOR = { IN: 'In', NOT_IN: 'NotIn', EXISTS: 'Exists', DOES_NOT_EXIST: 'DoesNotExist' } as const;

/** One of {@link LABEL_SELECTOR_OPERATOR}. */
export type LabelSelectorOperator = (typeof LABEL_SELECTOR_OPERATOR)[keyof typeof LABEL_SELECTOR_OPERATOR];

/** `matchExpressions[i]`. */
export interface LabelSelectorRequirement {
  /** The label key the requirement tests. */
  readonly key: string;
  /** How the label is tested: `In`, `NotIn`, `Exists` or `DoesNotExist`. */
  readonly operator: LabelSelectorOperator;
  /** The values for `In` and `NotIn` (never empty there); absent for `Exists` and `DoesNotExist`. */
  readonly values?: readonly string[];
}

/** A metav1.LabelSelector. Empty (`{}`) selects everything; both parts are ANDed. */
export interface LabelSelector {
  /** Labels the subject must have with exactly these values. */
  readonly matchLabels?: Readonly<Record<string, string>>;
  /** Requirements the subject's labels must all meet. */
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** `ipBlock`: a CIDR minus some CIDRs inside it. */
export interface IpBlock {
  /** The CIDR, as written (host bits may be set: `10.0.0.1/24`). */
  readonly cidr: string;
  /** CIDRs to leave out, each strictly inside `cidr`, as written. */
  readonly except?: readonly string[];
}

/** A peer: pods by selectors (both present: ANDed), or an ipBlock. */
export interface NetworkPolicyPeer {
  /** Pods by their labels: in the policy's namespace, or in the namespaces `namespaceSelector` picks. */
  readonly podSelector?: LabelSelector;
  /** Namespaces by their labels; alone, every pod in them. */
  readonly namespaceSelector?: LabelSelector;
  /** Addresses by CIDR; never with the selectors. */
  readonly ipBlock?: IpBlock;
}

/** The protocols NetworkPolicy ports may name. */
export type KubernetesProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A port entry: protocol (TCP when absent), a number or a name (absent: all ports), and `endPort` for a range. */
export interface NetworkPolicyPort {
  /** The protocol; absent: TCP. */
  readonly protocol?: KubernetesProtocol;
  /** A port number (1-65535) or the name of a container port of the destination pod; absent: every port. */
  readonly port?: number | string;
  /** The last port of the range `port`-`endPort` (inclusive, 1-65535, not below `port`); only with a numeric `port`. */
  readonly endPort?: number;
}

/** An ingress rule: absent or empty `from` matches every source; absent or empty `ports` every port. */
export interface NetworkPolicyIngressRule {
  /** The sources allowed; a flow needs to match one. */
  readonly from?: readonly NetworkPolicyPeer[];
  /** The destination ports allowed; a flow needs to match one. */
  readonly ports?: readonly NetworkPolicyPort[];
}

/** An egress rule: absent or empty `to` matches every destination; absent or empty `ports` every port. */
export interface NetworkPolicyEgressRule {
  /** The destinations allowed; a flow needs to match one. */
  readonly to?: readonly NetworkPolicyPeer[];
  /** The destination ports allowed; a flow needs to match one. */
  readonly ports?: readonly NetworkPolicyPort[];
}

/** A policy type. */
export type PolicyType = 'Ingress' | 'Egress';

/** `spec`. */
export interface NetworkPolicySpec {
  /** The pods of the policy's namespace it applies to; `{}` selects them all. */
  readonly podSelector: LabelSelector;
  /** Ingress rules, which add up (any one allowing is enough); absent or empty with `Ingress` in force: deny all ingress. */
  readonly ingress?: readonly NetworkPolicyIngressRule[];
  /** Egress rules, which add up (any one allowing is enough); absent or empty with `Egress` in force: deny all egress. */
  readonly egress?: readonly NetworkPolicyEgressRule[];
  /** As written; {@link effectivePolicyTypes} gives the defaulted value. */
  readonly policyTypes?: readonly PolicyType[];
}

/** A validated NetworkPolicy. `metadata.namespace` is always set (defaulted by the parser when absent). */
export interface NetworkPolicy {
  /** Always `networking.k8s.io/v1`. */
  readonly apiVersion: 'networking.k8s.io/v1';
  /** Always `NetworkPolicy`. */
  readonly kind: 'NetworkPolicy';
  /** The object's metadata; ObjectMeta's other fields (`uid`, `resourceVersion`, ...) are accepted and dropped. */
  readonly metadata: {
    /** The policy's name, a DNS-1123 subdomain. */
    readonly name: string;
    /** The policy's namespace, a DNS-1123 label; the parser's `namespace` option (or `default`) when the document has none. */
    readonly namespace: string;
    /** The object's labels, when it has any. */
    readonly labels?: Readonly<Record<string, string>>;
    /** The object's annotations, when it has any. */
    readonly annotations?: Readonly<Record<string, string>>;
  };
  /** What the policy selects and allows. */
  readonly spec: NetworkPolicySpec;
}

/**
 * The policy types in force: `policyTypes` when non-empty; otherwise Ingress, plus
 * Egress when the policy has at least one egress rule (networking/v1 defaulting:
 * `egress: []` does not make an egress policy).
 */
export function effectivePolicyTypes(spec: NetworkPolicySpec): readonly PolicyType[] {
  if (spec.policyTypes !== undefined && spec.policyTypes.length > 0) return spec.policyTypes;
  return spec.egress !== undefined && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}
