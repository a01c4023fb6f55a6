// The structural-schema rules apiextensions.k8s.io/v1 enforces on a CRD's openAPIV3Schema
// (Kubernetes docs, "Specifying a structural schema"), as a list of problems with the path
// of the node at fault. A test helper: the manifests' tests run every CRD through it.

type Schema = Readonly<Record<string, unknown>>;

const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'] as const;
const TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'];
// Keywords a junctor's branches may not set: they must be specified outside it.
const FORBIDDEN_IN_JUNCTORS = ['description', 'type', 'default', 'additionalProperties', 'nullable', 'x-kubernetes-preserve-unknown-fields'];
// v1 CRDs do not accept these at all.
const NOT_ALLOWED = ['$ref', 'definitions', 'dependencies', 'patternProperties', 'additionalItems', 'id', '$schema'];

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkJunctorBranch(branch: Schema, path: string, problems: string[], outside: Schema): void {
  for (const key of FORBIDDEN_IN_JUNCTORS) {
    // The int-or-string idiom (anyOf: [{type: integer}, {type: string}]) may name types.
    if (key === 'type' && outside['x-kubernetes-int-or-string'] === true) continue;
    if (branch[key] !== undefined) problems.push(`${path}: ${key} must not be set inside a junctor`);
  }
  // Fields and items named inside must be specified outside too (rule 2).
  if (isSchema(branch['properties'])) {
    const outsideProperties = isSchema(outside['properties']) ? outside['properties'] : {};
    for (const key of Object.keys(branch['properties'])) {
      if (outsideProperties[key] === undefined) problems.push(`${path}.properties.${key}: must also be specified outside the junctor`);
    }
  }
  if (branch['items'] !== undefined && outside['items'] === undefined) problems.push(`${path}.items: must also be specified outside the junctor`);
}

/** The structural-schema problems of `schema` (empty when it is structural). */
export function structuralProblems(schema: unknown, path = 'openAPIV3Schema', root = true): string[] {
  const problems: string[] = [];
  if (!isSchema(schema)) return [`${path}: must be a schema object`];
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const type = schema['type'];
  if (type === undefined) {
    if (!intOrString && !preserve) problems.push(`${path}: has no type (nor x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields)`);
  } else if (typeof type !== 'string' || !TYPES.includes(type)) {
    problems.push(`${path}: type ${JSON.stringify(type)} is not one of ${TYPES.join(', ')}`);
  }
  if (root && type !== 'object') problems.push(`${path}: the root must be of type object`);
  if (intOrString && type !== undefined) problems.push(`${path}: x-kubernetes-int-or-string must not have a type`);
  if (schema['properties'] !== undefined && schema['additionalProperties'] !== undefined) {
    problems.push(`${path}: properties and additionalProperties are mutually exclusive`);
  }
  if (schema['additionalProperties'] === false) problems.push(`${path}: additionalProperties: false is not allowed`);
  if ((schema['properties'] !== undefined || schema['additionalProperties'] !== undefined) && type !== 'object') {
    problems.push(`${path}: properties need type object`);
  }
  if (schema['items'] !== undefined && type !== 'array') problems.push(`${path}: items need type array`);
  if (type === 'array' && !isSchema(schema['items'])) problems.push(`${path}: an array needs items`);
  for (const key of NOT_ALLOWED) if (schema[key] !== undefined) problems.push(`${path}: ${key} is not allowed`);
  if (Array.isArray(schema['required']) && isSchema(schema['properties'])) {
    for (const key of schema['required'] as unknown[]) {
      if (typeof key !== 'string' || schema['properties'][key] === undefined) problems.push(`${path}: required field ${JSON.stringify(key)} is not among its properties`);
    }
  }
  if (isSchema(schema['properties'])) {
    for (const [key, child] of Object.entries(schema['properties'])) {
      // metadata: only name and generateName may be restricted; ours say only `type: object`.
      if (root && key === 'metadata' && isSchema(child) && Object.keys(child).some((k) => k !== 'type')) {
        problems.push(`${path}.properties.metadata: only type object is allowed`);
      }
      problems.push(...structuralProblems(child, `${path}.properties.${key}`, false));
    }
  }
  if (isSchema(schema['additionalProperties'])) problems.push(...structuralProblems(schema['additionalProperties'], `${path}.additionalProperties`, false));
  if (schema['items'] !== undefined) problems.push(...structuralProblems(schema['items'], `${path}.items`, false));
  for (const junctor of JUNCTORS) {
    const value = schema[junctor];
    if (value === undefined) continue;
    const branches = junctor === 'not' ? [value] : Array.isArray(value) ? value : [];
    branches.forEach((branch, index) => {
      if (isSchema(branch)) checkJunctorBranch(branch, `${path}.${junctor}[${index}]`, problems, schema);
    });
  }
  return problems;
}
