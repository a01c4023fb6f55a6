// Where resources live in the store: `twill-resources/<kind id>/<namespace or "-">/<name>`,
// one JSON document each (without resourceVersion: the revision is the store's). Listing
// a namespaced kind across namespaces needs the namespaces in use, because a store lists
// only the entries directly under a prefix: `twill-resource-namespaces/<kind id>/<namespace>`
// exists while the kind has an object in that namespace.
import { type ResourceKindId } from '../ports.js';

/** The first key segment of resource documents. */
export const RESOURCE_ROOT = 'twill-resources';

/** The first key segment of the namespaces-in-use index. */
export const RESOURCE_NAMESPACE_ROOT = 'twill-resource-namespaces';

/** The namespace segment of cluster-wide kinds. */
export const CLUSTER_SEGMENT = '-';

/** The prefix the objects of a kind in one namespace (or of a cluster-wide kind) are directly under. */
export function resourcePrefix(kind: ResourceKindId, namespace: string | undefined): string {
  return `${RESOURCE_ROOT}/${kind}/${namespace ?? CLUSTER_SEGMENT}/`;
}

/** The key of one object. */
export function resourceKey(kind: ResourceKindId, namespace: string | undefined, name: string): string {
  return `${resourcePrefix(kind, namespace)}${name}`;
}

/** The prefix the namespaces-in-use entries of a namespaced kind are under. */
export function namespaceIndexPrefix(kind: ResourceKindId): string {
  return `${RESOURCE_NAMESPACE_ROOT}/${kind}/`;
}

/** The namespaces-in-use entry of a kind and namespace. */
export function namespaceIndexKey(kind: ResourceKindId, namespace: string): string {
  return `${namespaceIndexPrefix(kind)}${namespace}`;
}
