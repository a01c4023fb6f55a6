// One apiextensions.k8s.io/v1 CustomResourceDefinition from a kind's names, its schema
// and the columns `kubectl get` prints.
import { type JsonSchema, objectField, stringField } from './schema.js';

/** A column of `kubectl get` (`additionalPrinterColumns`). */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** A simple JSONPath into the object: `.spec.cidr`. */
  readonly jsonPath: string;
  readonly description?: string;
  /** 0: always printed; 1: only with `-o wide`. */
  readonly priority?: number;
}

/** What {@link customResourceDefinition} needs. */
export interface CrdDefinition {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly shortNames?: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
  /** `kubectl get <category>` lists every kind of the category (`kubectl get twill`). */
  readonly categories?: readonly string[];
  /** What `kubectl explain <kind>` prints first. */
  readonly description: string;
  readonly spec: JsonSchema;
  /** Whether `spec` must be present. */
  readonly specRequired?: boolean;
  /** Other top-level fields beside `spec` (Cilium's `specs`). */
  readonly otherFields?: Readonly<Record<string, JsonSchema>>;
  /** A `status` written by controllers through the status subresource. */
  readonly status?: JsonSchema;
  /** Columns after NAME; AGE is added last. */
  readonly printerColumns?: readonly PrinterColumn[];
  /** Labels of the CRD object itself. */
  readonly labels?: Readonly<Record<string, string>>;
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The CustomResourceDefinition object for `definition`, one served and stored version. */
export function customResourceDefinition(definition: CrdDefinition): Record<string, unknown> {
  const properties: Record<string, JsonSchema> = {
    apiVersion: stringField(`The versioned schema of this object: ${definition.group}/${definition.version}.`),
    kind: stringField(`${definition.kind}.`),
    // The API server owns metadata's schema: a CRD may only say it is an object.
    metadata: { type: 'object' },
    spec: definition.spec,
    ...definition.otherFields,
    ...(definition.status === undefined ? {} : { status: definition.status }),
  };
  const schema = objectField(properties, { description: definition.description, required: definition.specRequired === true ? ['spec'] : [] });
  const columns = [...(definition.printerColumns ?? []), AGE].map((c) => ({ ...c }));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${definition.plural}.${definition.group}`,
      ...(definition.labels === undefined ? {} : { labels: { ...definition.labels } }),
    },
    spec: {
      group: definition.group,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.kind.toLowerCase(),
        ...(definition.shortNames === undefined || definition.shortNames.length === 0 ? {} : { shortNames: [...definition.shortNames] }),
        ...(definition.categories === undefined ? {} : { categories: [...definition.categories] }),
      },
      scope: definition.scope,
      versions: [
        {
          name: definition.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          ...(definition.status === undefined ? {} : { subresources: { status: {} } }),
          additionalPrinterColumns: columns,
        },
      ],
    },
  };
}
