// runConformance: checks plugin executables (a network configuration's plugins and the
// IPAM plugins they delegate to) against the CNI spec and reports each check.
import { CNI_ERROR, CniError } from '../errors.js';
import { encodeJson, withEntries } from '../config/json-node.js';
import { decodeNetworkConfig, decodeNetworkConfigList } from '../config/network-config.js';
import { buildPluginStdin } from '../config/runtime-config.js';
import { type NetworkConfigList } from '../config/types.js';
import { CniRuntime } from '../invoke/runtime.js';
import { nodePluginExec } from '../invoke/sys/node-exec.js';
import { validateContainerId } from '../skel/environment.js';
import { compareVersions, isSupportedVersion, SUPPORTED_VERSIONS } from '../spec/versions.js';
import { type SuiteContext, watchStdout } from './context.js';
import { checkLifecycle, type LifecyclePlan } from './lifecycle-checks.js';
import { checkPlugin, type PluginUnderTest } from './plugin-checks.js';
import { nsenterPluginExec } from './sys/nsenter-exec.js';
import { memoryResultCache } from './memory-cache.js';
import { CHECK_STATUS, type ConformanceCheck, type ConformanceOptions, type ConformanceReport } from './types.js';

const encoder = new TextEncoder();

/**
 * The environment plugins inherit from the default exec: a standard `PATH` (plugins run
 * `iptables`, `ip6tables` and the like) and nothing else, so no `CNI_*` variable of the
 * caller can hide a missing one.
 */
export const CONFORMANCE_BASE_ENV = Object.freeze({
  /** The usual system folders, for the helpers plugins run. */
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
});

function decodeConfig(config: Uint8Array | string): NetworkConfigList {
  const text = typeof config === 'string' ? config : new TextDecoder().decode(config);
  // A list has `plugins`; anything else is a single configuration (as libcni tells them apart by file).
  let isList = false;
  try {
    isList = Object.hasOwn(JSON.parse(text) as object, 'plugins');
  } catch {
    // decodeNetworkConfigList says what is wrong
    isList = true;
  }
  return isList ? decodeNetworkConfigList(config) : decodeNetworkConfig(config);
}

/** The network with `cniVersion` set to `version` and no `cniVersions`. */
function atVersion(list: NetworkConfigList, version: string): NetworkConfigList {
  if (version === list.cniVersion && !list.raw.entries.some(([k]) => k === 'cniVersions')) return list;
  const raw = withEntries(list.raw, [['cniVersion', { kind: 'string', value: version }]], ['cniVersions']);
  return { ...list, cniVersion: version, declaredVersions: [version], raw, bytes: encoder.encode(encodeJson(raw)) };
}

/** The executables to check: the list's plugins, then the IPAM plugins they name, each once. */
function pluginsUnderTest(list: NetworkConfigList): PluginUnderTest[] {
  const out: PluginUnderTest[] = [];
  const seen = new Set<string>();
  const add = (type: string, stdin: Uint8Array): void => {
    if (seen.has(type)) return;
    seen.add(type);
    out.push({ type, stdin, cniVersion: list.cniVersion });
  };
  for (const plugin of list.plugins) add(plugin.type, buildPluginStdin(list, plugin));
  for (const plugin of list.plugins) if (plugin.ipamType) add(plugin.ipamType, buildPluginStdin(list, plugin));
  return out;
}

function randomPrefix(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(4));
  return `cnct-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}-`;
}

/**
 * Runs the CNI conformance suite: per executable, the VERSION answer (valid JSON,
 * well-formed `supportedVersions`, an answer for each claimed version) and the error
 * document and code for a bad environment (missing or unknown `CNI_COMMAND`, missing or
 * invalid `CNI_CONTAINERID`, missing `CNI_NETNS` or `CNI_IFNAME` on ADD: code 4) and a bad
 * configuration (not JSON: 6, unsupported `cniVersion`: 1, no `name`: 7); then, driving
 * the network as libcni does, ADD's result for each version all plugins claim, CHECK
 * after ADD (from 0.4.0), DEL twice, DEL after a failed ADD, DEL with the namespace gone,
 * GC keeping valid attachments and STATUS (1.1.0). Any call printing something other than
 * one JSON document on stdout fails its check.
 *
 * Checks run one after another, each in throwaway namespaces from `options.namespaces`,
 * all removed before it returns. Plugins do real work: run them inside a scratch "host"
 * namespace (`hostNetns`) unless the machine is itself disposable.
 *
 * @returns the report; a failed check is a finding, not an exception.
 * @throws {CniError} code 6 or 7 when `config` is not a valid network configuration, code 4
 *   when `containerIdPrefix` is not a valid container id, code 7 when both `exec` and
 *   `hostNetns` are given.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const list = decodeConfig(options.config);
  if (options.exec !== undefined && options.hostNetns !== undefined) {
    throw new CniError(CNI_ERROR.INVALID_NETWORK_CONFIG, 'runConformance: give either exec or hostNetns, not both');
  }
  const prefix = options.containerIdPrefix ?? randomPrefix();
  validateContainerId(`${prefix}0`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const inner =
    options.exec ??
    (options.hostNetns !== undefined
      ? nsenterPluginExec({ netns: options.hostNetns, baseEnv: CONFORMANCE_BASE_ENV })
      : nodePluginExec({ baseEnv: CONFORMANCE_BASE_ENV }));
  const watched = watchStdout(inner);
  const checks: ConformanceCheck[] = [];
  const notes: string[] = [];
  let counter = 0;
  const ctx: SuiteContext = {
    exec: watched.exec,
    path: options.path,
    timeoutMs,
    ifName: options.ifName ?? 'eth0',
    namespaces: options.namespaces,
    runtime: new CniRuntime({ path: options.path, exec: watched.exec, cache: options.cache ?? memoryResultCache(), timeoutMs }),
    isolatedRuntime: () => new CniRuntime({ path: options.path, exec: watched.exec, cache: memoryResultCache(), timeoutMs }),
    nextContainerId: () => `${prefix}${(counter++).toString()}`,
    record(check) {
      checks.push(check);
      options.onCheck?.(check);
    },
    note: (text) => notes.push(text),
    takeStdoutProblems: () => watched.take(),
  };

  const plugins = pluginsUnderTest(list);
  const claimedVersions: Record<string, readonly string[]> = {};
  for (const plugin of plugins) {
    const claimed = await checkPlugin(ctx, plugin);
    if (claimed !== undefined) claimedVersions[plugin.type] = claimed;
  }

  const claims = plugins.map((p) => claimedVersions[p.type]);
  const known = claims.filter((c): c is readonly string[] => c !== undefined);
  // Without any valid VERSION answer, the configuration's own version is all there is to go on.
  const common =
    known.length === 0
      ? [list.cniVersion]
      : (known[0] ?? []).filter((v) => known.every((c) => c.includes(v))).sort(safeCompare);
  const runnable = common.filter((v) => isSupportedVersion(v));
  const version = runnable.at(-1) ?? list.cniVersion;
  const addVersions = [...new Set([...SUPPORTED_VERSIONS, ...common])].sort(safeCompare);
  const plan: LifecyclePlan = {
    at: (v) => atVersion(list, v),
    common,
    version,
    addVersions,
    disableCheck: list.disableCheck,
    disableGC: list.disableGC,
  };
  await checkLifecycle(ctx, plan);

  return {
    network: list.name,
    plugins: plugins.map((p) => p.type),
    claimedVersions,
    version,
    checks,
    summary: {
      passed: checks.filter((c) => c.status === CHECK_STATUS.PASSED).length,
      failed: checks.filter((c) => c.status === CHECK_STATUS.FAILED).length,
      notApplicable: checks.filter((c) => c.status === CHECK_STATUS.NOT_APPLICABLE).length,
    },
    notes,
  };
}

function safeCompare(a: string, b: string): number {
  try {
    return compareVersions(a, b);
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}
