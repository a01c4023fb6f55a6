// The configuration a plugin reads on stdin (SPEC.md v1.1.0 §"Section 1: Network
// configuration format", "Plugin configuration objects", and §"Section 3", "Deriving
// execution configuration"): the runtime has inserted cniVersion, name, runtimeConfig
// and prevResult; everything else is passed through unchanged.
import { CNI_ERROR, type CniError } from '../errors.js';
import { decodeDns, type Dns } from '../spec/common.js';
import {
  describeJson,
  expectObject,
  fieldError,
  type JsonObject,
  optionalBoolean,
  optionalObject,
  optionalString,
  quote,
} from '../spec/fields.js';
import { type CniResult, decodeResult, parseJsonText } from '../spec/result.js';
import { type CniVersion, toSupportedVersion } from '../spec/versions.js';

/** The `ipam` section: its `type` names the IPAM plugin; other keys belong to it. */
export interface IpamConfig {
  /** The IPAM plugin's type (its executable's name). */
  readonly type: string;
  /** The whole section as received. */
  readonly raw: JsonObject;
}

/** A decoded plugin configuration. */
export interface PluginConfig {
  /** The spec version of the request, normalized (`"0.1"` → `"0.1.0"`). */
  readonly cniVersion: CniVersion;
  /** The network name. */
  readonly name: string;
  /** The plugin type (the executable's name). */
  readonly type: string;
  /** `args`: arbitrary data from the runtime (CONVENTIONS.md). */
  readonly args?: JsonObject;
  /** `runtimeConfig`: the capability arguments the runtime injected. */
  readonly runtimeConfig?: JsonObject;
  /** `capabilities`, when the runtime did not strip them. */
  readonly capabilities?: Readonly<Record<string, boolean>>;
  /** `ipam`: the IPAM plugin to call and its configuration. */
  readonly ipam?: IpamConfig;
  /** `dns`: DNS settings the plugin may return. */
  readonly dns?: Dns;
  /** `ipMasq`: whether to masquerade traffic leaving the network (plugins that support it). */
  readonly ipMasq?: boolean;
  /** `prevResult`, decoded with the result module of `cniVersion`. */
  readonly prevResult?: CniResult;
  /** The document exactly as received: plugin-specific and unknown keys are here. */
  readonly raw: JsonObject;
}

// SPEC.md §"Configuration format": "Must start with an alphanumeric character, optionally
// followed by any combination of one or more alphanumeric characters, underscore, dot (.)
// or hyphen (-)."
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function configError(path: string, problem: string): CniError {
  return fieldError(path, problem, CNI_ERROR.INVALID_NETWORK_CONFIG);
}

function requiredConfigString(object: JsonObject, key: string, base = ''): string {
  const value = optionalString(object, key, base);
  if (value === undefined || value === '') throw configError(base === '' ? key : `${base}.${key}`, 'missing required field');
  return value;
}

// SPEC.md: `type` "Must not contain characters disallowed in file paths for the system
// (e.g. / or \)": it becomes a file name under CNI_PATH.
function checkPluginType(type: string, path: string): void {
  if (/[/\\\0]/.test(type) || type === '.' || type === '..') {
    throw configError(path, `invalid plugin type ${quote(type)}: must be a file name`);
  }
}

/**
 * Reads `cniVersion` alone, before anything else is checked, so that a request the
 * plugin cannot understand fails with code 1 rather than with a field error. A missing
 * `cniVersion` means 0.1.0, as libcni's ConfigDecoder says (spec 0.1.0 had none).
 * Throws a CniError: code 6 when it is not a string, code 1 when it is malformed.
 */
export function readConfigVersion(config: JsonObject): string {
  const value = config['cniVersion'];
  if (value === undefined || value === null || value === '') return '0.1.0';
  if (typeof value !== 'string') throw fieldError('cniVersion', `expected a string, got ${describeJson(value)}`);
  return value;
}

/**
 * Decodes a plugin configuration (JSON text, UTF-8 bytes or a parsed value).
 *
 * Throws a CniError: code 6 when the JSON is malformed or a well-known field has the
 * wrong type, code 7 when a field is invalid (`name: invalid network name "a b"`), code 1
 * when `cniVersion` is not a version this package implements. Errors inside
 * `prevResult` are prefixed with it (`prevResult.ips[0].address: invalid CIDR ...`).
 */
export function decodePluginConfig(input: unknown): PluginConfig {
  const value = typeof input === 'string' || input instanceof Uint8Array ? parseJsonText(input, 'stdin') : input;
  const raw = expectObject(value, 'stdin');
  const cniVersion = toSupportedVersion(readConfigVersion(raw));
  const name = requiredConfigString(raw, 'name');
  if (!NAME_PATTERN.test(name)) {
    throw configError('name', `invalid network name ${quote(name)}: must start with a letter or digit, then letters, digits, '_', '.' or '-'`);
  }
  const type = requiredConfigString(raw, 'type');
  checkPluginType(type, 'type');

  const capabilitiesObject = optionalObject(raw, 'capabilities', '');
  const capabilities: Record<string, boolean> = {};
  for (const [key, enabled] of Object.entries(capabilitiesObject ?? {})) {
    if (typeof enabled !== 'boolean') throw fieldError(`capabilities.${key}`, `expected a boolean, got ${describeJson(enabled)}`);
    capabilities[key] = enabled;
  }
  const ipamObject = optionalObject(raw, 'ipam', '');
  let ipam: IpamConfig | undefined;
  if (ipamObject !== undefined) {
    const ipamType = requiredConfigString(ipamObject, 'type', 'ipam');
    checkPluginType(ipamType, 'ipam.type');
    ipam = { type: ipamType, raw: ipamObject };
  }
  const rawPrevResult = raw['prevResult'];
  const prevResult =
    rawPrevResult === undefined || rawPrevResult === null
      ? undefined
      : decodeResult(rawPrevResult, cniVersion, { at: 'prevResult' });

  const config: { -readonly [K in keyof PluginConfig]: PluginConfig[K] } = { cniVersion, name, type, raw };
  const args = optionalObject(raw, 'args', '');
  const runtimeConfig = optionalObject(raw, 'runtimeConfig', '');
  const dns = decodeDns(raw, '');
  const ipMasq = optionalBoolean(raw, 'ipMasq', '');
  if (args !== undefined) config.args = args;
  if (runtimeConfig !== undefined) config.runtimeConfig = runtimeConfig;
  if (capabilitiesObject !== undefined) config.capabilities = capabilities;
  if (ipam !== undefined) config.ipam = ipam;
  if (dns !== undefined) config.dns = dns;
  if (ipMasq !== undefined) config.ipMasq = ipMasq;
  if (prevResult !== undefined) config.prevResult = prevResult;
  return config;
}
