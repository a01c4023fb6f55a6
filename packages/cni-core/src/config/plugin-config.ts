import { CNI_ERROR } from '../errors.js';
import {
  expectBoolean,
  expectIpAddress,
  expectNonEmptyString,
  expectObject,
  expectString,
  expectStringArray,
  type JsonRecord,
} from './field-checks.js';
import { fieldError, type FieldPath } from './field-error.js';
import { decodeJsonObject } from './json-decode.js';
import { jsonToPlain, type JsonObjectNode } from './json-node.js';
import { type DecodeConfigOptions, type DnsConfig, type ListPluginConfig } from './types.js';

/** Keys CNI SPEC §1 ("Plugin configuration objects") reserves for the runtime. */
const RESERVED_KEYS = ['runtimeConfig', 'args'];
const RESERVED_PREFIX = 'cni.dev/';

/**
 * Validates one plugin configuration object (CNI SPEC §1, "Plugin configuration
 * objects") and keeps it verbatim.
 *
 * Checked: `type` (required, a file name), `capabilities` (an object of booleans),
 * `args` (an object), `ipMasq` (a boolean), `ipam` (an object whose `type`, when
 * present, is a file name), `dns` (nameservers are IP addresses), and `name` /
 * `cniVersion` are strings when present (they are overwritten at execution). Every other
 * key is the plugin's business and is kept as written.
 *
 * @param node - the object, as decoded by `decodeJson`.
 * @param path - where the object sits in its document (`['plugins', 1]`), for messages.
 * @throws CniError code 7 naming the field (`plugins[1].type: missing`); code 2 for a
 *   reserved key when `options.rejectReservedKeys` is set.
 */
export function validatePluginObject(
  node: JsonObjectNode,
  path: FieldPath,
  options: DecodeConfigOptions = {},
): ListPluginConfig {
  const value = jsonToPlain(node) as JsonRecord;
  const at = (...rest: (string | number)[]): FieldPath => [...path, ...rest];

  if (options.rejectReservedKeys === true) {
    for (const [key] of node.entries) {
      if (RESERVED_KEYS.includes(key) || key.startsWith(RESERVED_PREFIX)) {
        throw fieldError(at(key), 'reserved for the runtime, must not be set in a configuration', CNI_ERROR.UNSUPPORTED_FIELD);
      }
    }
  }

  if (!Object.hasOwn(value, 'type')) throw fieldError(at('type'), 'missing');
  const type = checkFileName(value['type'], at('type'), 'plugin type');

  for (const key of ['name', 'cniVersion']) {
    if (Object.hasOwn(value, key)) expectString(value[key], at(key));
  }
  if (Object.hasOwn(value, 'ipMasq')) expectBoolean(value['ipMasq'], at('ipMasq'));

  const capabilities: Record<string, boolean> = {};
  if (Object.hasOwn(value, 'capabilities')) {
    const declared = expectObject(value['capabilities'], at('capabilities'));
    for (const [name, enabled] of Object.entries(declared)) {
      Object.defineProperty(capabilities, name, {
        value: expectBoolean(enabled, at('capabilities', name)),
        enumerable: true,
      });
    }
  }

  let args: JsonRecord | undefined;
  if (Object.hasOwn(value, 'args')) args = expectObject(value['args'], at('args'));
  if (Object.hasOwn(value, 'runtimeConfig')) expectObject(value['runtimeConfig'], at('runtimeConfig'));

  // Only `ipam.type` is the runtime's business; the rest belongs to the IPAM plugin.
  let ipamType: string | undefined;
  if (Object.hasOwn(value, 'ipam')) {
    const ipam = expectObject(value['ipam'], at('ipam'));
    if (Object.hasOwn(ipam, 'type')) {
      ipamType = checkFileName(ipam['type'], at('ipam', 'type'), 'IPAM plugin type');
    }
  }

  const dns = Object.hasOwn(value, 'dns') ? validateDns(value['dns'], at('dns')) : undefined;

  return {
    type,
    capabilities,
    ...(ipamType === undefined ? {} : { ipamType }),
    ...(dns === undefined ? {} : { dns }),
    ...(args === undefined ? {} : { args }),
    raw: node,
    value,
  };
}

/**
 * Decodes a plugin configuration file, such as one of `<dir>/<network>/*.conf` that a
 * network configuration list aggregates when `loadOnlyInlinedPlugins` is false (libcni
 * `NetworkPluginConfFromBytes`).
 * @throws CniError code 6 when it is not JSON, code 7 when it is not a valid plugin object.
 */
export function decodeListPluginConfig(input: Uint8Array | string, options: DecodeConfigOptions = {}): ListPluginConfig {
  return validatePluginObject(decodeJsonObject(input), [], options);
}

/**
 * Validates the well-known `dns` dictionary (CNI SPEC §1, "dns").
 * @throws CniError code 7 naming the field, e.g. `dns.nameservers[1]: invalid IP address "x"`.
 */
export function validateDns(input: unknown, path: FieldPath): DnsConfig {
  const dns = expectObject(input, path);
  const out: { -readonly [K in keyof DnsConfig]: DnsConfig[K] } = {};
  if (Object.hasOwn(dns, 'nameservers')) {
    out.nameservers = expectStringArray(dns['nameservers'], [...path, 'nameservers'])
      .map((ns, i) => expectIpAddress(ns, [...path, 'nameservers', i]));
  }
  if (Object.hasOwn(dns, 'domain')) out.domain = expectString(dns['domain'], [...path, 'domain']);
  if (Object.hasOwn(dns, 'search')) out.search = expectStringArray(dns['search'], [...path, 'search']);
  if (Object.hasOwn(dns, 'options')) out.options = expectStringArray(dns['options'], [...path, 'options']);
  return out;
}

/**
 * A plugin `type` names an executable found on CNI_PATH, so it must be a plain file name:
 * CNI SPEC §1 forbids characters disallowed in file paths ("/" and "\"); "." and ".."
 * and NUL would escape or break the lookup.
 */
function checkFileName(input: unknown, path: FieldPath, what: string): string {
  const name = expectNonEmptyString(input, path);
  if (/[/\\\0]/.test(name) || name === '.' || name === '..') {
    throw fieldError(path, `invalid ${what} ${JSON.stringify(name)}: must be a file name, without "/" or "\\"`);
  }
  return name;
}
