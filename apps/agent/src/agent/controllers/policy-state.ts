// What the policy controller knows, and how it reaches the policy index: the resources
// (namespaces, pods, policies, network sets, tiers) and the endpoint records of every
// node, kept as wanted; `flush` turns what changed since into index changes, in an order
// the index accepts (tiers before the policies in them, an endpoint's old address freed
// before another takes it, ...), and returns the index's diff with this node's
// attachments. A change the index refuses is reported and tried again at the next flush.
import {
  compileResourceDocument,
  endpointFromRecord,
  endpointKeyOfRecord,
  isNewerRecord,
  namespaceFromResource,
  parseIpAddress,
  type Endpoint,
  type Labels,
  type PolicyIndex,
  type PolicyIndexChange,
  type PolicyIndexDiff,
  type PolicyRef,
  PolicyIndexError,
} from '@twill/policy-engine';

import { type DataplaneChange, type EndpointAttachment } from '../../dataplane/port.js';
import { RESOURCE_KINDS } from '../datastore/kinds.js';
import { ENDPOINT_ROOT } from '../../plugin/endpoints.js';
import { type EndpointRecord } from '../../plugin/ports.js';
import { type FlowEndpointInfo } from '../flows/policy-view.js';
import { type ResourceEvent, type ResourceKindId, type StoredResource } from '../ports.js';
import { PendingChange } from './policy-change.js';

/** The kinds of resource policy is made of, as the datastore names them: namespaces, pods, and every kind a policy engine front end reads. */
export const POLICY_WATCHED_KINDS = {
  namespaces: 'namespaces',
  pods: 'pods',
  documents: RESOURCE_KINDS.filter((kind) => kind.dialect !== undefined).map((kind) => kind.id),
} as const;

/** Every kind {@link PolicyState} takes events of. */
export const POLICY_RESOURCE_KINDS: readonly ResourceKindId[] = [POLICY_WATCHED_KINDS.namespaces, POLICY_WATCHED_KINDS.pods, ...POLICY_WATCHED_KINDS.documents];

/** What a document put into the index, to take out again when it changes or goes. */
type Contribution =
  | { readonly kind: 'policy'; readonly ref: PolicyRef }
  | { readonly kind: 'tier'; readonly name: string }
  | { readonly kind: 'network-set'; readonly ref: { readonly namespace?: string; readonly name: string } };

/** The stored object a policy the index holds came from: what flows name it by. */
export interface PolicySource {
  /**
   * Its `metadata.resourceVersion` as a number: the store's revision (SQLite and etcd
   * revisions are decimal integers). On the Kubernetes datastore the API server's
   * resourceVersion is an opaque string, in practice etcd's revision in decimal: taken as
   * a number when it is one (decimal digits, a safe integer), else 0, which flows carry
   * as "no revision" (`twill policy explain --flow` then says it cannot tell whether the
   * object changed since the flow).
   */
  readonly revision: number;
  /** Its `metadata.uid`, when the store gave one. */
  readonly uid?: string;
}

/** `metadata.resourceVersion` as a flow's revision: see {@link PolicySource.revision}. */
export function revisionNumber(resourceVersion: string | undefined): number {
  if (resourceVersion === undefined || !/^\d{1,16}$/.test(resourceVersion)) return 0;
  const value = Number(resourceVersion);
  return Number.isSafeInteger(value) ? value : 0;
}

const policyRefKey = (ref: PolicyRef): string => `${ref.dialect}\u0000${ref.kind}\u0000${ref.namespace ?? ''}\u0000${ref.name}`;

/** An endpoint as the index holds it, and its record. */
interface IndexedEndpoint {
  readonly ref: { readonly namespace: string; readonly name: string };
  readonly text: string;
  readonly record: EndpointRecord;
}

/** One endpoint the controller knows, for `status()`. */
export interface PolicyEndpointStatus {
  /** The policy index's key: `namespace/pod`. */
  readonly key: string;
  readonly containerId: string;
  readonly node: string;
  readonly hostInterface: string;
  readonly addresses: readonly string[];
  readonly labels: Labels;
  /** Attached to this node's dataplane. */
  readonly attached: boolean;
}

// The order changes of one flush go to the index in.
const PHASE: Readonly<Record<PolicyIndexChange['kind'], number>> = {
  'upsert-tier': 0,
  'upsert-namespace': 1,
  'delete-namespace': 1,
  'upsert-network-set': 2,
  'delete-endpoint': 3,
  'upsert-endpoint': 4,
  'upsert-policy': 5,
  'replace-policies': 5,
  'delete-policy': 6,
  'delete-network-set': 7,
  'delete-tier': 8,
};

/** A change, the item it is for, and what applying it makes true. */
interface ItemChange {
  readonly item: string;
  readonly change: PolicyIndexChange;
  readonly done: () => void;
}

const resourceKey = (kind: string, resource: StoredResource): string => `${kind}/${resource.metadata.namespace ?? '-'}/${resource.metadata.name}`;
const podKey = (namespace: string | undefined, name: string): string => `${namespace ?? 'default'}/${name}`;
const withoutPrefixLength = (address: string): string => address.split('/')[0] ?? address;

/** The index key of an endpoint record: its pod, or for a runtime that names none, its container in `default`. */
export function endpointKeyOf(record: EndpointRecord): { readonly namespace: string; readonly name: string; readonly key: string } {
  return endpointKeyOfRecord(record);
}

/** Options of {@link PolicyState}. */
export interface PolicyStateOptions {
  readonly index: PolicyIndex;
  /** This node's name: records of it (or of no node) are attached. */
  readonly nodeName: string;
  /** The CNI network whose endpoint records are watched. */
  readonly network: string;
}

/** The wanted state and what of it the index holds; see the file's header. */
export class PolicyState {
  readonly #index: PolicyIndex;
  readonly #nodeName: string;
  readonly #network: string;

  // Wanted: resources by `kind/namespace/name`, records by container id.
  readonly #namespaces = new Map<string, StoredResource | undefined>();
  readonly #pods = new Map<string, StoredResource>();
  readonly #documents = new Map<string, StoredResource | undefined>();
  readonly #records = new Map<string, EndpointRecord>();
  /** Container ids by endpoint key (usually one; two while a re-created sandbox's old record lingers). */
  readonly #containersOf = new Map<string, Set<string>>();
  /** Containers whose endpoint may be attached: seen at start, or enforced by ADD. */
  readonly #attachable = new Set<string>();
  // Held by the index (or the dataplane).
  readonly #contributions = new Map<string, Contribution>();
  /** The source objects of the policies the index holds, by policy reference. */
  readonly #policySources = new Map<string, PolicySource>();
  readonly #indexed = new Map<string, IndexedEndpoint>();
  readonly #attached = new Map<string, EndpointAttachment>();
  // Dirty since the last flush.
  readonly #dirtyNamespaces = new Set<string>();
  readonly #dirtyDocuments = new Set<string>();
  readonly #dirtyEndpoints = new Set<string>();
  /** Problems by item (`endpoint:x/a`, `document:<kind>/<ns>/<name>`, `namespace:x`), in words. */
  readonly #errors = new Map<string, string>();
  /** Bumped by every flush that changed something: flow enrichment's caches last one generation. */
  #generation = 0;
  /** Endpoint keys by canonical address, built on first use in a generation. */
  #byAddress: Map<string, string> | undefined;

  constructor(options: PolicyStateOptions) {
    this.#index = options.index;
    this.#nodeName = options.nodeName;
    this.#network = options.network;
  }

  /** The prefix of this network's endpoint records in the store. */
  get recordPrefix(): string {
    return `${ENDPOINT_ROOT}/${this.#network}/`;
  }

  /** Takes a batch of resource events. */
  resources(events: readonly ResourceEvent[]): void {
    for (const { type, kind, resource } of events) {
      if (kind === POLICY_WATCHED_KINDS.namespaces) {
        this.#namespaces.set(resource.metadata.name, type === 'upsert' ? resource : undefined);
        this.#dirtyNamespaces.add(resource.metadata.name);
      } else if (kind === POLICY_WATCHED_KINDS.pods) {
        const key = podKey(resource.metadata.namespace, resource.metadata.name);
        if (type === 'upsert') this.#pods.set(key, resource);
        else this.#pods.delete(key);
        this.#dirtyEndpoints.add(key);
      } else {
        const key = resourceKey(kind, resource);
        this.#documents.set(key, type === 'upsert' ? resource : undefined);
        this.#dirtyDocuments.add(key);
      }
    }
  }

  /**
   * Takes a record (from the watch or from ADD). `attachable` marks it as this node's
   * to attach once its links exist: records seen at start, and those ADD enforces.
   * @throws Error for a value that is not a record of this network.
   */
  upsertRecord(record: EndpointRecord, attachable: boolean): void {
    if (record.network !== this.#network) throw new Error(`endpoint record of network ${JSON.stringify(record.network)}, not ${JSON.stringify(this.#network)}`);
    const before = this.#records.get(record.containerId);
    if (before !== undefined) this.#unlink(before);
    this.#records.set(record.containerId, record);
    const { key } = endpointKeyOf(record);
    const containers = this.#containersOf.get(key) ?? new Set<string>();
    containers.add(record.containerId);
    this.#containersOf.set(key, containers);
    if (attachable) this.#attachable.add(record.containerId);
    this.#dirtyEndpoints.add(endpointKeyOf(record).key);
  }

  /** Forgets a container's record (its watch delete, or DEL). */
  deleteRecord(containerId: string): void {
    const record = this.#records.get(containerId);
    this.#records.delete(containerId);
    this.#attachable.delete(containerId);
    if (record !== undefined) this.#unlink(record);
  }

  // Takes a record off its endpoint key, which is then recomputed.
  #unlink(record: EndpointRecord): void {
    const { key } = endpointKeyOf(record);
    const containers = this.#containersOf.get(key);
    containers?.delete(record.containerId);
    if (containers?.size === 0) this.#containersOf.delete(key);
    this.#dirtyEndpoints.add(key);
  }

  /** Reads a watched entry's value. @throws Error naming the key when it is not a record. */
  parseRecord(key: string, value: string): EndpointRecord {
    let record: unknown;
    try {
      record = JSON.parse(value);
    } catch (error) {
      throw new Error(`${key}: not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
    const r = record as Partial<EndpointRecord> | null;
    if (r === null || typeof r !== 'object' || typeof r.containerId !== 'string' || typeof r.hostInterface !== 'string' || !Array.isArray(r.addresses)) {
      throw new Error(`${key}: not an endpoint record (containerId, hostInterface and addresses are required)`);
    }
    return { ...(r as EndpointRecord), network: r.network ?? this.#network };
  }

  /** The container id of a record's key. */
  containerOf(key: string): string {
    return key.slice(this.recordPrefix.length);
  }

  /** Whether the endpoint of a container is in the index and attached as `record` says. */
  programmedAs(record: EndpointRecord): boolean {
    const { key } = endpointKeyOf(record);
    const indexed = this.#indexed.get(key);
    return indexed !== undefined && indexed.record.containerId === record.containerId && this.#attached.get(key)?.hostInterface === record.hostInterface;
  }

  /** Where an endpoint stands: in the index (as this record?), attached (to which interface?). */
  standing(record: EndpointRecord): { readonly key: string; readonly indexedAs?: string; readonly attachedTo?: string } {
    const { key } = endpointKeyOf(record);
    const indexed = this.#indexed.get(key)?.record.containerId;
    const attached = this.#attached.get(key)?.hostInterface;
    return { key, ...(indexed === undefined ? {} : { indexedAs: indexed }), ...(attached === undefined ? {} : { attachedTo: attached }) };
  }

  /** The problem of an item, if the last flush left one. */
  errorOf(record: EndpointRecord): string | undefined {
    return this.#errors.get(`endpoint:${endpointKeyOf(record).key}`);
  }

  /**
   * Applies what changed since the last flush to the index, and returns the index's diff
   * with this node's attachments (empty when nothing changed). Refused changes are
   * reported by {@link errors} and tried again next time.
   */
  flush(): DataplaneChange {
    const changes: ItemChange[] = [];
    for (const name of this.#dirtyNamespaces) changes.push(...this.#namespaceChanges(name));
    for (const key of this.#dirtyDocuments) changes.push(...this.#documentChanges(key));
    const attach: EndpointAttachment[] = [];
    const detach: string[] = [];
    for (const key of this.#dirtyEndpoints) changes.push(...this.#endpointChanges(key, attach, detach));
    this.#dirtyNamespaces.clear();
    this.#dirtyDocuments.clear();
    this.#dirtyEndpoints.clear();
    changes.sort((a, b) => PHASE[a.change.kind] - PHASE[b.change.kind]);
    const policy = this.#apply(changes);
    // An endpoint the index refused is not attached: attached without rules it would be dropped.
    const refused = new Set(changes.filter((c) => this.#errors.has(c.item)).map((c) => c.item));
    const accepted = attach.filter((a) => !refused.has(`endpoint:${a.key}`));
    for (const a of accepted) this.#attached.set(a.key, a);
    for (const key of detach) this.#attached.delete(key);
    if (changes.length > 0 || accepted.length > 0 || detach.length > 0) {
      this.#generation += 1;
      this.#byAddress = undefined;
    }
    return { policy, ...(accepted.length === 0 ? {} : { attach: accepted }), ...(detach.length === 0 ? {} : { detach }) };
  }

  /** The whole state as one change: what a dataplane's first apply after start carries. */
  fullState(): DataplaneChange {
    return {
      policy: {
        changed: this.#index.allEffectiveRules().map((e) => ({ ...e, changed: ['ingress', 'egress'] as const })),
        removed: [],
        ipcache: { set: this.#index.ipIdentities(), removed: [] },
      },
      attach: [...this.#attached.values()],
    };
  }

  /** Problems the last flushes left, in words, sorted. */
  errors(): string[] {
    return [...this.#errors].map(([item, message]) => `${item}: ${message}`).sort();
  }

  /** Every endpoint the index holds. */
  endpoints(): PolicyEndpointStatus[] {
    return [...this.#indexed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, { record }]) => ({
      key,
      containerId: record.containerId,
      node: record.node ?? this.#nodeName,
      hostInterface: record.hostInterface,
      addresses: record.addresses.map(withoutPrefixLength),
      labels: this.#labelsOf(key),
      attached: this.#attached.has(key),
    }));
  }

  /** Changes with every flush that changed the index or the attachments. */
  get generation(): number {
    return this.#generation;
  }

  /** An indexed endpoint as flows show it: its reference, pod labels, identity and (attached here) host interface. */
  flowEndpoint(key: string): FlowEndpointInfo | undefined {
    const indexed = this.#indexed.get(key);
    if (indexed === undefined) return undefined;
    const identity = this.#index.effectiveRules(indexed.ref)?.identity;
    if (identity === undefined) return undefined;
    const hostInterface = this.#attached.get(key)?.hostInterface;
    return { key, ref: indexed.ref, labels: this.#labelsOf(key), identity, ...(hostInterface === undefined ? {} : { hostInterface }) };
  }

  /** The stored object a policy the index holds came from, at the version the index holds. */
  policySource(ref: PolicyRef): PolicySource | undefined {
    return this.#policySources.get(policyRefKey(ref));
  }

  /** The indexed endpoint holding an address (canonical text). */
  flowEndpointByAddress(address: string): FlowEndpointInfo | undefined {
    if (this.#byAddress === undefined) {
      this.#byAddress = new Map();
      for (const [key, { record }] of this.#indexed) {
        for (const text of record.addresses) {
          const parsed = parseIpAddress(withoutPrefixLength(text));
          if (parsed !== undefined) this.#byAddress.set(parsed.text, key);
        }
      }
    }
    const key = this.#byAddress.get(address);
    return key === undefined ? undefined : this.flowEndpoint(key);
  }

  /** Attached endpoints on this node. */
  get attachedCount(): number {
    return this.#attached.size;
  }

  #labelsOf(key: string): Labels {
    const pod = this.#pods.get(key);
    return pod?.metadata.labels ?? {};
  }

  // Applies changes in order; a refused one is recorded and its item stays dirty.
  #apply(changes: readonly ItemChange[]): PolicyIndexDiff {
    const pending = new PendingChange();
    let rest = changes;
    while (rest.length > 0) {
      try {
        pending.merge({ policy: this.#index.apply(rest.map((c) => c.change)) });
        for (const c of rest) this.#succeeded(c);
        rest = [];
      } catch (error) {
        if (!(error instanceof PolicyIndexError)) throw error;
        // The index says which change it refused; the ones before it were applied.
        const failed = error.changeIndex ?? rest.length - 1;
        if (error.applied !== undefined) pending.merge({ policy: error.applied });
        for (const c of rest.slice(0, failed)) this.#succeeded(c);
        const bad = rest[failed];
        if (bad !== undefined) this.#refused(bad, error.path === '' ? error.reason : `${error.path}: ${error.reason}`);
        rest = rest.slice(failed + 1);
      }
    }
    return pending.take().policy;
  }

  #succeeded(change: ItemChange): void {
    change.done();
    this.#errors.delete(change.item);
  }

  #refused(change: ItemChange, message: string): void {
    this.#errors.set(change.item, message);
    const [kind, ...rest] = change.item.split(':');
    const id = rest.join(':');
    if (kind === 'namespace') this.#dirtyNamespaces.add(id);
    else if (kind === 'document') this.#dirtyDocuments.add(id);
    else if (kind === 'endpoint') this.#dirtyEndpoints.add(id);
  }

  #namespaceChanges(name: string): ItemChange[] {
    const resource = this.#namespaces.get(name);
    const item = `namespace:${name}`;
    if (resource === undefined) {
      this.#namespaces.delete(name);
      return [{ item, change: { kind: 'delete-namespace', name }, done: () => undefined }];
    }
    try {
      return [{ item, change: { kind: 'upsert-namespace', namespace: namespaceFromResource(resource) }, done: () => undefined }];
    } catch (error) {
      this.#errors.set(item, error instanceof Error ? error.message : String(error));
      return [];
    }
  }

  #documentChanges(key: string): ItemChange[] {
    const item = `document:${key}`;
    const resource = this.#documents.get(key);
    const before = this.#contributions.get(key);
    if (resource === undefined) {
      this.#documents.delete(key);
      this.#errors.delete(item);
      const done = (): void => {
        this.#contributions.delete(key);
        if (before?.kind === 'policy') this.#policySources.delete(policyRefKey(before.ref));
      };
      if (before === undefined) return [];
      if (before.kind === 'policy') return [{ item, change: { kind: 'delete-policy', ref: before.ref }, done }];
      if (before.kind === 'tier') return [{ item, change: { kind: 'delete-tier', name: before.name }, done }];
      return [{ item, change: { kind: 'delete-network-set', ref: before.ref }, done }];
    }
    let compiled: ReturnType<typeof compileResourceDocument>;
    try {
      compiled = compileResourceDocument(resource);
    } catch (error) {
      // What the index holds of its previous version stays in force; the problem is reported.
      this.#errors.set(item, error instanceof Error ? error.message : String(error));
      return [];
    }
    const [tier] = compiled.tiers;
    if (tier !== undefined) return [{ item, change: { kind: 'upsert-tier', tier }, done: () => void this.#contributions.set(key, { kind: 'tier', name: tier.name }) }];
    const [networkSet] = compiled.networkSets;
    if (networkSet !== undefined) {
      const ref = { ...(networkSet.namespace === undefined ? {} : { namespace: networkSet.namespace }), name: networkSet.name };
      return [{ item, change: { kind: 'upsert-network-set', networkSet }, done: () => void this.#contributions.set(key, { kind: 'network-set', ref }) }];
    }
    const ref = compiled.policies[0]?.ref ?? (before?.kind === 'policy' ? before.ref : undefined);
    if (ref === undefined) return [];
    // The revision the index holds the policy at: set when the index took this version.
    const { resourceVersion, uid } = resource.metadata;
    const source: PolicySource = Object.freeze({ revision: revisionNumber(resourceVersion), ...(uid === undefined || uid === '' ? {} : { uid }) });
    const done = (): void => {
      this.#contributions.set(key, { kind: 'policy', ref });
      this.#policySources.set(policyRefKey(ref), source);
    };
    return [{ item, change: { kind: 'replace-policies', ref, policies: compiled.policies }, done }];
  }

  // The endpoint of a pod key: the newest record naming it (a sandbox re-created before
  // the old one's DEL leaves two), joined with the pod's labels.
  #endpointChanges(key: string, attach: EndpointAttachment[], detach: string[]): ItemChange[] {
    const item = `endpoint:${key}`;
    let record: EndpointRecord | undefined;
    for (const containerId of this.#containersOf.get(key) ?? []) {
      const candidate = this.#records.get(containerId);
      if (candidate !== undefined && isNewerRecord(candidate, record)) record = candidate;
    }
    const before = this.#indexed.get(key);
    const attached = this.#attached.get(key);
    if (record === undefined) {
      this.#errors.delete(item);
      if (attached !== undefined) detach.push(key);
      if (before === undefined) return [];
      return [{ item, change: { kind: 'delete-endpoint', ref: before.ref }, done: () => void this.#indexed.delete(key) }];
    }
    const endpoint = this.#endpointOf(record);
    const text = JSON.stringify(endpoint);
    const local = (record.node ?? this.#nodeName) === this.#nodeName;
    if (local && this.#attachable.has(record.containerId)) {
      if (attached?.hostInterface !== record.hostInterface) attach.push({ key, hostInterface: record.hostInterface });
    } else if (attached !== undefined) {
      detach.push(key);
    }
    const { namespace, name } = endpointKeyOf(record);
    const indexed = { ref: { namespace, name }, text, record };
    if (before?.text === text) {
      // The index holds it as it should be: a refusal of a version since withdrawn is moot.
      this.#indexed.set(key, indexed);
      this.#errors.delete(item);
      return [];
    }
    return [{ item, change: { kind: 'upsert-endpoint', endpoint }, done: () => void this.#indexed.set(key, indexed) }];
  }

  #endpointOf(record: EndpointRecord): Endpoint {
    // The one rule explain uses too (@twill/policy-engine's endpointFromRecord).
    const { key } = endpointKeyOf(record);
    const { endpoint, podError } = endpointFromRecord(record, this.#pods.get(key), this.#nodeName);
    // The endpoint is still enforced, with no labels, until the pod is fixed.
    if (podError === undefined) this.#errors.delete(`pod:${key}`);
    else this.#errors.set(`pod:${key}`, podError.message);
    return endpoint;
  }

}
