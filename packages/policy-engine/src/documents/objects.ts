// The core/v1 objects policies select, as the model's namespaces and endpoints: a
// Namespace's labels, a Pod's labels, service account and named container ports. Only
// the fields policy reads are checked; a Pod has many more, which are none of our business.

import { PolicyValidationError } from '../errors.js';
import { DocumentReader, join } from '../internal/document.js';
import { type Endpoint, type Namespace, type NamedPort, protocolNumber } from '../model/endpoint.js';
import { NAMESPACE_NAME_LABEL } from '../model/labels.js';
import { atPath } from './paths.js';

/** What a Pod does not say itself: its addresses and node as the caller knows them. */
export interface EndpointFromPodOptions {
  /** The pod's addresses (without prefix length); absent: `status.podIPs` (or `status.podIP`). */
  readonly ips?: readonly string[];
  /** The node it runs on; absent: `spec.nodeName`. */
  readonly node?: string;
}

function check<T>(reader: DocumentReader, value: T | undefined, path: string | undefined): T {
  if (value !== undefined && reader.errors.length === 0) return value;
  const error = new PolicyValidationError(reader.errors);
  throw path === undefined || path === '' ? error : atPath(error, path);
}

function readKind(reader: DocumentReader, doc: unknown, kind: string): Record<string, unknown> | undefined {
  const root = reader.object(doc, '');
  if (root === undefined) return undefined;
  if (reader.field(root, 'apiVersion') !== 'v1') reader.fail('invalid-value', 'apiVersion', `must be "v1", not ${JSON.stringify(reader.field(root, 'apiVersion') ?? null)}`);
  if (reader.field(root, 'kind') !== kind) reader.fail('invalid-value', 'kind', `must be "${kind}", not ${JSON.stringify(reader.field(root, 'kind') ?? null)}`);
  return root;
}

function readMetadata(reader: DocumentReader, root: Record<string, unknown>): { name?: string; namespace?: string; labels: Record<string, string> } {
  const metadataValue = reader.field(root, 'metadata');
  const metadata = metadataValue === undefined ? reader.fail('required', 'metadata', 'required') : reader.object(metadataValue, 'metadata');
  if (metadata === undefined) return { labels: {} };
  const nameValue = reader.field(metadata, 'name');
  const name = nameValue === undefined ? reader.fail('required', 'metadata.name', 'required') : reader.string(nameValue, 'metadata.name');
  if (name === '') reader.fail('required', 'metadata.name', 'must not be empty');
  const namespaceValue = reader.field(metadata, 'namespace');
  const namespace = namespaceValue === undefined ? undefined : reader.string(namespaceValue, 'metadata.namespace');
  const labelsValue = reader.field(metadata, 'labels');
  const labels = labelsValue === undefined ? {} : (reader.stringMap(labelsValue, 'metadata.labels') ?? {});
  return { ...(name === undefined ? {} : { name }), ...(namespace === undefined || namespace === '' ? {} : { namespace }), labels };
}

/**
 * A `v1` Namespace object as the model's namespace: its name and labels, with
 * `kubernetes.io/metadata.name` set to its name as the API server sets it.
 * @param path - Where the document sits in a larger one, prefixed to error paths.
 * @throws {PolicyValidationError} naming each bad field (`metadata.labels["app"]: must be a string, ...`).
 */
export function namespaceFromResource(doc: unknown, path?: string): Namespace {
  const reader = new DocumentReader();
  const root = readKind(reader, doc, 'Namespace');
  const metadata = root === undefined ? undefined : readMetadata(reader, root);
  const name = check(reader, metadata?.name, path);
  return { name, labels: { ...metadata?.labels, [NAMESPACE_NAME_LABEL]: name } };
}

function readNamedPorts(reader: DocumentReader, spec: Record<string, unknown>): NamedPort[] {
  const named: NamedPort[] = [];
  reader.list(reader.field(spec, 'containers'), 'spec.containers', (container, containerPath) => {
    const object = reader.object(container, containerPath);
    if (object === undefined) return undefined;
    reader.list(reader.field(object, 'ports'), join(containerPath, 'ports'), (port, portPath) => {
      const entry = reader.object(port, portPath);
      if (entry === undefined) return undefined;
      const nameValue = reader.field(entry, 'name');
      // Only named ports matter to policy; the others are documentation.
      if (nameValue === undefined) return undefined;
      const name = reader.string(nameValue, join(portPath, 'name'));
      const numberValue = reader.field(entry, 'containerPort');
      const number = numberValue === undefined
        ? reader.fail('required', join(portPath, 'containerPort'), 'required')
        : reader.integer(numberValue, join(portPath, 'containerPort'));
      if (number !== undefined && (number < 1 || number > 65535)) reader.fail('invalid-port', join(portPath, 'containerPort'), `must be 1-65535, not ${number}`);
      const protocolValue = reader.field(entry, 'protocol') ?? 'TCP';
      const protocolText = reader.string(protocolValue, join(portPath, 'protocol'));
      const protocol = protocolText === undefined || !['TCP', 'UDP', 'SCTP'].includes(protocolText) ? undefined : protocolNumber(protocolText);
      if (protocolText !== undefined && protocol === undefined) reader.fail('invalid-value', join(portPath, 'protocol'), `must be "TCP", "UDP" or "SCTP", not ${JSON.stringify(protocolText)}`);
      if (name !== undefined && number !== undefined && protocol !== undefined) named.push({ name, protocol, port: number });
      return undefined;
    });
    return undefined;
  });
  return named;
}

function readStatusIps(reader: DocumentReader, root: Record<string, unknown>): string[] {
  const statusValue = reader.field(root, 'status');
  const status = statusValue === undefined ? undefined : reader.object(statusValue, 'status');
  if (status === undefined) return [];
  const podIPs = reader.list(reader.field(status, 'podIPs'), 'status.podIPs', (entry, entryPath) => {
    const object = reader.object(entry, entryPath);
    const ip = object === undefined ? undefined : reader.field(object, 'ip');
    return ip === undefined ? reader.fail('required', join(entryPath, 'ip'), 'required') : reader.string(ip, join(entryPath, 'ip'));
  });
  if (podIPs !== undefined && podIPs.length > 0) return podIPs;
  const podIP = reader.field(status, 'podIP');
  const single = podIP === undefined ? undefined : reader.string(podIP, 'status.podIP');
  return single === undefined || single === '' ? [] : [single];
}

/**
 * A `v1` Pod object as the model's workload endpoint: namespace (`default` when
 * absent), name, labels, service account (`spec.serviceAccountName`, `default` when
 * absent, as the API server's admission sets it), the named ports of its containers,
 * and its addresses and node from `options` or else from `status.podIPs` and `spec.nodeName`.
 * @param path - Where the document sits in a larger one, prefixed to error paths.
 * @throws {PolicyValidationError} naming each bad field the policy model reads.
 */
export function endpointFromPod(doc: unknown, options: EndpointFromPodOptions = {}, path?: string): Endpoint {
  const reader = new DocumentReader();
  const root = readKind(reader, doc, 'Pod');
  const metadata = root === undefined ? undefined : readMetadata(reader, root);
  const specValue = root === undefined ? undefined : reader.field(root, 'spec');
  const spec = specValue === undefined ? undefined : reader.object(specValue, 'spec');
  const accountValue = spec === undefined ? undefined : reader.field(spec, 'serviceAccountName') ?? reader.field(spec, 'serviceAccount');
  const serviceAccount = accountValue === undefined ? 'default' : reader.string(accountValue, 'spec.serviceAccountName');
  const nodeValue = spec === undefined ? undefined : reader.field(spec, 'nodeName');
  const specNode = nodeValue === undefined ? undefined : reader.string(nodeValue, 'spec.nodeName');
  const namedPorts = spec === undefined ? [] : readNamedPorts(reader, spec);
  const ips = options.ips ?? (root === undefined ? [] : readStatusIps(reader, root));
  const name = check(reader, metadata?.name, path);
  const node = options.node ?? (specNode === '' ? undefined : specNode);
  return {
    kind: 'workload',
    namespace: metadata?.namespace ?? 'default',
    name,
    labels: metadata?.labels ?? {},
    ...(serviceAccount === undefined || serviceAccount === '' ? {} : { serviceAccount }),
    ips: [...ips],
    ...(namedPorts.length === 0 ? {} : { namedPorts }),
    ...(node === undefined ? {} : { node }),
  };
}
