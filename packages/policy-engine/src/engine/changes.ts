// The changes a PolicyIndex takes, and its options.

import { type IdentityAllocator } from '../identity/allocator.js';
import { type Endpoint, type EndpointRef, type Namespace, type NetworkSet } from '../model/endpoint.js';
import { type Policy, type PolicyRef, type Tier } from '../model/policy.js';

/** One change to a `PolicyIndex`; `upsert` adds or replaces by name (for policies: by reference and part). */
export type PolicyIndexChange =
  | { readonly kind: 'upsert-endpoint'; readonly endpoint: Endpoint }
  | { readonly kind: 'delete-endpoint'; readonly ref: EndpointRef }
  | { readonly kind: 'upsert-namespace'; readonly namespace: Namespace }
  | { readonly kind: 'delete-namespace'; readonly name: string }
  | { readonly kind: 'upsert-network-set'; readonly networkSet: NetworkSet }
  | {
    readonly kind: 'delete-network-set';
    readonly ref: {
      /** The network set's namespace; absent for a global network set. */
      readonly namespace?: string;
      /** The network set's name. */
      readonly name: string;
    };
  }
  | { readonly kind: 'upsert-tier'; readonly tier: Tier }
  | { readonly kind: 'delete-tier'; readonly name: string }
  | { readonly kind: 'upsert-policy'; readonly policy: Policy }
  | { readonly kind: 'delete-policy'; readonly ref: PolicyRef }
  /** Replaces every part of one document by `policies` (each must have `ref`): how to update a document that compiled to several policies. */
  | { readonly kind: 'replace-policies'; readonly ref: PolicyRef; readonly policies: readonly Policy[] };

/** Options for `PolicyIndex`. */
export interface PolicyIndexOptions {
  /** Addresses or CIDRs of the Kubernetes API server (Cilium's `kube-apiserver` entity). */
  readonly kubeApiServer?: readonly string[];
  /** An allocator to share identities with snapshots or a previous run; a fresh one when absent. */
  readonly identities?: IdentityAllocator;
}
