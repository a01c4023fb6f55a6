// The plugin side of the exec protocol. Re-exported by name from the package root.
export { runPlugin, FAILURE_EXIT_CODE } from './run-plugin.js';
export { runPluginMain } from './sys/main.js';
export {
  INTERNAL_ERROR_CODE,
  type PluginHandlers,
  type PluginIo,
  type TextSink,
  type RequestBase,
  type AttachmentRequest,
  type AddRequest,
  type CheckRequest,
  type DelRequest,
  type GcRequest,
  type StatusRequest,
  type MaybePromise,
} from './types.js';
export {
  CNI_COMMANDS,
  CNI_ENV_VARS,
  REQUIRED_ENV,
  MINIMUM_VERSION,
  type CniCommand,
  type CniEnvVar,
  isCniCommand,
} from './commands.js';
export {
  type CniEnvironment,
  type EnvironmentVariables,
  type ReadEnvironmentOptions,
  readCniEnvironment,
  validateContainerId,
  validateInterfaceName,
} from './environment.js';
export { type CniArgs, type ParseCniArgsOptions, IGNORE_UNKNOWN_KEY, parseCniArgs } from './cni-args.js';
export { type PluginConfig, type IpamConfig, decodePluginConfig, readConfigVersion } from './plugin-config.js';
export { type PluginInput, DEFAULT_MAX_STDIN_BYTES, readBoundedInput } from './stdin.js';
