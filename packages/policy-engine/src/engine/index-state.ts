// The objects a PolicyIndex holds and the bookkeeping of one change: endpoints by key,
// reference and address, identities and their members, namespaces, network sets, tiers
// and policies. Recording a change updates these maps and notes in a `Pending` what
// moved; recompute.ts then derives the effective rules from them.

import { identityLabels, type IdentityAllocator } from '../identity/allocator.js';
import { RESERVED_IDENTITY, type NumericIdentity } from '../identity/reserved.js';
import { parseCidr, parseIpAddress, type Cidr } from '../model/cidr.js';
import { type Endpoint, type EndpointRef, type Namespace, type NetworkSet } from '../model/endpoint.js';
import { NAMESPACE_NAME_LABEL } from '../model/labels.js';
import { DEFAULT_TIER, DENY_PRECEDENCE_TIER, formatPolicyRef, type Policy, type PolicyRef, type Tier } from '../model/policy.js';
import { type SelectorSubject } from '../model/selector.js';
import { endpointKey, type IndexedEndpoint, type IndexedNetworkSet } from '../evaluate/snapshot.js';
import { type CompiledEndpoint } from './compiled-rules.js';
import { type PolicyEntry } from './effective.js';
import { deepEqual } from './equal.js';
import { type Direction } from './resolve.js';
import { PolicyIndexError } from './errors.js';
import { type PeerUniverse } from './peer-atoms.js';
import { type EndpointPolicy } from './types.js';
import { type PolicyIndexChange } from './changes.js';

/** An endpoint the index holds, the policies selecting it and its effective rules. */
export interface EndpointEntry {
  indexed: IndexedEndpoint;
  readonly policies: Set<PolicyEntry>;
  effective?: EndpointPolicy;
  /** What flow evaluation reads, compiled on first use; dropped when `indexed` or `effective` changes. */
  compiled: CompiledEndpoint | undefined;
}

/** The workload endpoints sharing an identity (a label set), by key. */
export interface IdentityEntry {
  readonly subject: SelectorSubject;
  readonly members: Set<string>;
}

/** What a batch moved, gathered before one recomputation. */
export interface Pending {
  readonly dirty: Set<string>;
  readonly reselect: Set<string>;
  readonly sides: IndexedEndpoint[];
  readonly sets: IndexedNetworkSet[];
  readonly fresh: Set<PolicyEntry>;
  /**
   * Policies edited in place (same subject, tier and order): the directions whose rules
   * differ, to resolve again. Their selection is the one before.
   */
  readonly edited: Map<PolicyEntry, Direction[]>;
  /** Endpoints whose rules can change in one direction only (a policy edit); `dirty` means both. */
  readonly partial: Map<string, Set<Direction>>;
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

/** A fresh {@link Pending}: nothing moved yet. */
export function createPending(): Pending {
  return {
    dirty: new Set(), reselect: new Set(), sides: [], sets: [], fresh: new Set(), edited: new Map(), partial: new Map(), removed: new Map(), ipBefore: new Map(), rerank: false, populationMoved: false, identitiesMoved: false,
  };
}

/** A policy document's key in the index: dialect, kind, namespace and name. */
export const policyKey = (ref: PolicyRef): string => `${ref.dialect}\u0000${ref.kind}\u0000${ref.namespace ?? ''}\u0000${ref.name}`;
/** One part's key: the document's and the part number. */
const partKey = (policy: Policy): string => `${policyKey(policy.ref)}\u0000${policy.part ?? 0}`;
const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
const networkSetKey = (ref: { readonly namespace?: string; readonly name: string }): string => `${ref.namespace ?? ''}/${ref.name}`;

/** Parses addresses or CIDRs (a bare address is its host prefix). @throws {PolicyIndexError} naming `path[i]`. */
export function parseNets(nets: readonly string[], path: string): Cidr[] {
  return nets.map((text, index) => {
    const cidr = parseCidr(text) ?? (parseIpAddress(text) === undefined ? undefined : parseCidr(`${text}/${text.includes(':') ? 128 : 32}`));
    if (cidr === undefined) throw new PolicyIndexError(`${path}[${index}]`, `invalid CIDR ${JSON.stringify(text)}`);
    return cidr;
  });
}

/**
 * What a PolicyIndex holds, and the recording of changes into it. Internal to the
 * engine: the fields are read by recompute.ts and the index's flow evaluator.
 */
export class IndexState {
  readonly namespaces = new Map<string, Namespace>();
  readonly endpoints = new Map<string, EndpointEntry>();
  /**
   * The same entries by namespace (undefined for hosts) and name: a flow names its endpoints
   * by reference, and building the `ns/name` key per lookup (a fresh string to hash)
   * cost about a tenth of an evaluation in the bench's profile.
   */
  readonly byRef = new Map<string | undefined, Map<string, EndpointEntry>>();
  readonly hosts = new Map<string, IndexedEndpoint>();
  readonly byAddress = new Map<string, string>();
  readonly networkSets = new Map<string, IndexedNetworkSet>();
  readonly identities = new Map<NumericIdentity, IdentityEntry>();
  readonly identitySubjects = new Map<NumericIdentity, SelectorSubject>();
  readonly namespaceIdentities = new Map<string, Set<NumericIdentity>>();
  readonly ipcache = new Map<string, NumericIdentity>();
  readonly tiers = new Map<string, Tier>([[DENY_PRECEDENCE_TIER.name, DENY_PRECEDENCE_TIER], [DEFAULT_TIER.name, DEFAULT_TIER]]);
  /** By part key (see `partKey`). */
  readonly policies = new Map<string, PolicyEntry>();
  /** Each document's part keys, by document key. */
  readonly documents = new Map<string, Set<string>>();
  /** What peers resolve against: views of the maps above, and per-recomputation caches. */
  readonly universe: PeerUniverse;

  constructor(
    private readonly allocator: IdentityAllocator,
    readonly kubeApiServer: readonly Cidr[],
  ) {
    // Iterables over the live maps (a bound `values` is not one): re-read on every use.
    this.universe = {
      identities: this.identitySubjects,
      hosts: { [Symbol.iterator]: () => this.hosts.values() },
      networkSets: { [Symbol.iterator]: () => this.networkSets.values() },
      kubeApiServer: this.kubeApiServer,
      members: (identity) => this.members(identity),
      namespaceIdentities: (namespace) => this.namespaceIdentities.get(namespace) ?? [],
      memberCount: (identity) => this.identities.get(identity)?.members.size ?? 0,
      resolved: new Map(),
      groupings: new Map(),
      inNets: new Map(),
    };
  }

  /** The endpoints of an identity. */
  *members(identity: NumericIdentity): Generator<IndexedEndpoint> {
    for (const key of this.identities.get(identity)?.members ?? []) {
      const entry = this.endpoints.get(key);
      if (entry !== undefined) yield entry.indexed;
    }
  }

  /** Every endpoint. */
  *allEndpoints(): Generator<IndexedEndpoint> {
    for (const entry of this.endpoints.values()) yield entry.indexed;
  }

  /** A namespace, or what the index assumes of one it has not been given. */
  namespaceOf(name: string): Namespace {
    return this.namespaces.get(name) ?? { name, labels: { [NAMESPACE_NAME_LABEL]: name } };
  }

  /** Records one change into the maps and `pending`. @throws {PolicyIndexError} see `PolicyIndex.apply`. */
  record(change: PolicyIndexChange, pending: Pending): void {
    switch (change.kind) {
      case 'upsert-endpoint':
        return this.upsertEndpoint(change.endpoint, pending);
      case 'delete-endpoint':
        return this.deleteEndpoint(endpointKey(change.ref), pending);
      case 'upsert-namespace':
      case 'delete-namespace': {
        const name = change.kind === 'upsert-namespace' ? change.namespace.name : change.name;
        if (change.kind === 'upsert-namespace') this.namespaces.set(name, change.namespace);
        else this.namespaces.delete(name);
        for (const entry of [...this.endpoints.values()]) {
          if (entry.indexed.endpoint.namespace === name) this.upsertEndpoint(entry.indexed.endpoint, pending);
        }
        for (const set of [...this.networkSets.values()]) {
          if (set.networkSet.namespace === name) this.upsertNetworkSet(set.networkSet, pending);
        }
        return;
      }
      case 'upsert-network-set':
        return this.upsertNetworkSet(change.networkSet, pending);
      case 'delete-network-set': {
        const before = this.networkSets.get(networkSetKey(change.ref));
        if (before === undefined) return;
        this.networkSets.delete(networkSetKey(change.ref));
        pending.sets.push(before);
        return;
      }
      case 'upsert-tier':
        return this.upsertTier(change.tier, pending);
      case 'delete-tier': {
        if (change.name === DEFAULT_TIER.name || change.name === DENY_PRECEDENCE_TIER.name) {
          throw new PolicyIndexError('name', `tier ${JSON.stringify(change.name)} is built in`);
        }
        if (!this.tiers.has(change.name)) return;
        const used = [...this.policies.values()].find((p) => p.policy.tier === change.name);
        if (used !== undefined) throw new PolicyIndexError('name', `tier ${JSON.stringify(change.name)} still holds policies`);
        this.tiers.delete(change.name);
        pending.rerank = true;
        return;
      }
      case 'upsert-policy':
        return this.upsertPolicy(change.policy, pending);
      case 'delete-policy':
        return this.deleteDocument(policyKey(change.ref), pending);
      case 'replace-policies': {
        const key = policyKey(change.ref);
        const stranger = change.policies.findIndex((p) => policyKey(p.ref) !== key);
        if (stranger >= 0) throw new PolicyIndexError(`policies[${stranger}].ref`, `not ${formatPolicyRef(change.ref)}`);
        this.deleteDocument(key, pending);
        for (const policy of change.policies) this.upsertPolicy(policy, pending);
        return;
      }
    }
  }

  private indexEndpoint(endpoint: Endpoint): IndexedEndpoint {
    if (endpoint.kind === 'workload' && endpoint.namespace === undefined) throw new PolicyIndexError('namespace', 'a workload needs a namespace');
    if (endpoint.kind === 'host' && endpoint.namespace !== undefined) throw new PolicyIndexError('namespace', 'a host endpoint has no namespace');
    const ref: EndpointRef = endpoint.namespace === undefined ? { name: endpoint.name } : { namespace: endpoint.namespace, name: endpoint.name };
    const addresses = endpoint.ips.map((ip, index) => {
      const address = parseIpAddress(ip);
      if (address === undefined) throw new PolicyIndexError(`ips[${index}]`, `invalid IP address ${JSON.stringify(ip)}`);
      const owner = this.byAddress.get(address.text);
      if (owner !== undefined && owner !== endpointKey(ref)) throw new PolicyIndexError(`ips[${index}]`, `${address.text} is also ${owner}'s`);
      return address;
    });
    const namespace = endpoint.namespace === undefined ? undefined : this.namespaceOf(endpoint.namespace);
    const subject: SelectorSubject = {
      type: endpoint.kind,
      labels: endpoint.labels,
      ...(namespace === undefined ? {} : { namespace: { name: namespace.name, labels: namespace.labels } }),
      ...(endpoint.serviceAccount === undefined ? {} : { serviceAccount: { name: endpoint.serviceAccount, labels: {} } }),
    };
    const identity = endpoint.kind === 'host' ? RESERVED_IDENTITY.HOST : this.allocator.identify(identityLabels(endpoint, namespace));
    return { endpoint, ref, subject, addresses, identity };
  }

  private upsertEndpoint(endpoint: Endpoint, pending: Pending): void {
    const after = this.indexEndpoint(endpoint);
    const key = endpointKey(after.ref);
    const entry = this.endpoints.get(key);
    if (entry !== undefined) this.unlinkEndpoint(key, entry.indexed, pending);
    this.linkEndpoint(key, after, pending);
    if (entry === undefined) {
      const created: EndpointEntry = { indexed: after, policies: new Set(), compiled: undefined };
      this.endpoints.set(key, created);
      const names = this.byRef.get(after.ref.namespace) ?? new Map<string, EndpointEntry>();
      names.set(after.ref.name, created);
      this.byRef.set(after.ref.namespace, names);
    } else {
      entry.indexed = after;
      entry.compiled = undefined;
    }
    pending.removed.delete(key);
    pending.dirty.add(key);
    pending.reselect.add(key);
    pending.sides.push(after);
  }

  private deleteEndpoint(key: string, pending: Pending): void {
    const entry = this.endpoints.get(key);
    if (entry === undefined) return;
    this.unlinkEndpoint(key, entry.indexed, pending);
    for (const policy of entry.policies) policy.selected.delete(key);
    this.endpoints.delete(key);
    this.byRef.get(entry.indexed.ref.namespace)?.delete(entry.indexed.ref.name);
    pending.dirty.delete(key);
    pending.reselect.delete(key);
    pending.removed.set(key, entry.indexed.ref);
  }

  private unlinkEndpoint(key: string, before: IndexedEndpoint, pending: Pending): void {
    pending.sides.push(before);
    for (const address of before.addresses) {
      this.byAddress.delete(address.text);
      if (!pending.ipBefore.has(address.text)) pending.ipBefore.set(address.text, this.ipcache.get(address.text));
      this.ipcache.delete(address.text);
    }
    if (before.endpoint.kind === 'host') {
      this.hosts.delete(key);
      pending.populationMoved = true;
      return;
    }
    const identity = this.identities.get(before.identity);
    identity?.members.delete(key);
    if (identity?.members.size === 0) {
      pending.populationMoved = true;
      pending.identitiesMoved = true;
      this.identities.delete(before.identity);
      this.identitySubjects.delete(before.identity);
      this.namespaceIdentities.get(before.endpoint.namespace ?? '')?.delete(before.identity);
    }
  }

  private linkEndpoint(key: string, after: IndexedEndpoint, pending: Pending): void {
    for (const address of after.addresses) {
      this.byAddress.set(address.text, key);
      if (!pending.ipBefore.has(address.text)) pending.ipBefore.set(address.text, this.ipcache.get(address.text));
      if (after.endpoint.kind === 'workload') this.ipcache.set(address.text, after.identity);
    }
    if (after.endpoint.kind === 'host') {
      this.hosts.set(key, after);
      pending.populationMoved = true;
      return;
    }
    let identity = this.identities.get(after.identity);
    if (identity === undefined) {
      pending.populationMoved = true;
      pending.identitiesMoved = true;
      identity = { subject: after.subject, members: new Set() };
      this.identities.set(after.identity, identity);
      this.identitySubjects.set(after.identity, after.subject);
      const namespace = after.endpoint.namespace ?? '';
      const ids = this.namespaceIdentities.get(namespace) ?? new Set();
      ids.add(after.identity);
      this.namespaceIdentities.set(namespace, ids);
    }
    identity.members.add(key);
  }

  private upsertNetworkSet(networkSet: NetworkSet, pending: Pending): void {
    const key = networkSetKey(networkSet);
    const nets = parseNets(networkSet.nets, 'nets');
    const namespace = networkSet.namespace === undefined ? undefined : this.namespaceOf(networkSet.namespace);
    const after: IndexedNetworkSet = {
      networkSet,
      subject: { type: 'network-set', labels: networkSet.labels, ...(namespace === undefined ? {} : { namespace: { name: namespace.name, labels: namespace.labels } }) },
      nets,
    };
    const before = this.networkSets.get(key);
    if (before !== undefined) pending.sets.push(before);
    this.networkSets.set(key, after);
    pending.sets.push(after);
  }

  private upsertTier(tier: Tier, pending: Pending): void {
    if (tier.name === DENY_PRECEDENCE_TIER.name) throw new PolicyIndexError('name', `${JSON.stringify(tier.name)} is reserved`);
    this.tiers.set(tier.name, tier);
    pending.rerank = true;
    for (const entry of this.policies.values()) {
      if (entry.policy.tier === tier.name) for (const key of entry.selected) pending.dirty.add(key);
    }
  }

  private upsertPolicy(policy: Policy, pending: Pending): void {
    if (!this.tiers.has(policy.tier)) throw new PolicyIndexError('tier', `unknown tier ${JSON.stringify(policy.tier)}`);
    const key = partKey(policy);
    const before = this.policies.get(key);
    if (before !== undefined && this.editInPlace(before, policy, pending)) return;
    const rerank = pending.rerank;
    this.deletePart(key, pending);
    const document = policyKey(policy.ref);
    const parts = this.documents.get(document) ?? new Set<string>();
    parts.add(key);
    this.documents.set(document, parts);
    const entry: PolicyEntry = { key, policy, selected: new Set(), rank: before?.rank ?? 0, remote: { ingress: [], egress: [] }, shared: { ingress: [], egress: [] } };
    this.policies.set(key, entry);
    pending.fresh.add(entry);
    // Same tier and order: the same place in evaluation order (the usual edit of rules).
    pending.rerank = rerank || before === undefined || before.policy.tier !== policy.tier || before.policy.order !== policy.order;
  }

  /**
   * Replaces `before` by `policy` when only their rules differ: the endpoints it selects
   * stay, and only the directions whose rules changed are resolved and recomputed (an
   * edit of one port no longer recomputes every endpoint the policy selects in full).
   */
  private editInPlace(before: PolicyEntry, policy: Policy, pending: Pending): boolean {
    const old = before.policy;
    if (pending.fresh.has(before) || pending.edited.has(before) || old.tier !== policy.tier || old.order !== policy.order) return false;
    if (!deepEqual(old.ref, policy.ref) || !deepEqual(old.subject, policy.subject)) return false;
    const changed = DIRECTIONS.filter((d) => !deepEqual(old[d], policy[d]));
    const entry: PolicyEntry = {
      key: before.key, policy, selected: before.selected, rank: before.rank,
      remote: { ingress: before.remote.ingress, egress: before.remote.egress },
      shared: { ingress: before.shared.ingress, egress: before.shared.egress },
    };
    for (const key of entry.selected) {
      const endpoint = this.endpoints.get(key);
      endpoint?.policies.delete(before);
      endpoint?.policies.add(entry);
      if (changed.length === 2) pending.dirty.add(key);
      else if (changed.length === 1) {
        const directions = pending.partial.get(key) ?? new Set<Direction>();
        directions.add(changed[0] as Direction);
        pending.partial.set(key, directions);
      }
    }
    this.policies.set(before.key, entry);
    pending.edited.set(entry, changed);
    return true;
  }

  private deleteDocument(document: string, pending: Pending): void {
    for (const key of this.documents.get(document) ?? []) this.deletePart(key, pending);
    this.documents.delete(document);
  }

  private deletePart(key: string, pending: Pending): void {
    const entry = this.policies.get(key);
    if (entry === undefined) return;
    for (const endpointKeyText of entry.selected) {
      this.endpoints.get(endpointKeyText)?.policies.delete(entry);
      pending.dirty.add(endpointKeyText);
    }
    // Ranks only order policies; a removed one leaves a gap, which orders the same.
    this.policies.delete(key);
    pending.fresh.delete(entry);
    pending.edited.delete(entry);
  }
}
