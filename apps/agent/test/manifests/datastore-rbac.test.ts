// The manifests' RBAC against the requests the agent's Kubernetes datastore really makes:
// the datastore runs on the Kubernetes API test server with the manifests' CRDs (Twill's,
// Calico's and Cilium's), does what the agent does (informers on every kind, IPAM
// compare-and-swap, a Calico Node on its Node's annotations, pod annotations, a BGP
// password), and every request in the server's log must be one the agent's
// ServiceAccount is allowed through its bindings.
import { afterEach, describe, expect, it } from 'vitest';

import { RESOURCE_KINDS } from '../../src/agent/datastore/kinds.js';
import { openKubernetesDatastore } from '../../src/agent/kubernetes/sys/datastore.js';
import { manifestObjects, serviceAccountAllows } from '../../src/agent/manifests/index.js';
import { type KubernetesTestServer, startKubernetesTestServer } from '../kubernetes/api-server.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const MANIFESTS = manifestObjects({ calicoCrds: true, ciliumCrds: true });
const AGENT = { namespace: 'twill-system', name: 'twill-agent' };

async function cluster(): Promise<KubernetesTestServer> {
  const api = await startKubernetesTestServer({ bookmarkMs: 100 });
  closers.push(() => api.close());
  for (const object of MANIFESTS.filter((o) => o['kind'] === 'CustomResourceDefinition' || o['kind'] === 'Namespace')) await api.create(object);
  await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  await api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' } } });
  await api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } }, spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'nginx' }] } });
  await api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bgp', namespace: 'twill-system' }, data: { password: Buffer.from('s3cret').toString('base64') } });
  return api;
}

describe("the agent's Kubernetes datastore under the manifests' RBAC", () => {
  it('makes only requests its ServiceAccount is allowed', async () => {
    const api = await cluster();
    const ds = await openKubernetesDatastore({ kubeConfig: api.kubeConfig(), namespace: AGENT.namespace, initialBackoffMs: 10 });
    closers.push(() => ds.close());

    // Informers on every kind the agent reads.
    const kinds = RESOURCE_KINDS.map((k) => k.id);
    const watch = await ds.watch(kinds, () => undefined);
    closers.push(() => watch.close());
    for (const kind of kinds) await ds.list(kind);
    // IPAM and endpoint records: create, compare-and-swap update, delete.
    for (const key of ['twill-pools/affinity/node-a', 'twill-endpoints/k8s-pod-network/abc']) {
      expect(await ds.store.commit([{ type: 'put', key, value: '1', expect: { absent: true } }])).toEqual({ ok: true });
      const entry = await ds.store.get(key);
      expect(await ds.store.commit([{ type: 'put', key, value: '2', expect: { revision: entry!.revision } }])).toEqual({ ok: true });
      expect(await ds.store.commit([{ type: 'delete', key }])).toEqual({ ok: true });
    }
    // Routing resources, as twill.io kinds.
    await ds.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'pool' }, spec: { cidr: '10.244.0.0/16', blockSize: 26 } });
    await ds.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '10.0.0.254', asNumber: 64512 } });
    // This node's BGP settings on its Node, the pod's IPs on the pod, a BGP password.
    await ds.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-a' }, spec: { bgp: { ipv4Address: '10.0.0.1/24' } } });
    expect(await ds.annotate('pods', 'web-1', 'shop', { 'cni.projectcalico.org/podIP': '10.244.0.5/32' })).toBe(true);
    expect(await ds.readSecret(AGENT.namespace, 'bgp', 'password')).toBe('s3cret');

    const refused = api.requests.filter((request) => !serviceAccountAllows(MANIFESTS, AGENT, request));
    expect(refused).toEqual([]);
    // The session did exercise each kind of privilege.
    const made = new Set(api.requests.map((r) => `${r.verb} ${r.group}/${r.resource}`));
    for (const expected of ['watch /pods', 'patch /pods', 'get /nodes', 'patch /nodes', 'get /secrets', 'watch apiextensions.k8s.io/customresourcedefinitions', 'watch crd.projectcalico.org/globalnetworkpolicies', 'watch cilium.io/ciliumnetworkpolicies', 'create twill.io/blockaffinities', 'update twill.io/blockaffinities', 'delete twill.io/storeentries']) {
      expect([...made], expected).toContain(expected);
    }
  });
});
