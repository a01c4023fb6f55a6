// The incremental policy index: endpoints, namespaces, network sets, tiers and IR
// policies, with each endpoint's effective rules kept up to date. A change (or a batch
// of them) is applied in two steps: bookkeeping records what moved (endpoints before
// and after, network sets, policies, tiers), then one recomputation touches only:
// - the endpoints a changed policy selects, before or after;
// - a changed endpoint's own rules, and its membership in every policy's subject;
// - the rules whose remote peer matches a changed endpoint or network set before or
//   after: those are resolved again, and the endpoints their policy selects are
//   recomputed only when the resolution differs (a pod relabelled into an identity
//   that already exists changes no rule);
// - for a tier, the endpoints its policies select.
// An endpoint is reported only when its rules differ from what it had.

import { identityLabels, IdentityAllocator } from '../identity/allocator.js';
import { RESERVED_IDENTITY, type NumericIdentity } from '../identity/reserved.js';
import { cidrContainsAddress, parseCidr, parseIpAddress, type Cidr } from '../model/cidr.js';
import { type Endpoint, type EndpointRef, type Namespace, type NetworkSet } from '../model/endpoint.js';
import { type Flow } from '../model/flow.js';
import { NAMESPACE_NAME_LABEL } from '../model/labels.js';
import { DEFAULT_TIER, DENY_PRECEDENCE_TIER, type PeerMatch, type Policy, type PolicyRef, type Tier } from '../model/policy.js';
import { matchSelector, type Selector, type SelectorSubject } from '../model/selector.js';
import { endpointKey, type IndexedEndpoint, type IndexedNetworkSet } from '../evaluate/snapshot.js';
import { effectiveDirection, reresolvePolicyRules, resolvePolicyEntry, type PolicyEntry } from './effective.js';
import { deepEqual } from './equal.js';
import { comparePolicies, compareTiers } from './order.js';
import { PolicyIndexError } from './errors.js';
import { compileEndpoint, type CompiledEndpoint } from './compiled-rules.js';
import { FlowEvaluator, type IndexVerdict } from './index-evaluate.js';
import { identitiesMatching, type PeerUniverse } from './peer-atoms.js';
import { endpointMayMatch, remoteSideOf, type Direction } from './resolve.js';
import { type EndpointPolicy, type EndpointPolicyChange, type IpIdentityEntry, type PolicyIndexDiff } from './types.js';

/** One change to a {@link PolicyIndex}; `upsert` adds or replaces by name. */
export type PolicyIndexChange =
  | { readonly kind: 'upsert-endpoint'; readonly endpoint: Endpoint }
  | { readonly kind: 'delete-endpoint'; readonly ref: EndpointRef }
  | { readonly kind: 'upsert-namespace'; readonly namespace: Namespace }
  | { readonly kind: 'delete-namespace'; readonly name: string }
  | { readonly kind: 'upsert-network-set'; readonly networkSet: NetworkSet }
  | { readonly kind: 'delete-network-set'; readonly ref: { readonly namespace?: string; readonly name: string } }
  | { readonly kind: 'upsert-tier'; readonly tier: Tier }
  | { readonly kind: 'delete-tier'; readonly name: string }
  | { readonly kind: 'upsert-policy'; readonly policy: Policy }
  | { readonly kind: 'delete-policy'; readonly ref: PolicyRef };

/** Options for {@link PolicyIndex}. */
export interface PolicyIndexOptions {
  /** Addresses or CIDRs of the Kubernetes API server (Cilium's `kube-apiserver` entity). */
  readonly kubeApiServer?: readonly string[];
  /** An allocator to share identities with snapshots or a previous run; a fresh one when absent. */
  readonly identities?: IdentityAllocator;
}

interface EndpointEntry {
  indexed: IndexedEndpoint;
  readonly policies: Set<PolicyEntry>;
  effective?: EndpointPolicy;
  /** What flow evaluation reads, compiled on first use; dropped when `indexed` or `effective` changes. */
  compiled: CompiledEndpoint | undefined;
}

interface IdentityEntry {
  readonly subject: SelectorSubject;
  readonly members: Set<string>;
}

/** What a batch moved, gathered before one recomputation. */
interface Pending {
  readonly dirty: Set<string>;
  readonly reselect: Set<string>;
  readonly sides: IndexedEndpoint[];
  readonly sets: IndexedNetworkSet[];
  readonly fresh: Set<PolicyEntry>;
  readonly removed: Map<string, EndpointRef>;
  readonly ipBefore: Map<string, NumericIdentity | undefined>;
  rerank: boolean;
  /**
   * Whether the population that peers resolve against changed: an identity appeared or
   * went, or a host endpoint moved. When not, moved workloads can only change rules
   * that group peers by named ports.
   */
  populationMoved: boolean;
  /** Whether an identity appeared or went: what `not` and the `cluster` entity complement against. */
  identitiesMoved: boolean;
}

const policyKey = (ref: PolicyRef): string => `${ref.dialect}\u0000${ref.kind}\u0000${ref.namespace ?? ''}\u0000${ref.name}`;
const networkSetKey = (ref: { readonly namespace?: string; readonly name: string }): string => `${ref.namespace ?? ''}/${ref.name}`;
const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

function parseNets(nets: readonly string[], path: string): Cidr[] {
  return nets.map((text, index) => {
    const cidr = parseCidr(text) ?? (parseIpAddress(text) === undefined ? undefined : parseCidr(`${text}/${text.includes(':') ? 128 : 32}`));
    if (cidr === undefined) throw new PolicyIndexError(`${path}[${index}]`, `invalid CIDR ${JSON.stringify(text)}`);
    return cidr;
  });
}

/**
 * Endpoints, namespaces, network sets, tiers and IR policies, with every endpoint's
 * effective rules kept up to date incrementally. Each change returns a
 * {@link PolicyIndexDiff}: exactly the endpoints whose rules changed, with their new
 * rules, and the address → identity changes. Service accounts' labels are not held
 * (a `serviceAccount` selector with a label selector sees no labels).
 */
export class PolicyIndex {
  readonly #allocator: IdentityAllocator;
  readonly #kubeApiServer: readonly Cidr[];
  readonly #namespaces = new Map<string, Namespace>();
  readonly #endpoints = new Map<string, EndpointEntry>();
  /**
   * The same entries by namespace (undefined for hosts) and name: a flow names its endpoints
   * by reference, and building the `ns/name` key per lookup (a fresh string to hash)
   * cost about a tenth of an evaluation in the bench's profile.
   */
  readonly #byRef = new Map<string | undefined, Map<string, EndpointEntry>>();
  readonly #hosts = new Map<string, IndexedEndpoint>();
  readonly #byAddress = new Map<string, string>();
  readonly #networkSets = new Map<string, IndexedNetworkSet>();
  readonly #identities = new Map<NumericIdentity, IdentityEntry>();
  readonly #identitySubjects = new Map<NumericIdentity, SelectorSubject>();
  readonly #namespaceIdentities = new Map<string, Set<NumericIdentity>>();
  readonly #ipcache = new Map<string, NumericIdentity>();
  readonly #tiers = new Map<string, Tier>([[DENY_PRECEDENCE_TIER.name, DENY_PRECEDENCE_TIER], [DEFAULT_TIER.name, DEFAULT_TIER]]);
  readonly #policies = new Map<string, PolicyEntry>();
  readonly #universe: PeerUniverse;

  /** @throws {PolicyIndexError} when a `kubeApiServer` entry is not an address or CIDR. */
  constructor(options: PolicyIndexOptions = {}) {
    this.#allocator = options.identities ?? new IdentityAllocator();
    this.#kubeApiServer = parseNets(options.kubeApiServer ?? [], 'kubeApiServer');
    // Iterables over the live maps (a bound `values` is not one): re-read on every use.
    this.#universe = {
      identities: this.#identitySubjects,
      hosts: { [Symbol.iterator]: () => this.#hosts.values() },
      networkSets: { [Symbol.iterator]: () => this.#networkSets.values() },
      kubeApiServer: this.#kubeApiServer,
      members: (identity) => this.#members(identity),
      namespaceIdentities: (namespace) => this.#namespaceIdentities.get(namespace) ?? [],
      memberCount: (identity) => this.#identities.get(identity)?.members.size ?? 0,
      resolved: new Map(),
      remotes: new Map(),
      inNets: new Map(),
    };
  }

  *#members(identity: NumericIdentity): Generator<IndexedEndpoint> {
    for (const key of this.#identities.get(identity)?.members ?? []) {
      const entry = this.#endpoints.get(key);
      if (entry !== undefined) yield entry.indexed;
    }
  }

  *#allEndpoints(): Generator<IndexedEndpoint> {
    for (const entry of this.#endpoints.values()) yield entry.indexed;
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

  /** Adds or replaces a policy (by dialect, kind, namespace and name). @throws {PolicyIndexError} for an unknown tier. */
  upsertPolicy(policy: Policy): PolicyIndexDiff {
    return this.apply([{ kind: 'upsert-policy', policy }]);
  }

  /** Removes a policy; unknown ones are ignored. */
  deletePolicy(ref: PolicyRef): PolicyIndexDiff {
    return this.apply([{ kind: 'delete-policy', ref }]);
  }

  /**
   * Applies changes in order and recomputes once: the way to load a whole cluster.
   * @throws {PolicyIndexError} for a workload without a namespace (or a host with one),
   *   a bad address, an address another endpoint has, a policy in an unknown tier, a
   *   tier that is reserved, built in or still used. The failing change is not applied;
   *   the ones before it are, and the error's `applied` is their diff.
   */
  apply(changes: readonly PolicyIndexChange[]): PolicyIndexDiff {
    const pending: Pending = {
      dirty: new Set(), reselect: new Set(), sides: [], sets: [], fresh: new Set(), removed: new Map(), ipBefore: new Map(), rerank: false, populationMoved: false, identitiesMoved: false,
    };
    for (const [index, change] of changes.entries()) {
      try {
        this.#record(change, pending);
      } catch (error) {
        if (error instanceof PolicyIndexError) {
          error.applied = this.#recompute(pending);
          if (changes.length > 1) Object.defineProperty(error, 'message', { value: `changes[${index}]: ${error.message}` });
        }
        throw error;
      }
    }
    return this.#recompute(pending);
  }

  /** The effective rules of an endpoint, or `undefined` when the index does not hold it. */
  effectiveRules(ref: EndpointRef): EndpointPolicy | undefined {
    return this.#endpoints.get(endpointKey(ref))?.effective;
  }

  /** Every endpoint's effective rules, sorted by key. */
  allEffectiveRules(): EndpointPolicy[] {
    return [...this.#endpoints.keys()].sort().flatMap((key) => {
      const effective = this.#endpoints.get(key)?.effective;
      return effective === undefined ? [] : [effective];
    });
  }

  /** Every address → identity entry of workloads and the API server, sorted by prefix. */
  ipIdentities(): IpIdentityEntry[] {
    return [
      ...this.#kubeApiServer.map((c) => ({ prefix: c.text, identity: RESERVED_IDENTITY.KUBE_APISERVER })),
      ...[...this.#ipcache.entries()].map(([prefix, identity]) => ({ prefix, identity })),
    ].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  }

  /** How many endpoints and policies the index holds. */
  get size(): { readonly endpoints: number; readonly policies: number } {
    return { endpoints: this.#endpoints.size, policies: this.#policies.size };
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
      const entry = this.#byRef.get(namespace)?.get(name);
      return entry === undefined ? undefined : (entry.compiled ??= compileEndpoint(entry.indexed, entry.effective));
    },
    byAddress: (text) => {
      const key = this.#byAddress.get(text);
      const entry = key === undefined ? undefined : this.#endpoints.get(key);
      return entry === undefined ? undefined : (entry.compiled ??= compileEndpoint(entry.indexed, entry.effective));
    },
    remoteIdentity: (address) => (this.#kubeApiServer.some((c) => cidrContainsAddress(c, address)) ? RESERVED_IDENTITY.KUBE_APISERVER : RESERVED_IDENTITY.WORLD),
  });

  #namespaceOf(name: string): Namespace {
    return this.#namespaces.get(name) ?? { name, labels: { [NAMESPACE_NAME_LABEL]: name } };
  }

  #record(change: PolicyIndexChange, pending: Pending): void {
    switch (change.kind) {
      case 'upsert-endpoint':
        return this.#upsertEndpoint(change.endpoint, pending);
      case 'delete-endpoint':
        return this.#deleteEndpoint(endpointKey(change.ref), pending);
      case 'upsert-namespace':
      case 'delete-namespace': {
        const name = change.kind === 'upsert-namespace' ? change.namespace.name : change.name;
        if (change.kind === 'upsert-namespace') this.#namespaces.set(name, change.namespace);
        else this.#namespaces.delete(name);
        for (const entry of [...this.#endpoints.values()]) {
          if (entry.indexed.endpoint.namespace === name) this.#upsertEndpoint(entry.indexed.endpoint, pending);
        }
        for (const set of [...this.#networkSets.values()]) {
          if (set.networkSet.namespace === name) this.#upsertNetworkSet(set.networkSet, pending);
        }
        return;
      }
      case 'upsert-network-set':
        return this.#upsertNetworkSet(change.networkSet, pending);
      case 'delete-network-set': {
        const before = this.#networkSets.get(networkSetKey(change.ref));
        if (before === undefined) return;
        this.#networkSets.delete(networkSetKey(change.ref));
        pending.sets.push(before);
        return;
      }
      case 'upsert-tier':
        return this.#upsertTier(change.tier, pending);
      case 'delete-tier': {
        if (change.name === DEFAULT_TIER.name || change.name === DENY_PRECEDENCE_TIER.name) {
          throw new PolicyIndexError('name', `tier ${JSON.stringify(change.name)} is built in`);
        }
        if (!this.#tiers.has(change.name)) return;
        const used = [...this.#policies.values()].find((p) => p.policy.tier === change.name);
        if (used !== undefined) throw new PolicyIndexError('name', `tier ${JSON.stringify(change.name)} still holds policies`);
        this.#tiers.delete(change.name);
        pending.rerank = true;
        return;
      }
      case 'upsert-policy':
        return this.#upsertPolicy(change.policy, pending);
      case 'delete-policy':
        return this.#deletePolicy(policyKey(change.ref), pending);
    }
  }

  #indexEndpoint(endpoint: Endpoint): IndexedEndpoint {
    if (endpoint.kind === 'workload' && endpoint.namespace === undefined) throw new PolicyIndexError('namespace', 'a workload needs a namespace');
    if (endpoint.kind === 'host' && endpoint.namespace !== undefined) throw new PolicyIndexError('namespace', 'a host endpoint has no namespace');
    const ref: EndpointRef = endpoint.namespace === undefined ? { name: endpoint.name } : { namespace: endpoint.namespace, name: endpoint.name };
    const addresses = endpoint.ips.map((ip, index) => {
      const address = parseIpAddress(ip);
      if (address === undefined) throw new PolicyIndexError(`ips[${index}]`, `invalid IP address ${JSON.stringify(ip)}`);
      const owner = this.#byAddress.get(address.text);
      if (owner !== undefined && owner !== endpointKey(ref)) throw new PolicyIndexError(`ips[${index}]`, `${address.text} is also ${owner}'s`);
      return address;
    });
    const namespace = endpoint.namespace === undefined ? undefined : this.#namespaceOf(endpoint.namespace);
    const subject: SelectorSubject = {
      type: endpoint.kind,
      labels: endpoint.labels,
      ...(namespace === undefined ? {} : { namespace: { name: namespace.name, labels: namespace.labels } }),
      ...(endpoint.serviceAccount === undefined ? {} : { serviceAccount: { name: endpoint.serviceAccount, labels: {} } }),
    };
    const identity = endpoint.kind === 'host' ? RESERVED_IDENTITY.HOST : this.#allocator.identify(identityLabels(endpoint, namespace));
    return { endpoint, ref, subject, addresses, identity };
  }

  #upsertEndpoint(endpoint: Endpoint, pending: Pending): void {
    const after = this.#indexEndpoint(endpoint);
    const key = endpointKey(after.ref);
    const entry = this.#endpoints.get(key);
    if (entry !== undefined) this.#unlinkEndpoint(key, entry.indexed, pending);
    this.#linkEndpoint(key, after, pending);
    if (entry === undefined) {
      const created: EndpointEntry = { indexed: after, policies: new Set(), compiled: undefined };
      this.#endpoints.set(key, created);
      const names = this.#byRef.get(after.ref.namespace) ?? new Map<string, EndpointEntry>();
      names.set(after.ref.name, created);
      this.#byRef.set(after.ref.namespace, names);
    } else {
      entry.indexed = after;
      entry.compiled = undefined;
    }
    pending.removed.delete(key);
    pending.dirty.add(key);
    pending.reselect.add(key);
    pending.sides.push(after);
  }

  #deleteEndpoint(key: string, pending: Pending): void {
    const entry = this.#endpoints.get(key);
    if (entry === undefined) return;
    this.#unlinkEndpoint(key, entry.indexed, pending);
    for (const policy of entry.policies) policy.selected.delete(key);
    this.#endpoints.delete(key);
    this.#byRef.get(entry.indexed.ref.namespace)?.delete(entry.indexed.ref.name);
    pending.dirty.delete(key);
    pending.reselect.delete(key);
    pending.removed.set(key, entry.indexed.ref);
  }

  #unlinkEndpoint(key: string, before: IndexedEndpoint, pending: Pending): void {
    pending.sides.push(before);
    for (const address of before.addresses) {
      this.#byAddress.delete(address.text);
      if (!pending.ipBefore.has(address.text)) pending.ipBefore.set(address.text, this.#ipcache.get(address.text));
      this.#ipcache.delete(address.text);
    }
    if (before.endpoint.kind === 'host') {
      this.#hosts.delete(key);
      pending.populationMoved = true;
      return;
    }
    const identity = this.#identities.get(before.identity);
    identity?.members.delete(key);
    if (identity?.members.size === 0) {
      pending.populationMoved = true;
      pending.identitiesMoved = true;
      this.#identities.delete(before.identity);
      this.#identitySubjects.delete(before.identity);
      this.#namespaceIdentities.get(before.endpoint.namespace ?? '')?.delete(before.identity);
    }
  }

  #linkEndpoint(key: string, after: IndexedEndpoint, pending: Pending): void {
    for (const address of after.addresses) {
      this.#byAddress.set(address.text, key);
      if (!pending.ipBefore.has(address.text)) pending.ipBefore.set(address.text, this.#ipcache.get(address.text));
      if (after.endpoint.kind === 'workload') this.#ipcache.set(address.text, after.identity);
    }
    if (after.endpoint.kind === 'host') {
      this.#hosts.set(key, after);
      pending.populationMoved = true;
      return;
    }
    let identity = this.#identities.get(after.identity);
    if (identity === undefined) {
      pending.populationMoved = true;
      pending.identitiesMoved = true;
      identity = { subject: after.subject, members: new Set() };
      this.#identities.set(after.identity, identity);
      this.#identitySubjects.set(after.identity, after.subject);
      const namespace = after.endpoint.namespace ?? '';
      const ids = this.#namespaceIdentities.get(namespace) ?? new Set();
      ids.add(after.identity);
      this.#namespaceIdentities.set(namespace, ids);
    }
    identity.members.add(key);
  }

  #upsertNetworkSet(networkSet: NetworkSet, pending: Pending): void {
    const key = networkSetKey(networkSet);
    const nets = parseNets(networkSet.nets, 'nets');
    const namespace = networkSet.namespace === undefined ? undefined : this.#namespaceOf(networkSet.namespace);
    const after: IndexedNetworkSet = {
      networkSet,
      subject: { type: 'network-set', labels: networkSet.labels, ...(namespace === undefined ? {} : { namespace: { name: namespace.name, labels: namespace.labels } }) },
      nets,
    };
    const before = this.#networkSets.get(key);
    if (before !== undefined) pending.sets.push(before);
    this.#networkSets.set(key, after);
    pending.sets.push(after);
  }

  #upsertTier(tier: Tier, pending: Pending): void {
    if (tier.name === DENY_PRECEDENCE_TIER.name) throw new PolicyIndexError('name', `${JSON.stringify(tier.name)} is reserved`);
    this.#tiers.set(tier.name, tier);
    pending.rerank = true;
    for (const entry of this.#policies.values()) {
      if (entry.policy.tier === tier.name) for (const key of entry.selected) pending.dirty.add(key);
    }
  }

  #upsertPolicy(policy: Policy, pending: Pending): void {
    if (!this.#tiers.has(policy.tier)) throw new PolicyIndexError('tier', `unknown tier ${JSON.stringify(policy.tier)}`);
    const key = policyKey(policy.ref);
    const before = this.#policies.get(key);
    const rerank = pending.rerank;
    this.#deletePolicy(key, pending);
    const entry: PolicyEntry = { key, policy, selected: new Set(), rank: before?.rank ?? 0, remote: { ingress: [], egress: [] }, shared: { ingress: [], egress: [] } };
    this.#policies.set(key, entry);
    pending.fresh.add(entry);
    // Same tier and order: the same place in evaluation order (the usual edit of rules).
    pending.rerank = rerank || before === undefined || before.policy.tier !== policy.tier || before.policy.order !== policy.order;
  }

  #deletePolicy(key: string, pending: Pending): void {
    const entry = this.#policies.get(key);
    if (entry === undefined) return;
    for (const endpointKeyText of entry.selected) {
      this.#endpoints.get(endpointKeyText)?.policies.delete(entry);
      pending.dirty.add(endpointKeyText);
    }
    // Ranks only order policies; a removed one leaves a gap, which orders the same.
    this.#policies.delete(key);
    pending.fresh.delete(entry);
  }

  #rerank(): void {
    const tierRank = new Map([...this.#tiers.values()].sort(compareTiers).map((tier, index) => [tier.name, index]));
    const sorted = [...this.#policies.values()].sort((a, b) =>
      (tierRank.get(a.policy.tier) ?? 0) - (tierRank.get(b.policy.tier) ?? 0) || comparePolicies(a.policy, b.policy));
    sorted.forEach((entry, index) => {
      entry.rank = index;
    });
  }

  #select(entry: PolicyEntry, key: string, selected: boolean, pending: Pending): void {
    const endpoint = this.#endpoints.get(key);
    if (endpoint === undefined || entry.selected.has(key) === selected) return;
    if (selected) {
      entry.selected.add(key);
      endpoint.policies.add(entry);
    } else {
      entry.selected.delete(key);
      endpoint.policies.delete(entry);
    }
    pending.dirty.add(key);
  }

  // Whether a rule's remote side can change with one of the moved endpoints or sets.
  #ruleTouched(entry: PolicyEntry, direction: Direction, index: number, pending: Pending): boolean {
    const rule = entry.policy[direction]?.rules[index];
    if (rule === undefined) return false;
    const side = remoteSideOf(rule, direction);
    const named = [...(side?.ports ?? []), ...(side?.notPorts ?? [])].flatMap((p) => (p.kind === 'named' ? [p.name] : []));
    // A complement holds every identity, even of endpoints the whole peer does not match
    // (`nets && !selector`): any identity that appears or goes changes it.
    if (pending.identitiesMoved && side?.peer !== undefined && usesUniverse(side.peer)) return true;
    // A selector's identities are resolved whatever their addresses (`nets && selector`
    // keeps them, with the nets): a new identity a selector matches changes the atoms
    // even when the endpoint's own address is outside the nets.
    const selectors = side?.peer === undefined ? [] : peerSelectors(side.peer);
    for (const moved of pending.sides) {
      // Named remote ports group the peer's endpoints: only those matter.
      if (named.length === 0 && !pending.populationMoved) continue;
      if (side?.peer === undefined) {
        if (named.length > 0 && moved.endpoint.namedPorts?.some((p) => named.includes(p.name)) === true) return true;
      } else if (endpointMayMatch(side, moved, this.#universe)) {
        return true;
      } else if (pending.identitiesMoved && moved.endpoint.kind === 'workload' && selectors.some((s) => matchSelector(s, moved.subject))) {
        return true;
      }
    }
    if (side?.peer === undefined || pending.sets.length === 0) return false;
    return pending.sets.some((set) => selectors.some((s) => matchSelector(s, set.subject)));
  }

  #recompute(pending: Pending): PolicyIndexDiff {
    // The population moved since the last recomputation: earlier resolutions are stale.
    this.#universe.resolved?.clear();
    this.#universe.inNets?.clear();
    this.#universe.remotes?.clear();
    this.#evaluator.invalidate();
    if (pending.rerank) this.#rerank();
    const endpoints = { [Symbol.iterator]: () => this.#allEndpoints() };
    // New policies: their selection, by identity (every member shares the subject), and their rules.
    for (const entry of pending.fresh) {
      for (const id of identitiesMatching(this.#universe, entry.policy.subject)) {
        for (const key of this.#identities.get(id as NumericIdentity)?.members ?? []) this.#select(entry, key, true, pending);
      }
      for (const [key, host] of this.#hosts) if (matchSelector(entry.policy.subject, host.subject)) this.#select(entry, key, true, pending);
      resolvePolicyEntry(entry, this.#universe, endpoints);
    }
    // Moved endpoints: their membership in the other policies' subjects.
    if (pending.reselect.size > 0) {
      for (const entry of this.#policies.values()) {
        if (pending.fresh.has(entry)) continue;
        for (const key of pending.reselect) {
          const endpoint = this.#endpoints.get(key);
          if (endpoint !== undefined) this.#select(entry, key, matchSelector(entry.policy.subject, endpoint.indexed.subject), pending);
        }
      }
    }
    // Rules whose remote peers moved: resolve again; recompute their endpoints only if different.
    if (pending.sides.length > 0 || pending.sets.length > 0) {
      for (const entry of this.#policies.values()) {
        if (pending.fresh.has(entry)) continue;
        const touched = {
          ingress: (entry.policy.ingress?.rules ?? []).flatMap((_, i) => (this.#ruleTouched(entry, 'ingress', i, pending) ? [i] : [])),
          egress: (entry.policy.egress?.rules ?? []).flatMap((_, i) => (this.#ruleTouched(entry, 'egress', i, pending) ? [i] : [])),
        };
        if (touched.ingress.length + touched.egress.length === 0) continue;
        // Only the touched rules: the others' peers did not move.
        if (reresolvePolicyRules(entry, touched, this.#universe, endpoints)) for (const key of entry.selected) pending.dirty.add(key);
      }
    }
    // Local sides that name network sets: endpoints inside a moved set.
    for (const set of pending.sets) {
      for (const [key, entry] of this.#endpoints) {
        if (entry.indexed.addresses.some((a) => set.nets.some((n) => cidrContainsAddress(n, a)))) pending.dirty.add(key);
      }
    }
    return this.#diff(pending);
  }

  #diff(pending: Pending): PolicyIndexDiff {
    const changed: EndpointPolicyChange[] = [];
    for (const key of [...pending.dirty].sort()) {
      const entry = this.#endpoints.get(key);
      if (entry === undefined) continue;
      const policies = [...entry.policies].sort((a, b) => a.rank - b.rank);
      const next: EndpointPolicy = {
        endpoint: entry.indexed.ref,
        key,
        identity: entry.indexed.identity,
        addresses: entry.indexed.addresses.map((a) => a.text),
        ingress: effectiveDirection(entry.indexed, policies, 'ingress', this.#tiers, this.#universe),
        egress: effectiveDirection(entry.indexed, policies, 'egress', this.#tiers, this.#universe),
      };
      const previous = entry.effective;
      const directions = DIRECTIONS.filter((d) => previous === undefined || !deepEqual(previous[d], next[d]));
      // An identity or address change alone is the ipcache's part of the diff.
      entry.effective = next;
      entry.compiled = undefined;
      if (directions.length > 0) changed.push({ ...next, changed: directions });
    }
    const set: IpIdentityEntry[] = [];
    const removedIps: string[] = [];
    for (const [prefix, before] of [...pending.ipBefore].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const now = this.#ipcache.get(prefix);
      if (now === undefined && before !== undefined) removedIps.push(prefix);
      else if (now !== undefined && now !== before) set.push({ prefix, identity: now });
    }
    return {
      changed,
      removed: [...pending.removed.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, ref]) => ref),
      ipcache: { set, removed: removedIps },
    };
  }
}

/** Whether a peer's resolution lists every identity present (`not`, the `cluster` entity). */
function usesUniverse(peer: PeerMatch): boolean {
  switch (peer.kind) {
    case 'not':
      return true;
    case 'entity':
      return peer.entities.includes('cluster');
    case 'and':
    case 'or':
      return peer.of.some(usesUniverse);
    default:
      return false;
  }
}

/** Every selector inside a peer (to find the rules a network set can move). */
function peerSelectors(peer: PeerMatch): Selector[] {
  switch (peer.kind) {
    case 'selector':
      return [peer.selector];
    case 'and':
    case 'or':
      return peer.of.flatMap(peerSelectors);
    case 'not':
      return peerSelectors(peer.of);
    default:
      return [];
  }
}
