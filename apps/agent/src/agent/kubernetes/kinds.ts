// The datastore's kinds on the Kubernetes API: for each kind id of datastore/kinds.ts, the
// API resources that back it (its "backings"), their paths, and the translation of objects
// both ways. Pure: the HTTP side is sys/.
//
// Twill's own `twill.io/v1alpha1` IPPool, BGPPeer and BGPConfiguration serve the same
// datastore kinds as Calico's `crd.projectcalico.org/v1` ones (`ippools.projectcalico.org`,
// ...): both are read when both CRDs are installed, and when both hold an object of the
// same name, Twill's is the one the datastore shows (its backing has the higher priority).
// Writes go to twill.io when its CRD is installed, else to Calico's.
import { type AgentResource, type ResourceKindId, type StoredResource } from '../ports.js';
import { sameJson } from '../datastore/fields.js';
import { kindById, type ResourceKind } from '../datastore/kinds.js';
import { calicoNodeFromCoreNode } from './node-translation.js';

/** An object as the API server sends it (plain JSON). */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly resourceVersion?: string;
    readonly uid?: string;
    readonly creationTimestamp?: string;
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

/** How a backing's objects are shown as the datastore kind. */
export const PRESENTATION = {
  /** As they are (apiVersion and kind renamed to the datastore kind's). */
  OBJECT: 'object',
  /** A core v1 Pod, reduced to what the agent reads (node-translation.ts keeps the Node's). */
  POD: 'pod',
  /** A core v1 Node shown as Calico's Node (node-translation.ts). */
  NODE: 'node',
} as const;

/** One of {@link PRESENTATION}. */
export type Presentation = (typeof PRESENTATION)[keyof typeof PRESENTATION];

/** One API resource that backs a datastore kind. */
export interface ApiBacking {
  /** The API group, `''` for core. */
  readonly group: string;
  readonly version: string;
  /** The resource (plural): `ippools`. */
  readonly plural: string;
  /** The `kind` its objects carry. */
  readonly kind: string;
  readonly namespaced: boolean;
  /** The CRD that serves it (`ippools.twill.io`); absent for built-in resources, always served. */
  readonly crd?: string;
  /** On a name clash between backings of one kind, the higher wins (Twill's over Calico's). */
  readonly priority: number;
  readonly presentation: Presentation;
}

/** `group/version`, or the version alone for the core group. */
export function apiVersionOf(backing: Pick<ApiBacking, 'group' | 'version'>): string {
  return backing.group === '' ? backing.version : `${backing.group}/${backing.version}`;
}

/** A short name for messages and logs: `ippools.twill.io/v1alpha1`, `pods/v1`. */
export function backingName(backing: ApiBacking): string {
  return backing.group === '' ? `${backing.plural}/${backing.version}` : `${backing.plural}.${backing.group}/${backing.version}`;
}

function builtIn(group: string, version: string, plural: string, kind: string, namespaced: boolean, presentation: Presentation = PRESENTATION.OBJECT): ApiBacking {
  return { group, version, plural, kind, namespaced, priority: 0, presentation };
}

function crd(group: string, version: string, plural: string, kind: string, namespaced: boolean, priority = 1): ApiBacking {
  return { group, version, plural, kind, namespaced, crd: `${plural}.${group}`, priority, presentation: PRESENTATION.OBJECT };
}

const calico = (plural: string, kind: string, namespaced: boolean): ApiBacking => crd('crd.projectcalico.org', 'v1', plural, kind, namespaced);
const cilium = (plural: string, kind: string, namespaced: boolean): ApiBacking => crd('cilium.io', 'v2', plural, kind, namespaced);
const twill = (plural: string, kind: string): ApiBacking => crd('twill.io', 'v1alpha1', plural, kind, false, 2);

const BACKINGS: ReadonlyMap<ResourceKindId, readonly ApiBacking[]> = new Map<ResourceKindId, readonly ApiBacking[]>([
  ['namespaces', [builtIn('', 'v1', 'namespaces', 'Namespace', false)]],
  ['pods', [builtIn('', 'v1', 'pods', 'Pod', true, PRESENTATION.POD)]],
  ['networkpolicies.networking.k8s.io', [builtIn('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', true)]],
  ['networkpolicies.projectcalico.org', [calico('networkpolicies', 'NetworkPolicy', true)]],
  ['globalnetworkpolicies.projectcalico.org', [calico('globalnetworkpolicies', 'GlobalNetworkPolicy', false)]],
  ['networksets.projectcalico.org', [calico('networksets', 'NetworkSet', true)]],
  ['globalnetworksets.projectcalico.org', [calico('globalnetworksets', 'GlobalNetworkSet', false)]],
  ['tiers.projectcalico.org', [calico('tiers', 'Tier', false)]],
  ['ciliumnetworkpolicies.cilium.io', [cilium('ciliumnetworkpolicies', 'CiliumNetworkPolicy', true)]],
  ['ciliumclusterwidenetworkpolicies.cilium.io', [cilium('ciliumclusterwidenetworkpolicies', 'CiliumClusterwideNetworkPolicy', false)]],
  ['nodes.projectcalico.org', [builtIn('', 'v1', 'nodes', 'Node', false, PRESENTATION.NODE)]],
  ['bgppeers.projectcalico.org', [twill('bgppeers', 'BGPPeer'), calico('bgppeers', 'BGPPeer', false)]],
  ['bgpconfigurations.projectcalico.org', [twill('bgpconfigurations', 'BGPConfiguration'), calico('bgpconfigurations', 'BGPConfiguration', false)]],
  ['ippools.projectcalico.org', [twill('ippools', 'IPPool'), calico('ippools', 'IPPool', false)]],
]);

/**
 * The API resources backing a datastore kind, highest priority first.
 * @throws Error for a kind id datastore/kinds.ts does not have (a programming error: ids come from resolveKind).
 */
export function apiBackings(kindId: ResourceKindId): readonly ApiBacking[] {
  const backings = BACKINGS.get(kindId);
  if (backings === undefined) throw new Error(`no API backing for kind ${kindId}`);
  return backings;
}

/** Every kind id with its backings (the datastore's informers). */
export function allApiBackings(): ReadonlyMap<ResourceKindId, readonly ApiBacking[]> {
  return BACKINGS;
}

/**
 * Where writes of a kind go: its highest-priority backing that is served (built in, or its
 * CRD among `installedCrds`); `undefined` when none is.
 */
export function writeBacking(kindId: ResourceKindId, installedCrds: ReadonlySet<string>): ApiBacking | undefined {
  return apiBackings(kindId).find((b) => b.crd === undefined || installedCrds.has(b.crd));
}

/** The collection's path: `/api/v1/namespaces/x/pods`, `/apis/twill.io/v1alpha1/ippools` (every namespace when `namespace` is absent). */
export function collectionPath(backing: ApiBacking, namespace?: string): string {
  const root = backing.group === '' ? `/api/${backing.version}` : `/apis/${backing.group}/${backing.version}`;
  const scope = backing.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${scope}/${backing.plural}`;
}

/** One object's path. */
export function objectPath(backing: ApiBacking, name: string, namespace?: string): string {
  return `${collectionPath(backing, namespace)}/${encodeURIComponent(name)}`;
}

/** The cache key of an object: `namespace/name`, or `name` for cluster-wide ones. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

function kindOf(kindId: ResourceKindId): ResourceKind {
  const kind = kindById(kindId);
  if (kind === undefined) throw new Error(`unknown kind id ${kindId}`);
  return kind;
}

/**
 * The metadata a stored resource keeps from an API object: name, namespace, labels,
 * annotations, resourceVersion, uid, creationTimestamp (managedFields, generation and the
 * rest are dropped).
 */
export function storedMetadata(object: KubeObject, dropAnnotations: readonly string[] = []): StoredResource['metadata'] {
  const m = object.metadata ?? {};
  let annotations = m.annotations;
  if (annotations !== undefined && dropAnnotations.some((key) => Object.hasOwn(annotations ?? {}, key))) {
    annotations = Object.fromEntries(Object.entries(annotations).filter(([key]) => !dropAnnotations.includes(key)));
  }
  return {
    name: m.name ?? '',
    ...(m.namespace === undefined || m.namespace === '' ? {} : { namespace: m.namespace }),
    ...(m.labels === undefined || Object.keys(m.labels).length === 0 ? {} : { labels: m.labels }),
    ...(annotations === undefined || Object.keys(annotations).length === 0 ? {} : { annotations }),
    resourceVersion: m.resourceVersion ?? '',
    uid: m.uid ?? '',
    creationTimestamp: m.creationTimestamp ?? '',
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

// kubectl's copy of the last applied manifest: often the largest part of a Pod, never read.
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A Pod reduced to what the agent reads: labels, namespace, node, service account, host network, named ports, phase and IPs. */
function podFromApi(object: KubeObject, apiVersion: string, kind: string): StoredResource {
  const spec = record(object['spec']) ?? {};
  const status = record(object['status']) ?? {};
  const containers = Array.isArray(spec['containers']) ? spec['containers'] : [];
  const keptSpec: Record<string, unknown> = {
    containers: containers.map((c) => {
      const container = record(c) ?? {};
      const ports = (Array.isArray(container['ports']) ? container['ports'] : []).filter((p) => typeof record(p)?.['name'] === 'string');
      return { name: container['name'], ...(ports.length === 0 ? {} : { ports }) };
    }),
  };
  for (const key of ['nodeName', 'serviceAccountName', 'hostNetwork']) if (spec[key] !== undefined) keptSpec[key] = spec[key];
  const keptStatus: Record<string, unknown> = {};
  for (const key of ['phase', 'podIP', 'podIPs']) if (status[key] !== undefined) keptStatus[key] = status[key];
  return {
    apiVersion,
    kind,
    metadata: storedMetadata(object, [LAST_APPLIED]),
    spec: keptSpec,
    ...(Object.keys(keptStatus).length === 0 ? {} : { status: keptStatus }),
  };
}

/** An API object of `backing` as the datastore kind `kindId` shows it (apiVersion the kind's preferred one, `projectcalico.org/v3`). */
export function fromApiObject(kindId: ResourceKindId, backing: ApiBacking, object: KubeObject): StoredResource {
  const kind = kindOf(kindId);
  const apiVersion = kind.apiVersions[0] ?? apiVersionOf(backing);
  if (backing.presentation === PRESENTATION.POD) return podFromApi(object, apiVersion, kind.kind);
  if (backing.presentation === PRESENTATION.NODE) return calicoNodeFromCoreNode(object, apiVersion, storedMetadata(object));
  const { apiVersion: _v, kind: _k, metadata: _m, ...body } = object;
  return { apiVersion, kind: kind.kind, metadata: storedMetadata(object), ...body };
}

/**
 * The API body that writes `resource` to `backing` (create, or update with `resourceVersion`):
 * the backing's apiVersion and kind, the resource's name, namespace, labels and annotations,
 * and every other top-level field as it is. Not for Nodes (node-translation.ts patches them).
 */
export function toApiBody(backing: ApiBacking, resource: AgentResource, resourceVersion?: string): KubeObject {
  const { apiVersion: _v, kind: _k, metadata, ...body } = resource;
  return {
    apiVersion: apiVersionOf(backing),
    kind: backing.kind,
    metadata: {
      name: metadata.name,
      ...(backing.namespaced && metadata.namespace !== undefined ? { namespace: metadata.namespace } : {}),
      ...(metadata.labels === undefined ? {} : { labels: metadata.labels }),
      ...(metadata.annotations === undefined ? {} : { annotations: metadata.annotations }),
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    ...body,
  };
}

// Labels the API server sets itself (and forbids changing): not the user's to compare.
const SERVER_LABELS = ['kubernetes.io/metadata.name'];

function withoutServerLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => !SERVER_LABELS.includes(key)));
}

/**
 * Whether applying `wanted` over `current` (the object as the API holds it) changes
 * nothing: the same labels and annotations, and each top-level body field `wanted` has
 * (`spec`, ...) equal. A field `wanted` leaves out is the server's (a Namespace's
 * `spec.finalizers`), and `status` is always the server's.
 */
export function sameUserFields(current: AgentResource, wanted: AgentResource): boolean {
  if (!sameJson(withoutServerLabels(current.metadata.labels), withoutServerLabels(wanted.metadata.labels))) return false;
  if (!sameJson(current.metadata.annotations ?? {}, wanted.metadata.annotations ?? {})) return false;
  const { apiVersion: _v, kind: _k, metadata: _m, status: _s, ...body } = wanted;
  return Object.entries(body).every(([key, value]) => sameJson(current[key], value));
}
