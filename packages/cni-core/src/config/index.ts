// Network configuration, the runtime side (CNI SPEC §1 "Network configuration format"
// and §3 "Deriving execution configuration"). The lead re-exports these from src/index.ts.
export {
  formatFieldPath,
  fieldError,
  withSource,
  describeJsonType,
  type FieldPath,
} from './field-error.js';
export {
  isJsonRecord,
  expectObject,
  expectString,
  expectNonEmptyString,
  expectBoolean,
  expectArray,
  expectStringArray,
  expectIpAddress,
  expectCidr,
  type JsonRecord,
} from './field-checks.js';
export { decodeJson, decodeJsonObject, MAX_JSON_DEPTH } from './json-decode.js';
export { encodeJson, jsonToPlain, plainToJson, type JsonNode, type JsonObjectNode } from './json-node.js';
export { selectCniVersion } from './versions.js';
export {
  NETWORK_CONFIG_FORMAT,
  type NetworkConfigFormat,
  type NetworkConfigList,
  type ListPluginConfig,
  type DnsConfig,
  type DecodeConfigOptions,
} from './types.js';
export { validatePluginObject, decodeListPluginConfig, validateDns } from './plugin-config.js';
export {
  decodeNetworkConfigList,
  decodeNetworkConfigListParts,
  completeNetworkConfigList,
  decodeNetworkConfig,
  encodeNetworkConfigList,
  checkNetworkName,
  type DecodeListOptions,
  type NetworkConfigListParts,
} from './network-config.js';
export {
  selectRuntimeConfig,
  buildPluginConfig,
  buildPluginStdin,
  type PluginInvocation,
} from './runtime-config.js';
export {
  CONFIG_FILE_EXTENSIONS,
  orderConfigFiles,
  loadNetworkConfigList,
  listNetworkConfigs,
  type ConfigDirectory,
  type ConfigFile,
  type NetworkConfigEntry,
} from './directory.js';
export {
  DEFAULT_CNI_CONFIG_DIR,
  nodeConfigDirectory,
  loadNetworkConfigListFromDir,
  listNetworkConfigsInDir,
} from './sys/node-config-directory.js';
