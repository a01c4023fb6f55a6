// One plugin execution as a runtime does it (libcni pkg/invoke): find the executable,
// set the CNI_* variables, feed the configuration on stdin, and read back a result,
// nothing, or a CNI error.
import { CNI_ERROR, PLUGIN_FAILURE, PluginError, type PluginFailure } from '../errors.js';
import { type ExecResult, type PluginExec, type RuntimeConf } from './types.js';

/**
 * The environment variables of a call (CNI SPEC §"Parameters"). All six are always set,
 * empty when the call has no value, as libcni's `invoke.Args.AsEnv` does: the exec port
 * lays them over the runtime's own environment, and a runtime that itself runs inside a
 * plugin (or was started by one) must not hand its own CNI_NETNS or CNI_ARGS to a DEL
 * that has none.
 */
export function pluginEnvironment(
  command: string,
  paths: readonly string[],
  rt?: Partial<RuntimeConf>,
): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt?.containerId ?? '',
    CNI_NETNS: rt?.netns ?? '',
    CNI_ARGS: (rt?.args ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_IFNAME: rt?.ifName ?? '',
    CNI_PATH: paths.join(':'),
  };
}

/** Everything one plugin call needs. */
export interface PluginCall {
  /** How to find and run the executable. */
  readonly exec: PluginExec;
  /** The folders to look for it in (CNI_PATH), in order. */
  readonly paths: readonly string[];
  /** The plugin's `type`: the executable's name. */
  readonly type: string;
  /** `ADD`, `DEL`, `CHECK`, `GC`, `STATUS` or `VERSION`. */
  readonly command: string;
  /** The CNI_* variables of the call. */
  readonly env: Readonly<Record<string, string>>;
  /** The configuration to write to its stdin. */
  readonly stdin: Uint8Array;
  /** Milliseconds before the plugin (and its process group) is killed. */
  readonly timeoutMs: number;
}

const decoder = new TextDecoder();
const STDERR_KEPT = 4096;

function tail(text: string): string {
  return text.length > STDERR_KEPT ? text.slice(-STDERR_KEPT) : text;
}

/**
 * Runs one plugin and gives its stdout when it succeeded.
 *
 * @throws {PluginError} with the plugin's own code, msg and details when it printed a CNI
 *   error; otherwise code 5 and a `failure` of not-found, timeout, crashed or exec-failed.
 */
export async function callPlugin(call: PluginCall): Promise<Uint8Array> {
  const label = `plugin type=${JSON.stringify(call.type)} failed (${call.command.toLowerCase()})`;
  const fail = (failure: PluginFailure, msg: string, details?: string, stderr = '', cause?: unknown): PluginError =>
    new PluginError(CNI_ERROR.IO_FAILURE, `${label}: ${msg}`, details, failure, call.type, call.command, stderr, {
      cause,
    });

  if (call.type.includes('/') || call.type === '' || call.type === '.' || call.type === '..') {
    // A type names an executable on CNI_PATH, never a path (libcni FindInPath).
    throw fail(PLUGIN_FAILURE.NOT_FOUND, `invalid plugin type ${JSON.stringify(call.type)}`);
  }
  const file = await call.exec.find(call.type, call.paths);
  if (file === undefined) {
    throw fail(PLUGIN_FAILURE.NOT_FOUND, `no executable named ${JSON.stringify(call.type)} in ${JSON.stringify(call.paths)}`);
  }
  let result: ExecResult;
  try {
    result = await call.exec.exec({ file, env: call.env, stdin: call.stdin, timeoutMs: call.timeoutMs });
  } catch (error) {
    throw fail(PLUGIN_FAILURE.EXEC_FAILED, `cannot run ${file}`, (error as Error).message, '', error);
  }
  const stderr = tail(result.stderr);
  if (result.timedOut) {
    throw fail(PLUGIN_FAILURE.TIMEOUT, `killed after ${call.timeoutMs} ms`, undefined, stderr);
  }
  if (result.exitCode === 0) return result.stdout;

  // Non-zero: the spec's error document on stdout (CNI SPEC §"Error").
  const text = decoder.decode(result.stdout).trim();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { code?: unknown }).code === 'number') {
    const doc = parsed as { code: number; msg?: unknown; details?: unknown };
    const msg = typeof doc.msg === 'string' ? doc.msg : '';
    const details = typeof doc.details === 'string' && doc.details !== '' ? doc.details : undefined;
    throw new PluginError(doc.code, `${label}: ${msg}`, details, 'error', call.type, call.command, stderr);
  }
  const how = result.exitCode === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited ${result.exitCode}`;
  throw fail(PLUGIN_FAILURE.CRASHED, `${how} without a CNI error`, stderr.trim() || text || undefined, stderr);
}
