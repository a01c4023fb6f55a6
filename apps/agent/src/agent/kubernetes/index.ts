// The Kubernetes datastore's public parts, re-exported by name.
export {
  allApiBackings,
  apiBackings,
  apiVersionOf,
  collectionPath,
  fromApiObject,
  objectPath,
  PRESENTATION,
  toApiBody,
  writeBacking,
  type ApiBacking,
  type KubeObject,
  type Presentation,
} from './kinds.js';
export { calicoNodeFromCoreNode, coreNodePatch, NODE_BGP_ANNOTATIONS } from './node-translation.js';
export { inClusterNamespace, loadKubeConfig, SERVICE_ACCOUNT_DIR, type LoadKubeConfigOptions } from './sys/kubeconfig.js';
export { openKubernetesDatastore, type KubernetesDatastore, type OpenKubernetesDatastoreOptions } from './sys/datastore.js';
