// Delegation, as a plugin calls its IPAM plugin (libcni pkg/invoke DelegateAdd/Del/
// Check): the delegate runs with the calling plugin's own environment, CNI_COMMAND set
// to the command, and the calling plugin's configuration on stdin.
import { CNI_ERROR, CniError } from '../errors.js';
import { type CniResult, decodeResult, parseJsonText } from '../spec/result.js';
import { callPlugin } from './plugin-call.js';
import { nodePluginExec } from './sys/node-exec.js';
import { type PluginExec } from './types.js';

/** Options of the delegate functions. */
export interface DelegateOptions {
  /** The calling plugin's environment (its CNI_* variables); CNI_PATH finds the delegate. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Runs the delegate (default: real executables, inheriting `env`). */
  readonly exec?: PluginExec;
  /** Kill the delegate after this many milliseconds (default 60 000). */
  readonly timeoutMs?: number;
}

async function delegate(command: string, type: string, config: Uint8Array, options: DelegateOptions): Promise<Uint8Array> {
  const paths = (options.env['CNI_PATH'] ?? '').split(':').filter((p) => p !== '');
  if (paths.length === 0) throw new CniError(CNI_ERROR.INVALID_ENVIRONMENT, 'CNI_PATH: required to find a delegate plugin');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.env)) if (k.startsWith('CNI_') && v !== undefined) env[k] = v;
  env['CNI_COMMAND'] = command;
  return callPlugin({
    exec: options.exec ?? nodePluginExec({ baseEnv: options.env }),
    paths,
    type,
    command,
    env,
    stdin: config,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

function configVersion(config: Uint8Array): string | undefined {
  const parsed = parseJsonText(config, 'delegate configuration');
  const version = (parsed as { cniVersion?: unknown } | null)?.cniVersion;
  return typeof version === 'string' ? version : undefined;
}

/**
 * Runs a delegate plugin's ADD (an IPAM plugin, typically) and decodes its result in the
 * configuration's version.
 *
 * @throws {PluginError} when the delegate fails; {@link CniError} code 6 for a bad result.
 */
export async function delegateAdd(type: string, config: Uint8Array, options: DelegateOptions): Promise<CniResult> {
  const stdout = await delegate('ADD', type, config, options);
  return decodeResult(stdout, configVersion(config) ?? '0.1.0');
}

/** Runs a delegate plugin's CHECK. @throws {PluginError} when it fails. */
export async function delegateCheck(type: string, config: Uint8Array, options: DelegateOptions): Promise<void> {
  await delegate('CHECK', type, config, options);
}

/** Runs a delegate plugin's DEL. @throws {PluginError} when it fails. */
export async function delegateDel(type: string, config: Uint8Array, options: DelegateOptions): Promise<void> {
  await delegate('DEL', type, config, options);
}
