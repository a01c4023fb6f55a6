// Cilium endpoint selectors: Kubernetes label selectors whose keys may carry a label
// source (`k8s:app`, `any:app`, `reserved:host`; no prefix means `any`). Reading with
// validation, and translation to the IR, where Cilium's special keys become scoping
// nodes: `io.kubernetes.pod.namespace` the namespace, `io.cilium.k8s.namespace.labels.*`
// the namespace's labels, `io.cilium.k8s.policy.serviceaccount` the service account.

import { POLICY_ERROR_CODE } from '../errors.js';
import { type DocumentReader, join } from '../internal/document.js';
import { labelKeyProblem, labelValueProblem } from '../kubernetes/names.js';
import { type LabelSelectorRequirement } from '../kubernetes/types.js';
import { allOf, anyOf, not, type Selector } from '../model/selector.js';
import { type CiliumEndpointSelector } from './types.js';

/** The label Cilium gives every pod: its namespace's name. */
export const CILIUM_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
/** The prefix under which Cilium copies a namespace's labels onto its pods. */
export const CILIUM_NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';
/** The label Cilium gives every pod: its service account's name. */
export const CILIUM_SERVICE_ACCOUNT_LABEL = 'io.cilium.k8s.policy.serviceaccount';

/** The label sources Cilium knows (`pkg/labels`). */
const SOURCES: readonly string[] = ['k8s', 'any', 'reserved', 'container', 'unspec', 'cidr', 'fqdn', 'cni', 'cilium-generated'];
const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** A selector key split into its source (`any` when none is written) and name. */
export function splitCiliumKey(key: string): { readonly source: string; readonly name: string } {
  const colon = key.indexOf(':');
  return colon < 0 ? { source: 'any', name: key } : { source: key.slice(0, colon), name: key.slice(colon + 1) };
}

function keyProblem(key: string): string | undefined {
  const { source, name } = splitCiliumKey(key);
  if (!SOURCES.includes(source)) return `unknown label source "${source}": must be one of ${SOURCES.join(', ')}`;
  const problem = labelKeyProblem(name);
  return problem === undefined ? undefined : `invalid label key ${JSON.stringify(key)}: ${problem}`;
}

function readRequirement(reader: DocumentReader, value: unknown, path: string): LabelSelectorRequirement | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['key', 'operator', 'values'], path);
  const before = reader.errors.length;
  const keyValue = reader.field(object, 'key');
  const key = keyValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, join(path, 'key'), 'required') : reader.string(keyValue, join(path, 'key'));
  const problem = key === undefined ? undefined : keyProblem(key);
  if (problem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'key'), problem);
  const operatorValue = reader.field(object, 'operator');
  const operator = operatorValue === undefined
    ? reader.fail(POLICY_ERROR_CODE.REQUIRED, join(path, 'operator'), 'required')
    : reader.string(operatorValue, join(path, 'operator'));
  if (operator !== undefined && !OPERATORS.includes(operator)) {
    reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'operator'), `unknown operator ${JSON.stringify(operator)}: must be one of ${OPERATORS.join(', ')}`);
  }
  const valuesValue = reader.field(object, 'values');
  const values: string[] = [];
  if (valuesValue !== undefined) {
    reader.array(valuesValue, join(path, 'values'))?.forEach((entry, index) => {
      const text = reader.string(entry, `${join(path, 'values')}[${index}]`);
      if (text !== undefined) values.push(text);
    });
  }
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'values'), `must not be empty when operator is ${operator}`);
  } else if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
    reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, join(path, 'values'), `must be empty when operator is ${operator}`);
  }
  if (reader.errors.length > before || key === undefined || operator === undefined) return undefined;
  return operator === 'In' || operator === 'NotIn'
    ? { key, operator, values }
    : { key, operator: operator as 'Exists' | 'DoesNotExist' };
}

/** Reads and validates an endpoint selector at `path`; `undefined` (with errors recorded) when invalid. */
export function readCiliumSelector(reader: DocumentReader, value: unknown, path: string): CiliumEndpointSelector | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['matchLabels', 'matchExpressions'], path);
  const before = reader.errors.length;
  const labelsValue = reader.field(object, 'matchLabels');
  const matchLabels = labelsValue === undefined ? undefined : reader.stringMap(labelsValue, join(path, 'matchLabels'));
  for (const [key, label] of Object.entries(matchLabels ?? {})) {
    const entryPath = `${join(path, 'matchLabels')}[${JSON.stringify(key)}]`;
    const problem = keyProblem(key);
    if (problem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, entryPath, problem);
    const valueProblem = labelValueProblem(label);
    if (valueProblem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_SELECTOR, entryPath, `invalid label value ${JSON.stringify(label)}: ${valueProblem}`);
  }
  const expressionsValue = reader.field(object, 'matchExpressions');
  const matchExpressions: LabelSelectorRequirement[] = [];
  if (expressionsValue !== undefined) {
    reader.array(expressionsValue, join(path, 'matchExpressions'))?.forEach((entry, index) => {
      const requirement = readRequirement(reader, entry, `${join(path, 'matchExpressions')}[${index}]`);
      if (requirement !== undefined) matchExpressions.push(requirement);
    });
  }
  if (reader.errors.length > before) return undefined;
  return {
    ...(matchLabels === undefined ? {} : { matchLabels }),
    ...(expressionsValue === undefined ? {} : { matchExpressions }),
  };
}

/** Whether `key` (any source but `reserved`) names the pod's namespace. */
function isNamespaceKey(key: string): boolean {
  const { source, name } = splitCiliumKey(key);
  return name === CILIUM_NAMESPACE_LABEL && (source === 'k8s' || source === 'any');
}

/** The keys a selector tests, from both halves. */
function selectorKeys(selector: CiliumEndpointSelector): string[] {
  return [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((r) => r.key)];
}

/** Whether the selector tests the namespace label itself (then Cilium adds no namespace scope). */
export function selectsNamespace(selector: CiliumEndpointSelector): boolean {
  return selectorKeys(selector).some(isNamespaceKey);
}

/** Whether the selector tests a `reserved:` label (then Cilium adds no namespace scope). */
export function selectsReserved(selector: CiliumEndpointSelector): boolean {
  return selectorKeys(selector).some((key) => splitCiliumKey(key).source === 'reserved');
}

/** `selector` without the namespace entries of `matchLabels`, which Cilium overwrites in a namespaced policy's endpointSelector. */
export function withoutNamespaceMatch(selector: CiliumEndpointSelector): CiliumEndpointSelector {
  if (selector.matchLabels === undefined) return selector;
  const matchLabels = Object.fromEntries(Object.entries(selector.matchLabels).filter(([key]) => !isNamespaceKey(key)));
  return { ...selector, matchLabels };
}

/** `In values` on one key, with Cilium's special keys as the IR's scoping nodes. */
function inValues(key: string, values: readonly string[]): Selector {
  const { source, name } = splitCiliumKey(key);
  if (source === 'k8s' || source === 'any') {
    if (name === CILIUM_NAMESPACE_LABEL) return anyOf(...values.map((namespace): Selector => ({ kind: 'in-namespace', namespace })));
    if (name === CILIUM_SERVICE_ACCOUNT_LABEL) return { kind: 'service-account', names: values };
    if (name.startsWith(CILIUM_NAMESPACE_LABELS_PREFIX)) {
      return { kind: 'namespace', selector: { kind: 'in', key: name.slice(CILIUM_NAMESPACE_LABELS_PREFIX.length), values } };
    }
    return { kind: 'in', key: name, values };
  }
  // Reserved and other sources keep their prefix: the model labels Cilium's special endpoints `reserved:health` and so on.
  return { kind: 'in', key, values };
}

function exists(key: string): Selector {
  const { source, name } = splitCiliumKey(key);
  if (source === 'k8s' || source === 'any') {
    if (name === CILIUM_NAMESPACE_LABEL) return not({ kind: 'global' });
    if (name === CILIUM_SERVICE_ACCOUNT_LABEL) return { kind: 'service-account' };
    if (name.startsWith(CILIUM_NAMESPACE_LABELS_PREFIX)) {
      return { kind: 'namespace', selector: { kind: 'exists', key: name.slice(CILIUM_NAMESPACE_LABELS_PREFIX.length) } };
    }
    return { kind: 'exists', key: name };
  }
  return { kind: 'exists', key };
}

/**
 * The IR selector of a Cilium endpoint selector: matchLabels and matchExpressions ANDed
 * (`{}` matches every endpoint); `NotIn` and `DoesNotExist` match endpoints without the key.
 */
export function ciliumSelectorToSelector(selector: CiliumEndpointSelector): Selector {
  const parts: Selector[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => inValues(key, [value]));
  for (const requirement of selector.matchExpressions ?? []) {
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        parts.push(inValues(requirement.key, values));
        break;
      case 'NotIn':
        parts.push(not(inValues(requirement.key, values)));
        break;
      case 'Exists':
        parts.push(exists(requirement.key));
        break;
      case 'DoesNotExist':
        parts.push(not(exists(requirement.key)));
        break;
    }
  }
  return allOf(...parts);
}
