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
  /** ADD for a Pod the Kubernetes API does not have (a stale request: the Pod was deleted). */
  POD_NOT_FOUND: 123,
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

/**
 * The configuration asks for a datastore only twill-agent reaches (`datastore:
 * "kubernetes"`), and no agent answered on its socket: the forwarder ran the standalone
 * plugin, which cannot reach the API server (spec code 50, "plugin not available").
 */
export class AgentNotRunningError extends TwillPluginError {
  override readonly name: string = 'AgentNotRunningError';

  constructor(agentSocket: string, datastore: string) {
    super(
      CNI_ERROR.PLUGIN_NOT_AVAILABLE,
      `twill: twill-agent is not running (nothing answers on ${agentSocket}): with the ${datastore} datastore only the agent can serve the plugin`,
      'start twill-agent on this node (the twill DaemonSet) and try again',
    );
  }
}

/** The configuration names another datastore than the one the serving agent runs on (code 7). */
export class DatastoreMismatchError extends TwillPluginError {
  override readonly name: string = 'DatastoreMismatchError';

  constructor(configured: string, served: string) {
    super(
      CNI_ERROR.INVALID_NETWORK_CONFIG,
      `twill: datastore: the network configuration says ${JSON.stringify(configured)}, but twill-agent runs on the ${served} datastore`,
      'run twill-agent install-cni again to write the conflist of the running agent',
    );
  }
}

/** ADD without K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS, where the Pod is looked up (spec code 4). */
export class PodArgsMissingError extends TwillPluginError {
  override readonly name: string = 'PodArgsMissingError';

  constructor(missing: readonly string[]) {
    super(
      CNI_ERROR.INVALID_ENVIRONMENT,
      `twill: CNI_ARGS has no ${missing.join(' and no ')}: with the Kubernetes datastore every pod is looked up by namespace and name`,
      'the container runtime passes K8S_POD_NAMESPACE and K8S_POD_NAME for Kubernetes pods',
    );
  }
}

/** ADD for a Pod the API server does not have (code 123): kubelet asked for a Pod since deleted. */
export class PodNotFoundError extends TwillPluginError {
  override readonly name: string = 'PodNotFoundError';

  constructor(namespace: string, pod: string) {
    super(TWILL_PLUGIN_ERROR.POD_NOT_FOUND, `twill: pod ${namespace}/${pod} does not exist in the Kubernetes API`, 'a stale request for a deleted pod: nothing was attached');
  }
}
