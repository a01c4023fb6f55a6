// Reading and validating the protocol's environment variables (SPEC.md v1.1.0 §"Section
// 2: Execution Protocol", "Parameters"). Every error has code 4 (invalid environment
// variables) and names the variables, as the spec requires.
import { CNI_ERROR, CniError } from '../errors.js';
import { quote } from '../spec/fields.js';
import { type CniArgs, parseCniArgs, type ParseCniArgsOptions } from './cni-args.js';
import { type CniCommand, isCniCommand, REQUIRED_ENV } from './commands.js';

/** The environment as the plugin receives it (`process.env` fits). */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

/** The validated protocol parameters of one invocation. */
export interface CniEnvironment {
  /** CNI_COMMAND. */
  readonly command: CniCommand;
  /** CNI_CONTAINERID (present for ADD, DEL, CHECK). */
  readonly containerId: string | undefined;
  /** CNI_NETNS (present for ADD and CHECK; DEL may lack it). */
  readonly netns: string | undefined;
  /** CNI_IFNAME (present for ADD, DEL, CHECK). */
  readonly ifName: string | undefined;
  /** CNI_ARGS, parsed. */
  readonly args: CniArgs;
  /** CNI_PATH split on ':' (empty entries dropped). */
  readonly path: readonly string[];
}

function envError(message: string): CniError {
  return new CniError(CNI_ERROR.INVALID_ENVIRONMENT, message);
}

// SPEC.md §"Parameters": "Must start with an alphanumeric character, optionally followed
// by any combination of one or more alphanumeric characters, underscore (), dot (.) or
// hyphen (-)."
const CONTAINER_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks CNI_CONTAINERID's syntax; throws a CniError with code 4 naming it. */
export function validateContainerId(id: string): void {
  if (!CONTAINER_ID_PATTERN.test(id)) {
    throw envError(
      `CNI_CONTAINERID: invalid container id ${quote(id)}: must start with a letter or digit, then letters, digits, '_', '.' or '-'`,
    );
  }
}

// Linux IFNAMSIZ is 16 bytes with the terminating NUL.
const MAX_IFNAME_BYTES = 15;
const utf8 = new TextEncoder();

/**
 * Checks CNI_IFNAME against SPEC.md §"Parameters" (Linux interface name rules): not
 * empty, not `.` or `..`, under 16 bytes, no `/`, `:` or whitespace. Throws code 4.
 */
export function validateInterfaceName(name: string): void {
  const bad = (why: string): CniError => envError(`CNI_IFNAME: invalid interface name ${quote(name)}: ${why}`);
  if (name === '') throw envError('CNI_IFNAME: invalid interface name "": empty');
  if (name === '.' || name === '..') throw bad('"." and ".." are not allowed');
  if (utf8.encode(name).length > MAX_IFNAME_BYTES) throw bad(`longer than ${MAX_IFNAME_BYTES} bytes`);
  if (/[/:\s]/u.test(name)) throw bad("contains '/', ':' or whitespace");
}

/** Options of {@link readCniEnvironment}. */
export interface ReadEnvironmentOptions {
  /** Passed to {@link parseCniArgs}: the CNI_ARGS keys the plugin knows. */
  readonly knownArgs?: ParseCniArgsOptions['known'];
}

/**
 * Reads the protocol parameters. Throws a CniError with code 4 when CNI_COMMAND is
 * missing or unknown, when variables the command requires are missing or empty (all of
 * them are named), or when CNI_CONTAINERID, CNI_IFNAME or CNI_ARGS is malformed.
 */
export function readCniEnvironment(env: EnvironmentVariables, options: ReadEnvironmentOptions = {}): CniEnvironment {
  const command = env['CNI_COMMAND'];
  if (command === undefined || command === '') throw envError('required environment variables missing: CNI_COMMAND');
  if (!isCniCommand(command)) throw envError(`CNI_COMMAND: unknown command ${quote(command)}`);
  const missing = REQUIRED_ENV[command].filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) throw envError(`required environment variables missing: ${missing.join(', ')}`);

  const attachment = command === 'ADD' || command === 'DEL' || command === 'CHECK';
  const containerId = attachment ? env['CNI_CONTAINERID'] : undefined;
  const ifName = attachment ? env['CNI_IFNAME'] : undefined;
  if (containerId !== undefined) validateContainerId(containerId);
  if (ifName !== undefined) validateInterfaceName(ifName);
  const netns = attachment && env['CNI_NETNS'] !== '' ? env['CNI_NETNS'] : undefined;
  return {
    command,
    containerId,
    netns,
    ifName,
    args: parseCniArgs(env['CNI_ARGS'] ?? '', { known: options.knownArgs }),
    path: (env['CNI_PATH'] ?? '').split(':').filter((dir) => dir !== ''),
  };
}
