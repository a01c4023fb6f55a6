// A CNI runtime compatible with libcni (libcni/api.go): chains of plugins with
// prevResult, DEL in reverse with the cached result, CHECK, GC with valid attachments,
// STATUS and VERSION, and libcni's own result cache. Pure: plugins run through the
// PluginExec port and results are kept through the ResultCache port.
import { CNI_ERROR, CniError, PluginError } from '../errors.js';
import { buildPluginStdin } from '../config/runtime-config.js';
import { type NetworkConfigList, type ListPluginConfig } from '../config/types.js';
import { checkNetworkName } from '../config/network-config.js';
import { validateContainerId, validateInterfaceName } from '../skel/environment.js';
import { convertResult } from '../spec/convert.js';
import {
  decodeVersionResult,
  type GcAttachment,
  LEGACY_ATTACHMENTS_KEY,
  type VersionResult,
  VALID_ATTACHMENTS_KEY,
} from '../spec/plugin-output.js';
import { type CniResult, decodeResult, resultToJson } from '../spec/result.js';
import { isVersionAtLeast, type CniVersion, toSupportedVersion } from '../spec/versions.js';
import { CACHE_KIND, cacheFileName, decodeCacheRecord, encodeCacheRecord } from './cache-record.js';
import { callPlugin, pluginEnvironment } from './plugin-call.js';
import { type CacheKey, type CacheRecord, type PluginExec, type ResultCache, type RuntimeConf } from './types.js';

/** Options of {@link CniRuntime}. */
export interface CniRuntimeOptions {
  /** Folders searched for plugin executables, in order (CNI_PATH). */
  readonly path: readonly string[];
  /** Runs plugins: `nodePluginExec()` for real ones. */
  readonly exec: PluginExec;
  /** Keeps ADD results for CHECK, DEL and GC: `fileResultCache(dir)` for libcni's cache. */
  readonly cache: ResultCache;
  /** Each plugin call is killed after this many milliseconds (default 60 000). */
  readonly timeoutMs?: number;
}

/** Arguments of {@link CniRuntime.gc}. */
export interface GcArgs {
  /** Attachments still in use; every other cached attachment of the network is deleted. */
  readonly validAttachments: readonly GcAttachment[];
}

/** A cached attachment, as {@link CniRuntime.cachedAttachments} lists them. */
export interface CachedAttachment {
  /** The container ID. */
  readonly containerId: string;
  /** The network's name. */
  readonly networkName: string;
  /** The interface name. */
  readonly ifName: string;
  /** The network namespace path of the ADD. */
  readonly netns?: string;
  /** The CNI_ARGS pairs of the ADD. */
  readonly cniArgs?: readonly (readonly [string, string])[];
  /** The capability arguments of the ADD. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
  /** The network configuration bytes the attachment was made with. */
  readonly config: Uint8Array;
}

const describe = (plugin: ListPluginConfig): string => `type=${JSON.stringify(plugin.type)}`;

/**
 * Runs network configuration lists the way libcni does, so a runtime written in
 * TypeScript (the twill CLI, the lab, tests) behaves as containerd or CRI-O would.
 */
export class CniRuntime {
  readonly #path: readonly string[];
  readonly #exec: PluginExec;
  readonly #cache: ResultCache;
  readonly #timeoutMs: number;

  constructor(options: CniRuntimeOptions) {
    this.#path = options.path;
    this.#exec = options.exec;
    this.#cache = options.cache;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  /**
   * ADD: runs the plugins in order, each given the previous one's result as
   * `prevResult`, caches the final result and returns it (in the list's version).
   *
   * @throws {CniError} for bad arguments (code 4) or a result that does not decode (code 6);
   *   {@link PluginError} naming the plugin that failed. Nothing is cached then; the caller
   *   still owes a DEL, as with libcni.
   */
  async add(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult> {
    checkAttachment(list, rt);
    let result: CniResult | undefined;
    for (const plugin of list.plugins) {
      const stdout = await this.#run(list, plugin, 'ADD', rt, result);
      result = wrapPluginErrors(plugin, 'add', () => resultInListVersion(stdout, list.cniVersion));
    }
    if (result === undefined) throw new CniError(CNI_ERROR.INVALID_NETWORK_CONFIG, `network ${list.name} has no plugins`);
    await this.#cache.write(key(list, rt), encodeCacheRecord(this.#record(list, rt, result)));
    return result;
  }

  /**
   * CHECK: runs the plugins in order with the cached result as `prevResult`. Does nothing
   * when the list sets `disableCheck`.
   *
   * @throws {CniError} code 1 for a list older than 0.4.0 (no CHECK there); {@link PluginError}.
   */
  async check(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    if (!isVersionAtLeast(list.cniVersion, '0.4.0')) {
      throw new CniError(
        CNI_ERROR.INCOMPATIBLE_VERSION,
        `configuration version ${JSON.stringify(list.cniVersion)} does not support the CHECK command`,
      );
    }
    checkAttachment(list, rt);
    if (list.disableCheck) return;
    const cached = await this.cachedResult(list, rt);
    for (const plugin of list.plugins) await this.#run(list, plugin, 'CHECK', rt, cached);
  }

  /**
   * DEL: runs the plugins in reverse order with the cached result as `prevResult` (from
   * 0.4.0), then removes the cache entry. Works without a cache entry too (after a failed
   * or never-made ADD), and an unreadable entry is dropped, as libcni does.
   *
   * @throws {PluginError} naming the plugin that failed; the cache entry is kept then, so a retry can finish.
   */
  async del(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    checkAttachment(list, rt, { netnsOptional: true });
    let cached: CniResult | undefined;
    if (isVersionAtLeast(list.cniVersion, '0.4.0')) {
      try {
        cached = await this.cachedResult(list, rt);
      } catch {
        await this.#cache.remove(key(list, rt));
      }
    }
    for (const plugin of [...list.plugins].reverse()) await this.#run(list, plugin, 'DEL', rt, cached);
    await this.#cache.remove(key(list, rt));
  }

  /**
   * GC (CNI 1.1): deletes every cached attachment of this network that is not in
   * `validAttachments`, then, for lists of version 1.1.0 and later, sends GC to each
   * plugin with `cni.dev/valid-attachments`. Does nothing when the list sets `disableGC`.
   *
   * @throws {AggregateError} of every failure, after trying all of them.
   */
  async gc(list: NetworkConfigList, args: GcArgs): Promise<void> {
    if (list.disableGC) return;
    const valid = new Set(args.validAttachments.map((a) => `${a.containerID}\0${a.ifname}`));
    const errors: unknown[] = [];
    for (const attachment of await this.cachedAttachments()) {
      if (attachment.networkName !== list.name) continue;
      if (valid.has(`${attachment.containerId}\0${attachment.ifName}`)) continue;
      try {
        await this.del(list, {
          containerId: attachment.containerId,
          netns: attachment.netns ?? '',
          ifName: attachment.ifName,
          ...(attachment.cniArgs ? { args: attachment.cniArgs } : {}),
          ...(attachment.capabilityArgs ? { capabilityArgs: attachment.capabilityArgs } : {}),
        });
      } catch (error) {
        errors.push(error);
      }
    }
    if (isVersionAtLeast(list.cniVersion, '1.1.0')) {
      const attachments = args.validAttachments.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
      // libcni sends the list under both keys: plugins built on libcni 1.2.0 read the
      // draft's `cni.dev/attachments` (containernetworking/cni #1101).
      const extra = { [VALID_ATTACHMENTS_KEY]: attachments, [LEGACY_ATTACHMENTS_KEY]: attachments };
      for (const plugin of list.plugins) {
        try {
          await this.#call(plugin, 'GC', pluginEnvironment('GC', this.#path), buildPluginStdin(list, plugin, { extra }));
        } catch (error) {
          errors.push(error);
        }
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `GC of network ${list.name}: ${errors.length} failure(s)`);
  }

  /**
   * STATUS (CNI 1.1): asks each plugin in order whether it is ready for ADD. Lists older
   * than 1.1.0 are always ready.
   *
   * @throws {PluginError} from the first plugin that is not ready (code 50 or 51 when it says so).
   */
  async status(list: NetworkConfigList): Promise<void> {
    if (!isVersionAtLeast(list.cniVersion, '1.1.0')) return;
    for (const plugin of list.plugins) {
      await this.#call(plugin, 'STATUS', pluginEnvironment('STATUS', this.#path), buildPluginStdin(list, plugin));
    }
  }

  /**
   * VERSION: the versions a plugin supports.
   *
   * @throws {PluginError}; {@link CniError} code 6 when its answer does not decode.
   */
  async version(type: string, cniVersion: CniVersion = '1.1.0'): Promise<VersionResult> {
    const stdin = new TextEncoder().encode(JSON.stringify({ cniVersion }));
    // Placeholder CNI_NETNS and CNI_IFNAME, as libcni's GetVersionInfo sends: plugins built
    // on an old skel refuse any command, VERSION included, without them.
    const env = pluginEnvironment('VERSION', this.#path, { netns: 'dummy', ifName: 'dummy' });
    const stdout = await this.#call({ type }, 'VERSION', env, stdin);
    return decodeVersionResult(new TextDecoder().decode(stdout));
  }

  /**
   * Checks that every plugin of the list exists and supports the list's version (libcni
   * `ValidateNetworkList`). Returns the capabilities the list declares.
   *
   * @throws {AggregateError} of every problem found.
   */
  async validate(list: NetworkConfigList): Promise<string[]> {
    const errors: unknown[] = [];
    const capabilities = new Set<string>();
    for (const plugin of list.plugins) {
      try {
        const info = await this.version(plugin.type, toSupportedVersion(list.cniVersion));
        if (!info.supportedVersions.includes(list.cniVersion)) {
          errors.push(
            new CniError(
              CNI_ERROR.INCOMPATIBLE_VERSION,
              `plugin ${plugin.type} does not support config version ${JSON.stringify(list.cniVersion)}`,
              `it supports ${info.supportedVersions.join(', ')}`,
            ),
          );
        }
      } catch (error) {
        errors.push(error);
      }
      for (const [capability, enabled] of Object.entries(plugin.capabilities)) if (enabled) capabilities.add(capability);
    }
    if (errors.length > 0) throw new AggregateError(errors, `network ${list.name} is not valid here`);
    return [...capabilities].sort();
  }

  /**
   * The cached ADD result of an attachment, converted to the list's version (dropping
   * what that version cannot carry, as libcni does), or undefined when none is cached.
   *
   * @throws {CniError} code 6 when the cache entry does not decode.
   */
  async cachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult | undefined> {
    const k = key(list, rt);
    const bytes = await this.#cache.read(k);
    if (bytes === undefined) return undefined;
    const record = decodeCacheRecord(bytes, cacheFileName(k));
    if (record.result === undefined) return undefined;
    const result = decodeResult(record.result, undefined, { at: `${cacheFileName(k)}: result` });
    return convertResult(result, toSupportedVersion(list.cniVersion), { allowLoss: true });
  }

  /** The cached attachments (of one container when given), skipping unreadable entries as libcni does. */
  async cachedAttachments(containerId?: string): Promise<CachedAttachment[]> {
    const out: CachedAttachment[] = [];
    for (const { name, bytes } of await this.#cache.list()) {
      if (containerId !== undefined && !name.includes(`-${containerId}-`)) continue;
      let record: CacheRecord;
      try {
        record = decodeCacheRecord(bytes, name);
      } catch {
        continue;
      }
      if (containerId !== undefined && record.containerId !== containerId) continue;
      if (record.ifName === '' || record.networkName === '') continue;
      out.push({
        containerId: record.containerId,
        networkName: record.networkName,
        ifName: record.ifName,
        config: record.config,
        ...(record.netns ? { netns: record.netns } : {}),
        ...(record.cniArgs ? { cniArgs: record.cniArgs } : {}),
        ...(record.capabilityArgs ? { capabilityArgs: record.capabilityArgs } : {}),
      });
    }
    return out;
  }

  #record(list: NetworkConfigList, rt: RuntimeConf, result: CniResult): CacheRecord {
    return {
      kind: CACHE_KIND,
      containerId: rt.containerId,
      config: list.bytes,
      ifName: rt.ifName,
      networkName: list.name,
      ...(rt.netns ? { netns: rt.netns } : {}),
      ...(rt.args && rt.args.length > 0 ? { cniArgs: rt.args } : {}),
      ...(rt.capabilityArgs ? { capabilityArgs: rt.capabilityArgs } : {}),
      result: resultToJson(result) as Record<string, unknown>,
    };
  }

  async #run(
    list: NetworkConfigList,
    plugin: ListPluginConfig,
    command: 'ADD' | 'CHECK' | 'DEL',
    rt: RuntimeConf,
    prevResult: CniResult | undefined,
  ): Promise<Uint8Array> {
    const stdin = buildPluginStdin(list, plugin, {
      ...(prevResult ? { prevResult: resultToJson(prevResult) } : {}),
      ...(rt.capabilityArgs ? { capabilityArgs: rt.capabilityArgs } : {}),
    });
    return this.#call(plugin, command, pluginEnvironment(command, this.#path, rt), stdin);
  }

  #call(plugin: Pick<ListPluginConfig, 'type'>, command: string, env: Record<string, string>, stdin: Uint8Array): Promise<Uint8Array> {
    return callPlugin({ exec: this.#exec, paths: this.#path, type: plugin.type, command, env, stdin, timeoutMs: this.#timeoutMs });
  }
}

function key(list: NetworkConfigList, rt: RuntimeConf): CacheKey {
  return { networkName: list.name, containerId: rt.containerId, ifName: rt.ifName };
}

/** libcni validates the container id, network name and interface name before running anything. */
function checkAttachment(list: NetworkConfigList, rt: RuntimeConf, options: { netnsOptional?: boolean } = {}): void {
  validateContainerId(rt.containerId);
  checkNetworkName(list.name);
  // validateInterfaceName lets "" through (the skel checks presence separately); libcni's
  // ValidateInterfaceName refuses it.
  if (rt.ifName === '') throw new CniError(CNI_ERROR.INVALID_ENVIRONMENT, 'CNI_IFNAME: required');
  validateInterfaceName(rt.ifName);
  if (!options.netnsOptional && rt.netns === '') {
    throw new CniError(CNI_ERROR.INVALID_ENVIRONMENT, 'CNI_NETNS: required');
  }
}

/**
 * A plugin's ADD result in the list's version. The spec wants the result in the
 * requested version; libcni takes whatever version a plugin prints. A result of
 * another version is converted when nothing is lost (code 1 otherwise), so the next
 * plugin's prevResult and the cache hold the list's version.
 */
function resultInListVersion(stdout: Uint8Array, cniVersion: string): CniResult {
  const target = toSupportedVersion(cniVersion);
  const result = decodeResult(stdout);
  return result.cniVersion === target ? result : convertResult(result, target);
}

/** A plugin whose result does not decode failed, as far as the caller is concerned. */
function wrapPluginErrors<T>(plugin: ListPluginConfig, command: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof CniError)) throw error;
    throw new PluginError(
      error.code,
      `plugin ${describe(plugin)} failed (${command}): its result is not valid: ${error.msg}`,
      error.details,
      'bad-output',
      plugin.type,
      command.toUpperCase(),
    );
  }
}
