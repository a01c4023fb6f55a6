import { fieldError } from './field-error.js';
import { encodeJson, plainToJson, withEntries, type JsonNode, type JsonObjectNode } from './json-node.js';
import { type NetworkConfigList, type ListPluginConfig } from './types.js';

const encoder = new TextEncoder();

/** What a runtime adds to a plugin's configuration for one invocation. */
export interface PluginInvocation {
  /**
   * The previous result (CNI SPEC §3, "prevResult"): the previous plugin's result on
   * ADD, the cached result on CHECK and DEL. Absent for the first ADD of a chain.
   * Any JSON-representable value; `undefined` and `null` mean "none".
   */
  readonly prevResult?: unknown;
  /**
   * The runtime's capability arguments (libcni `RuntimeConf.CapabilityArgs`), keyed by
   * capability (`portMappings`, `bandwidth`, `ips`, `mac`, ...). Only those the plugin
   * declares in `capabilities` are given to it, under `runtimeConfig`.
   */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
  /**
   * A runtime-generated `args` dictionary (CNI CONVENTIONS, "args in network config",
   * e.g. `{"cni": {"labels": [...]}}`), replacing the configuration's own `args`. libcni
   * itself never sets it: without this option `args` is passed through as written.
   * (Per-invocation `CNI_ARGS` pairs go in the environment, not here.)
   */
  readonly args?: Readonly<Record<string, unknown>>;
  /**
   * Other keys to set, such as `cni.dev/valid-attachments` for GC (CNI SPEC §2, "GC").
   * `name` and `cniVersion` always come from the network and cannot be set here.
   */
  readonly extra?: Readonly<Record<string, unknown>>;
  /**
   * Remove `capabilities` from the plugin's configuration, as CNI SPEC §3 ("Deriving
   * execution configuration from plugin configuration") asks. Off by default because
   * libcni passes it through, and plugins are tested against libcni.
   */
  readonly stripCapabilities?: boolean;
}

/**
 * The `runtimeConfig` for one plugin (CNI SPEC §3, "Deriving runtimeConfig"): the
 * capability arguments whose capability the plugin declares `true`. A capability the
 * plugin does not declare, or declares `false`, is never passed.
 * @returns a new object, empty when nothing applies.
 */
export function selectRuntimeConfig(
  plugin: ListPluginConfig,
  capabilityArgs: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(plugin.capabilities)) {
    if (!enabled || !Object.hasOwn(capabilityArgs, capability)) continue;
    const data = capabilityArgs[capability];
    if (data === undefined) continue;
    Object.defineProperty(out, capability, { value: data, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Builds the configuration a plugin receives on stdin for one invocation, as libcni's
 * `buildOneConfig` does (CNI SPEC §3, "Deriving execution configuration"): the plugin
 * object as written, with the network's `name` and `cniVersion`, `prevResult` when there
 * is one, and `runtimeConfig` holding only the declared capabilities (replacing any
 * `runtimeConfig` in the file only when there is something to pass, as libcni does).
 * Every other key keeps its position and its exact value.
 *
 * @throws CniError code 7 when a value given in `invocation` is not representable in
 *   JSON (`runtimeConfig.portMappings[0].hostPort: not representable in JSON (NaN)`), or
 *   an `extra` key is empty or is `name`/`cniVersion`.
 */
export function buildPluginConfig(
  list: NetworkConfigList,
  plugin: ListPluginConfig,
  invocation: PluginInvocation = {},
): JsonObjectNode {
  const set: [string, JsonNode][] = [];
  for (const [key, value] of Object.entries(invocation.extra ?? {})) {
    if (key === '' || key === 'name' || key === 'cniVersion') {
      throw fieldError(['extra'], `cannot set key ${JSON.stringify(key)}`);
    }
    if (value !== undefined) set.push([key, plainToJson(value, [key])]);
  }
  if (invocation.args !== undefined) set.push(['args', plainToJson(invocation.args, ['args'])]);
  if (invocation.prevResult !== undefined && invocation.prevResult !== null) {
    set.push(['prevResult', plainToJson(invocation.prevResult, ['prevResult'])]);
  }
  const runtimeConfig = selectRuntimeConfig(plugin, invocation.capabilityArgs);
  if (Object.keys(runtimeConfig).length > 0) {
    set.push(['runtimeConfig', plainToJson(runtimeConfig, ['runtimeConfig'])]);
  }
  // CNI SPEC §3: every plugin of a list runs with the list's name and version.
  set.push(['cniVersion', { kind: 'string', value: list.cniVersion }], ['name', { kind: 'string', value: list.name }]);
  return withEntries(plugin.raw, set, invocation.stripCapabilities === true ? ['capabilities'] : []);
}

/**
 * {@link buildPluginConfig}, encoded: the bytes to write to the plugin's stdin.
 * @returns compact UTF-8 JSON.
 * @throws CniError as {@link buildPluginConfig} does.
 */
export function buildPluginStdin(
  list: NetworkConfigList,
  plugin: ListPluginConfig,
  invocation: PluginInvocation = {},
): Uint8Array {
  return encoder.encode(encodeJson(buildPluginConfig(list, plugin, invocation)));
}
