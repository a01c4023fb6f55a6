// The exec protocol of a plugin (SPEC.md v1.1.0 §"Section 2: Execution Protocol"): the
// environment and stdin in, one JSON document on stdout, an exit code out. Like libcni's
// pkg/skel, but the process is a parameter and the exit code is returned.
import { CNI_ERROR, CniError } from '../errors.js';
import { convertResult } from '../spec/convert.js';
import { expectObject, isJsonObject, type JsonObject } from '../spec/fields.js';
import { decodeGcAttachments, encodeVersionResult } from '../spec/plugin-output.js';
import { type CniResult, decodeResult, encodeResult, parseJsonText } from '../spec/result.js';
import {
  compareVersions,
  type CniVersion,
  formatVersion,
  parseVersion,
  SUPPORTED_VERSIONS,
} from '../spec/versions.js';
import { type CniCommand, MINIMUM_VERSION } from './commands.js';
import { type CniEnvironment, readCniEnvironment } from './environment.js';
import { decodePluginConfig, readConfigVersion } from './plugin-config.js';
import { DEFAULT_MAX_STDIN_BYTES, readBoundedInput } from './stdin.js';
import { INTERNAL_ERROR_CODE, type PluginHandlers, type PluginIo, type RequestBase } from './types.js';

/** The exit code of a failed invocation (the spec asks only for non-zero; libcni uses 1). */
export const FAILURE_EXIT_CODE = 1;

/** A failure that is the plugin's fault, not the caller's: reported as code 999. */
function internalError(msg: string, details?: string, cause?: unknown): CniError {
  return new CniError(INTERNAL_ERROR_CODE, msg, details, { cause });
}

function newest(versions: readonly CniVersion[]): CniVersion {
  return [...versions].sort(compareVersions).at(-1) ?? '1.1.0';
}

// The VERSION answer's cniVersion is "the value of cniVersion specified on input"
// (SPEC.md §"Version"). VERSION is a probe: a missing or unreadable stdin must not make
// it fail, so then the plugin's newest version is used instead.
function versionAnswer(stdin: Uint8Array, supported: readonly CniVersion[]): string {
  let requested: unknown;
  try {
    const value = parseJsonText(stdin);
    requested = isJsonObject(value) ? value['cniVersion'] : undefined;
  } catch {
    requested = undefined;
  }
  if (typeof requested === 'string') {
    try {
      parseVersion(requested);
      return requested;
    } catch {
      // fall through: not a version
    }
  }
  return newest(supported);
}

interface Invocation {
  readonly env: CniEnvironment;
  readonly config: JsonObject;
}

async function dispatch(
  { env, config: raw }: Invocation,
  handlers: PluginHandlers,
  supported: readonly CniVersion[],
  setVersion: (version: string) => void,
): Promise<string | undefined> {
  // Version first: a request the plugin cannot read at all gets code 1, so the runtime
  // knows to negotiate, whatever else is wrong with the config.
  const requested = readConfigVersion(raw);
  const normalized = formatVersion(parseVersion(requested));
  setVersion(requested);
  if (!(supported as readonly string[]).includes(normalized)) {
    throw new CniError(
      CNI_ERROR.INCOMPATIBLE_VERSION,
      'incompatible CNI versions',
      `config is "${requested}", plugin supports [${supported.join(', ')}]`,
    );
  }
  const minimum = MINIMUM_VERSION[env.command];
  if (minimum !== undefined && compareVersions(normalized, minimum) < 0) {
    throw new CniError(
      CNI_ERROR.INCOMPATIBLE_VERSION,
      `config version "${requested}" does not allow ${env.command}`,
      `${env.command} needs cniVersion ${minimum} or later`,
    );
  }
  const config = decodePluginConfig(raw);
  const base: RequestBase = { cniVersion: config.cniVersion, config, args: env.args, path: env.path };
  const attachment = {
    ...base,
    containerId: env.containerId ?? '',
    ifName: env.ifName ?? '',
    netns: env.netns,
  };
  switch (env.command as Exclude<CniCommand, 'VERSION'>) {
    case 'ADD': {
      const result: unknown = await handlers.add({ ...attachment, netns: env.netns ?? '' });
      return encodeAddResult(result, config.cniVersion, handlers.allowLossyResult === true);
    }
    case 'DEL':
      await handlers.del(attachment);
      return undefined;
    case 'CHECK':
      await handlers.check({ ...attachment, netns: env.netns ?? '' });
      return undefined;
    case 'GC':
      await handlers.gc?.({ ...base, validAttachments: decodeGcAttachments(raw) ?? [] });
      return undefined;
    case 'STATUS':
      await handlers.status?.(base);
      return undefined;
  }
}

// The handler's result is converted to the request's version (SPEC.md §"Success": the
// result's cniVersion is "the same version supplied on input") and decoded again, so a
// plugin bug such as a bad CIDR is reported as one rather than printed as a result.
function encodeAddResult(result: unknown, version: CniVersion, allowLoss: boolean): string {
  if (!isJsonObject(result) || typeof result['cniVersion'] !== 'string') {
    throw internalError('plugin returned no result from ADD');
  }
  let checked: CniResult;
  try {
    checked = decodeResult(result, result['cniVersion']);
  } catch (error) {
    throw internalError('plugin returned an invalid result', (error as CniError).message, error);
  }
  return encodeResult(convertResult(checked, version, { allowLoss }));
}

function errorJson(error: unknown, cniVersion: string, stderr: PluginIo['stderr']): string {
  let cniError: CniError;
  if (error instanceof CniError && Number.isInteger(error.code) && error.code > 0) {
    cniError = error;
  } else {
    // Unexpected: the trace goes to stderr (for the runtime's logs), never to stdout.
    const trace = error instanceof Error ? (error.stack ?? error.message) : String(error);
    stderr.write(`internal error: ${trace}\n`);
    const message = error instanceof Error ? error.message : String(error);
    cniError = internalError('internal error', message.split('\n', 1)[0]);
  }
  return JSON.stringify(cniError.toJSON(cniVersion), null, 4);
}

/**
 * Runs one plugin invocation: reads the environment and stdin from `io`, calls the
 * handler for CNI_COMMAND, writes the result or the error JSON to `io.stdout`, and
 * returns the exit code (0 on success, 1 on failure). It never throws and never writes
 * anything but one JSON document to stdout.
 *
 * Error codes: 4 for the environment (naming the variables), 5 when stdin cannot be read
 * or is over the cap, 6 for undecodable JSON or wrongly typed fields, 7 for invalid
 * config fields, 1 for an unsupported `cniVersion` or a result the requested version
 * cannot express, a handler's own CniError as is, and 999 for anything unexpected.
 */
export async function runPlugin(io: PluginIo, handlers: PluginHandlers): Promise<number> {
  const supported = handlers.supportedVersions ?? SUPPORTED_VERSIONS;
  let errorVersion: string = newest(supported);
  try {
    const env = readCniEnvironment(io.env, { knownArgs: handlers.knownArgs });
    const stdin = await readBoundedInput(io.stdin, handlers.maxStdinBytes ?? DEFAULT_MAX_STDIN_BYTES);
    if (env.command === 'VERSION') {
      io.stdout.write(`${encodeVersionResult({ cniVersion: versionAnswer(stdin, supported), supportedVersions: supported })}\n`);
      return 0;
    }
    const config = expectObject(parseJsonText(stdin, 'stdin'), 'stdin');
    const output = await dispatch({ env, config }, handlers, supported, (version) => {
      errorVersion = version;
    });
    if (output !== undefined) io.stdout.write(`${output}\n`);
    return 0;
  } catch (error) {
    io.stdout.write(`${errorJson(error, errorVersion, io.stderr)}\n`);
    return FAILURE_EXIT_CODE;
  }
}
