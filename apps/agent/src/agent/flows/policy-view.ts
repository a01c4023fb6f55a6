// What flow enrichment reads of the policy controller: endpoints by key and by address,
// the policy index's flow evaluation and the rules' origins. The controller implements
// it over its PolicyIndex (controllers/policy.ts `flowView()`); tests build one over a
// real index. `generation` changes whenever any answer may have: the observer keeps its
// caches for one generation.
import { type EndpointRef, type Flow as PolicyFlow, type IndexVerdict, type Labels, type NumericIdentity, type PolicyRef, type RuleOrigin } from '@twill/policy-engine';

/** An endpoint of the policy index, as a flow shows it. */
export interface FlowEndpointInfo {
  /** `namespace/name` (the index's key). */
  readonly key: string;
  readonly ref: EndpointRef;
  /** The pod's labels (empty for an endpoint without a pod). */
  readonly labels: Labels;
  /** Its label identity in the index. */
  readonly identity: NumericIdentity;
  /** The host-side interface, when the endpoint is attached to this node. */
  readonly hostInterface?: string;
}

/** The policy state a flow is enriched and attributed from. */
export interface FlowPolicyView {
  /** Changes whenever anything below may answer differently (a flush of the index). */
  readonly generation: number;
  /** The endpoint of an index key (`x/a`). */
  endpoint(key: string): FlowEndpointInfo | undefined;
  /** The endpoint holding an address (canonical text, without prefix length). */
  endpointByAddress(address: string): FlowEndpointInfo | undefined;
  /**
   * The index's evaluation of a flow (`PolicyIndex.evaluate`: the verdict and deciding
   * rule `evaluate` gives on a snapshot of the same objects).
   * @throws FlowError when the flow names an endpoint the index lacks.
   */
  evaluate(flow: PolicyFlow): IndexVerdict;
  /**
   * The origin (path in the source document) of a policy's rule as an endpoint's
   * effective rules hold it: the rule `ruleIndex` of `policy` for `direction`.
   */
  ruleOrigin(endpointKey: string, direction: 'ingress' | 'egress', policy: PolicyRef, ruleIndex: number): RuleOrigin | undefined;
  /** Whether any policy selects the endpoint for `direction` (its effective rules have a tier). */
  selected(endpointKey: string, direction: 'ingress' | 'egress'): boolean;
  /**
   * The stored object a policy the index holds came from, at the version the index holds:
   * its revision (`metadata.resourceVersion` as a number; 0 when it is not one) and uid.
   */
  policySource(policy: PolicyRef): { readonly revision: number; readonly uid?: string } | undefined;
}
