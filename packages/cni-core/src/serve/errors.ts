// The errors of the plugin server's frame codec.
import { CNI_ERROR, CniError } from '../errors.js';

/**
 * A frame that is not what the forwarder protocol allows (frame.ts): bad magic, a
 * length over the cap, a field running past its frame, bytes left over. A CniError with
 * code 6 (decode failure), so the server can hand it to the client as is; `offset` is
 * where in the frame (from its first byte) the problem lies.
 */
export class FrameError extends CniError {
  /** The class name, `'FrameError'`. */
  override readonly name: string = 'FrameError';

  constructor(
    msg: string,
    /** The byte offset of the problem from the frame's start. */
    readonly offset: number,
  ) {
    super(CNI_ERROR.DECODE_FAILURE, `plugin server frame: ${msg} (at byte ${offset})`);
  }
}

/** Why a plugin server could not start. */
export const PLUGIN_SERVER_ERROR = {
  /** Another process answers on the socket path. */
  SOCKET_IN_USE: 'SOCKET_IN_USE',
  /** Something other than a socket sits at the socket path. */
  NOT_A_SOCKET: 'NOT_A_SOCKET',
  /** The forwarder executable is not built. */
  FORWARDER_MISSING: 'FORWARDER_MISSING',
} as const;

/** One of {@link PLUGIN_SERVER_ERROR}. */
export type PluginServerErrorCode = (typeof PLUGIN_SERVER_ERROR)[keyof typeof PLUGIN_SERVER_ERROR];

/** A plugin server or forwarder installation that cannot go ahead; `code` says why. */
export class PluginServerError extends Error {
  /** The class name, `'PluginServerError'`. */
  override readonly name: string = 'PluginServerError';

  constructor(
    /** What went wrong, one of {@link PLUGIN_SERVER_ERROR}. */
    readonly code: PluginServerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
