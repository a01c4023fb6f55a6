// The resource datastore's public parts, re-exported by name.
export {
  RESOURCE_ERROR_CODE,
  ResourceConflictError,
  ResourceContendedError,
  ResourceDatastoreError,
  ResourceValidationError,
  UnknownResourceKindError,
  type ResourceErrorCode,
  type ResourceFieldProblem,
} from './errors.js';
export { kindById, POLICY_DIALECT, RESOURCE_KIND_IDS, RESOURCE_KINDS, resolveKind, type PolicyDialect, type ResourceKind } from './kinds.js';
export { CLUSTER_SEGMENT, RESOURCE_NAMESPACE_ROOT, RESOURCE_ROOT, resourceKey, resourcePrefix } from './keys.js';
export { DEFAULT_NAMESPACE, validateResource, type ValidatedResource } from './validate.js';
export { MAX_AS_NUMBER } from './validate-calico.js';
export {
  BGP_CONFIGURATION_DEFAULTS,
  calicoSpec,
  effectiveBgpConfiguration,
  IP_POOL_BLOCK_SIZE_DEFAULTS,
  ipPoolBlockSize,
  type BgpConfigurationSpec,
  type BgpPeerSpec,
  type CalicoNodeSpec,
  type EffectiveBgpConfiguration,
  type IpPoolSpec,
} from './calico-resources.js';
export { DEFAULT_POLL_MS } from './watch.js';
export { resourceDatastoreOver, type ClosableResourceDatastore, type ResourceDatastoreOptions } from './resource-store.js';
export { openResourceDatastore, type OpenResourceDatastoreOptions } from './sys/open.js';
