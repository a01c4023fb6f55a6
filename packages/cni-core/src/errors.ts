/**
 * The CNI error codes (SPEC.md, "Error"). Codes 1-99 are reserved by the spec; plugins
 * use 100 and above for their own.
 */
export const CNI_ERROR = {
  /** Incompatible CNI version. */
  INCOMPATIBLE_VERSION: 1,
  /** Unsupported field in network configuration; `msg` names the key and value. */
  UNSUPPORTED_FIELD: 2,
  /** Container unknown or does not exist. */
  UNKNOWN_CONTAINER: 3,
  /** Invalid necessary environment variables, like CNI_COMMAND or CNI_CONTAINERID; `msg` names the variable. */
  INVALID_ENVIRONMENT: 4,
  /** I/O failure, such as failing to read network config bytes from stdin. */
  IO_FAILURE: 5,
  /** Failed to decode content, such as unmarshalling the network config from bytes. */
  DECODE_FAILURE: 6,
  /** Invalid network config: a validation has failed. */
  INVALID_NETWORK_CONFIG: 7,
  /** Try again later: a transient condition, such as a held lock. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin is not available and cannot service ADD requests. */
  PLUGIN_NOT_AVAILABLE: 50,
  /** STATUS: the plugin is available, but some connectivity may be limited. */
  LIMITED_CONNECTIVITY: 51,
} as const;

/** One of the well-known codes of {@link CNI_ERROR}. */
export type CniErrorCode = (typeof CNI_ERROR)[keyof typeof CNI_ERROR];

/** The error JSON a plugin writes to stdout (SPEC.md, "Error"). */
export interface CniErrorJson {
  /** The spec version of the output (the request's). */
  cniVersion: string;
  /** The error code: 1 to 99 are the spec's (see {@link CNI_ERROR}), 100 and up the plugin's own. */
  code: number;
  /** A short message. */
  msg: string;
  /** A longer description, when there is one. */
  details?: string;
}

/**
 * A CNI error: it *is* the protocol output. `code` is the spec code (or 100+ for a
 * plugin's own), `msg` a short message, `details` a longer one. `toJSON(version)` gives
 * what a plugin prints on stdout.
 */
export class CniError extends Error {
  /** The class name, `'CniError'`. */
  override readonly name: string = 'CniError';

  constructor(
    /** The spec's error code, or 100 and above for a plugin's own. */
    readonly code: number,
    /** The short message (`msg` in the JSON). */
    readonly msg: string,
    /** A longer explanation (`details` in the JSON), when there is one. */
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(details ? `${msg}: ${details}` : msg, options);
  }

  /** The spec's error JSON, for the `cniVersion` of the request. */
  toJSON(cniVersion = '1.1.0'): CniErrorJson {
    return {
      cniVersion,
      code: this.code,
      msg: this.msg,
      ...(this.details !== undefined && this.details !== '' ? { details: this.details } : {}),
    };
  }

  /** Reads a plugin's error JSON back into a CniError (as a runtime does with a plugin's stdout). */
  static fromJSON(json: { code: number; msg?: string; details?: string }): CniError {
    return new CniError(json.code, json.msg ?? '', json.details);
  }
}

/** How running a plugin went wrong, when the plugin itself did not answer with an error. */
export const PLUGIN_FAILURE = {
  /** No executable of that type on the plugin path. */
  NOT_FOUND: 'not-found',
  /** It ran longer than the call's timeout and was killed. */
  TIMEOUT: 'timeout',
  /** It exited non-zero (or by a signal) without an error document on stdout. */
  CRASHED: 'crashed',
  /** It exited 0 but its stdout is not the document the command expects. */
  BAD_OUTPUT: 'bad-output',
  /** It could not be started at all (permissions, a broken interpreter line). */
  EXEC_FAILED: 'exec-failed',
} as const;

/** One of {@link PLUGIN_FAILURE}, or `error` when the plugin printed a CNI error. */
export type PluginFailure = (typeof PLUGIN_FAILURE)[keyof typeof PLUGIN_FAILURE] | 'error';

/**
 * A plugin called by a runtime (or by a plugin delegating to another, such as IPAM)
 * failed. When the plugin printed a CNI error, `code`, `msg` and `details` are its own
 * and `failure` is `error`; otherwise `failure` says what happened and `code` is 5
 * (I/O failure). `msg` names the plugin and the command, as libcni does:
 * `plugin type="bridge" failed (add): ...`.
 */
export class PluginError extends CniError {
  /** The class name, `'PluginError'`. */
  override readonly name: string = 'PluginError';

  constructor(
    code: number,
    msg: string,
    details: string | undefined,
    /** What went wrong. */
    readonly failure: PluginFailure,
    /** The plugin's `type`. */
    readonly plugin: string,
    /** The CNI command, such as `ADD`. */
    readonly command: string,
    /** What the plugin wrote on stderr (at most the last 4 KiB). */
    readonly stderr = '',
    options?: { cause?: unknown },
  ) {
    super(code, msg, details, options);
  }
}
