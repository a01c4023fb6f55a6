// The resource types the test server serves: the built-in ones and those CRDs define.
// A type is data (group, versions, kind, plural, scope, which field selectors and
// subresources it has); the router and the store look everything up here.

import { type SchemaValidator } from './schema.js';

/** How a kind's names are validated (apimachinery validation.IsDNS1123Subdomain etc.). */
export type NameRule = 'subdomain' | 'label' | 'dns1035';

/** One resource type as discovery describes it and the handlers need it. */
export interface ResourceType {
  readonly group: string;
  /** Served versions, preferred (storage) first. */
  readonly versions: readonly string[];
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Has a `status` subresource: the main endpoint ignores status changes and vice versa. */
  readonly statusSubresource: boolean;
  /** Field selectors besides metadata.name / metadata.namespace, with how to read them. */
  readonly fieldSelectors: Readonly<Record<string, (object: KubeObject) => string>>;
  readonly nameRule: NameRule;
  /** DELETE answers with the deleted object (true) or a Success Status (false). */
  readonly returnDeletedObject: boolean;
  /** Built-in types take strategic merge patches (treated as merge patches here). */
  readonly builtIn: boolean;
  /** For custom resources: the validator of each served version. */
  readonly schemas?: ReadonlyMap<string, SchemaValidator | undefined>;
}

/** The metadata the server maintains on every object. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
  [field: string]: unknown;
}

/** A stored object: plain JSON with apiVersion, kind and metadata. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The storage key of a type: one per group and plural, whatever the version asked for. */
export function typeKey(t: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${t.group}/${t.plural}`;
}

/** `v1` or `networking.k8s.io/v1`. */
export function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Splits an apiVersion into group and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function nested(object: KubeObject, path: readonly string[]): string {
  let value: unknown = object;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

function fields(...paths: string[]): Record<string, (object: KubeObject) => string> {
  return Object.fromEntries(paths.map((p) => [p, (o: KubeObject) => nested(o, p.split('.'))]));
}

function builtIn(t: Omit<ResourceType, 'listKind' | 'builtIn' | 'shortNames' | 'fieldSelectors' | 'returnDeletedObject' | 'nameRule' | 'statusSubresource'> & Partial<ResourceType>): ResourceType {
  return {
    listKind: `${t.kind}List`,
    shortNames: [],
    fieldSelectors: {},
    returnDeletedObject: false,
    nameRule: 'subdomain',
    statusSubresource: false,
    builtIn: true,
    ...t,
  };
}

/** The built-in types (as kube-apiserver 1.31 serves them, for the fields used here). */
export const builtInTypes: readonly ResourceType[] = [
  builtIn({
    group: '', versions: ['v1'], kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false,
    shortNames: ['ns'], nameRule: 'label', statusSubresource: true, fieldSelectors: fields('status.phase'), returnDeletedObject: true,
  }),
  builtIn({
    group: '', versions: ['v1'], kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'],
    statusSubresource: true, returnDeletedObject: true,
    fieldSelectors: fields('spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'),
  }),
  builtIn({
    group: '', versions: ['v1'], kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'],
    statusSubresource: true, fieldSelectors: fields('spec.unschedulable'),
  }),
  builtIn({ group: '', versions: ['v1'], kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true, fieldSelectors: fields('type') }),
  builtIn({
    group: '', versions: ['v1'], kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'],
    nameRule: 'dns1035', statusSubresource: true, returnDeletedObject: true,
  }),
  builtIn({ group: '', versions: ['v1'], kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] }),
  builtIn({ group: 'networking.k8s.io', versions: ['v1'], kind: 'NetworkPolicy', plural: 'networkpolicies', singular: 'networkpolicy', namespaced: true, shortNames: ['netpol'] }),
  builtIn({
    group: 'apiextensions.k8s.io', versions: ['v1'], kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition', namespaced: false, shortNames: ['crd', 'crds'], statusSubresource: true, returnDeletedObject: true,
  }),
];

/** The types served now: the built-ins plus one per established CRD. */
export class ResourceRegistry {
  readonly #byKey = new Map<string, ResourceType>();

  constructor() {
    for (const t of builtInTypes) this.#byKey.set(typeKey(t), t);
  }

  /** Serves a custom resource type (replacing an earlier definition of the same group/plural). */
  define(t: ResourceType): void {
    this.#byKey.set(typeKey(t), t);
  }

  /** Stops serving a custom resource type. */
  forget(key: string): void {
    const t = this.#byKey.get(key);
    if (t !== undefined && !t.builtIn) this.#byKey.delete(key);
  }

  byKey(key: string): ResourceType | undefined {
    return this.#byKey.get(key);
  }

  /** The type served at group/version/plural, if that version is served. */
  byPath(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.#byKey.get(`${group}/${plural}`);
    return t !== undefined && t.versions.includes(version) ? t : undefined;
  }

  /** The type of apiVersion + kind, if served. */
  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    for (const t of this.#byKey.values()) {
      if (t.group === group && t.kind === kind && t.versions.includes(version)) return t;
    }
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.#byKey.values()];
  }

  /** Whether any type serves group/version (for 404s on unknown group versions). */
  servesGroupVersion(group: string, version: string): boolean {
    return this.all().some((t) => t.group === group && t.versions.includes(version));
  }
}
