// The twill-ipam CNI IPAM plugin. Re-exported by name from the package root.
export {
  IPAM_PLUGIN_STORES,
  type IpamPluginStoreKind,
  DEFAULT_IPAM_DATA_DIR,
  IPAM_SQLITE_FILE,
  type IpamStoreLocation,
  type IpamPluginConfig,
  sqliteStorePath,
  parseIpamPluginConfig,
} from './config.js';
export { parseResolvConf } from './resolv-conf.js';
export { type IpamPluginPorts, STATUS_PROBE_NAME, createIpamPluginHandlers } from './handlers.js';
export { type SourceLauncherOptions, sourceLauncherScript } from './launcher.js';
export { openIpamStore, nodeIpamPluginPorts, runTwillIpam } from './sys/main.js';
export { type InstallSourceLauncherOptions, installSourceLauncher } from './sys/launcher.js';
