// Validation of every resource before anything is stored: the kind from `apiVersion` and
// `kind`, the metadata, then the body. Policies, network sets and tiers go through the
// policy engine's own parsers (the checks the agent enforces with are the checks it
// accepts with), prefixed with the document's kind and name; the other kinds are checked
// here (validate-core.ts, validate-calico.ts). Every problem names its field path.
import {
  parseCalicoDocument,
  parseCiliumPolicy,
  parseNetworkPolicy,
  PolicyEngineError,
  PolicyValidationError,
} from '@twill/policy-engine';

import { type AgentResource } from '../ports.js';
import { type ResourceFieldProblem, ResourceValidationError, UnknownResourceKindError } from './errors.js';
import { dnsLabelProblem, dnsSubdomainProblem, FieldReader, labelKeyProblem, labelValueProblem } from './fields.js';
import { POLICY_DIALECT, resolveKind, type ResourceKind } from './kinds.js';
import { checkBgpConfiguration, checkBgpPeer, checkCalicoNode, checkIpPool } from './validate-calico.js';
import { checkNamespace, checkPod } from './validate-core.js';

/** A resource that passed validation, as the datastore stores it. */
export interface ValidatedResource {
  readonly kind: ResourceKind;
  readonly name: string;
  /** The namespace (`default` when a namespaced document has none); `undefined` for cluster-wide kinds. */
  readonly namespace: string | undefined;
  /** `metadata.resourceVersion` as given: the apply's compare-and-swap condition. */
  readonly resourceVersion: string | undefined;
  /**
   * The object to store: a copy of the document with its namespace filled in and without
   * `resourceVersion`, `uid` and `creationTimestamp` (the datastore owns those).
   */
  readonly object: AgentResource;
}

// ObjectMeta's fields: a manifest exported from a cluster carries them all.
const METADATA_FIELDS = [
  'name', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'finalizers', 'ownerReferences', 'managedFields', 'generateName', 'selfLink',
];

/** The namespace a namespaced document without one is in (kubectl's default). */
export const DEFAULT_NAMESPACE = 'default';

function subjectOf(kind: string, namespace: string | undefined, name: string | undefined): string {
  if (name === undefined) return kind;
  const object = `${namespace === undefined ? '' : `${namespace}/`}${name}`;
  return kind === '' ? object : `${kind} ${object}`;
}

function fail(subject: string, problems: readonly ResourceFieldProblem[]): never {
  throw new ResourceValidationError(subject, problems);
}

// The policy engine's errors carry their own paths: kept as they are.
function policyProblems(error: unknown): ResourceFieldProblem[] | undefined {
  if (error instanceof PolicyValidationError) return error.errors.map((e) => ({ path: e.path, reason: e.reason }));
  if (error instanceof PolicyEngineError) return [{ path: error.path, reason: error.reason }];
  return undefined;
}

function checkPolicy(kind: ResourceKind, document: AgentResource, subject: string): void {
  try {
    if (kind.dialect === POLICY_DIALECT.KUBERNETES) parseNetworkPolicy(document);
    else if (kind.dialect === POLICY_DIALECT.CALICO) parseCalicoDocument(document);
    else parseCiliumPolicy(document);
  } catch (error) {
    const problems = policyProblems(error);
    if (problems === undefined) throw error;
    fail(subject, problems);
  }
}

function checkMetadata(reader: FieldReader, kind: ResourceKind, metadata: Record<string, unknown>, policy: boolean): void {
  reader.knownFields(metadata, METADATA_FIELDS, 'metadata');
  const name = metadata['name'];
  if (typeof name === 'string') {
    // Namespaces are labels; Calico policy names (`tier.name`) are the policy engine's to check.
    const problem = kind.id === 'namespaces' ? dnsLabelProblem(name) : dnsSubdomainProblem(name);
    if (problem !== undefined && !policy) reader.fail('metadata.name', `invalid name: ${problem}`);
    // The name is a store key segment whatever the kind.
    else if (problem !== undefined && (name.includes('/') || name === '.' || name === '..')) reader.fail('metadata.name', `invalid name: ${problem}`);
  }
  const namespace = metadata['namespace'];
  if (namespace !== undefined) {
    if (!kind.namespaced) {
      reader.fail('metadata.namespace', `${kind.kind} is cluster-wide: remove the namespace`);
    } else if (typeof namespace !== 'string') {
      reader.string(namespace, 'metadata.namespace');
    } else {
      const problem = dnsLabelProblem(namespace);
      if (problem !== undefined) reader.fail('metadata.namespace', `invalid namespace: ${problem}`);
    }
  }
  const resourceVersion = metadata['resourceVersion'];
  if (resourceVersion !== undefined && (typeof resourceVersion !== 'string' || resourceVersion === '')) {
    reader.fail('metadata.resourceVersion', `must be a non-empty string (quote it), not ${JSON.stringify(resourceVersion)}`);
  }
  if (policy) return;
  reader.optionalStringMap(metadata, 'labels', 'metadata', (key, value) => labelKeyProblem(key) ?? labelValueProblem(value));
  reader.optionalStringMap(metadata, 'annotations', 'metadata');
}

function checkBody(reader: FieldReader, kind: ResourceKind, document: Record<string, unknown>): void {
  switch (kind.id) {
    case 'namespaces':
      return checkNamespace(reader, document);
    case 'pods':
      return checkPod(reader, document);
    case 'nodes.projectcalico.org':
      return checkCalicoNode(reader, document);
    case 'bgppeers.projectcalico.org':
      return checkBgpPeer(reader, document);
    case 'bgpconfigurations.projectcalico.org':
      return checkBgpConfiguration(reader, document);
    case 'ippools.projectcalico.org':
      return checkIpPool(reader, document);
    default:
      throw new Error(`no validation for kind ${kind.id}`);
  }
}

/**
 * Validates a resource document (parsed JSON or YAML) and gives what the datastore stores.
 * @throws ResourceValidationError listing every problem with its field path, each line
 *   prefixed with the document's kind and name (`IPPool pool-a: spec.blockSize: ...`);
 *   UnknownResourceKindError (a ResourceValidationError) for an `apiVersion`/`kind` the
 *   datastore does not keep, naming the known kinds.
 */
export function validateResource(document: unknown): ValidatedResource {
  const reader = new FieldReader();
  const root = reader.object(document, '');
  if (root === undefined) fail('', reader.problems);
  const apiVersion = root['apiVersion'] === undefined ? reader.fail('apiVersion', 'required') : reader.string(root['apiVersion'], 'apiVersion');
  const kindText = root['kind'] === undefined ? reader.fail('kind', 'required') : reader.string(root['kind'], 'kind');
  const metadata = root['metadata'] === undefined ? reader.fail('metadata', 'required') : reader.object(root['metadata'], 'metadata');
  const nameValue = metadata?.['name'];
  const name = metadata === undefined ? undefined : nameValue === undefined ? reader.fail('metadata.name', 'required') : reader.string(nameValue, 'metadata.name');
  if (name === '') reader.fail('metadata.name', 'must not be empty');
  const given = typeof metadata?.['namespace'] === 'string' ? metadata['namespace'] : undefined;
  if (apiVersion === undefined || kindText === undefined) fail(subjectOf(kindText ?? '', given, name), reader.problems);

  let kind: ResourceKind;
  try {
    kind = resolveKind({ apiVersion, kind: kindText });
  } catch (error) {
    if (!(error instanceof UnknownResourceKindError)) throw error;
    throw new UnknownResourceKindError(subjectOf(kindText, given, name), error.path, error.reason);
  }
  const namespace = kind.namespaced ? (given ?? DEFAULT_NAMESPACE) : undefined;
  const subject = subjectOf(kind.kind, namespace, name);
  if (metadata === undefined || name === undefined || name === '') fail(subject, reader.problems);

  // A copy through JSON: what is stored is exactly what reads give back.
  const copy = JSON.parse(JSON.stringify(root)) as Record<string, unknown> & { metadata: Record<string, unknown> };
  const { resourceVersion, uid: _uid, creationTimestamp: _created, namespace: _namespace, name: _name, ...rest } = copy.metadata;
  const object = { ...copy, metadata: { name, ...(namespace === undefined ? {} : { namespace }), ...rest } } as unknown as AgentResource;

  const policy = kind.dialect !== undefined;
  if (policy) checkPolicy(kind, object, subject);
  checkMetadata(reader, kind, metadata, policy);
  if (!policy) checkBody(reader, kind, root);
  if (reader.problems.length > 0) fail(subject, reader.problems);
  return { kind, name, namespace, resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : undefined, object };
}
