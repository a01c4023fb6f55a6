// The shape of a conformance fixture, and helpers that build NetworkPolicy documents
// the way upstream's GenNetworkPolicy / SetSpecIngressRules / SetSpecEgressRules do
// (kubernetes test/e2e/network/netpol). Documents stay plain JSON so every fixture also
// goes through parseNetworkPolicy.

/** `*` (every pod), `x` (every pod of namespace x), or `x/a` (one pod). */
export type PodPattern = string;

/** One expectation, applied in order over a matrix that starts all-true: `[from, to, reachable]`. */
export type Expectation = readonly [from: PodPattern, to: PodPattern, reachable: boolean];

/** A probe: one port and protocol, and the expectations that build its truth table. */
export interface Probe {
  readonly port: 80 | 81;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly expect: readonly Expectation[];
  /** True when the probe is ours, not upstream's (an extra port or protocol derived from the same semantics). */
  readonly extra?: boolean;
}

/** One state of the cluster: the policies in force, label changes, and probes. */
export interface Step {
  /** NetworkPolicy documents in force during this step (replacing the previous step's). */
  readonly policies: readonly unknown[];
  /** Labels added to pods (`x/b`) before this step, cumulative. */
  readonly podLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Labels added to namespaces before this step, cumulative. */
  readonly namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly probes: readonly Probe[];
}

/** A conformance case: upstream's `It(...)` text and its steps. */
export interface NetpolCase {
  /** Upstream's test name (its ginkgo `It` text), or ours when `upstream` is false. */
  readonly name: string;
  /** Which upstream suite: the TCP one ("Netpol"), UDP or SCTP. */
  readonly suite: 'TCP' | 'UDP' | 'SCTP';
  /** False for cases we add from the same semantics (endPort ranges). */
  readonly upstream: boolean;
  readonly steps: readonly Step[];
}

/** The namespace name label the API server sets on every namespace. */
export const NS_LABEL = 'kubernetes.io/metadata.name';

/** A label selector with matchLabels. */
export const labels = (matchLabels: Record<string, string>): Record<string, unknown> => ({ matchLabels });

/** A label selector with one matchExpressions requirement. */
export const expression = (key: string, operator: string, values?: string[]): Record<string, unknown> => ({
  matchExpressions: [{ key, operator, ...(values === undefined ? {} : { values }) }],
});

/** What GenNetworkPolicyWithNameAndPodSelector(name, podSelector, rules...) builds, in `namespace`. */
export function networkPolicy(
  namespace: string,
  name: string,
  podSelector: Record<string, unknown>,
  rules: { ingress?: unknown[]; egress?: unknown[]; policyTypes?: string[] },
): Record<string, unknown> {
  // SetSpecIngressRules / SetSpecEgressRules add the matching policyType even with no rules.
  const policyTypes = rules.policyTypes ?? [
    ...(rules.ingress === undefined ? [] : ['Ingress']),
    ...(rules.egress === undefined ? [] : ['Egress']),
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec: {
      podSelector,
      ...(rules.ingress === undefined ? {} : { ingress: rules.ingress }),
      ...(rules.egress === undefined ? {} : { egress: rules.egress }),
      policyTypes,
    },
  };
}
