// The CRDs installed into the Kubernetes API test server (strict: the schema validates
// and prunes as apiextensions-apiserver does), over HTTP with the JSON kubectl sends: the seed tutorial's policies apply unchanged once converted to the
// CRD group, the routing examples apply as twill.io and Calico kinds, nothing of them is
// pruned away, and bad objects are refused naming the field.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { resolveKind } from '../../src/agent/datastore/kinds.js';
import { apiBackings, toApiBody } from '../../src/agent/kubernetes/index.js';
import { CALICO_CRD_GROUP, CALICO_CRD_VERSION, CILIUM_CRD_GROUP, manifestObjects, TWILL_API_GROUP, TWILL_API_VERSION } from '../../src/agent/manifests/index.js';
import { type KubernetesTestServer, startKubernetesTestServer } from '../kubernetes/api-server.js';

type KubeDocument = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> };

function readFixtures(folder: string): KubeDocument[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(folder, f), 'utf8')).map((d) => d.toJS() as KubeDocument));
}

const SEED = readFixtures(join(import.meta.dirname, '..', 'kubernetes', 'fixtures', 'seed'));
const ROUTING = readFixtures(join(import.meta.dirname, 'fixtures', 'routing'));
// The policy engine's valid Calico corpus (every rule field, tiers, network sets, host policies).
const CALICO_CORPUS = readFixtures(join(import.meta.dirname, '..', '..', '..', '..', 'packages', 'policy-engine', 'test', 'calico', 'fixtures', 'valid'));
const CILIUM_CORPUS = readFixtures(join(import.meta.dirname, 'fixtures', 'cilium'));

function withoutMetadata(document: KubeDocument): Omit<KubeDocument, 'metadata'> {
  const { metadata: _metadata, ...rest } = document;
  return rest;
}

// What the datastore sends the API server for a document, on the backing of `group`
// (kubernetes/kinds.ts toApiBody): only the apiVersion changes (and metadata keeps only
// what a create may carry: name, namespace, labels, annotations).
function asCrdGroup(document: KubeDocument, group: string = CALICO_CRD_GROUP): KubeDocument {
  const kind = resolveKind({ apiVersion: document.apiVersion, kind: document.kind });
  const backing = apiBackings(kind.id).find((b) => b.group === group);
  if (backing === undefined) throw new Error(`${kind.id} has no backing in ${group}`);
  const body = toApiBody(backing, document) as unknown as KubeDocument;
  expect(withoutMetadata(body)).toEqual(withoutMetadata({ ...document, apiVersion: `${backing.group}/${backing.version}` }));
  expect(body.metadata.name).toBe(document.metadata.name);
  return body;
}

const CRDS = manifestObjects({ calicoCrds: true, ciliumCrds: true }).filter((o) => o['kind'] === 'CustomResourceDefinition') as unknown as {
  spec: { group: string; names: { kind: string; plural: string } };
}[];

let server: KubernetesTestServer;

// POSTs the object as JSON to its collection, as `kubectl create` does. (Not client-node's
// KubernetesObjectApi: it serializes through the built-in model named <Version><Kind>, so a
// crd.projectcalico.org/v1 NetworkPolicy loses Calico's fields to networking.k8s.io's
// model, and a CRD's schema loses its `enum`s.)
async function create(object: { apiVersion: string; kind: string; metadata?: { namespace?: string } }): Promise<{ status: number; body: Record<string, unknown> }> {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const plural =
    object.kind === 'CustomResourceDefinition' ? 'customresourcedefinitions' : CRDS.find((c) => c.spec.group === group && c.spec.names.kind === object.kind)?.spec.names.plural;
  const namespace = object.metadata?.namespace === undefined ? '' : `namespaces/${object.metadata.namespace}/`;
  const response = await fetch(`${server.url}/apis/${group}/${version}/${namespace}${plural}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(object) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  server = await startKubernetesTestServer();
  for (const crd of CRDS as unknown as { apiVersion: string; kind: string }[]) expect((await create(crd)).status).toBe(201);
  for (const name of ['production', 'default']) {
    if (server.read('v1', 'Namespace', name) === undefined) await server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
});

afterAll(async () => {
  await server?.close();
});

// The fields a schema validates and prunes: everything but apiVersion, kind, metadata.
function content(document: object): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = document as Record<string, unknown>;
  return rest;
}

// Creates it (and its namespace); the stored object must hold its content exactly (nothing pruned).
async function applies(document: KubeDocument): Promise<void> {
  const namespace = document.metadata.namespace;
  if (namespace !== undefined && server.read('v1', 'Namespace', namespace) === undefined) await server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const { status, body } = await create(document);
  expect(status, JSON.stringify(body)).toBe(201);
  expect(content(body), `${document.kind} ${document.metadata.name}: what is stored`).toEqual(content(document));
  await server.remove(document.apiVersion, document.kind, document.metadata.name, document.metadata.namespace);
}

// The API server's answer to a create: its message, as kubectl prints it.
async function refusal(document: KubeDocument): Promise<string> {
  const { status, body } = await create(document);
  expect(status, JSON.stringify(body)).toBe(422);
  expect(body['reason']).toBe('Invalid');
  return String(body['message']);
}

describe("the seed tutorial's policies, on Calico's and Cilium's CRDs", () => {
  it('are the three examples of the tutorial', () => {
    expect(SEED.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata.name}`)).toEqual([
      'projectcalico.org/v3 NetworkPolicy allow-api-access',
      'projectcalico.org/v3 GlobalNetworkPolicy default-deny',
      'cilium.io/v2 CiliumNetworkPolicy l7-api-policy',
    ]);
  });

  it.each(SEED.map((d) => [d.metadata.name, d] as const))('%s applies unchanged but for the apiVersion, and is stored whole', async (_name, document) => {
    await applies(asCrdGroup(document, document.apiVersion.startsWith('cilium.io/') ? CILIUM_CRD_GROUP : CALICO_CRD_GROUP));
  });
});

describe("the policy engine's valid Calico corpus and a Cilium policy of every field, on the CRDs", () => {
  it.each(CALICO_CORPUS.map((d) => [`${d.kind} ${d.metadata.name}`, d] as const))('%s is stored whole', async (_name, document) => {
    await applies(asCrdGroup(document));
  });

  it.each(CILIUM_CORPUS.map((d) => [`${d.kind} ${d.metadata.name}`, d] as const))('%s is stored whole', async (_name, document) => {
    await applies(asCrdGroup(document, CILIUM_CRD_GROUP));
  });
});

describe('the routing examples (twill lab, Calico defaults, route reflection, service advertisement)', () => {
  it.each(ROUTING.map((d) => [`${d.kind} ${d.metadata.name}`, d] as const))('%s applies as twill.io and as Calico\'s CRD, stored whole', async (_name, document) => {
    await applies(asCrdGroup(document, TWILL_API_GROUP));
    await applies(asCrdGroup(document));
  });
});

describe('bad objects', () => {
  const twill = `${TWILL_API_GROUP}/${TWILL_API_VERSION}`;
  const calico = `${CALICO_CRD_GROUP}/${CALICO_CRD_VERSION}`;

  it.each([
    [{ apiVersion: twill, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', blockSize: '26' } }, 'spec.blockSize: Invalid value: "string": spec.blockSize in body must be of type integer: "string"'],
    [{ apiVersion: twill, kind: 'IPPool', metadata: { name: 'p' }, spec: { blockSize: 26 } }, 'spec.cidr: Required value'],
    [{ apiVersion: twill, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', ipipMode: 'Sometimes' } }, 'spec.ipipMode: Unsupported value: "Sometimes"'],
    [{ apiVersion: twill, kind: 'BGPPeer', metadata: { name: 'b' }, spec: { peerIP: '10.0.0.1', asNumber: 0 } }, 'spec.asNumber: Invalid value: 0: spec.asNumber in body should be greater than or equal to 1'],
    [{ apiVersion: twill, kind: 'BGPPeer', metadata: { name: 'b' }, spec: { peerIP: '10.0.0.1', asNumber: 64512, password: { secretKeyRef: { name: 's' } } } }, 'spec.password.secretKeyRef.key: Required value'],
    [{ apiVersion: twill, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { listenPort: 70000 } }, 'spec.listenPort: Invalid value: 70000'],
    [{ apiVersion: twill, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeMeshMaxRestartTime: '2 minutes' } }, 'spec.nodeMeshMaxRestartTime: Invalid value: "2 minutes"'],
    [{ apiVersion: twill, kind: 'IPAMBlock', metadata: { name: 'blk' }, spec: { key: 'blocks/10.0.0.0-26' } }, 'spec.value: Required value'],
    [{ apiVersion: twill, kind: 'StoreEntry', metadata: { name: 'e' }, spec: { key: 'twill-endpoints/x', value: { json: true } } }, 'spec.value: Invalid value: "object": spec.value in body must be of type string'],
    [{ apiVersion: calico, kind: 'GlobalNetworkPolicy', metadata: { name: 'g' }, spec: { selector: 'all()', types: ['Inbound'] } }, 'spec.types[0]: Unsupported value: "Inbound": supported values: "Ingress", "Egress"'],
    [{ apiVersion: calico, kind: 'NetworkPolicy', metadata: { name: 'n', namespace: 'production' }, spec: { ingress: [{ action: 'allow' }] } }, 'spec.ingress[0].action: Unsupported value: "allow"'],
    [{ apiVersion: calico, kind: 'NetworkPolicy', metadata: { name: 'n', namespace: 'production' }, spec: { egress: [{ destination: { ports: [true] } }] } }, 'spec.egress[0].action: Required value'],
    [{ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'c', namespace: 'default' }, spec: { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'HTTP' }] }] }] } }, 'spec.ingress[0].toPorts[0].ports[0].protocol: Unsupported value: "HTTP"'],
    [{ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'c', namespace: 'default' }, spec: { endpointSelector: { matchLabels: { app: 7 } } } }, 'spec.endpointSelector.matchLabels.app: Invalid value: "integer"'],
    [{ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'c' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['internet'] }] } }, 'spec.egress[0].toEntities[0]: Unsupported value: "internet"'],
  ])('%j is refused: %s', async (document, field) => {
    expect(await refusal(document as KubeDocument)).toContain(field);
  });

  it('drops fields the schema does not have, as the API server prunes them', async () => {
    const { status, body } = await create({ apiVersion: twill, kind: 'IPPool', metadata: { name: 'pruned' }, spec: { cidr: '10.9.0.0/16', colour: 'blue' } } as KubeDocument);
    expect(status).toBe(201);
    expect(body['spec']).toEqual({ cidr: '10.9.0.0/16' });
  });
});
