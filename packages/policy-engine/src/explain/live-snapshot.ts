// The snapshot of a datastore's objects as they are now, built exactly as the agent
// enforces them: namespaces, the newest endpoint record of each pod (labelled by its Pod
// when there is one, unlabelled otherwise: endpointsFromRecords, as the agent's
// controller), and the policies of every dialect. Every problem names the stored object
// (`kind-id/namespace/name@resourceVersion`). Pure: the caller lists the objects.

import { compileResourceDocument } from '../documents/compile.js';
import { endpointsFromRecords, type EndpointRecordInput } from '../documents/endpoints.js';
import { namespaceFromResource } from '../documents/objects.js';
import { PolicyEngineError } from '../errors.js';
import { createSnapshot, type Snapshot } from '../evaluate/snapshot.js';
import { type Endpoint, type Namespace, type NetworkSet } from '../model/endpoint.js';
import { formatPolicyRef, type Policy, type PolicyRef, type Tier } from '../model/policy.js';
import { type PolicyLocator, type ProbePod } from './probe-json.js';

/** The metadata of a stored object that names it. */
export interface StoredObjectMetadata {
  /** Its namespace; absent for cluster-wide kinds. */
  readonly namespace?: string;
  /** Its name. */
  readonly name: string;
  /** The datastore's version of it. */
  readonly resourceVersion: string;
}

/** A stored object: anything with {@link StoredObjectMetadata}. */
export interface StoredObjectLike {
  /** What names it. */
  readonly metadata: StoredObjectMetadata;
}

/** A stored object and the kind id it was listed under (`networkpolicies.networking.k8s.io`). */
export interface ListedObject<T extends StoredObjectLike = StoredObjectLike> {
  /** The kind id, as kubectl names it. */
  readonly kindId: string;
  /** The object. */
  readonly resource: T;
}

/** `networkpolicies.networking.k8s.io/x/deny@42`: a stored object as explain names it. */
export function objectText(kindId: string, resource: StoredObjectLike): string {
  const { namespace, name, resourceVersion } = resource.metadata;
  return `${kindId}/${namespace === undefined ? '' : `${namespace}/`}${name}@${resourceVersion}`;
}

/** Policies, tiers and network sets compiled from objects of any origin `S`, and the origin of each policy. */
export interface CompiledObjects<S> {
  /** Every policy compiled, in input order. */
  readonly policies: Policy[];
  /** Every tier compiled. */
  readonly tiers: Tier[];
  /** Every network set compiled. */
  readonly networkSets: NetworkSet[];
  /** The origin of each policy (by its ref object, and by `formatPolicyRef`). */
  readonly sources: Map<PolicyRef | string, S>;
  /** The objects the engine refused, with its error. */
  readonly refused: {
    /** The object as it was given. */
    readonly origin: S;
    /** Why the engine refused it. */
    readonly error: PolicyEngineError;
  }[];
}

/**
 * Compiles resource objects (policies of the three dialects, tiers, network sets) of any
 * origin: the documents of files or the objects of a datastore. Objects the engine
 * refuses are collected in `refused`.
 * @throws whatever `valueOf` or the compiler throws that is not a {@link PolicyEngineError}.
 */
export function compilePolicyObjects<S>(items: readonly S[], valueOf: (item: S) => unknown): CompiledObjects<S> {
  const out: CompiledObjects<S> = { policies: [], tiers: [], networkSets: [], sources: new Map(), refused: [] };
  for (const item of items) {
    try {
      const compiled = compileResourceDocument(valueOf(item));
      for (const policy of compiled.policies) {
        out.sources.set(policy.ref, item);
        out.sources.set(formatPolicyRef(policy.ref), item);
      }
      out.policies.push(...compiled.policies);
      out.tiers.push(...compiled.tiers);
      out.networkSets.push(...compiled.networkSets);
    } catch (error) {
      if (!(error instanceof PolicyEngineError)) throw error;
      out.refused.push({ origin: item, error });
    }
  }
  return out;
}

/** Which object of a snapshot's input an error of `createSnapshot` is about, and its field there. */
export interface SnapshotErrorPlace {
  /** The input collection. */
  readonly collection: 'endpoints' | 'policies';
  /** The index in it. */
  readonly index: number;
  /** The field of the endpoint or policy (`ips[1]`), `''` for the whole. */
  readonly field: string;
}

/** The place a `createSnapshot` error names (its path is `endpoints[3].ips[0]`, `policies[2]`); `undefined` for another path. */
export function snapshotErrorPlace(error: PolicyEngineError): SnapshotErrorPlace | undefined {
  const match = /^(endpoints|policies)\[(\d+)\]\.?(.*)$/.exec(error.path);
  if (match === null) return undefined;
  return { collection: match[1] as 'endpoints' | 'policies', index: Number(match[2]), field: match[3] ?? '' };
}

/** What a datastore holds that a verdict depends on, as listed. */
export interface LiveObjects<R extends EndpointRecordInput = EndpointRecordInput> {
  /** The Namespace objects. */
  readonly namespaces: readonly StoredObjectLike[];
  /** The Pod objects. */
  readonly pods: readonly StoredObjectLike[];
  /** The policies, tiers and network sets of every dialect, with the kind each was listed under. */
  readonly policies: readonly ListedObject[];
  /** Every node's endpoint records. */
  readonly records: readonly R[];
  /** The reader's node: a record that names no node is on it. */
  readonly node: string;
}

/** The snapshot of the live objects, where each policy came from, and what had to be left out. */
export interface LiveSnapshot {
  /** The engine's snapshot. */
  readonly snapshot: Snapshot;
  /** The objects the snapshot was built from (to feed a `PolicyIndex` the same). */
  readonly input: {
    /** The namespaces the engine accepted. */
    readonly namespaces: readonly Namespace[];
    /** One endpoint per pod with a record, in record order. */
    readonly endpoints: readonly Endpoint[];
    /** The policies the engine accepted. */
    readonly policies: readonly Policy[];
    /** The tiers the engine accepted. */
    readonly tiers: readonly Tier[];
    /** The network sets the engine accepted. */
    readonly networkSets: readonly NetworkSet[];
  };
  /** Where each policy is stored: its object, and the object and a field's path. */
  readonly locator: PolicyLocator;
  /** The endpoints of the snapshot (the pods the agent enforces policy for), in `namespace/name` order. */
  readonly pods: readonly ProbePod[];
  /** Pods with no endpoint record: the agent enforces nothing for them. */
  readonly unenforced: readonly ProbePod[];
  /** Objects the engine refused, one line each (`pods/x/a@3: ...`); the agent leaves them out too. */
  readonly leftOut: readonly string[];
}

/** The live objects contradict each other (two pods with one address, a policy in a tier that does not exist). */
export interface LiveSnapshotConflict {
  /** The stored object concerned (`pods/x/b@2`, `endpoint record c1 (x/a, no pod)`); absent when the error names none. */
  readonly object?: string;
  /** What is wrong: the field and reason when `object` is known, else the whole message. */
  readonly text: string;
  /** The engine's error. */
  readonly error: PolicyEngineError;
}

/** {@link buildLiveSnapshot}'s answer: the snapshot, or the conflict that prevents one. */
export type LiveSnapshotResult =
  | {
      /** The snapshot was built. */
      readonly ok: true;
      /** The snapshot and what was left out. */
      readonly live: LiveSnapshot;
    }
  | {
      /** The objects contradict each other. */
      readonly ok: false;
      /** Which object, and what. */
      readonly conflict: LiveSnapshotConflict;
    };

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const podText = (pod: ProbePod): string => `${pod.namespace}/${pod.name}`;

/**
 * The engine's snapshot of live objects. Objects the engine refuses are left out (and
 * said in `leftOut`), as the agent leaves them out; a Pod whose labels are refused
 * leaves its endpoint enforced without labels.
 * @throws whatever is thrown that is not a {@link PolicyEngineError}.
 */
export function buildLiveSnapshot<R extends EndpointRecordInput>(live: LiveObjects<R>): LiveSnapshotResult {
  const leftOut: string[] = [];
  const podsByKey = new Map(live.pods.map((pod) => [`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`, pod]));
  const namespaces: Namespace[] = [];
  for (const resource of live.namespaces) {
    try {
      namespaces.push(namespaceFromResource(resource));
    } catch (error) {
      if (!(error instanceof PolicyEngineError)) throw error;
      leftOut.push(`${objectText('namespaces', resource)}: ${reason(error)}`);
    }
  }
  const built = endpointsFromRecords(live.records, (key) => podsByKey.get(key), live.node);
  const endpoints: Endpoint[] = built.map((b) => b.endpoint);
  // What a snapshot error names: the Pod of the endpoint, or else its record.
  const endpointObjects = built.map(({ key, record }) => {
    const pod = podsByKey.get(key.key);
    return pod === undefined ? `endpoint record ${record.containerId} (${key.key}, no pod)` : objectText('pods', pod);
  });
  for (const { key, podError } of built) {
    const pod = podsByKey.get(key.key);
    if (podError !== undefined && pod !== undefined) leftOut.push(`${objectText('pods', pod)}: ${podError.message} (its endpoint is enforced without labels, as the agent does)`);
  }
  const enforced = new Set(built.map((b) => b.key.key));
  const unenforced = [...podsByKey.keys()].filter((key) => !enforced.has(key)).sort().map((key) => {
    const [namespace = 'default', ...name] = key.split('/');
    return { namespace, name: name.join('/') };
  });
  const compiled = compilePolicyObjects(live.policies, (o) => o.resource);
  for (const { origin, error } of compiled.refused) leftOut.push(`${objectText(origin.kindId, origin.resource)}: ${reason(error)}`);
  const sourceOf = (ref: PolicyRef): string | undefined => {
    const origin = compiled.sources.get(ref) ?? compiled.sources.get(formatPolicyRef(ref));
    return origin === undefined ? undefined : objectText(origin.kindId, origin.resource);
  };
  const locator: PolicyLocator = {
    source: sourceOf,
    field: (ref, path) => {
      const source = sourceOf(ref);
      return source === undefined ? undefined : `${source} ${path}`;
    },
  };
  const input = { namespaces, endpoints, policies: compiled.policies, tiers: compiled.tiers, networkSets: compiled.networkSets };
  let snapshot: Snapshot;
  try {
    snapshot = createSnapshot(input);
  } catch (error) {
    if (!(error instanceof PolicyEngineError)) throw error;
    const place = snapshotErrorPlace(error);
    const pod = place?.collection === 'endpoints' ? endpointObjects[place.index] : undefined;
    const policy = place?.collection === 'policies' ? compiled.policies[place.index] : undefined;
    const object = pod ?? (policy === undefined ? undefined : sourceOf(policy.ref));
    const field = place?.field === undefined || place.field === '' ? '' : `${place.field}: `;
    return { ok: false, conflict: { ...(object === undefined ? {} : { object }), text: object === undefined ? error.message : `${field}${error.reason}`, error } };
  }
  const pods = endpoints.map((e) => ({ namespace: e.namespace ?? 'default', name: e.name })).sort((a, b) => podText(a).localeCompare(podText(b)));
  return { ok: true, live: { snapshot, input, locator, pods, unenforced, leftOut } };
}
