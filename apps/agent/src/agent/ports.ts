// The contracts between twill-agent's parts: the resource datastore (datastore/), the
// controllers (controllers/), metrics (metrics.ts) and the composition root (agent.ts).
// Each part is written and tested against these interfaces; agent.ts wires the real ones.
import { type Store } from '@twill/ipam';

/** A resource's metadata, as Kubernetes objects carry it. */
export interface ResourceMetadata {
  readonly name: string;
  /** Absent for cluster-wide kinds. */
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** The store's revision of the stored object; on `apply`, a compare-and-swap condition. */
  readonly resourceVersion?: string;
  /** Set by the datastore on first write (ISO 8601). */
  readonly creationTimestamp?: string;
  readonly uid?: string;
}

/** A resource as users write it: `apiVersion`, `kind`, `metadata`, and the kind's body (`spec`, ...). */
export interface AgentResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ResourceMetadata;
  readonly [field: string]: unknown;
}

/** A resource read back from the datastore: it always has its `resourceVersion`. */
export interface StoredResource extends AgentResource {
  readonly metadata: ResourceMetadata & { readonly resourceVersion: string; readonly creationTimestamp: string; readonly uid: string };
}

/**
 * A kind's id: its plural and API group, as kubectl names it (`networkpolicies.networking.k8s.io`,
 * `networkpolicies.projectcalico.org`, `pods` for the core group). The table of kinds is
 * datastore/kinds.ts (RESOURCE_KINDS).
 */
export type ResourceKindId = string;

/** One change the watch saw: the object after an upsert, or the last known one before a delete. */
export interface ResourceEvent {
  readonly type: 'upsert' | 'delete';
  readonly kind: ResourceKindId;
  readonly resource: StoredResource;
}

/** What `apply` did. */
export interface ApplyOutcome {
  readonly resource: StoredResource;
  /** `created`, `configured` (changed), or `unchanged` (the same object was already stored: idempotent). */
  readonly action: 'created' | 'configured' | 'unchanged';
}

/** A running watch; `close()` stops it (no handler call starts after it resolves). */
export interface ResourceWatch {
  close(): Promise<void>;
}

/**
 * The agent's datastore of resources (the embedded SQLite store, later the Kubernetes API).
 * Several processes may share it (the agents of a lab, the CLI).
 */
export interface ResourceDatastore {
  /** The store the IPAM pools and endpoint records live in (the same database). */
  readonly store: Store;
  get(kind: ResourceKindId, name: string, namespace?: string): Promise<StoredResource | undefined>;
  /** Every resource of a kind (of one namespace when given), ordered by namespace then name. */
  list(kind: ResourceKindId, namespace?: string): Promise<readonly StoredResource[]>;
  /**
   * Validates and writes a resource (create or update). With `metadata.resourceVersion`
   * the write happens only if the stored object is still at that version.
   * @throws ResourceValidationError naming the field path; ResourceConflictError on a stale resourceVersion.
   */
  apply(resource: AgentResource): Promise<ApplyOutcome>;
  /** Deletes a resource; false when there was none. */
  delete(kind: ResourceKindId, name: string, namespace?: string): Promise<boolean>;
  /**
   * Watches kinds: `handler` gets the current objects as upserts first (one batch), then
   * each change seen since, in batches; calls are serialised (the next batch waits for the
   * handler's promise). Changes by other processes are seen within the poll interval.
   */
  watch(kinds: readonly ResourceKindId[], handler: (events: readonly ResourceEvent[]) => void | Promise<void>): Promise<ResourceWatch>;
  /**
   * Watches raw store entries directly under `prefix` (such as the plugin's endpoint
   * records `twill-endpoints/<network>/`): the same batching and ordering as `watch`.
   */
  watchEntries(prefix: string, handler: (events: readonly EntryEvent[]) => void | Promise<void>): Promise<ResourceWatch>;
  /**
   * Optional (the Kubernetes datastore): one key of a Secret, decoded from base64, or
   * `undefined` when the Secret or the key does not exist. BGPPeer's
   * `password.secretKeyRef` is read from the agent's own namespace through it.
   * @throws ResourceDatastoreError when the API refuses (RBAC) or cannot be reached.
   */
  readSecret?(namespace: string, name: string, key: string): Promise<string | undefined>;
  /**
   * Optional (the Kubernetes datastore): merges annotations into an object's
   * `metadata.annotations` without touching anything else (a JSON merge patch); a `null`
   * value removes that annotation. Used to record a pod's IPs on its Pod
   * (`cni.projectcalico.org/podIP(s)`, as kubelet-side tooling and users expect them).
   * With `options.resourceVersion`, only if the object is still at that version.
   * @returns false when the object does not exist.
   * @throws ResourceConflictError when `options.resourceVersion` is no longer the object's.
   */
  annotate?(
    kind: ResourceKindId,
    name: string,
    namespace: string | undefined,
    annotations: Readonly<Record<string, string | null>>,
    options?: { readonly resourceVersion?: string },
  ): Promise<boolean>;
  /**
   * Where the datastore lives, for `/v1/status` and messages: the SQLite file's path, or
   * the API server's URL.
   */
  readonly location?: string;
}

/** A raw entry change (see {@link ResourceDatastore.watchEntries}). */
export interface EntryEvent {
  readonly type: 'upsert' | 'delete';
  readonly key: string;
  /** The value after an upsert, the last known value before a delete. */
  readonly value: string;
}

/** One part of the agent with a life cycle: the endpoint, policy, route and BGP controllers. */
export interface AgentController {
  readonly name: string;
  /** Adopts what the kernel holds, reconciles with the datastore, and starts watching. */
  start(): Promise<void>;
  /** Whether the controller has reconciled at least once and is working (for /readyz). */
  ready(): boolean;
  /** Stops watching; leaves the kernel state in place (enforcement and routes outlive the agent). */
  stop(): Promise<void>;
}

/** What the controllers report to Prometheus (metrics.ts implements it with prom-client). */
export interface AgentMetrics {
  /** One CNI request served (`ADD`, `DEL`, ...), its outcome and duration. */
  observeCniRequest(command: string, outcome: 'success' | 'error', seconds: number): void;
  /** One dataplane apply: from the change seen to the kernel programmed. */
  observePolicyProgramming(seconds: number): void;
  /** Endpoints on this node. */
  setEndpoints(count: number): void;
  /** A BGP peer's session state (`Established`, `Idle`, ...); `undefined` removes the peer. */
  setBgpPeerState(peer: string, state: string | undefined): void;
}

/** The pino subset the agent's parts log through. */
export interface AgentLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
