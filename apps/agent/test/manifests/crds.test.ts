// Every CustomResourceDefinition is one the API server accepts: a structural schema, a
// name that is plural.group, printer columns that point at fields of the schema, short
// names no other kind of the manifests uses; and the kinds are those the agent reads.
import { describe, expect, it } from 'vitest';

import { RESOURCE_KINDS } from '../../src/agent/datastore/kinds.js';
import { CALICO_CRD_GROUP, CILIUM_CRD_GROUP, manifestObjects, TWILL_API_GROUP } from '../../src/agent/manifests/index.js';
import { structuralProblems } from './structural.js';

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; listKind: string; shortNames?: string[] };
    versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: Record<string, unknown> }; additionalPrinterColumns?: { name: string; jsonPath: string; type: string }[] }[];
  };
}

const CRDS = manifestObjects({ calicoCrds: true, ciliumCrds: true }).filter((o) => o['kind'] === 'CustomResourceDefinition') as unknown as Crd[];

function schemaAt(schema: Record<string, unknown>, jsonPath: string): Record<string, unknown> | undefined {
  let node: Record<string, unknown> | undefined = schema;
  for (const part of jsonPath.split('.').slice(1)) {
    node = (node?.['properties'] as Record<string, Record<string, unknown>> | undefined)?.[part];
  }
  return node;
}

describe('structuralProblems (the checker the CRDs go through)', () => {
  it('finds each kind of non-structural node, with its path', () => {
    expect(structuralProblems({ type: 'object', properties: { spec: { description: 'no type' } } })).toEqual([
      'openAPIV3Schema.properties.spec: has no type (nor x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields)',
    ]);
    expect(structuralProblems({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } })).toEqual([
      'openAPIV3Schema: properties and additionalProperties are mutually exclusive',
    ]);
    expect(structuralProblems({ type: 'object', properties: { list: { type: 'array' } } })).toEqual(['openAPIV3Schema.properties.list: an array needs items']);
    expect(structuralProblems({ type: 'object', properties: { p: { 'x-kubernetes-int-or-string': true, type: 'string' } } })).toEqual([
      'openAPIV3Schema.properties.p: x-kubernetes-int-or-string must not have a type',
    ]);
    expect(structuralProblems({ type: 'object', properties: { a: { type: 'string' } }, anyOf: [{ properties: { b: { type: 'string' } } }, { description: 'x' }] })).toEqual([
      'openAPIV3Schema.anyOf[0].properties.b: must also be specified outside the junctor',
      'openAPIV3Schema.anyOf[1]: description must not be set inside a junctor',
    ]);
    expect(structuralProblems({ type: 'object', required: ['spec'], properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } })).toEqual([
      'openAPIV3Schema: required field "spec" is not among its properties',
      'openAPIV3Schema.properties.metadata: only type object is allowed',
    ]);
    expect(structuralProblems({ type: 'string' })).toEqual(['openAPIV3Schema: the root must be of type object']);
    expect(structuralProblems({ type: 'object', properties: { free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, port: { 'x-kubernetes-int-or-string': true } } })).toEqual([]);
  });
});

describe('the CustomResourceDefinitions', () => {
  it('have structural schemas', () => {
    const problems = CRDS.flatMap((crd) => structuralProblems(crd.spec.versions[0]?.schema.openAPIV3Schema).map((p) => `${crd.metadata.name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('keep unknown fields only where the real field is free-form (nowhere here)', () => {
    expect(JSON.stringify(CRDS)).not.toContain('x-kubernetes-preserve-unknown-fields');
  });

  it('are named plural.group, serve and store one version, and name their list kind', () => {
    for (const crd of CRDS) {
      const { group, names, versions } = crd.spec;
      expect(crd.metadata.name).toBe(`${names.plural}.${group}`);
      expect(names.singular).toBe(names.kind.toLowerCase());
      expect(names.listKind).toBe(`${names.kind}List`);
      expect(versions.map((v) => [v.served, v.storage])).toEqual([[true, true]]);
    }
  });

  it('define twill.io/v1alpha1\'s seven kinds, cluster-scoped', () => {
    const twill = CRDS.filter((c) => c.spec.group === TWILL_API_GROUP);
    expect(twill.map((c) => [c.spec.names.kind, c.spec.names.plural, c.spec.scope, c.spec.versions[0]?.name])).toEqual([
      ['IPPool', 'ippools', 'Cluster', 'v1alpha1'],
      ['IPAMBlock', 'ipamblocks', 'Cluster', 'v1alpha1'],
      ['BlockAffinity', 'blockaffinities', 'Cluster', 'v1alpha1'],
      ['IPAMHandle', 'ipamhandles', 'Cluster', 'v1alpha1'],
      ['StoreEntry', 'storeentries', 'Cluster', 'v1alpha1'],
      ['BGPPeer', 'bgppeers', 'Cluster', 'v1alpha1'],
      ['BGPConfiguration', 'bgpconfigurations', 'Cluster', 'v1alpha1'],
    ]);
  });

  it('hold an IPAM Store entry as the required strings spec.key and spec.value, with readable copies', () => {
    const spec = (kind: string): Record<string, unknown> => {
      const crd = CRDS.find((c) => c.spec.group === TWILL_API_GROUP && c.spec.names.kind === kind)!;
      return schemaAt(crd.spec.versions[0]!.schema.openAPIV3Schema, '.spec')!;
    };
    const fields = (kind: string): [string, unknown][] => Object.entries(spec(kind)['properties'] as Record<string, { type: unknown }>).map(([k, v]) => [k, v.type]);
    expect(fields('IPAMBlock')).toEqual([['key', 'string'], ['value', 'string'], ['cidr', 'string'], ['affinity', 'string']]);
    expect(fields('BlockAffinity')).toEqual([['key', 'string'], ['value', 'string'], ['node', 'string']]);
    expect(fields('IPAMHandle')).toEqual([['key', 'string'], ['value', 'string']]);
    expect(fields('StoreEntry')).toEqual([['key', 'string'], ['value', 'string']]);
    for (const kind of ['IPAMBlock', 'BlockAffinity', 'IPAMHandle', 'StoreEntry']) expect(spec(kind)['required']).toEqual(['key', 'value']);
  });

  it('define the Calico and Cilium kinds the datastore reads, scoped as those projects scope them', () => {
    const defined = CRDS.filter((c) => c.spec.group !== TWILL_API_GROUP).map((c) => `${c.spec.names.kind} ${c.spec.names.plural} ${c.spec.scope}`);
    const read = RESOURCE_KINDS.filter((k) => k.group === 'projectcalico.org' || k.group === 'cilium.io')
      // Calico's Node is the Kubernetes Node on a cluster: no CRD.
      .filter((k) => k.kind !== 'Node')
      .map((k) => `${k.kind} ${k.plural} ${k.namespaced ? 'Namespaced' : 'Cluster'}`);
    expect(defined.sort()).toEqual(read.sort());
    expect(new Set(CRDS.filter((c) => c.spec.group !== TWILL_API_GROUP).map((c) => `${c.spec.group}/${c.spec.versions[0]?.name}`))).toEqual(
      new Set([`${CALICO_CRD_GROUP}/v1`, `${CILIUM_CRD_GROUP}/v2`]),
    );
  });

  it('print columns that point at fields of the schema, Age last', () => {
    for (const crd of CRDS) {
      const columns = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
      expect(columns.at(-1), crd.metadata.name).toEqual({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
      for (const column of columns.slice(0, -1)) {
        const field = schemaAt(crd.spec.versions[0]!.schema.openAPIV3Schema, column.jsonPath);
        expect(field, `${crd.metadata.name} ${column.jsonPath}`).toBeDefined();
        expect(column.type === 'date' ? 'string' : column.type, `${crd.metadata.name} ${column.name}`).toBe(field?.['type']);
      }
    }
  });

  it('use short names no other kind of the manifests or the core group uses', () => {
    const taken = new Map<string, string>([['no', 'nodes'], ['po', 'pods'], ['ns', 'namespaces'], ['netpol', 'networkpolicies'], ['cm', 'configmaps'], ['ds', 'daemonsets']]);
    for (const crd of CRDS) {
      for (const short of crd.spec.names.shortNames ?? []) {
        expect(taken.get(short), `${short} of ${crd.metadata.name}`).toBeUndefined();
        taken.set(short, crd.metadata.name);
      }
    }
    expect(CRDS.filter((c) => c.spec.group === TWILL_API_GROUP).every((c) => (c.spec.names.shortNames ?? []).length > 0)).toBe(true);
  });
});
