// One stored or written resource document, in any dialect this package reads, to the
// IR: the dispatch on `apiVersion` and `kind` that a datastore, a CLI reading a YAML
// stream, or an agent watching resources needs, over the front ends' own parse and
// compile functions. Pure: the same document gives the same result.

import { compileCalicoDocuments } from '../calico/compile.js';
import { CALICO_KINDS, parseCalicoDocument } from '../calico/document.js';
import { CALICO_API_VERSIONS } from '../calico/types.js';
import { compileCiliumPolicy } from '../cilium/compile.js';
import { parseCiliumPolicy } from '../cilium/parse.js';
import { CILIUM_API_VERSION, CILIUM_KINDS } from '../cilium/types.js';
import { POLICY_ERROR_CODE, PolicyEngineError } from '../errors.js';
import { describe } from '../internal/document.js';
import { compileNetworkPolicy } from '../kubernetes/compile.js';
import { NETWORK_POLICY_API_VERSION, parseNetworkPolicy } from '../kubernetes/parse.js';
import { type NetworkSet } from '../model/endpoint.js';
import { type Policy, type Tier } from '../model/policy.js';
import { atPath } from './paths.js';

/** What one resource document compiles to; most documents give one entry in one list. */
export interface CompiledResourceDocument {
  /** IR policies: one per NetworkPolicy or Calico policy, one or more per Cilium policy (its parts). */
  readonly policies: Policy[];
  /** The tier of a Calico `Tier` document; empty for every other kind. */
  readonly tiers: Tier[];
  /** The network set of a Calico `NetworkSet` or `GlobalNetworkSet`; empty for every other kind. */
  readonly networkSets: NetworkSet[];
}

/** The `apiVersion` → kinds pairs {@link compileResourceDocument} reads. */
export const RESOURCE_DOCUMENT_KINDS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  [NETWORK_POLICY_API_VERSION]: ['NetworkPolicy'],
  ...Object.fromEntries(CALICO_API_VERSIONS.map((version) => [version, CALICO_KINDS])),
  [CILIUM_API_VERSION]: CILIUM_KINDS,
});

function supported(): string {
  return Object.entries(RESOURCE_DOCUMENT_KINDS).map(([version, kinds]) => `${version} ${kinds.join('/')}`).join('; ');
}

function field(doc: unknown, key: string): unknown {
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>)[key] : undefined;
}

function compile(doc: unknown): CompiledResourceDocument {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PolicyEngineError(POLICY_ERROR_CODE.INVALID_TYPE, '', `a resource document must be an object, not ${describe(doc)}`);
  }
  const apiVersion = field(doc, 'apiVersion');
  const kind = field(doc, 'kind');
  const kinds = typeof apiVersion === 'string' && Object.prototype.hasOwnProperty.call(RESOURCE_DOCUMENT_KINDS, apiVersion)
    ? RESOURCE_DOCUMENT_KINDS[apiVersion]
    : undefined;
  if (kinds === undefined) {
    throw new PolicyEngineError(POLICY_ERROR_CODE.UNSUPPORTED_KIND, 'apiVersion', `unsupported API version ${describe(apiVersion)}: expected one of ${supported()}`);
  }
  if (typeof kind !== 'string' || !kinds.includes(kind)) {
    throw new PolicyEngineError(POLICY_ERROR_CODE.UNSUPPORTED_KIND, 'kind', `unsupported kind ${describe(kind)} for ${String(apiVersion)}: expected ${kinds.join(', ')}`);
  }
  if (apiVersion === NETWORK_POLICY_API_VERSION) return { policies: [compileNetworkPolicy(parseNetworkPolicy(doc))], tiers: [], networkSets: [] };
  if (apiVersion === CILIUM_API_VERSION) return { policies: compileCiliumPolicy(parseCiliumPolicy(doc)), tiers: [], networkSets: [] };
  const compiled = compileCalicoDocuments([parseCalicoDocument(doc)]);
  return { policies: [...compiled.policies], tiers: [...compiled.tiers], networkSets: [...compiled.networkSets] };
}

/**
 * Parses, validates and compiles one resource document (parsed JSON or YAML), chosen by
 * its `apiVersion` and `kind`: a Kubernetes `networking.k8s.io/v1` NetworkPolicy, a
 * Calico `projectcalico.org/v3` (or `crd.projectcalico.org/v1`) NetworkPolicy,
 * GlobalNetworkPolicy, NetworkSet, GlobalNetworkSet or Tier, or a Cilium `cilium.io/v2`
 * CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy. Metadata a stored object
 * carries (`resourceVersion`, `uid`, `creationTimestamp`, ...) is accepted.
 *
 * @param doc - The document.
 * @param path - Where the document sits in a larger one (`items[2]`), prefixed to the
 *   field path of every error; absent for a document on its own.
 * @throws {PolicyEngineError} `unsupported-kind` at `apiVersion` or `kind` for another
 *   pair (the message lists the supported ones); otherwise what the dialect's front end
 *   throws ({@link PolicyValidationError} for Kubernetes and Cilium, {@link CalicoError}
 *   for Calico), with its paths under `path`.
 */
export function compileResourceDocument(doc: unknown, path?: string): CompiledResourceDocument {
  try {
    return compile(doc);
  } catch (error) {
    throw path === undefined || path === '' ? error : atPath(error, path);
  }
}
