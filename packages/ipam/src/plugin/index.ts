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
export { type IpamPluginPorts, STATUS_PROBE_NAME } from './ports.js';
export { createIpamPluginHandlers } from './handlers.js';
export { type PoolPluginConfig, type ParsePoolPluginOptions, usesPools, parsePoolPluginConfig } from './pool-config.js';
export { type PoolAllocatorLease, type PoolAllocatorSource } from './pool-handlers.js';
export { type SourceLauncherOptions, sourceLauncherScript } from './launcher.js';
export { openIpamStore, nodeIpamPluginPorts, runTwillIpam } from './sys/main.js';
export {
  type InstallSourceLauncherOptions,
  installSourceLauncher,
  type InstallForwardedIpamOptions,
  installForwardedIpam,
} from './sys/launcher.js';
export { DEFAULT_AGENT_SOCKET, type ServeIpamOptions, serveIpam } from './sys/serve.js';
export { runServeCommand } from './sys/serve-command.js';
