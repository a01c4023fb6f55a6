// networking.k8s.io/v1 NetworkPolicy: strict decoding and the API server's validation
// (pkg/apis/networking/validation ValidateNetworkPolicy), collecting every error.

import { POLICY_ERROR_CODE, PolicyValidationError, type FieldError } from '../errors.js';
import { DocumentReader, describe, join } from '../internal/document.js';
import { cidrContainsCidr, parseCidr } from '../model/cidr.js';
import { readLabelSelector } from './label-selector.js';
import { dns1123LabelProblem, dns1123SubdomainProblem, portNameProblem } from './names.js';
import {
  type IpBlock,
  type KubernetesProtocol,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type PolicyType,
} from './types.js';

/** The apiVersion this front end reads. */
export const NETWORK_POLICY_API_VERSION = 'networking.k8s.io/v1';

/** Options for {@link parseNetworkPolicy}. */
export interface ParseNetworkPolicyOptions {
  /** The namespace for a document without `metadata.namespace` (kubectl's current namespace); `default` when absent. */
  readonly namespace?: string;
}

// ObjectMeta's fields: a manifest exported from a cluster carries them all.
const METADATA_FIELDS = [
  'name', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'finalizers', 'ownerReferences', 'managedFields', 'generateName', 'selfLink',
];
const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];

function readIpBlock(reader: DocumentReader, value: unknown, path: string): IpBlock | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['cidr', 'except'], path);
  const before = reader.errors.length;
  const cidrValue = reader.field(object, 'cidr');
  const cidrText = cidrValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, join(path, 'cidr'), 'required') : reader.string(cidrValue, join(path, 'cidr'));
  const cidr = cidrText === undefined ? undefined : parseCidr(cidrText);
  if (cidrText !== undefined && cidr === undefined) {
    reader.fail(POLICY_ERROR_CODE.INVALID_CIDR, join(path, 'cidr'), `invalid CIDR ${JSON.stringify(cidrText)}`);
  }
  const except: string[] = [];
  const exceptValue = reader.field(object, 'except');
  if (exceptValue !== undefined) {
    reader.array(exceptValue, join(path, 'except'))?.forEach((entry, index) => {
      const entryPath = `${join(path, 'except')}[${index}]`;
      const text = reader.string(entry, entryPath);
      if (text === undefined) return;
      const parsed = parseCidr(text);
      if (parsed === undefined) {
        reader.fail(POLICY_ERROR_CODE.INVALID_CIDR, entryPath, `invalid CIDR ${JSON.stringify(text)}`);
      } else if (cidr !== undefined && (!cidrContainsCidr(cidr, parsed) || parsed.prefixLength === cidr.prefixLength)) {
        // ValidateIPBlock: each except must be a strict subset of cidr.
        reader.fail(POLICY_ERROR_CODE.INVALID_CIDR, entryPath, `${JSON.stringify(text)} is not a strict subset of cidr ${JSON.stringify(cidrText)}`);
      }
      except.push(text);
    });
  }
  if (reader.errors.length > before || cidrText === undefined) return undefined;
  return exceptValue === undefined ? { cidr: cidrText } : { cidr: cidrText, except };
}

function readPeer(reader: DocumentReader, value: unknown, path: string): NetworkPolicyPeer | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['podSelector', 'namespaceSelector', 'ipBlock'], path);
  const before = reader.errors.length;
  const podValue = reader.field(object, 'podSelector');
  const namespaceValue = reader.field(object, 'namespaceSelector');
  const ipBlockValue = reader.field(object, 'ipBlock');
  const podSelector = podValue === undefined ? undefined : readLabelSelector(reader, podValue, join(path, 'podSelector'));
  const namespaceSelector = namespaceValue === undefined ? undefined : readLabelSelector(reader, namespaceValue, join(path, 'namespaceSelector'));
  const ipBlock = ipBlockValue === undefined ? undefined : readIpBlock(reader, ipBlockValue, join(path, 'ipBlock'));
  const hasSelector = podValue !== undefined || namespaceValue !== undefined;
  if (!hasSelector && ipBlockValue === undefined) {
    reader.fail(POLICY_ERROR_CODE.REQUIRED, path, 'must specify a peer: podSelector, namespaceSelector or ipBlock');
  } else if (hasSelector && ipBlockValue !== undefined) {
    reader.fail(POLICY_ERROR_CODE.FORBIDDEN, path, 'ipBlock may not be combined with podSelector or namespaceSelector');
  }
  if (reader.errors.length > before) return undefined;
  return {
    ...(podSelector === undefined ? {} : { podSelector }),
    ...(namespaceSelector === undefined ? {} : { namespaceSelector }),
    ...(ipBlock === undefined ? {} : { ipBlock }),
  };
}

function readPortNumber(reader: DocumentReader, value: number, path: string): number | undefined {
  if (value >= 1 && value <= 65535) return value;
  return reader.fail(POLICY_ERROR_CODE.INVALID_PORT, path, `port ${value} out of range: must be 1-65535`);
}

function readPort(reader: DocumentReader, value: unknown, path: string): NetworkPolicyPort | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['protocol', 'port', 'endPort'], path);
  const before = reader.errors.length;
  const protocolValue = reader.field(object, 'protocol');
  const protocol = protocolValue === undefined ? undefined : reader.string(protocolValue, join(path, 'protocol'));
  if (protocol !== undefined && !PROTOCOLS.includes(protocol)) {
    reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, join(path, 'protocol'), `unsupported protocol ${JSON.stringify(protocol)}: must be TCP, UDP or SCTP`);
  }
  // port is an IntOrString: a JSON number is a port number, a JSON string a port name.
  const portValue = reader.field(object, 'port');
  let port: number | string | undefined;
  if (typeof portValue === 'number') {
    port = Number.isInteger(portValue)
      ? readPortNumber(reader, portValue, join(path, 'port'))
      : reader.fail(POLICY_ERROR_CODE.INVALID_TYPE, join(path, 'port'), `must be an integer or a port name, not ${describe(portValue)}`);
  } else if (typeof portValue === 'string') {
    const problem = portNameProblem(portValue);
    port = problem === undefined ? portValue : reader.fail(POLICY_ERROR_CODE.INVALID_PORT, join(path, 'port'), `invalid port name ${JSON.stringify(portValue)}: ${problem}`);
  } else if (portValue !== undefined) {
    reader.fail(POLICY_ERROR_CODE.INVALID_TYPE, join(path, 'port'), `must be an integer or a port name, not ${describe(portValue)}`);
  }
  const endPortValue = reader.field(object, 'endPort');
  let endPort: number | undefined;
  if (endPortValue !== undefined) {
    const endPath = join(path, 'endPort');
    const number = reader.integer(endPortValue, endPath);
    if (number !== undefined) {
      if (portValue === undefined) reader.fail(POLICY_ERROR_CODE.FORBIDDEN, endPath, 'may not be used without port');
      else if (typeof portValue === 'string') reader.fail(POLICY_ERROR_CODE.FORBIDDEN, endPath, 'may not be used with a named port');
      else if (readPortNumber(reader, number, endPath) !== undefined) {
        if (typeof port === 'number' && number < port) {
          reader.fail(POLICY_ERROR_CODE.INVALID_PORT, endPath, `${number} is less than port ${port}`);
        }
        endPort = number;
      }
    }
  }
  if (reader.errors.length > before) return undefined;
  return {
    ...(protocol === undefined ? {} : { protocol: protocol as KubernetesProtocol }),
    ...(port === undefined ? {} : { port }),
    ...(endPort === undefined ? {} : { endPort }),
  };
}

function readRule(reader: DocumentReader, value: unknown, path: string, peersKey: 'from' | 'to'): Record<string, unknown> | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, [peersKey, 'ports'], path);
  const peers = reader.list(reader.field(object, peersKey), join(path, peersKey), (entry, p) => readPeer(reader, entry, p));
  const ports = reader.list(reader.field(object, 'ports'), join(path, 'ports'), (entry, p) => readPort(reader, entry, p));
  return { ...(peers === undefined ? {} : { [peersKey]: peers }), ...(ports === undefined ? {} : { ports }) };
}

function readPolicyTypes(reader: DocumentReader, value: unknown, path: string): PolicyType[] | undefined {
  const types = reader.list(value, path, (entry, entryPath) => {
    const text = reader.string(entry, entryPath);
    if (text === 'Ingress' || text === 'Egress') return text;
    if (text !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, entryPath, `unsupported policy type ${JSON.stringify(text)}: must be Ingress or Egress`);
    return undefined;
  });
  if (types !== undefined && types.length > 2) reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, path, 'may not have more than two entries');
  return types;
}

function readMetadata(reader: DocumentReader, value: unknown, options: ParseNetworkPolicyOptions): NetworkPolicy['metadata'] | undefined {
  const object = reader.object(value, 'metadata');
  if (object === undefined) return undefined;
  reader.knownFields(object, METADATA_FIELDS, 'metadata');
  const nameValue = reader.field(object, 'name');
  const name = nameValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, 'metadata.name', 'required') : reader.string(nameValue, 'metadata.name');
  const nameProblem = name === undefined ? undefined : dns1123SubdomainProblem(name);
  if (nameProblem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'metadata.name', `invalid name ${JSON.stringify(name)}: ${nameProblem}`);
  const namespaceValue = reader.field(object, 'namespace');
  const namespace = namespaceValue === undefined ? (options.namespace ?? 'default') : reader.string(namespaceValue, 'metadata.namespace');
  const namespaceProblem = namespace === undefined ? undefined : dns1123LabelProblem(namespace);
  if (namespaceProblem !== undefined) {
    reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'metadata.namespace', `invalid namespace ${JSON.stringify(namespace)}: ${namespaceProblem}`);
  }
  const labelsValue = reader.field(object, 'labels');
  const labels = labelsValue === undefined ? undefined : reader.stringMap(labelsValue, 'metadata.labels');
  const annotationsValue = reader.field(object, 'annotations');
  const annotations = annotationsValue === undefined ? undefined : reader.stringMap(annotationsValue, 'metadata.annotations');
  if (name === undefined || namespace === undefined) return undefined;
  return { name, namespace, ...(labels === undefined ? {} : { labels }), ...(annotations === undefined ? {} : { annotations }) };
}

/**
 * Validates a NetworkPolicy document (parsed JSON or YAML) and returns every field
 * error, in document order; empty when the document is valid.
 */
export function validateNetworkPolicy(document: unknown, options: ParseNetworkPolicyOptions = {}): readonly FieldError[] {
  return read(document, options).errors;
}

/**
 * Parses and validates a `networking.k8s.io/v1` NetworkPolicy document with the API
 * server's rules and strict decoding (unknown fields are errors).
 * @throws {PolicyValidationError} listing every field error, each with its path.
 */
export function parseNetworkPolicy(document: unknown, options: ParseNetworkPolicyOptions = {}): NetworkPolicy {
  const { policy, errors } = read(document, options);
  if (policy === undefined || errors.length > 0) throw new PolicyValidationError(errors);
  return policy;
}

function read(document: unknown, options: ParseNetworkPolicyOptions): { policy?: NetworkPolicy; errors: FieldError[] } {
  const reader = new DocumentReader();
  const root = reader.object(document, '');
  if (root === undefined) return { errors: reader.errors };
  reader.knownFields(root, ['apiVersion', 'kind', 'metadata', 'spec'], '');
  const apiVersion = reader.field(root, 'apiVersion');
  if (apiVersion !== NETWORK_POLICY_API_VERSION) {
    reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'apiVersion', `must be "${NETWORK_POLICY_API_VERSION}", not ${describe(apiVersion)}`);
  }
  const kind = reader.field(root, 'kind');
  if (kind !== 'NetworkPolicy') reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'kind', `must be "NetworkPolicy", not ${describe(kind)}`);
  const metadataValue = reader.field(root, 'metadata');
  const metadata = metadataValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, 'metadata', 'required') : readMetadata(reader, metadataValue, options);
  const specValue = reader.field(root, 'spec');
  const spec = specValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, 'spec', 'required') : reader.object(specValue, 'spec');
  if (spec === undefined) return { errors: reader.errors };
  reader.knownFields(spec, ['podSelector', 'ingress', 'egress', 'policyTypes'], 'spec');
  const podSelectorValue = reader.field(spec, 'podSelector');
  // The OpenAPI schema marks podSelector required: `{}` selects every pod, absence is a mistake.
  const podSelector = podSelectorValue === undefined
    ? reader.fail(POLICY_ERROR_CODE.REQUIRED, 'spec.podSelector', 'required (use {} to select every pod in the namespace)')
    : readLabelSelector(reader, podSelectorValue, 'spec.podSelector');
  const ingress = reader.list(reader.field(spec, 'ingress'), 'spec.ingress', (entry, p) => readRule(reader, entry, p, 'from'));
  const egress = reader.list(reader.field(spec, 'egress'), 'spec.egress', (entry, p) => readRule(reader, entry, p, 'to'));
  const policyTypes = readPolicyTypes(reader, reader.field(spec, 'policyTypes'), 'spec.policyTypes');
  if (reader.errors.length > 0 || metadata === undefined || podSelector === undefined) return { errors: reader.errors };
  const policy: NetworkPolicy = {
    apiVersion: NETWORK_POLICY_API_VERSION,
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector,
      ...(ingress === undefined ? {} : { ingress }),
      ...(egress === undefined ? {} : { egress }),
      ...(policyTypes === undefined ? {} : { policyTypes }),
    },
  };
  return { policy, errors: [] };
}
