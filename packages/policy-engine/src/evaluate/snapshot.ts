// A snapshot: everything evaluation needs, validated once and indexed, so that each
// flow evaluation is lookups and predicate calls only.

import { SnapshotError } from '../errors.js';
import { identityLabels, IdentityAllocator } from '../identity/allocator.js';
import { IpIdentityCache } from '../identity/ip-cache.js';
import { RESERVED_IDENTITY, type NumericIdentity } from '../identity/reserved.js';
import { parseCidr, parseIpAddress, type Cidr, type IpAddress } from '../model/cidr.js';
import { formatEndpointRef, type Endpoint, type EndpointRef, type Namespace, type NetworkSet } from '../model/endpoint.js';
import { NAMESPACE_NAME_LABEL, type Labels } from '../model/labels.js';
import { DEFAULT_TIER, DENY_PRECEDENCE_TIER, type Policy, type Tier } from '../model/policy.js';
import { matchSelector, type SelectorSubject } from '../model/selector.js';

/** What {@link createSnapshot} takes. Every list may be absent. */
export interface SnapshotInput {
  /** Namespaces; one that endpoints use but this omits gets only `kubernetes.io/metadata.name`. */
  readonly namespaces?: readonly Namespace[];
  /** Pods and host endpoints; names are unique per namespace (hosts: cluster-wide), and no two share an address. */
  readonly endpoints?: readonly Endpoint[];
  /** Network sets, selectable like endpoints by the addresses in their nets. */
  readonly networkSets?: readonly NetworkSet[];
  /** Service accounts' labels, for Calico's `serviceAccounts.selector`; absent: no labels. */
  readonly serviceAccounts?: readonly {
    /** The service account's namespace. */
    readonly namespace: string;
    /** The service account name; endpoints name it in `serviceAccount`. */
    readonly name: string;
    /** Its labels. */
    readonly labels: Labels;
  }[];
  /** Compiled policies of any dialect. */
  readonly policies?: readonly Policy[];
  /** Tiers besides the default and deny-precedence tiers, which always exist. */
  readonly tiers?: readonly Tier[];
  /** Addresses or CIDRs of the Kubernetes API server (Cilium's `kube-apiserver` entity). */
  readonly kubeApiServer?: readonly string[];
  /** An allocator to share identities with other snapshots; a fresh one when absent. */
  readonly identities?: IdentityAllocator;
}

/** An endpoint with what evaluation derives from it once. */
export interface IndexedEndpoint {
  /** The endpoint as given. */
  readonly endpoint: Endpoint;
  /** Its reference: namespace (workloads only) and name. */
  readonly ref: EndpointRef;
  /** What selectors see of it: its type and labels, its namespace's name and labels, its service account's name and labels. */
  readonly subject: SelectorSubject;
  /** Its parsed `ips`, in order. */
  readonly addresses: readonly IpAddress[];
  /** The label-set identity (workloads); hosts use the reserved host / remote-node identities. */
  readonly identity: NumericIdentity;
}

/** A network set with its parsed nets. */
export interface IndexedNetworkSet {
  /** The network set as given. */
  readonly networkSet: NetworkSet;
  /** What selectors see of it: type `network-set`, its labels, its namespace's name and labels. */
  readonly subject: SelectorSubject;
  /** Its parsed `nets` (a bare address is its host prefix). */
  readonly nets: readonly Cidr[];
}

/** A tier and its policies, sorted for evaluation. */
export interface TierPolicies {
  /** The tier. */
  readonly tier: Tier;
  /** The tier's policies in evaluation order: by `order` (absent last), ties by name. */
  readonly policies: readonly Policy[];
}

/** A validated, indexed snapshot; build it with {@link createSnapshot}. Immutable. */
export interface Snapshot {
  /** Endpoints by {@link formatEndpointRef} text: `namespace/name`, or `host:name` for hosts. */
  readonly endpoints: ReadonlyMap<string, IndexedEndpoint>;
  /** Endpoints by each of their addresses, in canonical text (RFC 5952 for IPv6). */
  readonly endpointsByAddress: ReadonlyMap<string, IndexedEndpoint>;
  /** Network sets, in input order. */
  readonly networkSets: readonly IndexedNetworkSet[];
  /** Tiers in evaluation order, each with its policies in evaluation order. */
  readonly tiers: readonly TierPolicies[];
  /** The Kubernetes API server's prefixes (a bare address is its host prefix). */
  readonly kubeApiServer: readonly Cidr[];
  /** The allocator that gave workloads their identities (the input's, or a fresh one). */
  readonly identities: IdentityAllocator;
  /** Address → identity: each workload address maps to its endpoint's identity, each API server prefix to `kube-apiserver`; everything else is `world`. */
  readonly ipCache: IpIdentityCache;
  /** Per endpoint key and direction: the tiers with the policies selecting it (filled on first use). */
  readonly selectionCache: Map<string, readonly TierPolicies[]>;
}

/** The map key of an endpoint reference. */
export function endpointKey(ref: EndpointRef): string {
  return formatEndpointRef(ref);
}

// Calico: by order, absent last, then by name. The deny-precedence tier is first, always.
function compareOrder(a: { order?: number; name: string }, b: { order?: number; name: string }): number {
  if (a.order !== b.order) {
    if (a.order === undefined) return 1;
    if (b.order === undefined) return -1;
    return a.order - b.order;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function policySortKey(policy: Policy): { order?: number; name: string } {
  // Ties by name (Calico); namespace and kind only make the order total.
  const name = `${policy.ref.name}\u0000${policy.ref.namespace ?? ''}\u0000${policy.ref.kind}`;
  return policy.order === undefined ? { name } : { order: policy.order, name };
}

function sortTiers(input: SnapshotInput): TierPolicies[] {
  const tiers = new Map<string, Tier>([[DENY_PRECEDENCE_TIER.name, DENY_PRECEDENCE_TIER], [DEFAULT_TIER.name, DEFAULT_TIER]]);
  (input.tiers ?? []).forEach((tier, index) => {
    if (tier.name === DENY_PRECEDENCE_TIER.name) throw new SnapshotError(`tiers[${index}].name`, `${JSON.stringify(tier.name)} is reserved`);
    tiers.set(tier.name, tier);
  });
  const byTier = new Map<string, Policy[]>();
  (input.policies ?? []).forEach((policy, index) => {
    if (!tiers.has(policy.tier)) throw new SnapshotError(`policies[${index}].tier`, `unknown tier ${JSON.stringify(policy.tier)}`);
    byTier.set(policy.tier, [...(byTier.get(policy.tier) ?? []), policy]);
  });
  return [...tiers.values()]
    .sort((a, b) => (a === DENY_PRECEDENCE_TIER ? -1 : b === DENY_PRECEDENCE_TIER ? 1 : compareOrder(a, b)))
    .map((tier) => ({ tier, policies: (byTier.get(tier.name) ?? []).sort((a, b) => compareOrder(policySortKey(a), policySortKey(b))) }));
}

function parseAddresses(ips: readonly string[], path: string): IpAddress[] {
  return ips.map((ip, index) => {
    const address = parseIpAddress(ip);
    if (address === undefined) throw new SnapshotError(`${path}[${index}]`, `invalid IP address ${JSON.stringify(ip)}`);
    return address;
  });
}

function parseCidrs(cidrs: readonly string[], path: string): Cidr[] {
  return cidrs.map((text, index) => {
    const cidr = parseCidr(text) ?? (parseIpAddress(text) === undefined ? undefined : parseCidr(`${text}/${text.includes(':') ? 128 : 32}`));
    if (cidr === undefined) throw new SnapshotError(`${path}[${index}]`, `invalid CIDR ${JSON.stringify(text)}`);
    return cidr;
  });
}

/**
 * Validates and indexes a snapshot of endpoints, namespaces, network sets and
 * policies.
 * @throws {SnapshotError} for two endpoints with one name or one address, a workload
 *   without a namespace, a bad address, or a policy in an unknown tier.
 */
export function createSnapshot(input: SnapshotInput): Snapshot {
  const namespaces = new Map<string, Namespace>();
  for (const namespace of input.namespaces ?? []) namespaces.set(namespace.name, namespace);
  const namespaceOf = (name: string): Namespace =>
    namespaces.get(name) ?? { name, labels: { [NAMESPACE_NAME_LABEL]: name } };
  const accountLabels = new Map<string, Labels>();
  for (const account of input.serviceAccounts ?? []) accountLabels.set(`${account.namespace}/${account.name}`, account.labels);

  const identities = input.identities ?? new IdentityAllocator();
  const ipCache = new IpIdentityCache();
  const endpoints = new Map<string, IndexedEndpoint>();
  const endpointsByAddress = new Map<string, IndexedEndpoint>();
  (input.endpoints ?? []).forEach((endpoint, index) => {
    const path = `endpoints[${index}]`;
    if (endpoint.kind === 'workload' && endpoint.namespace === undefined) throw new SnapshotError(`${path}.namespace`, 'a workload needs a namespace');
    if (endpoint.kind === 'host' && endpoint.namespace !== undefined) throw new SnapshotError(`${path}.namespace`, 'a host endpoint has no namespace');
    const ref: EndpointRef = endpoint.namespace === undefined ? { name: endpoint.name } : { namespace: endpoint.namespace, name: endpoint.name };
    const key = endpointKey(ref);
    if (endpoints.has(key)) throw new SnapshotError(`${path}.name`, `duplicate endpoint ${key}`);
    const namespace = endpoint.namespace === undefined ? undefined : namespaceOf(endpoint.namespace);
    const subject: SelectorSubject = {
      type: endpoint.kind,
      labels: endpoint.labels,
      ...(namespace === undefined ? {} : { namespace: { name: namespace.name, labels: namespace.labels } }),
      ...(endpoint.serviceAccount === undefined
        ? {}
        : { serviceAccount: { name: endpoint.serviceAccount, labels: accountLabels.get(`${endpoint.namespace ?? ''}/${endpoint.serviceAccount}`) ?? {} } }),
    };
    const identity = endpoint.kind === 'host' ? RESERVED_IDENTITY.HOST : identities.identify(identityLabels(endpoint, namespace));
    const indexed: IndexedEndpoint = { endpoint, ref, subject, addresses: parseAddresses(endpoint.ips, `${path}.ips`), identity };
    endpoints.set(key, indexed);
    for (const address of indexed.addresses) {
      const other = endpointsByAddress.get(address.text);
      if (other !== undefined) throw new SnapshotError(`${path}.ips`, `${address.text} is also ${endpointKey(other.ref)}'s`);
      endpointsByAddress.set(address.text, indexed);
      if (endpoint.kind === 'workload') ipCache.set(address.text, identity);
    }
  });
  const networkSets = (input.networkSets ?? []).map((networkSet, index): IndexedNetworkSet => {
    const namespace = networkSet.namespace === undefined ? undefined : namespaceOf(networkSet.namespace);
    return {
      networkSet,
      subject: { type: 'network-set', labels: networkSet.labels, ...(namespace === undefined ? {} : { namespace: { name: namespace.name, labels: namespace.labels } }) },
      nets: parseCidrs(networkSet.nets, `networkSets[${index}].nets`),
    };
  });
  const kubeApiServer = parseCidrs(input.kubeApiServer ?? [], 'kubeApiServer');
  for (const cidr of kubeApiServer) ipCache.set(cidr.text, RESERVED_IDENTITY.KUBE_APISERVER);
  return { endpoints, endpointsByAddress, networkSets, tiers: sortTiers(input), kubeApiServer, identities, ipCache, selectionCache: new Map() };
}

/** The tiers whose policies select `endpoint` for `direction`, each with just those policies, in order. */
export function selectingTiers(snapshot: Snapshot, endpoint: IndexedEndpoint, direction: 'ingress' | 'egress'): readonly TierPolicies[] {
  const cacheKey = `${direction}\u0000${endpointKey(endpoint.ref)}`;
  const cached = snapshot.selectionCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const result = snapshot.tiers
    .map(({ tier, policies }) => ({ tier, policies: policies.filter((p) => p[direction] !== undefined && matchSelector(p.subject, endpoint.subject)) }))
    .filter(({ policies }) => policies.length > 0);
  snapshot.selectionCache.set(cacheKey, result);
  return result;
}
