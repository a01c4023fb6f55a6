// The kind and the namespace a resource command works on: the KIND argument resolved,
// and -n / -A checked against it, as kubectl reads them (a namespaced kind without
// either is the `default` namespace).

import { UsageError } from '../errors.js';
import { CLI_KINDS, findKind, KIND_NAMES_TEXT, type CliKind } from './kinds.js';

/** Where a command looks: one namespace, every one, or none (cluster-wide kinds). */
export type NamespaceScope = { readonly all: true } | { readonly all: false; readonly namespace?: string };

/** The namespace a namespaced kind uses without -n. */
export const DEFAULT_NAMESPACE = 'default';

// A DNS-1123 label, as Kubernetes names namespaces.
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The kind named by the KIND argument. @throws {UsageError} for a name no kind answers to. */
export function resolveKindArgument(command: string, text: string): CliKind {
  const kind = findKind(text);
  if (kind === undefined) throw new UsageError(command, 'KIND', `unknown kind ${JSON.stringify(text)}: expected one of ${KIND_NAMES_TEXT}`);
  return kind;
}

/**
 * The scope of a command on `kind` from `-n` and `-A`.
 * @throws {UsageError} for -n on a cluster-wide kind, -n with -A, -A with a name, a bad namespace.
 */
export function resolveScope(command: string, kind: CliKind, options: { readonly namespace?: string; readonly allNamespaces?: boolean }, name?: string): NamespaceScope {
  const { namespace, allNamespaces } = options;
  if (namespace !== undefined && allNamespaces === true) throw new UsageError(command, '--all-namespaces', 'cannot be used with --namespace');
  if (namespace !== undefined && !NAMESPACE_NAME.test(namespace)) {
    throw new UsageError(command, '--namespace', `${JSON.stringify(namespace)} is not a namespace name (lower-case letters, digits and '-')`);
  }
  if (!kind.namespaced) {
    if (namespace !== undefined) throw new UsageError(command, '--namespace', `${kind.plural} are cluster-wide, not in a namespace: drop -n`);
    return { all: false };
  }
  if (allNamespaces === true) {
    if (name !== undefined) throw new UsageError(command, '--all-namespaces', `cannot be used with a NAME (${JSON.stringify(name)}): name its namespace with -n`);
    return { all: true };
  }
  return { all: false, namespace: namespace ?? DEFAULT_NAMESPACE };
}

/** The resource kinds apply and delete can write (not the ipamblocks and endpoints views). */
export function writableKind(command: string, kind: CliKind): CliKind {
  if (kind.source !== 'resource') {
    const by = kind.source === 'endpoints' ? 'the CNI plugin records them' : 'IPAM keeps them (twill ipam release frees addresses)';
    throw new UsageError(command, 'KIND', `${kind.plural} are read-only: ${by}`);
  }
  return kind;
}

/** Every kind id, for help texts. */
export const KIND_IDS = CLI_KINDS.map((k) => k.id);
