/**
 * Object metadata of Calico resources: the name (checked per kind by the callers), the
 * namespace for namespaced kinds, labels (Kubernetes qualified names and label values)
 * and annotations. The other standard Kubernetes metadata fields are accepted and ignored.
 */
import {
  asObject,
  checkKnownFields,
  child,
  fail,
  optString,
  optStringMap,
  reqString,
} from './internal/fields.js';
import { POLICY_ERROR_CODE } from '../errors.js';
import { type CalicoMetadata } from './types.js';

const METADATA_FIELDS = [
  'name',
  'namespace',
  'labels',
  'annotations',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generateName',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
];

/** A DNS-1123 label: what Calico requires of tier names and of each part of a policy name. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 subdomain: what Kubernetes requires of most names. */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function checkLabel(key: string, value: string, path: string): void {
  const at = child(path, key);
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    fail(at, `invalid label key ${JSON.stringify(key)}: the prefix must be a DNS subdomain`);
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    fail(at, `invalid label key ${JSON.stringify(key)}: the name must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`);
  }
  if (value !== '' && (value.length > 63 || !LABEL_NAME.test(value))) {
    fail(at, `invalid label value ${JSON.stringify(value)}: must be 0-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`);
  }
}

/** How {@link readMetadata} treats the namespace. */
export interface MetadataOptions {
  /** The kind, for messages. */
  readonly kind: string;
  /** Namespaced kinds get `default` when the namespace is absent; global kinds must not set one. */
  readonly namespaced: boolean;
}

/** Reads `metadata`. The name is required; its format is checked by the caller. */
export function readMetadata(value: unknown, options: MetadataOptions): CalicoMetadata {
  const path = 'metadata';
  if (value === undefined || value === null) fail(child(path, 'name'), 'required', POLICY_ERROR_CODE.REQUIRED);
  const fields = asObject(value, path);
  checkKnownFields(fields, path, METADATA_FIELDS);
  const name = reqString(fields, 'name', path);
  const namespaceText = optString(fields, 'namespace', path);
  let namespace: string | undefined;
  if (options.namespaced) {
    namespace = namespaceText === undefined || namespaceText === '' ? 'default' : namespaceText;
    if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
      fail(child(path, 'namespace'), `invalid namespace ${JSON.stringify(namespace)}: must be a DNS-1123 label`);
    }
  } else if (namespaceText !== undefined && namespaceText !== '') {
    fail(child(path, 'namespace'), `${options.kind} is not namespaced`);
  }
  const labels = optStringMap(fields, 'labels', path);
  for (const [k, v] of Object.entries(labels)) checkLabel(k, v, child(path, 'labels'));
  const annotations = optStringMap(fields, 'annotations', path);
  return { name, ...(namespace === undefined ? {} : { namespace }), labels, annotations };
}
