// Documents to the policy engine's model: policy documents of the three dialects, and
// the Namespace and Pod objects of a cluster snapshot. Every problem is reported at
// its file and line, with the engine's field path and reason.

import {
  compilePolicyObjects,
  createSnapshot,
  endpointFromPod,
  formatPolicyRef,
  namespaceFromResource,
  PolicyEngineError,
  PolicyValidationError,
  snapshotErrorPlace,
  type Endpoint,
  type Namespace,
  type NetworkSet,
  type Policy,
  type PolicyRef,
  type Snapshot,
  type Tier,
} from '@twill/policy-engine';

import { UsageError } from '../errors.js';
import { locate, type SourceDocument } from './documents.js';

/** What a document is, for messages: `NetworkPolicy x/deny-all`, or `document 3`. */
export function describeDocument(doc: SourceDocument): string {
  const value = doc.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `document ${doc.number}`;
  const { kind, metadata } = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
  const namespace = typeof metadata?.namespace === 'string' ? metadata.namespace : undefined;
  if (typeof kind !== 'string') return `document ${doc.number}`;
  return name === undefined ? kind : `${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

/** A document that failed: where (file:line) and one line of what. */
export interface DocumentProblem {
  readonly doc: SourceDocument;
  readonly where: string;
  readonly what: string;
  /** Every field problem, one line each (a validation error may have several). */
  readonly lines: readonly { readonly where: string; readonly what: string }[];
}

/** The problem of a document the engine refused. Errors that are not the engine's are rethrown. */
export function documentProblem(doc: SourceDocument, error: unknown): DocumentProblem {
  if (!(error instanceof PolicyEngineError)) throw error;
  const fields = error instanceof PolicyValidationError ? error.errors : [error];
  const subject = describeDocument(doc);
  const lines = fields.map((field) => ({
    where: locate(doc, field.path),
    what: `${subject}: ${field.path === '' ? field.reason : `${field.path}: ${field.reason}`}`,
  }));
  const first = lines[0] ?? { where: locate(doc), what: `${subject}: ${error.message}` };
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more; twill policy lint lists them all)` : '';
  return { doc, where: first.where, what: `${first.what}${more}`, lines };
}

/** Policies, tiers and network sets, and the document each policy came from. */
export interface CompiledPolicies {
  readonly policies: Policy[];
  readonly tiers: Tier[];
  readonly networkSets: NetworkSet[];
  /** The document of each policy (by its ref object, and by `formatPolicyRef`). */
  readonly sources: Map<PolicyRef | string, SourceDocument>;
  readonly problems: DocumentProblem[];
}

/** Compiles every document, collecting the ones that fail instead of stopping. */
export function compilePolicyDocuments(docs: readonly SourceDocument[]): CompiledPolicies {
  const { refused, ...compiled } = compilePolicyObjects(docs, (doc) => doc.value);
  return { ...compiled, problems: refused.map(({ origin, error }) => documentProblem(origin, error)) };
}

/** The document a policy came from. */
export function policySource(compiled: Pick<CompiledPolicies, 'sources'>, ref: PolicyRef): SourceDocument | undefined {
  return compiled.sources.get(ref) ?? compiled.sources.get(formatPolicyRef(ref));
}

/** A cluster snapshot file's objects. */
export interface ClusterObjects {
  readonly namespaces: Namespace[];
  readonly endpoints: Endpoint[];
  /** The document of each endpoint, index for index. */
  readonly endpointSources: SourceDocument[];
  /** Every `containerPort` the pods declare, with its protocol, sorted. */
  readonly containerPorts: { port: number; protocol: string }[];
}

const SNAPSHOT_KINDS = 'a cluster snapshot holds v1 Namespace and Pod objects (or Lists of them)';

/**
 * The Namespace and Pod objects of a snapshot.
 * @throws {UsageError} at the first document that is not one, or that the engine refuses.
 */
export function readClusterObjects(command: string, docs: readonly SourceDocument[]): ClusterObjects {
  const out: ClusterObjects = { namespaces: [], endpoints: [], endpointSources: [], containerPorts: [] };
  const ports = new Map<string, { port: number; protocol: string }>();
  for (const doc of docs) {
    const kind = typeof doc.value === 'object' && doc.value !== null ? (doc.value as { kind?: unknown }).kind : undefined;
    try {
      if (kind === 'Namespace') {
        out.namespaces.push(namespaceFromResource(doc.value));
      } else if (kind === 'Pod') {
        out.endpoints.push(endpointFromPod(doc.value));
        out.endpointSources.push(doc);
        for (const entry of declaredPorts(doc.value)) ports.set(`${entry.protocol}/${entry.port}`, entry);
      } else {
        throw new UsageError(command, locate(doc), `${describeDocument(doc)}: ${SNAPSHOT_KINDS}`);
      }
    } catch (error) {
      if (error instanceof UsageError) throw error;
      const problem = documentProblem(doc, error);
      throw new UsageError(command, problem.where, problem.what, { cause: error });
    }
  }
  out.containerPorts.push(...[...ports.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol)));
  return out;
}

function declaredPorts(pod: unknown): { port: number; protocol: string }[] {
  const containers = (pod as { spec?: { containers?: unknown } }).spec?.containers;
  if (!Array.isArray(containers)) return [];
  return containers.flatMap((container: unknown) => {
    const ports = (container as { ports?: unknown } | null)?.ports;
    if (!Array.isArray(ports)) return [];
    return ports.flatMap((entry: unknown) => {
      const { containerPort, protocol } = (entry ?? {}) as { containerPort?: unknown; protocol?: unknown };
      return typeof containerPort === 'number' ? [{ port: containerPort, protocol: typeof protocol === 'string' ? protocol : 'TCP' }] : [];
    });
  });
}

/**
 * The engine's snapshot of the cluster's objects and the policies.
 * @throws {UsageError} when they contradict each other (two pods with one address, a
 *   policy in a tier no document defines), at the document concerned.
 */
export function buildSnapshot(command: string, cluster: ClusterObjects, compiled: CompiledPolicies): Snapshot {
  try {
    return createSnapshot({
      namespaces: cluster.namespaces,
      endpoints: cluster.endpoints,
      policies: compiled.policies,
      tiers: compiled.tiers,
      networkSets: compiled.networkSets,
    });
  } catch (error) {
    if (!(error instanceof PolicyEngineError)) throw error;
    const place = snapshotErrorPlace(error);
    const policy = place?.collection === 'policies' ? compiled.policies[place.index] : undefined;
    const doc = place?.collection === 'endpoints' ? cluster.endpointSources[place.index] : policy === undefined ? undefined : policySource(compiled, policy.ref);
    const field = place?.field ?? '';
    if (doc === undefined) throw new UsageError(command, '', error.message, { cause: error });
    // An endpoint's addresses are the Pod's status.podIPs; its other fields have no single place in the Pod.
    const ip = /^ips\[(\d+)\]$/.exec(field);
    const at = place?.collection === 'endpoints' ? (ip === null ? '' : `status.podIPs[${ip[1]}]`) : field;
    throw new UsageError(command, locate(doc, at), `${describeDocument(doc)}: ${at === '' ? '' : `${at}: `}${error.reason}`, { cause: error });
  }
}
