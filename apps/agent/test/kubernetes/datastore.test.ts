import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';

import { RESOURCE_ERROR_CODE, ResourceConflictError, ResourceDatastoreError, ResourceValidationError } from '../../src/agent/datastore/errors.js';
import { nodeResource } from '../../src/agent/controllers/nodes.js';
import { openKubernetesDatastore, type KubernetesDatastore } from '../../src/agent/kubernetes/sys/datastore.js';
import { loadKubeConfig } from '../../src/agent/kubernetes/sys/kubeconfig.js';
import { calicoCrds } from '../../src/agent/manifests/calico-crds.js';
import { agentClusterRules, agentNamespaceRules, rbacAllows } from '../../src/agent/manifests/rbac.js';
import { ciliumCrds } from '../../src/agent/manifests/cilium-crds.js';
import { twillCrds } from '../../src/agent/manifests/twill-crds.js';
import { type AgentResource, type EntryEvent, type ResourceEvent } from '../../src/agent/ports.js';
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

  it('keeps the finalizers and ownerReferences other controllers set when it replaces an object', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: '0b1c2d3e-0000-4000-8000-000000000001' };
    await api.create({ ...netpol('web', 'shop', 'web'), metadata: { name: 'web', namespace: 'shop', finalizers: ['example.com/protect'], ownerReferences: [owner] } });
    expect((await ds.apply(netpol('web', 'shop', 'web2'))).action).toBe('configured');
    const stored = api.read('networking.k8s.io/v1', 'NetworkPolicy', 'web', 'shop');
    expect(stored?.['spec']).toEqual({ podSelector: { matchLabels: { app: 'web2' } }, policyTypes: ['Ingress'] });
    expect(stored?.metadata).toMatchObject({ finalizers: ['example.com/protect'], ownerReferences: [owner] });
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
    // A Pod is kept reduced (a test below); a Namespace gets its finalizers from the API server.
    if (document.kind !== 'Pod' && document.kind !== 'Namespace') expect(got?.['spec']).toEqual(document['spec']);
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

describe('the Kubernetes datastore: watches', () => {
  it('gives the current objects of every kind asked as one first batch, then the changes in order', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    await ds.apply(netpol('a', 'shop', 'a'));
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch(['netpol', 'namespaces'], batches.handler);
    closers.push(() => watch.close());
    const first = await batches.nth(1);
    expect(names(first).filter((n) => !n.includes(' /kube-') && !n.includes(' /default'))).toEqual(['upsert networkpolicies.networking.k8s.io shop/a', 'upsert namespaces /shop']);
    await ds.apply(netpol('b', 'shop', 'b'));
    await ds.apply(netpol('a', 'shop', 'a2'));
    await ds.delete('netpol', 'a', 'shop');
    const changes = (await batches.until((events) => events.length >= first.length + 3)).slice(first.length);
    expect(names(changes)).toEqual(['upsert networkpolicies.networking.k8s.io shop/b', 'upsert networkpolicies.networking.k8s.io shop/a', 'delete networkpolicies.networking.k8s.io shop/a']);
    expect(changes[1]?.resource['spec']).toMatchObject({ podSelector: { matchLabels: { app: 'a2' } } });
  });

  it('calls the handler one batch at a time, and gives a failed batch again', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    const seen: string[][] = [];
    let running = 0;
    let overlapped = false;
    let failOnce = true;
    const watch = await ds.watch(['netpol'], async (events) => {
      running += 1;
      if (running > 1) overlapped = true;
      await new Promise((resolve) => setImmediate(resolve));
      running -= 1;
      if (events.length > 0 && failOnce) {
        failOnce = false;
        throw new Error('handler failed');
      }
      seen.push(events.map((e) => e.resource.metadata.name));
    });
    closers.push(() => watch.close());
    for (const name of ['a', 'b', 'c']) await api.create({ ...netpol(name, 'shop', name) });
    await expect.poll(() => seen.flat().filter((n) => n !== '').sort()).toEqual(['a', 'b', 'c']);
    expect(overlapped).toBe(false);
  });

  it('recovers a watch dropped mid-stream from the last resourceVersion: nothing lost, nothing twice, no new list', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch(['netpol'], batches.handler);
    closers.push(() => watch.close());
    const lists = (): number => api.requests.filter((r) => r.verb === 'list' && r.resource === 'networkpolicies').length;
    const listsBefore = lists();
    for (let i = 0; i < 10; i++) {
      if (i === 5) api.dropWatches();
      await api.create(netpol(`p${i}`, 'shop', `p${i}`));
    }
    await api.remove('networking.k8s.io/v1', 'NetworkPolicy', 'p2', 'shop');
    const all = await batches.until((events) => names(events).includes('delete networkpolicies.networking.k8s.io shop/p2') && events.filter((e) => e.type === 'upsert').length >= 10);
    expect(names(all).filter((n) => n.startsWith('upsert')).sort()).toEqual([...Array(10).keys()].map((i) => `upsert networkpolicies.networking.k8s.io shop/p${i}`).sort());
    expect(names(all).filter((n) => n.startsWith('delete'))).toEqual(['delete networkpolicies.networking.k8s.io shop/p2']);
    expect(lists()).toBe(listsBefore);
  });

  it('lists again after 410 Gone (compacted history) and turns what changed in the gap into events, once', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.apply(namespace('shop'));
    for (const name of ['a', 'b', 'c']) await ds.apply(netpol(name, 'shop', name));
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch(['netpol'], batches.handler);
    closers.push(() => watch.close());
    const first = await batches.nth(1);
    const lists = (): number => api.requests.filter((r) => r.verb === 'list' && r.resource === 'networkpolicies').length;
    const listsBefore = lists();
    // While no watch is open: b deleted, c changed, d created, and the history forgotten.
    api.dropWatches();
    await api.remove('networking.k8s.io/v1', 'NetworkPolicy', 'b', 'shop');
    const c = api.read('networking.k8s.io/v1', 'NetworkPolicy', 'c', 'shop');
    await api.update({ ...c, spec: { podSelector: { matchLabels: { app: 'c2' } }, policyTypes: ['Ingress'] } });
    await api.create(netpol('d', 'shop', 'd'));
    api.compact();
    await expect.poll(lists).toBe(listsBefore + 1);
    await ds.apply(netpol('e', 'shop', 'e'));
    const changes = (await batches.until((events) => names(events).includes('upsert networkpolicies.networking.k8s.io shop/e'))).slice(first.length);
    expect(names(changes).sort()).toEqual([
      'delete networkpolicies.networking.k8s.io shop/b',
      'upsert networkpolicies.networking.k8s.io shop/c',
      'upsert networkpolicies.networking.k8s.io shop/d',
      'upsert networkpolicies.networking.k8s.io shop/e',
    ]);
    expect((await ds.list('netpol', 'shop')).map((r) => r.metadata.name)).toEqual(['a', 'c', 'd', 'e']);
  });
});

describe('the Kubernetes datastore: CRDs', () => {
  it('starts without Calico and Cilium, and reads a policy kind once its CRD is installed', async () => {
    const api = await cluster();
    const ds = await open(api);
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch(['globalnetworkpolicies.projectcalico.org'], batches.handler);
    closers.push(() => watch.close());
    expect(await batches.nth(1)).toEqual([]);
    expect(await ds.list('gnp')).toEqual([]);
    const refused = await ds.apply(calico('GlobalNetworkPolicy', 'deny', { selector: 'all()', ingress: [{ action: 'Deny' }] })).catch((e: unknown) => e);
    expect((refused as ResourceDatastoreError).code).toBe(RESOURCE_ERROR_CODE.UNAVAILABLE);
    expect((refused as Error).message).toBe('apply globalnetworkpolicies.projectcalico.org deny: its CustomResourceDefinition (globalnetworkpolicies.crd.projectcalico.org) is not installed');

    for (const crd of calicoCrds()) await api.create(crd);
    await api.create({ apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny' }, spec: { selector: 'all()', ingress: [{ action: 'Deny' }] } });
    const [added] = await batches.until((events) => events.length > 0);
    expect(added).toMatchObject({ type: 'upsert', kind: 'globalnetworkpolicies.projectcalico.org', resource: { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny' } } });
    expect((await ds.apply(calico('GlobalNetworkPolicy', 'allow', { selector: 'all()', ingress: [{ action: 'Allow' }] }))).action).toBe('created');

    // The CRD removed: its objects leave the datastore.
    await api.remove('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'globalnetworkpolicies.crd.projectcalico.org');
    const all = await batches.until((events) => events.filter((e) => e.type === 'delete').length >= 2);
    expect(names(all.filter((e) => e.type === 'delete')).sort()).toEqual(['delete globalnetworkpolicies.projectcalico.org /allow', 'delete globalnetworkpolicies.projectcalico.org /deny']);
    expect(await ds.list('gnp')).toEqual([]);
  });

  it("shows Twill's IPPool over Calico's of the same name, Calico's again when Twill's goes, and writes to twill.io", async () => {
    const api = await cluster({ calico: true });
    await api.create({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: '10.1.0.0/16' } });
    await api.create({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'pool-c' }, spec: { cidr: '10.3.0.0/16' } });
    await api.create({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: '10.2.0.0/16' } });
    const ds = await open(api);
    const cidrs = async (): Promise<string[]> => (await ds.list('ippools')).map((r) => `${r.metadata.name} ${(r['spec'] as { cidr: string }).cidr}`);
    expect(await cidrs()).toEqual(['pool-a 10.2.0.0/16', 'pool-c 10.3.0.0/16']);
    const batches = new Batches<ResourceEvent>();
    const watch = await ds.watch(['ippools'], batches.handler);
    closers.push(() => watch.close());
    await batches.nth(1);
    await api.remove('twill.io/v1alpha1', 'IPPool', 'pool-a');
    const [revealed] = (await batches.until((events) => events.length > 2)).slice(2);
    expect(revealed).toMatchObject({ type: 'upsert', resource: { metadata: { name: 'pool-a' }, spec: { cidr: '10.1.0.0/16' } } });
    expect(await cidrs()).toEqual(['pool-a 10.1.0.0/16', 'pool-c 10.3.0.0/16']);
    await ds.apply(calico('IPPool', 'pool-b', { cidr: '10.4.0.0/16' }));
    expect(api.read('twill.io/v1alpha1', 'IPPool', 'pool-b')?.['spec']).toEqual({ cidr: '10.4.0.0/16' });
    expect(api.read('crd.projectcalico.org/v1', 'IPPool', 'pool-b')).toBeUndefined();
    // A delete goes only where the object is: nothing to Calico's CRD for a pool it lacks
    // (the agent's ClusterRole has no delete on Calico's kinds).
    const before = api.requests.length;
    expect(await ds.delete('ippools', 'pool-b')).toBe(true);
    expect(await ds.delete('ippools', 'pool-b')).toBe(false);
    expect(api.requests.slice(before).filter((r) => r.verb === 'delete').map((r) => `${r.group}/${r.resource}/${r.name}`)).toEqual(['twill.io/ippools/pool-b']);
  });
});

const coreNode = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: 'node-a',
    labels: { 'kubernetes.io/hostname': 'node-a', 'route-reflector': 'true' },
    annotations: { 'projectcalico.org/IPv4Address': '10.0.0.1/24', 'projectcalico.org/ASNumber': '64512', 'node.alpha.kubernetes.io/ttl': '0' },
  },
  status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'node-a' }] },
};

describe('the Kubernetes datastore: Nodes', () => {
  it("shows a core Node as Calico's Node: BGP fields from its annotations, addresses from its status", async () => {
    const api = await cluster();
    await api.create(coreNode);
    const ds = await open(api);
    expect(await ds.get('nodes.projectcalico.org', 'node-a')).toMatchObject({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a', 'route-reflector': 'true' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
      spec: { bgp: { ipv4Address: '10.0.0.1/24', asNumber: 64512 }, addresses: [{ address: '10.0.0.1', type: 'InternalIP' }], orchRefs: [{ nodeName: 'node-a', orchestrator: 'k8s' }] },
    });
  });

  it("writes a Calico Node's BGP fields as its Node's annotations with a merge patch, and leaves kubelet's alone", async () => {
    const api = await cluster();
    await api.create(coreNode);
    const ds = await open(api);
    const node = calico('Node', 'node-a', { bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64', routeReflectorClusterID: '244.0.0.1' } });
    const applied = await ds.apply(node);
    expect(applied.action).toBe('configured');
    expect(applied.resource['spec']).toMatchObject({ bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64', routeReflectorClusterID: '244.0.0.1' } });
    expect(api.read('v1', 'Node', 'node-a')?.metadata.annotations).toEqual({
      'projectcalico.org/IPv4Address': '10.0.0.1/24',
      'projectcalico.org/IPv6Address': 'fd00::1/64',
      'projectcalico.org/RouteReflectorClusterID': '244.0.0.1',
      'node.alpha.kubernetes.io/ttl': '0',
    });
    expect(api.read('v1', 'Node', 'node-a')?.metadata.labels).toEqual(coreNode.metadata.labels);
    expect(api.requests.filter((r) => r.resource === 'nodes' && r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch').map((r) => r.verb)).toEqual(['patch']);
    expect((await ds.apply(node)).action).toBe('unchanged');
    expect((await ds.get('nodes.projectcalico.org', 'node-a'))?.['spec']).toMatchObject({ bgp: { ipv6Address: 'fd00::1/64' } });
  });

  it('refuses a Calico Node whose Node does not exist, naming it', async () => {
    const api = await cluster();
    const ds = await open(api);
    const error = await ds.apply(calico('Node', 'ghost', { bgp: { ipv4Address: '10.0.0.9/24' } })).catch((e: unknown) => e);
    expect((error as ResourceDatastoreError).code).toBe(RESOURCE_ERROR_CODE.REJECTED);
    expect((error as Error).message).toBe(
      'apply nodes.projectcalico.org ghost: there is no Node "ghost" in the cluster (Nodes are registered by kubelet; a Calico Node is written on its Node\'s annotations)',
    );
  });

  it("takes the node controller's Node resource as it is (it re-applies what it read)", async () => {
    const api = await cluster();
    await api.create(coreNode);
    const ds = await open(api);
    const current = await ds.get('nodes.projectcalico.org', 'node-a');
    expect((await ds.apply(nodeResource({ nodeName: 'node-a', addresses: { ipv4: '10.0.0.1/24' } }, current))).action).toBe('unchanged');
    expect((await ds.apply(nodeResource({ nodeName: 'node-a', addresses: { ipv4: '10.0.0.2/24' } }, current))).action).toBe('configured');
    expect(api.read('v1', 'Node', 'node-a')?.metadata.annotations?.['projectcalico.org/IPv4Address']).toBe('10.0.0.2/24');
  });
});

describe('the Kubernetes datastore: Secrets and annotations', () => {
  it('reads one key of a Secret, decoded; undefined for a missing Secret or key', async () => {
    const api = await cluster();
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'twill-system' } });
    await api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bgp', namespace: 'twill-system' }, data: { password: Buffer.from('s3cret pass').toString('base64') } });
    const ds = await open(api);
    expect(ds.namespace).toBe('twill-system');
    expect(await ds.readSecret('twill-system', 'bgp', 'password')).toBe('s3cret pass');
    expect(await ds.readSecret('twill-system', 'bgp', 'other')).toBeUndefined();
    expect(await ds.readSecret('twill-system', 'nope', 'password')).toBeUndefined();
  });

  it("merges annotations into a Pod (null removes one) and sees them; false for a Pod that does not exist", async () => {
    const api = await cluster();
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', annotations: { keep: 'me' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    const ds = await open(api);
    expect(await ds.annotate('pods', 'web-1', 'shop', { 'cni.projectcalico.org/podIP': '10.244.1.5/32', 'cni.projectcalico.org/containerID': 'abc' })).toBe(true);
    expect(api.read('v1', 'Pod', 'web-1', 'shop')?.metadata.annotations).toEqual({ keep: 'me', 'cni.projectcalico.org/podIP': '10.244.1.5/32', 'cni.projectcalico.org/containerID': 'abc' });
    expect((await ds.get('pods', 'web-1', 'shop'))?.metadata.annotations?.['cni.projectcalico.org/podIP']).toBe('10.244.1.5/32');
    expect(await ds.annotate('pods', 'web-1', 'shop', { 'cni.projectcalico.org/containerID': null })).toBe(true);
    expect(api.read('v1', 'Pod', 'web-1', 'shop')?.metadata.annotations).toEqual({ keep: 'me', 'cni.projectcalico.org/podIP': '10.244.1.5/32' });
    expect(await ds.annotate('pods', 'web-2', 'shop', { a: 'b' })).toBe(false);
    expect(api.requests.filter((r) => r.resource === 'pods' && r.verb === 'patch').length).toBe(3);
    // Conditioned on a resourceVersion: refused once the Pod moved on, applied at its current one.
    const read = api.read('v1', 'Pod', 'web-1', 'shop')?.metadata.resourceVersion;
    await api.update({ ...api.read('v1', 'Pod', 'web-1', 'shop'), metadata: { ...api.read('v1', 'Pod', 'web-1', 'shop')?.metadata, labels: { app: 'web' } } });
    await expect(ds.annotate('pods', 'web-1', 'shop', { keep: null }, { resourceVersion: read! })).rejects.toBeInstanceOf(ResourceConflictError);
    expect(api.read('v1', 'Pod', 'web-1', 'shop')?.metadata.annotations?.['keep']).toBe('me');
    const now = api.read('v1', 'Pod', 'web-1', 'shop')?.metadata.resourceVersion;
    expect(await ds.annotate('pods', 'web-1', 'shop', { keep: null }, { resourceVersion: now! })).toBe(true);
    expect(api.read('v1', 'Pod', 'web-1', 'shop')?.metadata.annotations?.['keep']).toBeUndefined();
  });
});

describe('the Kubernetes datastore: API failures', () => {
  it('fails to open with forbidden, naming the verb and resource, when RBAC refuses', async () => {
    const server = createServer((req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: 'customresourcedefinitions.apiextensions.k8s.io is forbidden: User "system:serviceaccount:twill-system:twill-agent" cannot list resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope',
      }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const error = await openKubernetesDatastore({ kubeConfig: kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) }).catch((e: unknown) => e);
    expect((error as ResourceDatastoreError).code).toBe(RESOURCE_ERROR_CODE.FORBIDDEN);
    expect((error as Error).message).toBe(
      'list customresourcedefinitions.apiextensions.k8s.io: the API server refused: Forbidden (HTTP 403): customresourcedefinitions.apiextensions.k8s.io is forbidden: User "system:serviceaccount:twill-system:twill-agent" cannot list resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope',
    );
  });

  it('fails to open with unavailable, naming the URL, when the API server cannot be reached', async () => {
    const api = await startKubernetesTestServer();
    const url = api.url;
    await api.close();
    const error = await openKubernetesDatastore({ kubeConfig: kubeConfigFor(url) }).catch((e: unknown) => e);
    expect((error as ResourceDatastoreError).code).toBe(RESOURCE_ERROR_CODE.UNAVAILABLE);
    expect((error as Error).message).toContain(`list customresourcedefinitions.apiextensions.k8s.io: cannot reach the API server at ${url}`);
  });

  it("gives the API's field errors as a ResourceValidationError", async () => {
    const api = await cluster({ calico: true });
    const ds = await open(api);
    // Valid for the policy engine, refused by the API server: not a DNS-1123 subdomain.
    const error = await ds.apply(calico('GlobalNetworkPolicy', 'Deny_All', { selector: 'all()', ingress: [{ action: 'Deny' }] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceValidationError);
    expect((error as ResourceValidationError).path).toBe('metadata.name');
    expect((error as Error).message).toMatch(/^GlobalNetworkPolicy Deny_All: metadata\.name: /);
  });
});

function kubeConfigFor(server: string): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kubeConfig;
}

describe('the Kubernetes datastore: store entries and the kubeconfig', () => {
  it('watches store entries under a prefix: the current ones first, then changes', async () => {
    const api = await cluster();
    const ds = await open(api);
    await ds.store.commit([{ type: 'put', key: 'twill-endpoints/net/a', value: '{"ip":"10.0.0.5"}' }]);
    const batches = new Batches<EntryEvent>();
    const watch = await ds.watchEntries('twill-endpoints/net/', batches.handler);
    closers.push(() => watch.close());
    expect(await batches.nth(1)).toEqual([{ type: 'upsert', key: 'twill-endpoints/net/a', value: '{"ip":"10.0.0.5"}' }]);
    await ds.store.commit([{ type: 'put', key: 'twill-endpoints/net/b', value: '{}' }, { type: 'delete', key: 'twill-endpoints/net/a' }]);
    // The Kubernetes store's writes become visible one by one (no multi-object
    // transaction): a poll may fall between them, so the two may come in two batches.
    const all = await batches.until((events) => events.length >= 3);
    expect(all.slice(1).sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { type: 'delete', key: 'twill-endpoints/net/a', value: '{"ip":"10.0.0.5"}' },
      { type: 'upsert', key: 'twill-endpoints/net/b', value: '{}' },
    ]);
  });

  it('opens from a kubeconfig file, given or from KUBECONFIG, and says where it is', async () => {
    const api = await cluster();
    const dir = mkdtempSync(join(tmpdir(), 'twt-kubeconfig-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'config');
    writeFileSync(file, api.kubeconfigYaml());
    for (const kubeConfig of [loadKubeConfig({ kubeconfig: file, env: {} }), loadKubeConfig({ env: { KUBECONFIG: file } })]) {
      const ds = await openKubernetesDatastore({ kubeConfig });
      closers.push(() => ds.close());
      expect(ds.location).toBe(api.url);
    }
    expect(() => loadKubeConfig({ kubeconfig: join(dir, 'missing'), env: {} })).toThrow(`cannot load the kubeconfig ${join(dir, 'missing')}: `);
    expect(() => loadKubeConfig({ env: {}, serviceAccountDir: dir })).toThrow(
      `no kubeconfig given (--kubeconfig or KUBECONFIG) and not in a pod (no KUBERNETES_SERVICE_HOST or no ${dir}/token)`,
    );
  });
});

describe("the Kubernetes datastore: the agent's RBAC", () => {
  it("makes only requests the agent's ClusterRole and Role allow when it does what the agent does", async () => {
    const api = await cluster({ calico: true, cilium: true });
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'twill-system' } });
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bgp', namespace: 'twill-system' }, data: { password: 'cw==' } });
    await api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    await api.create(coreNode);
    const before = api.requests.length;
    const ds = await open(api);
    const watch = await ds.watch(['pods', 'namespaces', 'netpol', 'gnp', 'cnp', 'nodes.projectcalico.org', 'bgppeers', 'ippools'], () => undefined);
    closers.push(() => watch.close());
    await ds.apply(nodeResource({ nodeName: 'node-a', addresses: { ipv4: '10.0.0.7/24' } }, await ds.get('nodes.projectcalico.org', 'node-a')));
    await ds.annotate('pods', 'web-1', 'shop', { 'cni.projectcalico.org/podIP': '10.244.0.5/32' });
    await ds.readSecret('twill-system', 'bgp', 'password');
    await ds.store.commit([{ type: 'put', key: 'twill-endpoints/net/a', value: '{}' }]);
    const clusterRules = agentClusterRules();
    const namespaced = agentNamespaceRules();
    const requests = api.requests.slice(before);
    expect(requests.length).toBeGreaterThan(10);
    for (const request of requests) {
      const allowed = rbacAllows(clusterRules, request) || (request.namespace === 'twill-system' && rbacAllows(namespaced, request));
      expect(allowed, JSON.stringify(request)).toBe(true);
    }
  });
});
