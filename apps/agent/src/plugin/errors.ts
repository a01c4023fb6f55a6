// The twill plugin's own failures. Each is a cni-core CniError, so its `code` is what the
// runtime reads: spec codes where the spec has one (3: the container's namespace is
// gone; 7: the configuration; 50: not ready), 120 and above for twill's own.
import { CNI_ERROR, CniError } from '@twill/cni-core';

/** The plugin-specific error codes (the spec leaves 100 and above to plugins). */
export const TWILL_PLUGIN_ERROR = {
  /** An interface the attachment needs is taken by another link. */
  LINK_EXISTS: 120,
  /** CHECK found the attachment not as ADD left it. */
  ATTACHMENT_DRIFT: 121,
  /** ADD for a container that already has an attachment on the network. */
  ATTACHMENT_EXISTS: 122,
} as const;

/** The base of the plugin's errors: a CniError with a stable `code`. */
export class TwillPluginError extends CniError {
  override readonly name: string = 'TwillPluginError';
}

/** An interface name the attachment needs is taken (code 120); the message says how to free it. */
export class LinkExistsError extends TwillPluginError {
  override readonly name: string = 'LinkExistsError';

  constructor(
    /** The interface name that is taken. */
    readonly linkName: string,
    /** Where: `the node` or the pod's namespace path. */
    readonly where: string,
    hint: string,
  ) {
    super(TWILL_PLUGIN_ERROR.LINK_EXISTS, `twill: interface ${linkName} already exists in ${where}`, hint);
  }
}

/** CHECK found drift (code 121): `details` lists every difference, one per line. */
export class AttachmentDriftError extends TwillPluginError {
  override readonly name: string = 'AttachmentDriftError';

  constructor(
    /** Each difference in words. */
    readonly drift: readonly string[],
  ) {
    super(TWILL_PLUGIN_ERROR.ATTACHMENT_DRIFT, `twill: the attachment has drifted (${drift.length} difference${drift.length === 1 ? '' : 's'})`, drift.join('\n'));
  }
}

/** ADD for a container that is attached already (code 122): DEL first. */
export class AttachmentExistsError extends TwillPluginError {
  override readonly name: string = 'AttachmentExistsError';

  constructor(network: string, containerId: string, ifName: string) {
    super(TWILL_PLUGIN_ERROR.ATTACHMENT_EXISTS, `twill: container ${containerId} is already attached to ${network} (interface ${ifName})`, 'run DEL for that attachment first');
  }
}

/** The pod's network namespace does not exist (spec code 3, "container unknown"). */
export class NetnsMissingError extends TwillPluginError {
  override readonly name: string = 'NetnsMissingError';

  constructor(netns: string, options?: { cause?: unknown }) {
    super(CNI_ERROR.UNKNOWN_CONTAINER, `twill: the network namespace ${netns} does not exist`, 'the container is gone or CNI_NETNS is wrong', options);
  }
}

/** The datastore cannot be written (spec code 50 for STATUS). */
export class DatastoreNotReadyError extends TwillPluginError {
  override readonly name: string = 'DatastoreNotReadyError';

  constructor(where: string, reason: string, options?: { cause?: unknown }) {
    super(CNI_ERROR.PLUGIN_NOT_AVAILABLE, `twill: the datastore at ${where} is not ready`, reason, options);
  }
}
