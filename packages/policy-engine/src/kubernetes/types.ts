// networking.k8s.io/v1 NetworkPolicy, as validated documents (k8s.io/api/networking/v1
// types.go). Only what validation let through reaches these types.

/** A label selector requirement operator (k8s.io/apimachinery metav1). */
export const LABEL_SELECTOR_OPERATOR = { IN: 'In', NOT_IN: 'NotIn', EXISTS: 'Exists', DOES_NOT_EXIST: 'DoesNotExist' } as const;

/** One of {@link LABEL_SELECTOR_OPERATOR}. */
export type LabelSelectorOperator = (typeof LABEL_SELECTOR_OPERATOR)[keyof typeof LABEL_SELECTOR_OPERATOR];

/** `matchExpressions[i]`. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  readonly values?: readonly string[];
}

/** A metav1.LabelSelector. Empty (`{}`) selects everything; both parts are ANDed. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** `ipBlock`: a CIDR minus some CIDRs inside it. */
export interface IpBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

/** A peer: pods by selectors (both present: ANDed), or an ipBlock. */
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IpBlock;
}

/** The protocols NetworkPolicy ports may name. */
export type KubernetesProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A port entry: protocol (TCP when absent), a number or a name (absent: all ports), and `endPort` for a range. */
export interface NetworkPolicyPort {
  readonly protocol?: KubernetesProtocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

/** An ingress rule: absent or empty `from` matches every source; absent or empty `ports` every port. */
export interface NetworkPolicyIngressRule {
  readonly from?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

/** An egress rule: absent or empty `to` matches every destination; absent or empty `ports` every port. */
export interface NetworkPolicyEgressRule {
  readonly to?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

/** A policy type. */
export type PolicyType = 'Ingress' | 'Egress';

/** `spec`. */
export interface NetworkPolicySpec {
  readonly podSelector: LabelSelector;
  readonly ingress?: readonly NetworkPolicyIngressRule[];
  readonly egress?: readonly NetworkPolicyEgressRule[];
  /** As written; {@link effectivePolicyTypes} gives the defaulted value. */
  readonly policyTypes?: readonly PolicyType[];
}

/** A validated NetworkPolicy. `metadata.namespace` is always set (defaulted by the parser when absent). */
export interface NetworkPolicy {
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly kind: 'NetworkPolicy';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
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
