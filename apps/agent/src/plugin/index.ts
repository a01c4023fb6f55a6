// The twill CNI plugin. Re-exported by name from the package root.
export {
  TWILL_DATAPLANES,
  TWILL_LOG_LEVELS,
  type TwillLogLevel,
  TWILL_DATASTORES,
  type TwillDatastoreType,
  TWILL_DEFAULTS,
  TWILL_DATABASE_FILE,
  IN_PROCESS_IPAM_TYPE,
  type TwillIpamConfig,
  type TwillConfig,
  type ParseTwillConfigOptions,
  parseTwillConfig,
  databasePath,
} from './config.js';
export {
  TWILL_PLUGIN_ERROR,
  TwillPluginError,
  LinkExistsError,
  AttachmentDriftError,
  AttachmentExistsError,
  NetnsMissingError,
  DatastoreNotReadyError,
  AgentNotRunningError,
  DatastoreMismatchError,
  PodArgsMissingError,
  PodNotFoundError,
} from './errors.js';
export { HOST_INTERFACE_PREFIX, POD_GATEWAY_V4, POD_GATEWAY_V6, hostInterfaceName } from './names.js';
export {
  type PodPlumbingRequest,
  type PlumbedPod,
  type PodUnplumbRequest,
  type Plumbing,
  type EndpointRecord,
  type EndpointRegistry,
  type EndpointPolicyHooks,
  type Datastore,
  type DelegateIpam,
  type TwillLogger,
  type TwillPluginPorts,
  type PodDirectory,
} from './ports.js';
export { ENDPOINT_ROOT, StoreEndpointRegistry, endpointRegistryWithPolicy } from './endpoints.js';
export { type IpamAnswer, fullLength } from './ipam.js';
export { createTwillPluginHandlers } from './handlers.js';
export { type VethPlumbingOptions, createVethPlumbing } from './sys/veth-plumbing.js';
export { openTwillStore, datastoreOver, pinoLoggers, type NodeTwillPluginPortsOptions, nodeTwillPluginPorts, runTwill } from './sys/main.js';
export { type ServeTwillOptions, type ServedDatastore, serveTwill } from './sys/serve.js';
export {
  TWILL_PLUGIN_NAME,
  type TwillLauncherOptions,
  twillSourceLauncher,
  twillBuiltLauncher,
  type InstallTwillOptions,
  installTwill,
} from './sys/install.js';
