import { expectArray, expectNonEmptyString, type JsonRecord } from './field-checks.js';
import { describeJsonType, fieldError } from './field-error.js';
import { decodeJsonObject } from './json-decode.js';
import { encodeJson, getEntry, jsonToPlain, withEntries, type JsonNode, type JsonObjectNode } from './json-node.js';
import { validatePluginObject } from './plugin-config.js';
import {
  NETWORK_CONFIG_FORMAT,
  type DecodeConfigOptions,
  type NetworkConfigList,
  type ListPluginConfig,
} from './types.js';
import { SUPPORTED_VERSIONS } from '../spec/versions.js';
import { selectCniVersion } from './versions.js';

/**
 * CNI SPEC §1, "name": starts with an alphanumeric character, then any of alphanumerics,
 * "_", "." and "-" (the same rule as libcni's `ValidateNetworkName`).
 */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const encoder = new TextEncoder();

/** Options for {@link decodeNetworkConfigList}. */
export interface DecodeListOptions extends DecodeConfigOptions {
  /**
   * Plugin configurations aggregated from outside the document (the network's
   * directory), appended after the inline ones unless the document sets
   * `loadOnlyInlinedPlugins` (CNI SPEC §1, "loadOnlyInlinedPlugins").
   */
  readonly extraPlugins?: readonly ListPluginConfig[];
}

/** A decoded list document before the plugins from its directory are added. */
export interface NetworkConfigListParts extends Omit<NetworkConfigList, 'plugins'> {
  /** The plugins written inline in `plugins`. */
  readonly inlinePlugins: readonly ListPluginConfig[];
}

/**
 * Decodes a network configuration list (a `.conflist`, CNI SPEC §1 "Configuration
 * format") and validates it, as libcni's `NetworkConfFromBytes` reads it: booleans may
 * also be written as the strings `"true"`/`"false"`; `cniVersions` is honoured.
 *
 * @param input - the document, UTF-8 bytes or text.
 * @returns the network, with `cniVersion` the highest supported declared version.
 * @throws CniError: code 6 when the text is not JSON; code 7 naming the bad field
 *   (`name: missing`, `plugins[1].type: missing`, `plugins: must not be empty`); code 1
 *   when no declared version is supported; code 2 for reserved keys when asked.
 */
export function decodeNetworkConfigList(input: Uint8Array | string, options: DecodeListOptions = {}): NetworkConfigList {
  return completeNetworkConfigList(decodeNetworkConfigListParts(input, options), options.extraPlugins ?? []);
}

/**
 * The first half of {@link decodeNetworkConfigList}: decodes and validates the document
 * but allows `plugins` to be absent (when `loadOnlyInlinedPlugins` is false the plugins
 * may all come from the network's directory). Finish with {@link completeNetworkConfigList}.
 * @throws CniError as {@link decodeNetworkConfigList} does.
 */
export function decodeNetworkConfigListParts(
  input: Uint8Array | string,
  options: DecodeConfigOptions = {},
): NetworkConfigListParts {
  // A copy: the list must not change if the caller reuses its buffer.
  const bytes = typeof input === 'string' ? encoder.encode(input) : new Uint8Array(input);
  const raw = decodeJsonObject(bytes);
  const doc = jsonToPlain(raw) as JsonRecord;

  const name = checkNetworkName(doc['name'], 'name');
  const cniVersion = selectCniVersion(doc['cniVersion'], doc['cniVersions'], options.supportedVersions ?? SUPPORTED_VERSIONS);
  const declaredVersions = [
    ...(typeof doc['cniVersion'] === 'string' ? [doc['cniVersion']] : []),
    ...(Array.isArray(doc['cniVersions']) ? (doc['cniVersions'] as string[]) : []),
  ];
  const disableCheck = readBool(doc, 'disableCheck');
  const disableGC = readBool(doc, 'disableGC');
  const loadOnlyInlinedPlugins = readBool(doc, 'loadOnlyInlinedPlugins');

  const inlinePlugins: ListPluginConfig[] = [];
  const pluginsNode = getEntry(raw, 'plugins');
  if (pluginsNode === undefined) {
    // CNI SPEC §1: "If plugins is not present in the network configuration,
    // loadOnlyInlinedPlugins cannot be set to true."
    if (loadOnlyInlinedPlugins) throw fieldError(['plugins'], 'missing (required when loadOnlyInlinedPlugins is true)');
  } else {
    expectArray(doc['plugins'], ['plugins']);
    if (pluginsNode.kind !== 'array' || pluginsNode.items.length === 0) throw fieldError(['plugins'], 'must not be empty');
    pluginsNode.items.forEach((item, i) => {
      inlinePlugins.push(validatePluginObject(expectObjectNode(item, ['plugins', i]), ['plugins', i], options));
    });
  }

  return {
    name, cniVersion, declaredVersions, disableCheck, disableGC, loadOnlyInlinedPlugins,
    inlinePlugins, format: NETWORK_CONFIG_FORMAT.LIST, bytes, raw,
  };
}

/**
 * Adds the plugins aggregated from the network's directory to a decoded list, unless it
 * sets `loadOnlyInlinedPlugins`, and checks the result has at least one plugin.
 * @throws CniError code 7 `plugins: missing ...` when there is no plugin at all (libcni:
 *   "no plugin configs found").
 */
export function completeNetworkConfigList(
  parts: NetworkConfigListParts,
  extraPlugins: readonly ListPluginConfig[],
): NetworkConfigList {
  const { inlinePlugins, ...rest } = parts;
  const plugins = parts.loadOnlyInlinedPlugins ? inlinePlugins : [...inlinePlugins, ...extraPlugins];
  if (plugins.length === 0) {
    throw fieldError(['plugins'], "missing (no plugin configuration inline, and none in the network's directory)");
  }
  return { ...rest, plugins };
}

/**
 * Decodes a single network configuration (a `.conf` or `.json`: one plugin object with
 * the network's `name` and `cniVersion`) and promotes it to a list of one, as libcni's
 * `ConfListFromConf` does. The list's `bytes` are the synthesised list
 * `{"cniVersion":...,"name":...,"plugins":[<the object>]}`, which is what libcni caches.
 *
 * @throws CniError: code 6 when not JSON; code 7 naming the bad field (`type: missing`,
 *   `name: invalid network name "a b": ...`); code 1 when `cniVersion` is unsupported.
 */
export function decodeNetworkConfig(input: Uint8Array | string, options: DecodeConfigOptions = {}): NetworkConfigList {
  const node = decodeJsonObject(input);
  const doc = jsonToPlain(node) as JsonRecord;
  const name = checkNetworkName(doc['name'], 'name');
  // libcni promotes with the config's own cniVersion; a single config has no `cniVersions`.
  const cniVersion = selectCniVersion(doc['cniVersion'], undefined, options.supportedVersions ?? SUPPORTED_VERSIONS);
  const plugin = validatePluginObject(node, [], options);
  const raw: JsonObjectNode = {
    kind: 'object',
    entries: [
      ['cniVersion', { kind: 'string', value: cniVersion }],
      ['name', { kind: 'string', value: name }],
      ['plugins', { kind: 'array', items: [node] }],
    ],
  };
  return {
    name, cniVersion, declaredVersions: [cniVersion],
    disableCheck: false, disableGC: false, loadOnlyInlinedPlugins: false,
    plugins: [plugin], format: 'single', bytes: encoder.encode(encodeJson(raw)), raw,
  };
}

/**
 * Encodes a network as a configuration list document: its top-level keys as written,
 * with `plugins` holding every plugin (including any aggregated from its directory),
 * each exactly as written. Decoding the output gives the same network.
 * @returns compact UTF-8 JSON.
 */
export function encodeNetworkConfigList(list: NetworkConfigList): Uint8Array {
  const plugins: JsonNode = { kind: 'array', items: list.plugins.map((p) => p.raw) };
  return encoder.encode(encodeJson(withEntries(list.raw, [['plugins', plugins]])));
}

/**
 * Checks a network name (CNI SPEC §1, "name").
 * @throws CniError code 7 `<field>: missing`, `must be a string`, `must not be empty` or
 *   `invalid network name "..."`.
 */
export function checkNetworkName(value: unknown, field = 'name'): string {
  if (value === undefined) throw fieldError([field], 'missing');
  const name = expectNonEmptyString(value, [field]);
  if (!NETWORK_NAME.test(name)) {
    throw fieldError(
      [field],
      `invalid network name ${JSON.stringify(name)}: must start with a letter or digit and contain only letters, digits, "_", "." and "-"`,
    );
  }
  return name;
}

/**
 * A list-level flag: a JSON boolean, or (as libcni's `readBool` accepts) the string
 * "true" or "false" in any case. Absent is false.
 */
function readBool(doc: JsonRecord, key: string): boolean {
  if (!Object.hasOwn(doc, key)) return false;
  const value = doc[key];
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw fieldError([key], `must be a boolean (got ${JSON.stringify(value)})`);
  }
  throw fieldError([key], `must be a boolean (got ${describeJsonType(value)})`);
}

function expectObjectNode(node: JsonNode, path: readonly (string | number)[]): JsonObjectNode {
  if (node.kind !== 'object') throw fieldError(path, `must be an object (got ${node.kind})`);
  return node;
}
