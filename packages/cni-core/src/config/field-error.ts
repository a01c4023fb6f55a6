import { CNI_ERROR, CniError, type CniErrorCode } from '../errors.js';

/**
 * The path of a field inside a JSON document, as segments: object keys are strings,
 * array indexes are numbers. `['plugins', 1, 'ipam', 'ranges', 0, 0, 'subnet']` is the
 * field printed as `plugins[1].ipam.ranges[0][0].subnet`.
 */
export type FieldPath = readonly (string | number)[];

// A key that reads unambiguously after a dot; anything else (e.g. "cni.dev/x",
// "net.core.somaxconn") is printed in brackets as a JSON string.
const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Formats a {@link FieldPath} the way Twill's error messages name fields:
 * `plugins[1].type`, `ipam.ranges[0][0].subnet`, `sysctl["net.core.somaxconn"]`.
 * The empty path is the document itself and formats as `""`.
 */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
    } else if (PLAIN_KEY.test(segment)) {
      out += out === '' ? segment : `.${segment}`;
    } else {
      out += `[${JSON.stringify(segment)}]`;
    }
  }
  return out;
}

/**
 * Builds the error for one bad field: a {@link CniError} whose `msg` is
 * `<path>: <problem>`, e.g. `plugins[0].capabilities.portMappings: must be a boolean`.
 * Other packages use it for their own sections of the config, e.g. IPAM with
 * `fieldError(['ipam', 'ranges', 0, 0, 'subnet'], 'invalid CIDR "10.1/33"')`.
 *
 * @param path - where the bad field is; the empty path means the whole document.
 * @param problem - what is wrong, short and lower-case (`missing`, `must be a string`).
 * @param code - the spec error code; 7 (invalid network config) unless given.
 * @returns the error, to be thrown by the caller.
 */
export function fieldError(
  path: FieldPath,
  problem: string,
  code: CniErrorCode | number = CNI_ERROR.INVALID_NETWORK_CONFIG,
): CniError {
  const where = path.length === 0 ? 'configuration' : formatFieldPath(path);
  return new CniError(code, `${where}: ${problem}`);
}

/**
 * Prefixes an error's message with where the document came from (a file path), keeping
 * its code: `/etc/cni/net.d/10-a.conflist: plugins[1].type: missing`. Errors that are not
 * {@link CniError}s become code 5 (I/O failure), which is what an unreadable file is.
 */
export function withSource(source: string, error: unknown): CniError {
  if (error instanceof CniError) {
    return new CniError(error.code, `${source}: ${error.msg}`, error.details, { cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new CniError(CNI_ERROR.IO_FAILURE, `${source}: ${reason}`, undefined, { cause: error });
}

/** A short name for the JSON type of a plain value, for messages: `got number`. */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
