// Builders for the OpenAPI v3 schemas of CustomResourceDefinitions. Every node they make
// is structural as apiextensions.k8s.io/v1 requires (Kubernetes docs, "Specifying a
// structural schema"): it has a `type`, or is `x-kubernetes-int-or-string`, or (only where
// the real field is free-form) `x-kubernetes-preserve-unknown-fields`; `properties` and
// `additionalProperties` are never both set.

/** One node of an `openAPIV3Schema`. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** Extra keywords of a leaf: a description and the value constraints Kubernetes checks. */
export interface LeafOptions {
  readonly description?: string;
  readonly enum?: readonly (string | number)[];
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly format?: string;
}

function leaf(type: string, options: LeafOptions | string | undefined): JsonSchema {
  const extra = typeof options === 'string' ? { description: options } : (options ?? {});
  return { type, ...extra };
}

/** A string field. */
export function stringField(options?: LeafOptions | string): JsonSchema {
  return leaf('string', options);
}

/** An integer field (JSON numbers without a fraction). */
export function integerField(options?: LeafOptions | string): JsonSchema {
  return leaf('integer', options);
}

/** A number field (a fraction allowed: Calico's `order`). */
export function numberField(options?: LeafOptions | string): JsonSchema {
  return leaf('number', options);
}

/** A boolean field. */
export function booleanField(description?: string): JsonSchema {
  return leaf('boolean', description);
}

/** A field that is an integer or a string (a port number or a named port, a protocol number or name). */
export function intOrStringField(description?: string): JsonSchema {
  return { ...(description === undefined ? {} : { description }), 'x-kubernetes-int-or-string': true };
}

/** A list of `items`. */
export function arrayField(items: JsonSchema, description?: string): JsonSchema {
  return { type: 'array', ...(description === undefined ? {} : { description }), items };
}

/** A list of strings. */
export function stringList(description?: string, item?: LeafOptions): JsonSchema {
  return arrayField(stringField(item), description);
}

/** Options of {@link objectField}. */
export interface ObjectOptions {
  readonly description?: string;
  readonly required?: readonly string[];
}

/** An object with these fields and no others (unknown fields are pruned, or refused by strict field validation). */
export function objectField(properties: Readonly<Record<string, JsonSchema>>, options: ObjectOptions | string = {}): JsonSchema {
  const { description, required } = typeof options === 'string' ? { description: options, required: undefined } : options;
  return {
    type: 'object',
    ...(description === undefined ? {} : { description }),
    ...(required === undefined || required.length === 0 ? {} : { required: [...required] }),
    properties,
  };
}

/** A map from any string key to `values` (labels, annotations). */
export function mapField(values: JsonSchema, description?: string): JsonSchema {
  return { type: 'object', ...(description === undefined ? {} : { description }), additionalProperties: values };
}

/** A map of strings to strings. */
export function stringMap(description?: string): JsonSchema {
  return mapField(stringField(), description);
}

/** An object whose fields are free-form (kept as written): only where the real field is. */
export function freeFormObject(description: string): JsonSchema {
  return { type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true };
}

/** `{ secretKeyRef: { name, key } }`: a key of a Secret in the agent's namespace. */
export function secretKeyRefField(description: string): JsonSchema {
  return objectField(
    {
      secretKeyRef: objectField(
        {
          name: stringField('The Secret, in the namespace the agent runs in.'),
          key: stringField('The key of the Secret whose value is the password.'),
          optional: booleanField('Whether a missing Secret or key is no error (then no password is used).'),
        },
        { required: ['name', 'key'] },
      ),
    },
    { description, required: ['secretKeyRef'] },
  );
}
