// `twill cni add|check|del|gc|status`: a cnitool on @twill/cni-core's CniRuntime. As
// cnitool: the network is loaded from NETCONFPATH (default /etc/cni/net.d), plugins
// are found on CNI_PATH, CAP_ARGS is a JSON object of capability arguments, CNI_ARGS
// `KEY=VALUE;...` pairs, CNI_IFNAME the interface unless --ifname, and the container
// id is derived from the absolute netns path unless --container-id.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';

import {
  CniError,
  CniRuntime,
  DEFAULT_CNI_CACHE_DIR,
  DEFAULT_CNI_CONFIG_DIR,
  loadNetworkConfigList,
  resultToJson,
  type NetworkConfigList,
  type RuntimeConf,
} from '@twill/cni-core';

import { type CommandContext } from '../context.js';
import { FailedError, UsageError } from '../errors.js';
import { renderJson, renderYaml } from '../output.js';

/** The verbs, as cnitool names them. */
export const CNI_VERBS = ['add', 'check', 'del', 'gc', 'status'] as const;

/** One of {@link CNI_VERBS}. */
export type CniVerb = (typeof CNI_VERBS)[number];

/** Where plugins are looked for when CNI_PATH is not set. */
export const DEFAULT_CNI_PATH = '/opt/cni/bin';

/** The options of a `cni` command, as parsed. */
export interface CniOptions {
  readonly ifname?: string;
  readonly containerId?: string;
  readonly cacheDir?: string;
  readonly output: 'json' | 'yaml';
}

/**
 * The container id cnitool uses for a namespace: `cnitool-` and the first 10 bytes of
 * the SHA-512 of its absolute path, in hex. Using it lets `twill cni` and cnitool
 * find each other's attachments in libcni's cache.
 */
export function containerIdForNetns(absolutePath: string): string {
  return `cnitool-${createHash('sha512').update(absolutePath).digest('hex').slice(0, 20)}`;
}

/** CNI_ARGS `K=V;K=V` as pairs, as cnitool reads it (each pair exactly one `=`, neither side empty). */
export function parseCniArgs(command: string, text: string): [string, string][] {
  return text.split(';').map((pair) => {
    const parts = pair.split('=');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new UsageError(command, 'CNI_ARGS', `invalid pair ${JSON.stringify(pair)}: expected KEY=VALUE;KEY=VALUE`);
    }
    return [parts[0] as string, parts[1] as string];
  });
}

function parseCapabilityArgs(command: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(command, 'CAP_ARGS', `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(command, 'CAP_ARGS', 'must be a JSON object ({"portMappings": [...]})');
  return value as Record<string, unknown>;
}

// Plugins' messages may span lines; the CLI's is one.
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, '; ');

function failure(command: string, error: unknown): never {
  if (error instanceof AggregateError) {
    const messages = error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e)));
    throw new FailedError(command, '', oneLine(`${error.message}: ${messages.join('; ')}`), { cause: error });
  }
  if (error instanceof CniError) throw new FailedError(command, '', oneLine(error.message), { cause: error });
  // A system call that failed (the cache folder not writable without root, say) is the operation failing, not a bug.
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') throw new FailedError(command, '', oneLine(error.message), { cause: error });
  throw error;
}

/** Runs one cni verb; 0 when it succeeded, 1 when the runtime or a plugin failed. */
export async function runCni(ctx: CommandContext, verb: CniVerb, network: string, netns: string | undefined, options: CniOptions): Promise<number> {
  const { io, command } = ctx;
  const env = io.env;
  const dir = env['NETCONFPATH'] !== undefined && env['NETCONFPATH'] !== '' ? env['NETCONFPATH'] : DEFAULT_CNI_CONFIG_DIR;
  const pathVar = env['CNI_PATH'] !== undefined && env['CNI_PATH'] !== '' ? env['CNI_PATH'] : DEFAULT_CNI_PATH;
  const capText = env['CAP_ARGS'] ?? '';
  const argsText = env['CNI_ARGS'] ?? '';
  const capabilityArgs = capText === '' ? undefined : parseCapabilityArgs(command, capText);
  const args = argsText === '' ? undefined : parseCniArgs(command, argsText);
  if ((verb === 'add' || verb === 'check' || verb === 'del') && (netns === undefined || netns === '')) {
    throw new UsageError(command, 'NETNS', 'required: the path of the network namespace (/var/run/netns/NAME)');
  }

  let list: NetworkConfigList;
  try {
    list = await loadNetworkConfigList(io.cni.configDirectory, dir, network);
  } catch (error) {
    if (error instanceof CniError) throw new UsageError(command, 'NETWORK', error.message, { cause: error });
    throw error;
  }
  const runtime = new CniRuntime({
    path: pathVar.split(':').filter((p) => p !== ''),
    exec: io.cni.pluginExec(),
    cache: io.cni.resultCache(options.cacheDir ?? DEFAULT_CNI_CACHE_DIR),
  });
  try {
    if (verb === 'status') {
      await runtime.status(list);
      return 0;
    }
    if (verb === 'gc') {
      // As cnitool: no attachment is named valid, so every cached attachment of the network is deleted.
      await runtime.gc(list, { validAttachments: [] });
      return 0;
    }
    const absolute = posix.resolve(io.cwd, netns as string);
    const ifName = options.ifname ?? (env['CNI_IFNAME'] !== undefined && env['CNI_IFNAME'] !== '' ? env['CNI_IFNAME'] : 'eth0');
    const rt: RuntimeConf = {
      containerId: options.containerId ?? containerIdForNetns(absolute),
      netns: absolute,
      ifName,
      ...(args === undefined ? {} : { args }),
      ...(capabilityArgs === undefined ? {} : { capabilityArgs }),
    };
    if (verb === 'add') {
      const result = resultToJson(await runtime.add(list, rt));
      io.stdout.write(options.output === 'yaml' ? renderYaml(result) : renderJson(result));
    } else if (verb === 'check') {
      await runtime.check(list, rt);
    } else {
      await runtime.del(list, rt);
    }
    return 0;
  } catch (error) {
    return failure(command, error);
  }
}
