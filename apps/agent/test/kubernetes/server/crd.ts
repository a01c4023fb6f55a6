// CustomResourceDefinitions (apiextensions.k8s.io/v1): their validation, the resource type
// an established CRD serves, and the status the API server's controllers would set.

import { type KubeObject, type ResourceType } from './resources.js';
import { compileSchema, type OpenApiSchema, type SchemaValidator } from './schema.js';
import { type FieldError, invalidValue, requiredValue } from './status.js';

interface CrdVersion {
  name?: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: OpenApiSchema };
  subresources?: { status?: object };
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; singular?: string; kind?: string; listKind?: string; shortNames?: string[] };
  versions?: CrdVersion[];
}

const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The field errors of a CRD (the rules of apiextensions validation.go this server needs). */
export function validateCrd(crd: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = (crd.spec ?? {}) as CrdSpec;
  const group = spec.group ?? '';
  const names = spec.names ?? {};
  if (group === '') errors.push(requiredValue('spec.group'));
  else if (!subdomain.test(group) || !group.includes('.')) errors.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  if (names.plural === undefined || names.plural === '') errors.push(requiredValue('spec.names.plural'));
  else if (!dns1035.test(names.plural)) errors.push(invalidValue('spec.names.plural', names.plural, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"));
  if (names.kind === undefined || names.kind === '') errors.push(requiredValue('spec.names.kind'));
  if (names.singular !== undefined && names.singular !== '' && !dns1035.test(names.singular)) errors.push(invalidValue('spec.names.singular', names.singular, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"));
  const expectedName = `${names.plural ?? ''}.${group}`;
  if (crd.metadata.name !== expectedName) errors.push(invalidValue('metadata.name', crd.metadata.name ?? '', 'must be spec.names.plural+"."+spec.group'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errors.push(spec.scope === undefined ? requiredValue('spec.scope') : { reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(spec.scope)}: supported values: "Cluster", "Namespaced"` });
  }
  const versions = spec.versions ?? [];
  if (versions.length === 0) errors.push(invalidValue('spec.versions', versions, 'must have exactly one version marked as storage version'));
  const storage = versions.filter((v) => v.storage === true).length;
  if (versions.length > 0 && storage !== 1) errors.push(invalidValue('spec.versions', versions, 'must have exactly one version marked as storage version'));
  versions.forEach((v, i) => {
    if (v.name === undefined || v.name === '') errors.push(requiredValue(`spec.versions[${i}].name`));
    if (v.schema?.openAPIV3Schema === undefined) errors.push(requiredValue(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    else if (v.schema.openAPIV3Schema.type !== 'object') errors.push(invalidValue(`spec.versions[${i}].schema.openAPIV3Schema.type`, v.schema.openAPIV3Schema.type ?? '', 'must be object at the root'));
    else checkStructural(v.schema.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`, true, errors);
  });
  return errors;
}

/**
 * The structural-schema rules (apiextensions schema/validation.go) a CRD author trips over:
 * every specified field has a type (unless int-or-string or preserve-unknown-fields),
 * properties and additionalProperties exclude each other, patterns compile.
 */
function checkStructural(node: OpenApiSchema, path: string, structural: boolean, errors: FieldError[]): void {
  if (structural && node.type === undefined && node['x-kubernetes-int-or-string'] !== true && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    errors.push(requiredValue(`${path}.type`, 'must not be empty for specified object fields'));
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined && node.additionalProperties !== false) {
    errors.push({ reason: 'FieldValueForbidden', field: `${path}.additionalProperties`, message: 'Forbidden: additionalProperties and properties are mutual exclusive' });
  }
  if (typeof node.pattern === 'string') {
    try {
      new RegExp(node.pattern, 'u');
    } catch {
      errors.push(invalidValue(`${path}.pattern`, node.pattern, 'must be a valid regular expression'));
    }
  }
  for (const [name, child] of Object.entries(node.properties ?? {})) checkStructural(child, `${path}.properties[${name}]`, structural, errors);
  if (typeof node.additionalProperties === 'object') checkStructural(node.additionalProperties, `${path}.additionalProperties`, structural, errors);
  if (node.items !== undefined) checkStructural(node.items, `${path}.items`, structural, errors);
  // Value validations under anyOf/allOf/oneOf/not need no types.
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) (node[k] ?? []).forEach((child, j) => checkStructural(child, `${path}.${k}[${j}]`, false, errors));
  if (node.not !== undefined) checkStructural(node.not, `${path}.not`, false, errors);
}

/** The resource type an (already validated) CRD serves; its validators compiled per version. */
export function crdResourceType(crd: KubeObject): ResourceType {
  const spec = crd.spec as CrdSpec;
  const names = spec.names!;
  const versions = (spec.versions ?? []).filter((v) => v.served === true);
  // The storage version first (discovery's preferred version).
  versions.sort((a, b) => Number(b.storage === true) - Number(a.storage === true));
  const schemas = new Map<string, SchemaValidator | undefined>();
  for (const v of versions) {
    const schema = v.schema?.openAPIV3Schema;
    schemas.set(v.name!, schema === undefined ? undefined : compileSchema(schema));
  }
  const storageVersion = (spec.versions ?? []).find((v) => v.storage === true);
  return {
    group: spec.group!,
    versions: versions.map((v) => v.name!),
    kind: names.kind!,
    listKind: names.listKind ?? `${names.kind!}List`,
    plural: names.plural!,
    singular: names.singular ?? names.kind!.toLowerCase(),
    namespaced: spec.scope === 'Namespaced',
    shortNames: names.shortNames ?? [],
    statusSubresource: storageVersion?.subresources?.status !== undefined,
    fieldSelectors: {},
    nameRule: 'subdomain',
    returnDeletedObject: true,
    builtIn: false,
    schemas,
  };
}

/** The status the CRD controllers set once the names are accepted and the CRD established. */
export function establishedStatus(crd: KubeObject, now: string): Record<string, unknown> {
  const spec = crd.spec as CrdSpec;
  const names = spec.names!;
  return {
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    acceptedNames: { plural: names.plural, singular: names.singular ?? names.kind!.toLowerCase(), kind: names.kind, listKind: names.listKind ?? `${names.kind!}List`, ...(names.shortNames === undefined ? {} : { shortNames: names.shortNames }) },
    storedVersions: (spec.versions ?? []).filter((v) => v.storage === true).map((v) => v.name),
  };
}
