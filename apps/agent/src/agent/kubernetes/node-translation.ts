// Core v1 Node ↔ Calico Node (`nodes.projectcalico.org`), as Calico's Kubernetes datastore
// presents them: the Node is kubelet's object, and Calico's BGP settings live in its
// annotations. Pure.
import { type AgentResource, type StoredResource } from '../ports.js';
import { type KubeObject } from './kinds.js';

/** The Node annotations that hold Calico Node's `spec.bgp` fields. */
export const NODE_BGP_ANNOTATIONS = {
  /** `spec.bgp.ipv4Address`, with its prefix length: `10.0.0.1/24`. */
  ipv4Address: 'projectcalico.org/IPv4Address',
  /** `spec.bgp.ipv6Address`, with its prefix length: `fd00::1/64`. */
  ipv6Address: 'projectcalico.org/IPv6Address',
  /** `spec.bgp.asNumber`, in decimal. */
  asNumber: 'projectcalico.org/ASNumber',
  /** `spec.bgp.routeReflectorClusterID`: `244.0.0.1`. */
  routeReflectorClusterID: 'projectcalico.org/RouteReflectorClusterID',
} as const;

type BgpField = keyof typeof NODE_BGP_ANNOTATIONS;
const BGP_FIELDS = Object.keys(NODE_BGP_ANNOTATIONS) as BgpField[];
const BGP_ANNOTATION_KEYS: readonly string[] = Object.values(NODE_BGP_ANNOTATIONS);

// The Node address types Calico's Node keeps (Hostname and the DNS ones are names, not addresses).
const ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP']);

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function bgpFromAnnotations(annotations: Readonly<Record<string, string>>): Record<string, unknown> {
  const bgp: Record<string, unknown> = {};
  for (const field of BGP_FIELDS) {
    const text = annotations[NODE_BGP_ANNOTATIONS[field]];
    if (text === undefined || text === '') continue;
    if (field === 'asNumber') {
      // A malformed AS is left out (the Node is still a Node); validation of what we write keeps ours right.
      if (/^[0-9]+$/.test(text)) bgp[field] = Number(text);
    } else {
      bgp[field] = text;
    }
  }
  return bgp;
}

/**
 * A core v1 Node as Calico's Node: `spec.bgp` from the `projectcalico.org/*` annotations
 * ({@link NODE_BGP_ANNOTATIONS}), `spec.addresses` from `status.addresses` (InternalIP and
 * ExternalIP), `spec.orchRefs` naming the Node, labels the Node's, annotations the Node's
 * other ones. `metadata` is the stored metadata of the Node (kinds.ts `storedMetadata`).
 */
export function calicoNodeFromCoreNode(node: KubeObject, apiVersion: string, metadata: StoredResource['metadata']): StoredResource {
  const all = metadata.annotations ?? {};
  const others = Object.fromEntries(Object.entries(all).filter(([key]) => !BGP_ANNOTATION_KEYS.includes(key)));
  const bgp = bgpFromAnnotations(all);
  const status = record(node['status']) ?? {};
  const addresses = (Array.isArray(status['addresses']) ? status['addresses'] : [])
    .map((a) => record(a) ?? {})
    .filter((a) => typeof a['address'] === 'string' && typeof a['type'] === 'string' && ADDRESS_TYPES.has(a['type']))
    .map((a) => ({ address: a['address'] as string, type: a['type'] as string }));
  const { annotations: _a, ...rest } = metadata;
  return {
    apiVersion,
    kind: 'Node',
    metadata: { ...rest, ...(Object.keys(others).length === 0 ? {} : { annotations: others }) },
    spec: {
      ...(Object.keys(bgp).length === 0 ? {} : { bgp }),
      ...(addresses.length === 0 ? {} : { addresses }),
      orchRefs: [{ nodeName: metadata.name, orchestrator: 'k8s' }],
    },
  };
}

function wantedBgp(resource: AgentResource): Record<string, unknown> {
  const bgp = record(record(resource['spec'])?.['bgp']) ?? {};
  return Object.fromEntries(BGP_FIELDS.filter((field) => bgp[field] !== undefined).map((field) => [field, bgp[field]]));
}

/**
 * The JSON merge patch (RFC 7386) that makes the core Node `current` say what the Calico
 * Node `resource` says: the BGP annotations set from `spec.bgp` (removed when absent), and
 * the resource's labels and other annotations merged in (the Node's other labels and
 * annotations are kubelet's and stay). `spec.addresses` and `orchRefs` are the Node's own
 * and are not written.
 */
export function coreNodePatch(resource: AgentResource, current: KubeObject): { metadata: { labels?: Record<string, string>; annotations: Record<string, string | null> } } {
  const bgp = wantedBgp(resource);
  const existing = current.metadata?.annotations ?? {};
  const annotations: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(resource.metadata.annotations ?? {})) {
    if (!BGP_ANNOTATION_KEYS.includes(key)) annotations[key] = value;
  }
  for (const field of BGP_FIELDS) {
    const key = NODE_BGP_ANNOTATIONS[field];
    const value = bgp[field];
    if (value !== undefined) annotations[key] = String(value);
    else if (existing[key] !== undefined) annotations[key] = null;
  }
  const labels = resource.metadata.labels;
  return { metadata: { ...(labels === undefined || Object.keys(labels).length === 0 ? {} : { labels: { ...labels } }), annotations } };
}

/** Whether the Calico Node `current` (as {@link calicoNodeFromCoreNode} shows it) already says what `wanted` would write. */
export function calicoNodeUnchanged(current: StoredResource, wanted: AgentResource): boolean {
  const have = wantedBgp(current);
  const want = wantedBgp(wanted);
  const sameBgp = BGP_FIELDS.every((field) => have[field] === want[field]);
  const labels = current.metadata.labels ?? {};
  const annotations = current.metadata.annotations ?? {};
  return (
    sameBgp &&
    Object.entries(wanted.metadata.labels ?? {}).every(([key, value]) => labels[key] === value) &&
    Object.entries(wanted.metadata.annotations ?? {}).every(([key, value]) => BGP_ANNOTATION_KEYS.includes(key) || annotations[key] === value)
  );
}

/** The merge patch that removes every Calico BGP annotation from a Node (deleting its Calico Node). */
export function clearCalicoNodePatch(current: KubeObject): { metadata: { annotations: Record<string, null> } } | undefined {
  const existing = current.metadata?.annotations ?? {};
  const present = BGP_ANNOTATION_KEYS.filter((key) => existing[key] !== undefined);
  return present.length === 0 ? undefined : { metadata: { annotations: Object.fromEntries(present.map((key) => [key, null])) } };
}
