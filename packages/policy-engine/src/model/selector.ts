// Selectors as a small predicate AST. Every dialect compiles to it: Kubernetes label
// selectors (matchLabels, matchExpressions), the Calico selector language (==, !=, in,
// not in, has(), !has(), all(), global(), contains, starts with, ends with, &&, ||, !)
// and Cilium endpoint selectors. Scoping that the dialects express outside the label
// map (the namespace an endpoint lives in, its namespace's labels, its service
// account, what kind of thing it is) is part of the AST too, so one selector says
// everything about which subjects it picks.

import { hasLabel, labelValue, type Labels } from './labels.js';

/** What kind of thing a selector is applied to. */
export const SUBJECT_TYPE = {
  /** A pod (a Calico workload endpoint, a Cilium endpoint). */
  WORKLOAD: 'workload',
  /** A node's host interfaces (a Calico host endpoint; Cilium's host and remote-node). */
  HOST: 'host',
  /** A named set of CIDRs with labels (Calico NetworkSet / GlobalNetworkSet). */
  NETWORK_SET: 'network-set',
} as const;

/** One of {@link SUBJECT_TYPE}. */
export type SubjectType = (typeof SUBJECT_TYPE)[keyof typeof SUBJECT_TYPE];

/** The string tests of the Calico selector language. */
export const STRING_OPERATOR = { CONTAINS: 'contains', STARTS_WITH: 'starts-with', ENDS_WITH: 'ends-with' } as const;

/** One of {@link STRING_OPERATOR}. */
export type StringOperator = (typeof STRING_OPERATOR)[keyof typeof STRING_OPERATOR];

/**
 * A predicate over a {@link SelectorSubject}. Label tests look at the subject's own
 * labels, except inside `namespace` (the labels of the subject's namespace) and
 * `service-account` (the labels of its service account).
 *
 * Absent labels follow both Kubernetes and Calico: `in` is false when the key is
 * absent, so `not(in)` (Kubernetes `NotIn`, Calico `!=` and `not in`) is true.
 */
export type Selector =
  /** Every subject (Kubernetes `{}`, Calico `all()`). */
  | { readonly kind: 'all' }
  /** No subject (what an empty `or` means; handy for front ends). */
  | { readonly kind: 'none' }
  /** The label `key` is present with one of `values` (Calico `==` is `in` with one value). */
  | { readonly kind: 'in'; readonly key: string; readonly values: readonly string[] }
  /** The label `key` is present (Calico `has(key)`, Kubernetes `Exists`). */
  | { readonly kind: 'exists'; readonly key: string }
  /** The label `key` is present and its value passes a string test (Calico `contains` and friends). */
  | { readonly kind: 'string'; readonly key: string; readonly operator: StringOperator; readonly value: string }
  | { readonly kind: 'and'; readonly of: readonly Selector[] }
  | { readonly kind: 'or'; readonly of: readonly Selector[] }
  | { readonly kind: 'not'; readonly of: Selector }
  /** The subject lives in this namespace (a namespaced policy's own scope). */
  | { readonly kind: 'in-namespace'; readonly namespace: string }
  /** The subject is namespaced and `selector` matches its namespace's labels. */
  | { readonly kind: 'namespace'; readonly selector: Selector }
  /** The subject is not namespaced (Calico `global()`: host endpoints, global network sets). */
  | { readonly kind: 'global' }
  /** The subject runs as a service account with one of `names` (when given) whose labels match `selector` (when given). */
  | { readonly kind: 'service-account'; readonly names?: readonly string[]; readonly selector?: Selector }
  /** The subject is one of these types. */
  | { readonly kind: 'subject-type'; readonly types: readonly SubjectType[] };

/** What a selector is evaluated against. */
export interface SelectorSubject {
  /** What kind of thing the subject is (`subject-type` tests this). */
  readonly type: SubjectType;
  /** The subject's own labels, which label tests read outside `namespace` and `service-account`. */
  readonly labels: Labels;
  /** The namespace, for namespaced subjects; absent for global ones (hosts, global network sets). */
  readonly namespace?: {
    /** The namespace name (`in-namespace` compares it). */
    readonly name: string;
    /** The namespace's labels (label tests inside `namespace` read them). */
    readonly labels: Labels;
  };
  /** The service account the subject runs as; absent when it has none (`service-account` is then false). */
  readonly serviceAccount?: {
    /** The service account name (`service-account` `names` compares it). */
    readonly name: string;
    /** The service account's labels (label tests inside `service-account` read them); `{}` when unknown. */
    readonly labels: Labels;
  };
}

/** The selector that matches everything. */
export const SELECT_ALL: Selector = Object.freeze({ kind: 'all' });

/** The selector that matches nothing. */
export const SELECT_NONE: Selector = Object.freeze({ kind: 'none' });

/** `key == value`. */
export function labelEquals(key: string, value: string): Selector {
  return { kind: 'in', key, values: [value] };
}

/** All of `of`; flattens nested `and`s and drops `all`, so compiled selectors stay small. */
export function allOf(...of: Selector[]): Selector {
  const parts = of.flatMap((s) => (s.kind === 'and' ? s.of : [s])).filter((s) => s.kind !== 'all');
  if (parts.some((s) => s.kind === 'none')) return SELECT_NONE;
  if (parts.length === 0) return SELECT_ALL;
  return parts.length === 1 ? (parts[0] as Selector) : { kind: 'and', of: parts };
}

/** Any of `of`; flattens nested `or`s and drops `none`. */
export function anyOf(...of: Selector[]): Selector {
  const parts = of.flatMap((s) => (s.kind === 'or' ? s.of : [s])).filter((s) => s.kind !== 'none');
  if (parts.some((s) => s.kind === 'all')) return SELECT_ALL;
  if (parts.length === 0) return SELECT_NONE;
  return parts.length === 1 ? (parts[0] as Selector) : { kind: 'or', of: parts };
}

/** The negation of `of`. */
export function not(of: Selector): Selector {
  if (of.kind === 'all') return SELECT_NONE;
  if (of.kind === 'none') return SELECT_ALL;
  return of.kind === 'not' ? of.of : { kind: 'not', of };
}

function matchString(operator: StringOperator, actual: string, value: string): boolean {
  switch (operator) {
    case 'contains':
      return actual.includes(value);
    case 'starts-with':
      return actual.startsWith(value);
    case 'ends-with':
      return actual.endsWith(value);
  }
}

/** Whether `selector` matches `subject`. Pure and total: every subject gets an answer. */
export function matchSelector(selector: Selector, subject: SelectorSubject): boolean {
  return matchLabels(selector, subject, subject.labels);
}

// `labels` is the map the label tests read: the subject's own, or its namespace's or
// service account's inside `namespace` / `service-account`.
function matchLabels(selector: Selector, subject: SelectorSubject, labels: Labels): boolean {
  switch (selector.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'in': {
      const value = labelValue(labels, selector.key);
      return value !== undefined && selector.values.includes(value);
    }
    case 'exists':
      return hasLabel(labels, selector.key);
    case 'string': {
      const value = labelValue(labels, selector.key);
      return value !== undefined && matchString(selector.operator, value, selector.value);
    }
    case 'and':
      return selector.of.every((s) => matchLabels(s, subject, labels));
    case 'or':
      return selector.of.some((s) => matchLabels(s, subject, labels));
    case 'not':
      return !matchLabels(selector.of, subject, labels);
    case 'in-namespace':
      return subject.namespace?.name === selector.namespace;
    case 'namespace':
      return subject.namespace !== undefined && matchLabels(selector.selector, subject, subject.namespace.labels);
    case 'global':
      return subject.namespace === undefined;
    case 'service-account': {
      const account = subject.serviceAccount;
      if (account === undefined) return false;
      if (selector.names !== undefined && !selector.names.includes(account.name)) return false;
      return selector.selector === undefined || matchLabels(selector.selector, subject, account.labels);
    }
    case 'subject-type':
      return selector.types.includes(subject.type);
  }
}

const quote = (text: string): string => JSON.stringify(text);

/**
 * A readable form of `selector`, close to the Calico selector language (which is a
 * superset of what Kubernetes can say), for traces and lint messages.
 */
export function formatSelector(selector: Selector): string {
  switch (selector.kind) {
    case 'all':
      return 'all()';
    case 'none':
      return '!all()';
    case 'in':
      return selector.values.length === 1
        ? `${selector.key} == ${quote(selector.values[0] ?? '')}`
        : `${selector.key} in {${selector.values.map(quote).join(', ')}}`;
    case 'exists':
      return `has(${selector.key})`;
    case 'string':
      return `${selector.key} ${selector.operator.replace('-', ' ')} ${quote(selector.value)}`;
    case 'and':
      return selector.of.map((s) => (s.kind === 'or' ? `(${formatSelector(s)})` : formatSelector(s))).join(' && ');
    case 'or':
      return selector.of.map((s) => (s.kind === 'and' ? `(${formatSelector(s)})` : formatSelector(s))).join(' || ');
    case 'not':
      if (selector.of.kind === 'exists') return `!has(${selector.of.key})`;
      if (selector.of.kind === 'in' && selector.of.values.length === 1) {
        return `${selector.of.key} != ${quote(selector.of.values[0] ?? '')}`;
      }
      if (selector.of.kind === 'in') return `${selector.of.key} not in {${selector.of.values.map(quote).join(', ')}}`;
      return `!(${formatSelector(selector.of)})`;
    case 'in-namespace':
      return `namespace == ${quote(selector.namespace)}`;
    case 'namespace':
      return `namespace(${formatSelector(selector.selector)})`;
    case 'global':
      return 'global()';
    case 'service-account': {
      const parts = [
        ...(selector.names === undefined ? [] : [`name in {${selector.names.map(quote).join(', ')}}`]),
        ...(selector.selector === undefined ? [] : [formatSelector(selector.selector)]),
      ];
      return `serviceAccount(${parts.join(' && ')})`;
    }
    case 'subject-type':
      return `type in {${selector.types.join(', ')}}`;
  }
}
