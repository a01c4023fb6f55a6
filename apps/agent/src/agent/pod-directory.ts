// The Pods the served plugin attaches, on the Kubernetes datastore: ADD's Pod must exist
// (a kubelet request for a deleted Pod attaches nothing), and the Pod carries its
// addresses under Calico's annotation names, so tools written for Calico read them.
import { CNI_ERROR } from '@twill/cni-core';

import { PodNotFoundError, TwillPluginError } from '../plugin/errors.js';
import { type EndpointRecord, type PodDirectory } from '../plugin/ports.js';
import { ResourceConflictError } from './datastore/errors.js';
import { type AgentLogger, type ResourceDatastore } from './ports.js';

/** The annotations a Pod gets after ADD (Calico's names: `cni.projectcalico.org/...`). */
export const POD_ANNOTATIONS = {
  /** The first address, with its length (`10.244.0.5/32`). */
  podIp: 'cni.projectcalico.org/podIP',
  /** Every address, comma-separated (`10.244.0.5/32,fd00:10:244::5/128`). */
  podIps: 'cni.projectcalico.org/podIPs',
  /** The container (sandbox) the addresses belong to. */
  containerId: 'cni.projectcalico.org/containerID',
} as const;

/**
 * The annotations recording an endpoint on its Pod.
 * @returns the three of {@link POD_ANNOTATIONS}; podIP and podIPs are absent for an endpoint without addresses.
 */
export function podAnnotationsOf(record: Pick<EndpointRecord, 'addresses' | 'containerId'>): Record<string, string> {
  return {
    ...(record.addresses.length === 0 ? {} : { [POD_ANNOTATIONS.podIp]: record.addresses[0]!, [POD_ANNOTATIONS.podIps]: record.addresses.join(',') }),
    [POD_ANNOTATIONS.containerId]: record.containerId,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Options of {@link DatastorePodDirectory}. */
export interface DatastorePodDirectoryOptions {
  /** Needs `annotate` (the Kubernetes datastore); without it Pods are only looked up. */
  readonly datastore: Pick<ResourceDatastore, 'get' | 'annotate'>;
  readonly logger: AgentLogger;
  /**
   * How long a Pod not found is looked for again before ADD fails (default 5,000 ms): the
   * Kubernetes datastore reads from watch caches, which may not have seen a Pod created
   * just before kubelet asked for its sandbox.
   */
  readonly missGraceMs?: number;
  /** The clock (ms) and the wait between looks (default Date.now and a 100 ms timer); tests give fake ones. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const LOOK_AGAIN_MS = 100;
// A DEL whose removal kept meeting a newer version of the Pod gives up (logged) after this many reads.
const DELETE_ATTEMPTS = 5;

/** {@link PodDirectory} over the agent's datastore (`pods` kind, `annotate`). */
export class DatastorePodDirectory implements PodDirectory {
  readonly #datastore: Pick<ResourceDatastore, 'get' | 'annotate'>;
  readonly #logger: AgentLogger;
  readonly #missGraceMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: DatastorePodDirectoryOptions) {
    this.#datastore = options.datastore;
    this.#logger = options.logger;
    this.#missGraceMs = options.missGraceMs ?? 5_000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * @throws PodNotFoundError (123) when the datastore has no such Pod; TwillPluginError
   * code 11 (try again later) when it cannot be read.
   */
  async require(namespace: string, pod: string): Promise<void> {
    const deadline = this.#now() + this.#missGraceMs;
    for (;;) {
      let found: unknown;
      try {
        found = await this.#datastore.get('pods', pod, namespace);
      } catch (error) {
        throw new TwillPluginError(CNI_ERROR.TRY_AGAIN_LATER, `twill: pod ${namespace}/${pod} could not be read from the datastore`, errorText(error), { cause: error });
      }
      if (found !== undefined) return;
      if (this.#now() >= deadline) throw new PodNotFoundError(namespace, pod);
      await this.#sleep(LOOK_AGAIN_MS);
    }
  }

  async added(record: EndpointRecord): Promise<void> {
    if (record.namespace === undefined || record.pod === undefined) return;
    await this.#annotate(record, podAnnotationsOf(record), 'recording the pod\'s addresses');
  }

  async deleted(record: EndpointRecord): Promise<void> {
    if (record.namespace === undefined || record.pod === undefined) return;
    const fields = { pod: `${record.namespace}/${record.pod}`, containerId: record.containerId };
    const what = 'removing the pod\'s address annotations';
    for (let attempt = 0; attempt < DELETE_ATTEMPTS; attempt++) {
      try {
        // A newer sandbox of the same Pod may have replaced this one's annotations (its ADD
        // runs beside this DEL): leave those. The removal is conditioned on the version read,
        // so an ADD landing in between makes it read again instead of erasing the new ones.
        const pod = await this.#datastore.get('pods', record.pod, record.namespace);
        if (pod?.metadata.annotations?.[POD_ANNOTATIONS.containerId] !== record.containerId) return;
        if (this.#datastore.annotate === undefined) return;
        const removed = await this.#datastore.annotate(
          'pods',
          record.pod,
          record.namespace,
          { [POD_ANNOTATIONS.podIp]: null, [POD_ANNOTATIONS.podIps]: null, [POD_ANNOTATIONS.containerId]: null },
          { resourceVersion: pod.metadata.resourceVersion },
        );
        if (!removed) this.#logger.warn(fields, `${what}: the pod is gone`);
        return;
      } catch (error) {
        if (error instanceof ResourceConflictError && attempt + 1 < DELETE_ATTEMPTS) {
          await this.#sleep(LOOK_AGAIN_MS);
          continue;
        }
        this.#logger.warn({ ...fields, err: errorText(error) }, `${what} failed`);
        return;
      }
    }
  }

  // Annotations are for people and tools; the attachment stands without them.
  async #annotate(record: EndpointRecord, annotations: Readonly<Record<string, string | null>>, what: string): Promise<void> {
    const fields = { pod: `${record.namespace}/${record.pod}`, containerId: record.containerId };
    if (this.#datastore.annotate === undefined) return;
    try {
      if (!(await this.#datastore.annotate('pods', record.pod!, record.namespace, annotations))) this.#logger.warn(fields, `${what}: the pod is gone`);
    } catch (error) {
      this.#logger.warn({ ...fields, err: errorText(error) }, `${what} failed`);
    }
  }
}
