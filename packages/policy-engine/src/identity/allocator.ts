// Label set → numeric identity. Deterministic: the preferred number of a label set is a
// hash of its canonical text, so two agents (or one agent before and after a restart)
// that see the same label sets give them the same numbers without talking to each
// other. Only a hash collision makes the outcome depend on order (the later set probes
// to the next free number); `restore` lets a restarting agent keep what its pinned
// maps already hold.

import { IdentitiesExhaustedError } from '../errors.js';
import { canonicalLabels, type Labels } from '../model/labels.js';
import { type Endpoint, type Namespace } from '../model/endpoint.js';
import { FIRST_LABEL_IDENTITY, LAST_LABEL_IDENTITY, type NumericIdentity } from './reserved.js';

const SPACE = LAST_LABEL_IDENTITY - FIRST_LABEL_IDENTITY + 1;

// FNV-1a, 32 bits: small, fast, and spreads short label texts well enough.
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Gives each distinct label set a numeric identity in 256-65535, stable for the allocator's life. */
export class IdentityAllocator {
  readonly #byKey = new Map<string, NumericIdentity>();
  readonly #byIdentity = new Map<NumericIdentity, Labels>();

  /**
   * @param restore identities to keep from a previous run (identity, labels), taken
   *   before any new allocation.
   * @throws {IdentitiesExhaustedError} never here; see {@link IdentityAllocator.identify}.
   */
  constructor(restore: Iterable<readonly [NumericIdentity, Labels]> = []) {
    for (const [identity, labels] of restore) {
      this.#byKey.set(canonicalLabels(labels), identity);
      this.#byIdentity.set(identity, { ...labels });
    }
  }

  /**
   * The identity of `labels`, allocating one the first time this label set is seen.
   * @throws {IdentitiesExhaustedError} when all 65,280 numbers are taken.
   */
  identify(labels: Labels): NumericIdentity {
    const key = canonicalLabels(labels);
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    const start = fnv1a(key) % SPACE;
    for (let step = 0; step < SPACE; step += 1) {
      const candidate = (FIRST_LABEL_IDENTITY + ((start + step) % SPACE)) as NumericIdentity;
      if (!this.#byIdentity.has(candidate)) {
        this.#byKey.set(key, candidate);
        this.#byIdentity.set(candidate, { ...labels });
        return candidate;
      }
    }
    throw new IdentitiesExhaustedError(`no free identity in ${FIRST_LABEL_IDENTITY}-${LAST_LABEL_IDENTITY}`);
  }

  /** The labels of an allocated identity, or `undefined`. */
  labelsOf(identity: NumericIdentity): Labels | undefined {
    return this.#byIdentity.get(identity);
  }

  /** Every allocation, for persisting and later `restore`. */
  entries(): [NumericIdentity, Labels][] {
    return [...this.#byIdentity.entries()];
  }
}

/**
 * The labels that make up an endpoint's identity, named as Cilium names them: the
 * pod's labels under `k8s:`, its namespace (`k8s:io.kubernetes.pod.namespace`), the
 * namespace's labels (`k8s:io.cilium.k8s.namespace.labels.*`) and the service account.
 * Two pods with the same labels in namespaces with different labels get different
 * identities, as policy can tell them apart.
 */
export function identityLabels(endpoint: Endpoint, namespace?: Namespace): Labels {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(endpoint.labels)) {
    // Cilium's own `reserved:` labels keep their source prefix.
    labels[key.startsWith('reserved:') ? key : `k8s:${key}`] = value;
  }
  if (endpoint.namespace !== undefined) labels['k8s:io.kubernetes.pod.namespace'] = endpoint.namespace;
  for (const [key, value] of Object.entries(namespace?.labels ?? {})) labels[`k8s:io.cilium.k8s.namespace.labels.${key}`] = value;
  if (endpoint.serviceAccount !== undefined) labels['k8s:io.cilium.k8s.policy.serviceaccount'] = endpoint.serviceAccount;
  return labels;
}
