// The CNI spec, plugin side: versions, results per version, conversions, VERSION/GC/STATUS
// documents. Re-exported by name from the package root.
export {
  SUPPORTED_VERSIONS,
  LATEST_VERSION,
  RESULT_FAMILIES,
  type CniVersion,
  type ResultFamily,
  type ParsedVersion,
  parseVersion,
  formatVersion,
  isSupportedVersion,
  toSupportedVersion,
  compareVersions,
  isVersionAtLeast,
  highestCommonVersion,
  resultFamily,
} from './versions.js';
export { type IpFamily, type ParsedIp, type ParsedCidr, parseIpAddress, parseCidr } from './ip.js';
export { type Dns, type Route } from './common.js';
export { RESULT_020_VERSIONS, type Result020, type IpConfig020 } from './result-020.js';
export { RESULT_040_VERSIONS, type Result040, type Interface040, type IpConfig040 } from './result-040.js';
export { RESULT_100_VERSIONS, type Result100, type Interface100, type IpConfig100 } from './result-100.js';
export {
  RESULT_110_VERSIONS,
  type Result110,
  type Interface110,
  type IpConfig110,
  type Route110,
} from './result-110.js';
export {
  type CniResult,
  type ResultFor,
  type DecodeResultOptions,
  decodeResult,
  encodeResult,
  resultToJson,
  parseJsonText,
} from './result.js';
export { type ConvertResultOptions, RESULT_CONVERTERS, convertResult } from './convert.js';
export {
  type VersionResult,
  type GcAttachment,
  VALID_ATTACHMENTS_KEY,
  LEGACY_ATTACHMENTS_KEY,
  STATUS_ERROR_CODES,
  decodeVersionResult,
  encodeVersionResult,
  decodeGcAttachments,
} from './plugin-output.js';
