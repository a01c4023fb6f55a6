/**
 * Calico selector trees → the IR's {@link Selector}.
 *
 * Calico evaluates every selector against one flat label map per endpoint, into which
 * it folds what the IR keeps apart (libcalico-go `updateprocessors` and the k8s
 * conversion): `projectcalico.org/namespace` (the namespace name),
 * `projectcalico.org/serviceaccount` (the service account's name),
 * `projectcalico.org/orchestrator` (`k8s` on pods), `pcns.<key>` (the namespace's labels)
 * and `pcsa.<key>` (the service account's labels). Tests on those keys become the IR's
 * scoping nodes, so a Calico selector means the same thing on the IR's subjects as on
 * Calico's flattened label maps (`test/calico/compile-selector.test.ts` checks that on
 * random selectors and label sets).
 */
import { CalicoError, POLICY_ERROR_CODE } from '../errors.js';
import { NAMESPACE_NAME_LABEL } from '../model/labels.js';
import { allOf, anyOf, not, SELECT_ALL, SELECT_NONE, SUBJECT_TYPE, type Selector } from '../model/selector.js';
import { evaluateSelector } from './selector/evaluate.js';
import { type SelectorNode } from './selector/ast.js';

/** The label Calico gives every namespaced endpoint: its namespace's name. */
export const CALICO_NAMESPACE_LABEL = 'projectcalico.org/namespace';
/** The label Calico gives every pod: its service account's name. */
export const CALICO_SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
/** The label Calico gives every pod: `k8s`. */
export const CALICO_ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
/** The prefix under which Calico copies a namespace's labels onto its endpoints. */
export const CALICO_NAMESPACE_LABEL_PREFIX = 'pcns.';
/** The label Calico gives every namespace's profile: the namespace's name. */
export const CALICO_NAMESPACE_NAME_LABEL = 'projectcalico.org/name';
/** The prefix under which Calico copies a service account's labels onto its pods. */
export const CALICO_SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';

/**
 * Where a selector is used, which decides what its label tests read:
 * - `endpoint`: the subject's own labels (policy `selector`, rule `selector` / `notSelector`);
 * - `namespace`: the subject's namespace labels (a rule's or a GlobalNetworkPolicy's
 *   `namespaceSelector`: Calico prefixes its keys with `pcns.` and reads `all()` as "any
 *   namespaced endpoint" and `global()` as "any non-namespaced one");
 * - `service-account`: the subject's service-account labels (`serviceAccounts.selector`,
 *   `serviceAccountSelector`: Calico prefixes its keys with `pcsa.`).
 */
export type CalicoSelectorContext = 'endpoint' | 'namespace' | 'service-account';

/** A positive test on one label: what `!=` and `not in` negate. */
type Leaf =
  | { readonly kind: 'has'; readonly key: string }
  | { readonly kind: 'eq' | 'contains' | 'startsWith' | 'endsWith'; readonly key: string; readonly value: string }
  | { readonly kind: 'in'; readonly key: string; readonly values: readonly string[] };

/** A positive test on one label of the subject's own label map. */
function labelTest(leaf: Leaf, key: string): Selector {
  switch (leaf.kind) {
    case 'has':
      return { kind: 'exists', key };
    case 'eq':
      return { kind: 'in', key, values: [leaf.value] };
    case 'in':
      return { kind: 'in', key, values: leaf.values };
    case 'contains':
      return { kind: 'string', key, operator: 'contains', value: leaf.value };
    case 'startsWith':
      return { kind: 'string', key, operator: 'starts-with', value: leaf.value };
    case 'endsWith':
      return { kind: 'string', key, operator: 'ends-with', value: leaf.value };
  }
}

// A label whose value is a constant on some subjects and absent on the others: the test
// is decided per subject type by evaluating it on that constant.
function constantLabel(leaf: Leaf, value: string, on: Selector): Selector {
  return evaluateSelector(leaf as SelectorNode, { [leaf.key]: value }) ? on : SELECT_NONE;
}

/** A positive leaf of an endpoint selector, with Calico's virtual labels mapped to scoping nodes. */
function endpointLeaf(leaf: Leaf): Selector {
  const key = leaf.key;
  if (key === CALICO_NAMESPACE_LABEL) {
    if (leaf.kind === 'has') return not({ kind: 'global' });
    if (leaf.kind === 'eq') return { kind: 'in-namespace', namespace: leaf.value };
    if (leaf.kind === 'in') return anyOf(...leaf.values.map((namespace): Selector => ({ kind: 'in-namespace', namespace })));
    // String tests read the name through the namespace's own name label, which
    // Kubernetes sets on every namespace (and createSnapshot defaults).
    return { kind: 'namespace', selector: labelTest(leaf, NAMESPACE_NAME_LABEL) };
  }
  if (key === CALICO_SERVICE_ACCOUNT_LABEL) {
    if (leaf.kind === 'has') return { kind: 'service-account' };
    if (leaf.kind === 'eq') return { kind: 'service-account', names: [leaf.value] };
    if (leaf.kind === 'in') return { kind: 'service-account', names: leaf.values };
    throw new CalicoError(POLICY_ERROR_CODE.UNSUPPORTED, '', `"${leaf.kind}" on ${key} is not supported: the IR matches service accounts by exact name`);
  }
  if (key === CALICO_ORCHESTRATOR_LABEL) return constantLabel(leaf, 'k8s', { kind: 'subject-type', types: [SUBJECT_TYPE.WORKLOAD] });
  if (key.startsWith(CALICO_NAMESPACE_LABEL_PREFIX)) {
    return { kind: 'namespace', selector: labelTest(leaf, namespaceKey(key.slice(CALICO_NAMESPACE_LABEL_PREFIX.length))) };
  }
  if (key.startsWith(CALICO_SERVICE_ACCOUNT_LABEL_PREFIX)) {
    return { kind: 'service-account', selector: labelTest(leaf, key.slice(CALICO_SERVICE_ACCOUNT_LABEL_PREFIX.length)) };
  }
  return labelTest(leaf, key);
}

// A namespace label key as the IR reads it: Calico's profile label for the name is the
// IR's (and Kubernetes') `kubernetes.io/metadata.name`.
const namespaceKey = (key: string): string => (key === CALICO_NAMESPACE_NAME_LABEL ? NAMESPACE_NAME_LABEL : key);

function leafIn(context: CalicoSelectorContext, leaf: Leaf): Selector {
  switch (context) {
    case 'endpoint':
      return endpointLeaf(leaf);
    case 'namespace':
      return { kind: 'namespace', selector: labelTest(leaf, namespaceKey(leaf.key)) };
    case 'service-account':
      return { kind: 'service-account', selector: labelTest(leaf, leaf.key) };
  }
}

/**
 * Compiles a parsed Calico selector to the IR. `!=` and `not in` become the negation of
 * `==` and `in`, which is exactly Calico's rule for absent labels.
 *
 * @param node - The parsed selector.
 * @param context - What the selector's label tests read; see {@link CalicoSelectorContext}.
 * @throws {@link CalicoError} (`unsupported`) for a string test (`contains`, `starts with`,
 *   `ends with`) on `projectcalico.org/serviceaccount`, which the IR cannot express.
 */
export function compileCalicoSelector(node: SelectorNode, context: CalicoSelectorContext = 'endpoint'): Selector {
  switch (node.kind) {
    case 'all':
      // `pcns.` rewriting turns `all()` into has(projectcalico.org/namespace).
      return context === 'namespace' ? not({ kind: 'global' }) : SELECT_ALL;
    case 'global':
      // Only meaningful as a namespaceSelector (the validator enforces it); elsewhere
      // Calico evaluates it as true.
      return context === 'namespace' ? { kind: 'global' } : SELECT_ALL;
    case 'ne':
      return not(leafIn(context, { kind: 'eq', key: node.key, value: node.value }));
    case 'notIn':
      return not(leafIn(context, { kind: 'in', key: node.key, values: node.values }));
    case 'not':
      return not(compileCalicoSelector(node.operand, context));
    case 'and':
      return allOf(...node.operands.map((o) => compileCalicoSelector(o, context)));
    case 'or':
      return anyOf(...node.operands.map((o) => compileCalicoSelector(o, context)));
    case 'has':
      return leafIn(context, { kind: 'has', key: node.key });
    case 'in':
      return leafIn(context, { kind: 'in', key: node.key, values: node.values });
    case 'eq':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return leafIn(context, { kind: node.kind, key: node.key, value: node.value });
  }
}
