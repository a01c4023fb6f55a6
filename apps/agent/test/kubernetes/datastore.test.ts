import { afterEach, describe, expect, it } from 'vitest';

import { RESOURCE_ERROR_CODE, ResourceConflictError, ResourceDatastoreError, ResourceValidationError } from '../../src/agent/datastore/errors.js';
import { openKubernetesDatastore, type KubernetesDatastore } from '../../src/agent/kubernetes/sys/datastore.js';
import { calicoCrds } from '../../src/agent/manifests/calico-crds.js';
import { ciliumCrds } from '../../src/agent/manifests/cilium-crds.js';
import { twillCrds } from '../../src/agent/manifests/twill-crds.js';
import { type AgentResource, type ResourceEvent } from '../../src/agent/ports.js';
import { Batches, recordingLogger } from '../agent/datastore/watch-helpers.js';
import { type KubernetesTestServer, startKubernetesTestServer } from './api-server.js';

// The resource datastore over the Kubernetes API, against the Kubernetes API test server
// through the real client-node: what the agent's controllers read and write.
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function cluster(crds: { calico?: boolean; cilium?: boolean } = {}): Promise<KubernetesTestServer> {
  const api = await startKubernetesTestServer({ bookmarkMs: 100 });
  closers.push(() => api.close());
  for (const crd of [...twillCrds(), ...(crds.calico === true ? calicoCrds() : []), ...(crds.cilium === true ? ciliumCrds() : [])]) await api.create(crd);
  return api;
}

async function open(api: KubernetesTestServer, logger = recordingLogger()): Promise<KubernetesDatastore> {
  const datastore = await openKubernetesDatastore({ kubeConfig: api.kubeConfig(), logger, initialBackoffMs: 10 });
  closers.push(() => datastore.close());
  return datastore;
}

const namespace = (name: string, labels?: Record<string, string>): AgentResource => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } });
const netpol = (name: string, ns: string, app: string): AgentResource => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec: { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'] },
});
const names = (events: readonly ResourceEvent[]): string[] => events.map((e) => `${e.type} ${e.kind} ${e.resource.metadata.namespace ?? ''}/${e.resource.metadata.name}`);

describe('the Kubernetes datastore: reads and writes', () => {
  it('applies, reads, lists (by namespace then name) and deletes a NetworkPolicy; apply says created, unchanged, configured', async () => {
    const api = await cluster();
    const ds = await open(api);
    for (const ns of ['shop', 'admin']) await ds.apply(namespace(ns));
    expect((await ds.apply(netpol('web', 'shop', 'web'))).action).toBe('created');
    expect((await ds.apply(netpol('db', 'shop', 'db'))).action).toBe('created');
    expect((await ds.apply(netpol('web', 'admin', 'web'))).action).toBe('created');
    expect((await ds.apply(netpol('web', 'shop', 'web'))).action).toBe('unchanged');
    const changed = await ds.apply(netpol('web', 'shop', 'web2'));
    expect(changed.action).toBe('configured');
    expect(api.read('networking.k8s.io/v1', 'NetworkPolicy', 'web', 'shop')?.['spec']).toEqual({ podSelector: { matchLabels: { app: 'web2' } }, policyTypes: ['Ingress'] });
    const got = await ds.get('netpol', 'web', 'shop');
    expect(got?.metadata.resourceVersion).toBe(changed.resource.metadata.resourceVersion);
    expect(got?.['spec']).toEqual({ podSelector: { matchLabels: { app: 'web2' } }, policyTypes: ['Ingress'] });
    expect((await ds.list('networkpolicies.networking.k8s.io')).map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual(['admin/web', 'shop/db', 'shop/web']);
    expect((await ds.list('networkpolicies.networking.k8s.io', 'shop')).map((r) => r.metadata.name)).toEqual(['db', 'web']);
    expect(await ds.delete('netpol', 'web', 'shop')).toBe(true);
    expect(await ds.delete('netpol', 'web', 'shop')).toBe(false);
    expect(await ds.get('netpol', 'web', 'shop')).toBeUndefined();
    expect(api.read('networking.k8s.io/v1', 'NetworkPolicy', 'web', 'shop')).toBeUndefined();
  });

  it('sees what other clients write', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop', { team: 'a' }));
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch(['namespaces'], batches.handler);
    closers.push(() => watch.close());
    expect(names(await batches.nth(1)).filter((n) => n.includes('shop'))).toEqual(['upsert namespaces /shop']);
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'admin' } });
    await batches.until((events) => names(events).includes('upsert namespaces /admin'));
    expect((await ds.get('namespaces', 'admin'))?.metadata.name).toBe('admin');
  });

  it('refuses a stale resourceVersion with a ResourceConflictError', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    const first = await ds.apply(netpol('web', 'shop', 'a'));
    await ds.apply(netpol('web', 'shop', 'b'));
    const stale = { ...netpol('web', 'shop', 'c'), metadata: { name: 'web', namespace: 'shop', resourceVersion: first.resource.metadata.resourceVersion } };
    const error = await ds.apply(stale).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceConflictError);
    expect((error as ResourceConflictError).code).toBe(RESOURCE_ERROR_CODE.CONFLICT);
    expect((error as Error).message).toContain('networkpolicies.networking.k8s.io shop/web: the object has been modified');
  });

  it('names the object and the API reason when the API refuses', async () => {
    const api = await cluster();
    const ds = await open(api);
    // No namespace "nowhere": the API server says NotFound.
    const error = await ds.apply(netpol('web', 'nowhere', 'a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceDatastoreError);
    expect((error as Error).message).toMatch(/^create networkpolicies\.networking\.k8s\.io nowhere\/web \(networkpolicies\.networking\.k8s\.io\/v1\): NotFound \(HTTP 404\): .*nowhere/);
  });

  it('validates before writing', async () => {
    const api = await cluster();
    const ds = await open(api);
    await expect(ds.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/33' } })).rejects.toBeInstanceOf(ResourceValidationError);
    expect(api.requests.filter((r) => r.verb === 'create')).toEqual([]);
  });
});

const calico = (kind: string, name: string, spec: unknown, ns?: string): AgentResource => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...(ns === undefined ? {} : { namespace: ns }) },
  spec,
});

// One document of each kind the agent keeps, and where the API holds it.
const EVERY_KIND: readonly { document: AgentResource; api: [apiVersion: string, kind: string] }[] = [
  { document: namespace('web-team', { team: 'web' }), api: ['v1', 'Namespace'] },
  {
    document: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
      spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }] }] },
    },
    api: ['v1', 'Pod'],
  },
  { document: netpol('web', 'shop', 'web'), api: ['networking.k8s.io/v1', 'NetworkPolicy'] },
  { document: calico('NetworkPolicy', 'allow-web', { selector: "app == 'web'", ingress: [{ action: 'Allow' }] }, 'shop'), api: ['crd.projectcalico.org/v1', 'NetworkPolicy'] },
  { document: calico('GlobalNetworkPolicy', 'deny-all', { selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny' }] }), api: ['crd.projectcalico.org/v1', 'GlobalNetworkPolicy'] },
  { document: calico('NetworkSet', 'partners', { nets: ['10.1.0.0/16'] }, 'shop'), api: ['crd.projectcalico.org/v1', 'NetworkSet'] },
  { document: calico('GlobalNetworkSet', 'office', { nets: ['192.0.2.0/24'] }), api: ['crd.projectcalico.org/v1', 'GlobalNetworkSet'] },
  { document: calico('Tier', 'security', { order: 100 }), api: ['crd.projectcalico.org/v1', 'Tier'] },
  {
    document: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace: 'shop' }, spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] } },
    api: ['cilium.io/v2', 'CiliumNetworkPolicy'],
  },
  {
    document: { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'base' }, spec: { endpointSelector: {}, ingress: [{ fromEntities: ['cluster'] }] } },
    api: ['cilium.io/v2', 'CiliumClusterwideNetworkPolicy'],
  },
  { document: calico('BGPPeer', 'tor', { peerIP: '10.0.0.9', asNumber: 64512 }), api: ['twill.io/v1alpha1', 'BGPPeer'] },
  { document: calico('BGPConfiguration', 'default', { asNumber: 64512, nodeToNodeMeshEnabled: true }), api: ['twill.io/v1alpha1', 'BGPConfiguration'] },
  { document: calico('IPPool', 'pool-a', { cidr: '10.244.0.0/16', blockSize: 26 }), api: ['twill.io/v1alpha1', 'IPPool'] },
];

describe('the Kubernetes datastore: every kind', () => {
  it.each(EVERY_KIND.map((k) => [`${k.document.kind} (${k.api.join(' ')})`, k] as const))('%s round-trips through apply, get, list, watch and delete', async (_what, { document, api: [apiVersion, kind] }) => {
    const api = await cluster({ calico: true, cilium: true });
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    const { name, namespace: ns } = document.metadata;
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch([kindOf(document)], batches.handler);
    closers.push(() => watch.close());

    const created = await ds.apply(document);
    expect(created.action).toBe('created');
    expect(api.read(apiVersion, kind, name, ns)?.metadata.name).toBe(name);
    const got = await ds.get(kindOf(document), name, ns);
    expect(got?.apiVersion).toBe(document.apiVersion);
    expect(got?.kind).toBe(document.kind);
    expect(got?.metadata.resourceVersion).toBe(created.resource.metadata.resourceVersion);
    expect(got?.metadata.uid).not.toBe('');
    expect(got?.metadata.creationTimestamp).not.toBe('');
    // The API server labels a Namespace with its name (kubernetes.io/metadata.name).
    expect(got?.metadata.labels).toMatchObject(document.metadata.labels ?? {});
    if (document.kind !== 'Pod') expect(got?.['spec']).toEqual(document['spec']);
    expect((await ds.list(kindOf(document), ns)).map((r) => r.metadata.name)).toContain(name);
    expect((await ds.apply(document)).action).toBe('unchanged');
    await batches.until((events) => names(events).includes(`upsert ${kindOf(document)} ${ns ?? ''}/${name}`));

    expect(await ds.delete(kindOf(document), name, ns)).toBe(true);
    expect(await ds.get(kindOf(document), name, ns)).toBeUndefined();
    expect(api.read(apiVersion, kind, name, ns)).toBeUndefined();
    await batches.until((events) => names(events).includes(`delete ${kindOf(document)} ${ns ?? ''}/${name}`));
  });

  it('keeps of a Pod what the agent reads: labels, node, named ports, phase and IPs', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    await api.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}', note: 'kept' } },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'app', image: 'nginx', env: [{ name: 'A', value: 'b' }], ports: [{ name: 'http', containerPort: 80 }, { containerPort: 9090 }] }],
      },
      status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] },
    });
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch(['pods'], batches.handler);
    closers.push(() => watch.close());
    const [event] = await batches.until((events) => events.length > 0);
    expect(event?.resource).toMatchObject({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' }, annotations: { note: 'kept' } },
      spec: { nodeName: 'node-a', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 80 }] }] },
      status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] },
    });
    expect(event?.resource.metadata.annotations).toEqual({ note: 'kept' });
    expect(JSON.stringify(event?.resource)).not.toContain('env');
  });
});

function kindOf(document: AgentResource): string {
  const group = document.apiVersion.includes('/') ? document.apiVersion.split('/')[0] : '';
  const plural = { Namespace: 'namespaces', Pod: 'pods' }[document.kind];
  if (plural !== undefined) return plural;
  const plurals: Record<string, string> = {
    NetworkPolicy: 'networkpolicies',
    GlobalNetworkPolicy: 'globalnetworkpolicies',
    NetworkSet: 'networksets',
    GlobalNetworkSet: 'globalnetworksets',
    Tier: 'tiers',
    CiliumNetworkPolicy: 'ciliumnetworkpolicies',
    CiliumClusterwideNetworkPolicy: 'ciliumclusterwidenetworkpolicies',
    BGPPeer: 'bgppeers',
    BGPConfiguration: 'bgpconfigurations',
    IPPool: 'ippools',
  };
  return `${plurals[document.kind]}.${group}`;
}
