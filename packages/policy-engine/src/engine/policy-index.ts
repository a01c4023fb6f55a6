// The incremental policy index: endpoints, namespaces, network sets, tiers and IR
// policies, with each endpoint's effective rules kept up to date. A change (or a batch
// of them) is applied in two steps: index-state.ts records what moved, then
// recompute.ts derives only the effective rules that can have changed, and reports
// the endpoints whose rules differ. Flow evaluation (index-evaluate.ts) reads the
// effective rules, compiled per endpoint on first use.

import { IdentityAllocator } from '../identity/allocator.js';
import { RESERVED_IDENTITY } from '../identity/reserved.js';
import { cidrContainsAddress } from '../model/cidr.js';
import { type Endpoint, type EndpointRef, type Namespace, type NetworkSet } from '../model/endpoint.js';
import { type Flow } from '../model/flow.js';
import { type Policy, type PolicyRef, type Tier } from '../model/policy.js';
import { endpointKey } from '../evaluate/snapshot.js';
import { type PolicyIndexChange, type PolicyIndexOptions } from './changes.js';
import { compileEndpoint } from './compiled-rules.js';
import { PolicyIndexError } from './errors.js';
import { FlowEvaluator, type IndexVerdict } from './index-evaluate.js';
import { createPending, IndexState, parseNets, type Pending } from './index-state.js';
import { recompute } from './recompute.js';
import { type EndpointPolicy, type IpIdentityEntry, type PolicyIndexDiff } from './types.js';

export type { PolicyIndexChange, PolicyIndexOptions } from './changes.js';

/**
 * Endpoints, namespaces, network sets, tiers and IR policies, with every endpoint's
 * effective rules kept up to date incrementally. Each change returns a
 * {@link PolicyIndexDiff}: exactly the endpoints whose rules changed, with their new
 * rules, and the address → identity changes. Service accounts' labels are not held
 * (a `serviceAccount` selector with a label selector sees no labels).
 */
export class PolicyIndex {
  readonly #state: IndexState;

  /** @throws {PolicyIndexError} when a `kubeApiServer` entry is not an address or CIDR. */
  constructor(options: PolicyIndexOptions = {}) {
    this.#state = new IndexState(options.identities ?? new IdentityAllocator(), parseNets(options.kubeApiServer ?? [], 'kubeApiServer'));
  }

  /** Adds or replaces an endpoint (by namespace and name). @throws {PolicyIndexError} see {@link PolicyIndex.apply}. */
  upsertEndpoint(endpoint: Endpoint): PolicyIndexDiff {
    return this.apply([{ kind: 'upsert-endpoint', endpoint }]);
  }

  /** Removes an endpoint; unknown ones are ignored. */
  deleteEndpoint(ref: EndpointRef): PolicyIndexDiff {
    return this.apply([{ kind: 'delete-endpoint', ref }]);
  }

  /** Adds or replaces a namespace: its labels feed its endpoints' subjects and identities. */
  upsertNamespace(namespace: Namespace): PolicyIndexDiff {
    return this.apply([{ kind: 'upsert-namespace', namespace }]);
  }

  /** Removes a namespace (its endpoints keep only `kubernetes.io/metadata.name`). */
  deleteNamespace(name: string): PolicyIndexDiff {
    return this.apply([{ kind: 'delete-namespace', name }]);
  }

  /** Adds or replaces a network set. @throws {PolicyIndexError} for a bad CIDR. */
  upsertNetworkSet(networkSet: NetworkSet): PolicyIndexDiff {
    return this.apply([{ kind: 'upsert-network-set', networkSet }]);
  }

  /** Removes a network set; unknown ones are ignored. */
  deleteNetworkSet(ref: { readonly namespace?: string; readonly name: string }): PolicyIndexDiff {
    return this.apply([{ kind: 'delete-network-set', ref }]);
  }

  /** Adds or replaces a tier. @throws {PolicyIndexError} for the reserved deny-precedence tier. */
  upsertTier(tier: Tier): PolicyIndexDiff {
    return this.apply([{ kind: 'upsert-tier', tier }]);
  }

  /** Removes a tier. @throws {PolicyIndexError} when policies are still in it, or for a built-in tier. */
  deleteTier(name: string): PolicyIndexDiff {
    return this.apply([{ kind: 'delete-tier', name }]);
  }

  /**
   * Adds or replaces a policy, by dialect, kind, namespace, name and `part`: the other
   * parts of the same document stay. @throws {PolicyIndexError} for an unknown tier.
   */
  upsertPolicy(policy: Policy): PolicyIndexDiff {
    return this.apply([{ kind: 'upsert-policy', policy }]);
  }

  /**
   * Replaces every part of one document by `policies` (what a front end compiled from its
   * new version), in one recomputation. An empty list removes the document.
   * @throws {PolicyIndexError} for a policy with another `ref`, or in an unknown tier.
   */
  replacePolicies(ref: PolicyRef, policies: readonly Policy[]): PolicyIndexDiff {
    return this.apply([{ kind: 'replace-policies', ref, policies }]);
  }

  /** Removes a policy document, every part of it; unknown ones are ignored. */
  deletePolicy(ref: PolicyRef): PolicyIndexDiff {
    return this.apply([{ kind: 'delete-policy', ref }]);
  }

  /**
   * Applies changes in order and recomputes once: the way to load a whole cluster.
   * @throws {PolicyIndexError} for a workload without a namespace (or a host with one),
   *   a bad address, an address another endpoint has, a policy in an unknown tier, a
   *   tier that is reserved, built in or still used. The failing change is not applied;
   *   the ones before it are, and the error's `applied` is their diff and
   *   `changeIndex` the failing change's position.
   */
  apply(changes: readonly PolicyIndexChange[]): PolicyIndexDiff {
    const pending = createPending();
    for (const [index, change] of changes.entries()) {
      try {
        this.#state.record(change, pending);
      } catch (error) {
        if (error instanceof PolicyIndexError) {
          error.applied = this.#recompute(pending);
          error.changeIndex = index;
          if (changes.length > 1) Object.defineProperty(error, 'message', { value: `changes[${index}]: ${error.message}` });
        }
        throw error;
      }
    }
    return this.#recompute(pending);
  }

  /** The effective rules of an endpoint, or `undefined` when the index does not hold it. */
  effectiveRules(ref: EndpointRef): EndpointPolicy | undefined {
    return this.#state.endpoints.get(endpointKey(ref))?.effective;
  }

  /** Every endpoint's effective rules, sorted by key. */
  allEffectiveRules(): EndpointPolicy[] {
    return [...this.#state.endpoints.keys()].sort().flatMap((key) => {
      const effective = this.#state.endpoints.get(key)?.effective;
      return effective === undefined ? [] : [effective];
    });
  }

  /** Every address → identity entry of workloads and the API server, sorted by prefix. */
  ipIdentities(): IpIdentityEntry[] {
    return [
      ...this.#state.kubeApiServer.map((c) => ({ prefix: c.text, identity: RESERVED_IDENTITY.KUBE_APISERVER })),
      ...[...this.#state.ipcache.entries()].map(([prefix, identity]) => ({ prefix, identity })),
    ].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  }

  /** How many endpoints and policies the index holds. */
  get size(): {
    /** The number of endpoints held. */
    readonly endpoints: number;
    /** The number of IR policies held (each part of a document counts once). */
    readonly policies: number;
  } {
    return { endpoints: this.#state.endpoints.size, policies: this.#state.policies.size };
  }

  /**
   * Decides `flow` from the precomputed effective rules: the same verdict, deciding
   * rule and L7 rules as `evaluate(flow, snapshot)` on a snapshot of the same objects,
   * without the messages.
   * @throws {FlowError} when the flow names an endpoint the index lacks, an address
   *   that does not parse, or a protocol that is not one.
   */
  evaluate(flow: Flow): IndexVerdict {
    return this.#evaluator.evaluate(flow);
  }

  readonly #evaluator = new FlowEvaluator({
    endpoint: (namespace, name) => {
      const entry = this.#state.byRef.get(namespace)?.get(name);
      return entry === undefined ? undefined : (entry.compiled ??= compileEndpoint(entry.indexed, entry.effective));
    },
    byAddress: (text) => {
      const key = this.#state.byAddress.get(text);
      const entry = key === undefined ? undefined : this.#state.endpoints.get(key);
      return entry === undefined ? undefined : (entry.compiled ??= compileEndpoint(entry.indexed, entry.effective));
    },
    remoteIdentity: (address) => (this.#state.kubeApiServer.some((c) => cidrContainsAddress(c, address)) ? RESERVED_IDENTITY.KUBE_APISERVER : RESERVED_IDENTITY.WORLD),
  });

  #recompute(pending: Pending): PolicyIndexDiff {
    // Compiled endpoints and cached address lookups may be stale after any change.
    this.#evaluator.invalidate();
    return recompute(this.#state, pending);
  }
}
