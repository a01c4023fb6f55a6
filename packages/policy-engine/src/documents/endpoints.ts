// The endpoints a node enforces: the CNI plugin's endpoint records, each the newest of
// its pod (a sandbox re-created before the old one's DEL leaves two), labelled by its Pod
// object when there is one and unlabelled otherwise. The agent's policy controller and
// `twill policy explain` both build endpoints here, so the two cannot disagree.

import { type Endpoint } from '../model/endpoint.js';
import { endpointFromPod } from './objects.js';

/** The fields of an endpoint record (the CNI plugin's, `twill-endpoints/...`) an endpoint is built from. */
export interface EndpointRecordInput {
  /** The sandbox's container id (CNI_CONTAINERID); names the endpoint when the record has no pod. */
  readonly containerId: string;
  /** Addresses, with or without prefix length (`10.0.0.5/32`). */
  readonly addresses: readonly string[];
  /** K8S_POD_NAMESPACE; absent: `default`. */
  readonly namespace?: string;
  /** K8S_POD_NAME; absent: the endpoint is named by its container id. */
  readonly pod?: string;
  /** When ADD registered it (milliseconds since the epoch); the newest of a key wins. */
  readonly since: number;
  /** Its node; absent: the reader's own node (`defaultNode`). */
  readonly node?: string;
}

/** Where an endpoint record's endpoint sits: its pod's namespace and name, or its container's in `default`. */
export interface EndpointKey {
  /** The pod's namespace, or `default`. */
  readonly namespace: string;
  /** The pod's name, or the container id when the record names no pod. */
  readonly name: string;
  /** `namespace/name`, the key the Pod object is looked up by. */
  readonly key: string;
}

/** The key of an endpoint record: its pod, or for a runtime that names none, its container in `default`. */
export function endpointKeyOfRecord(record: Pick<EndpointRecordInput, 'containerId' | 'namespace' | 'pod'>): EndpointKey {
  const namespace = record.namespace ?? 'default';
  const name = record.pod ?? record.containerId;
  return { namespace, name, key: `${namespace}/${name}` };
}

/** An endpoint built from a record, and why its Pod's labels could not be used (when they could not). */
export interface RecordEndpoint {
  /** Where the endpoint sits: its namespace and name. */
  readonly key: EndpointKey;
  /** The workload endpoint to enforce: labelled from the Pod when it could be, unlabelled otherwise. */
  readonly endpoint: Endpoint;
  /** The Pod object's problem: the endpoint is still enforced, unlabelled, until it is fixed. */
  readonly podError?: Error;
}

const withoutPrefixLength = (address: string): string => address.split('/')[0] ?? address;

/**
 * The endpoint a record is enforced as: its addresses (without prefix length) and node
 * (`defaultNode` when the record names none), with the labels, service account and named
 * ports of `pod` (the Pod object of its key, if any). A Pod the model refuses does not
 * stop enforcement: the endpoint is unlabelled and `podError` says why.
 * @throws never; a bad Pod is reported in `podError`.
 */
export function endpointFromRecord(record: EndpointRecordInput, pod: unknown, defaultNode: string): RecordEndpoint {
  const key = endpointKeyOfRecord(record);
  const ips = record.addresses.map(withoutPrefixLength);
  const node = record.node ?? defaultNode;
  if (pod !== undefined) {
    try {
      return { key, endpoint: endpointFromPod(pod, { ips, node }) };
    } catch (error) {
      const podError = error instanceof Error ? error : new Error(String(error));
      return { key, endpoint: { kind: 'workload', namespace: key.namespace, name: key.name, labels: {}, ips, node }, podError };
    }
  }
  return { key, endpoint: { kind: 'workload', namespace: key.namespace, name: key.name, labels: {}, ips, node } };
}

/** Whether `candidate` replaces `current` as its key's record: it is newer. */
export function isNewerRecord(candidate: Pick<EndpointRecordInput, 'since'>, current: Pick<EndpointRecordInput, 'since'> | undefined): boolean {
  return current === undefined || candidate.since > current.since;
}

/**
 * Every endpoint enforced from a set of records: per key the newest record, built by
 * {@link endpointFromRecord} with the Pod `podOf(namespace/name)` returns; in key order.
 */
export function endpointsFromRecords<R extends EndpointRecordInput>(
  records: Iterable<R>,
  podOf: (key: string) => unknown,
  defaultNode: string,
): (RecordEndpoint & {
  /** The newest record of the key, the one the endpoint was built from. */
  readonly record: R;
})[] {
  const newest = new Map<string, R>();
  for (const record of records) {
    const { key } = endpointKeyOfRecord(record);
    if (isNewerRecord(record, newest.get(key))) newest.set(key, record);
  }
  return [...newest.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, record]) => ({ ...endpointFromRecord(record, podOf(key), defaultNode), record }));
}
