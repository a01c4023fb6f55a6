import { describe, expect, it } from 'vitest';

import { RESOURCE_KIND_IDS } from '../../src/agent/datastore/kinds.js';
import {
  apiBackings,
  collectionPath,
  fromApiObject,
  objectPath,
  sameUserFields,
  toApiBody,
  writeBacking,
} from '../../src/agent/kubernetes/kinds.js';
import { calicoNodeUnchanged, clearCalicoNodePatch, coreNodePatch } from '../../src/agent/kubernetes/node-translation.js';
import { type AgentResource } from '../../src/agent/ports.js';

// The datastore's kinds on the Kubernetes API: which API resources back each kind, their
// paths, and the translation of objects both ways. Pure.
describe('API backings', () => {
  it('backs every datastore kind', () => {
    for (const id of RESOURCE_KIND_IDS) expect(apiBackings(id).length).toBeGreaterThan(0);
  });

  it.each([
    ['namespaces', ['/api/v1/namespaces']],
    ['pods', ['/api/v1/pods']],
    ['nodes.projectcalico.org', ['/api/v1/nodes']],
    ['networkpolicies.networking.k8s.io', ['/apis/networking.k8s.io/v1/networkpolicies']],
    ['networkpolicies.projectcalico.org', ['/apis/crd.projectcalico.org/v1/networkpolicies']],
    ['tiers.projectcalico.org', ['/apis/crd.projectcalico.org/v1/tiers']],
    ['ciliumclusterwidenetworkpolicies.cilium.io', ['/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies']],
    ['ippools.projectcalico.org', ['/apis/twill.io/v1alpha1/ippools', '/apis/crd.projectcalico.org/v1/ippools']],
    ['bgppeers.projectcalico.org', ['/apis/twill.io/v1alpha1/bgppeers', '/apis/crd.projectcalico.org/v1/bgppeers']],
  ])('%s is read from %j (highest priority first)', (id, paths) => {
    expect(apiBackings(id).map((b) => collectionPath(b))).toEqual(paths);
  });

  it('builds namespaced and cluster-wide paths, escaping names', () => {
    const [pods] = apiBackings('pods');
    const [pools] = apiBackings('ippools.projectcalico.org');
    expect(collectionPath(pods!, 'shop')).toBe('/api/v1/namespaces/shop/pods');
    expect(objectPath(pods!, 'web-1', 'shop')).toBe('/api/v1/namespaces/shop/pods/web-1');
    expect(objectPath(pools!, 'a b', 'ignored')).toBe('/apis/twill.io/v1alpha1/ippools/a%20b');
  });

  it("writes to twill.io when its CRD is installed, else to Calico's; built-ins always; nothing without a CRD", () => {
    const path = (id: string, crds: string[]): string | undefined => {
      const backing = writeBacking(id, new Set(crds));
      return backing === undefined ? undefined : collectionPath(backing);
    };
    expect(path('ippools.projectcalico.org', ['ippools.twill.io', 'ippools.crd.projectcalico.org'])).toBe('/apis/twill.io/v1alpha1/ippools');
    expect(path('ippools.projectcalico.org', ['ippools.crd.projectcalico.org'])).toBe('/apis/crd.projectcalico.org/v1/ippools');
    expect(path('ippools.projectcalico.org', [])).toBeUndefined();
    expect(path('globalnetworkpolicies.projectcalico.org', [])).toBeUndefined();
    expect(path('pods', [])).toBe('/api/v1/pods');
  });
});

describe('API objects as datastore resources', () => {
  const apiMeta = {
    name: 'deny',
    resourceVersion: '42',
    uid: 'u-1',
    creationTimestamp: '2026-01-01T00:00:00Z',
    generation: 3,
    labels: { team: 'a' },
    managedFields: [{ manager: 'kubectl' }],
  };

  it("shows a Calico CRD object under the kind's preferred apiVersion, with its metadata kept and managedFields dropped", () => {
    const [backing] = apiBackings('globalnetworkpolicies.projectcalico.org');
    const object = { apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: apiMeta, spec: { selector: 'all()' } };
    expect(fromApiObject('globalnetworkpolicies.projectcalico.org', backing!, object)).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'deny', labels: { team: 'a' }, resourceVersion: '42', uid: 'u-1', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { selector: 'all()' },
    });
  });

  it('writes a resource with the backing apiVersion and kind, its name, namespace, labels and annotations, and its body', () => {
    const [twill] = apiBackings('ippools.projectcalico.org');
    const resource: AgentResource = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p', labels: { a: 'b' } }, spec: { cidr: '10.0.0.0/16' } };
    expect(toApiBody(twill!, resource)).toEqual({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p', labels: { a: 'b' } }, spec: { cidr: '10.0.0.0/16' } });
    expect(toApiBody(twill!, resource, '7')).toMatchObject({ metadata: { name: 'p', resourceVersion: '7' } });
  });

  it('keeps of a Pod only what the agent reads', () => {
    const [pods] = apiBackings('pods');
    const pod = {
      metadata: { name: 'web-1', namespace: 'shop', resourceVersion: '5', uid: 'u', creationTimestamp: 't', labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: {
        nodeName: 'node-a',
        serviceAccountName: 'web',
        volumes: [{ name: 'v' }],
        containers: [{ name: 'app', image: 'nginx', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { containerPort: 81 }] }, { name: 'side', image: 'x' }],
      },
      status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }], conditions: [{ type: 'Ready' }] },
    };
    expect(fromApiObject('pods', pods!, pod)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' }, resourceVersion: '5', uid: 'u', creationTimestamp: 't' },
      spec: { nodeName: 'node-a', serviceAccountName: 'web', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }, { name: 'side' }] },
      status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] },
    });
  });

  it('counts a document as unchanged when its labels, annotations and body fields equal the stored ones', () => {
    const stored: AgentResource = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'a' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    const doc = (labels: Record<string, string>, extra: Record<string, unknown> = {}): AgentResource => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels }, ...extra });
    expect(sameUserFields(stored, doc({ team: 'a' }))).toBe(true);
    expect(sameUserFields(stored, doc({ team: 'b' }))).toBe(false);
    expect(sameUserFields(stored, doc({}))).toBe(false);
    expect(sameUserFields(stored, doc({ team: 'a' }, { spec: { finalizers: [] } }))).toBe(false);
  });
});

describe('core Node ↔ Calico Node', () => {
  const [nodes] = apiBackings('nodes.projectcalico.org');
  const node = {
    metadata: {
      name: 'node-a',
      resourceVersion: '9',
      uid: 'u',
      creationTimestamp: 't',
      labels: { 'kubernetes.io/hostname': 'node-a' },
      annotations: {
        'projectcalico.org/IPv4Address': '10.0.0.1/24',
        'projectcalico.org/IPv6Address': 'fd00::1/64',
        'projectcalico.org/ASNumber': '65001',
        'projectcalico.org/RouteReflectorClusterID': '244.0.0.1',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'ExternalIP', address: '203.0.113.1' }, { type: 'Hostname', address: 'node-a' }] },
  };

  it("maps the projectcalico.org annotations to spec.bgp, status.addresses to spec.addresses, and keeps the Node's labels", () => {
    expect(fromApiObject('nodes.projectcalico.org', nodes!, node)).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: {
        name: 'node-a',
        labels: { 'kubernetes.io/hostname': 'node-a' },
        annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
        resourceVersion: '9',
        uid: 'u',
        creationTimestamp: 't',
      },
      spec: {
        bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64', asNumber: 65001, routeReflectorClusterID: '244.0.0.1' },
        addresses: [{ address: '10.0.0.1', type: 'InternalIP' }, { address: '203.0.113.1', type: 'ExternalIP' }],
        orchRefs: [{ nodeName: 'node-a', orchestrator: 'k8s' }],
      },
    });
  });

  it('leaves out an AS number that is not a number', () => {
    const bad = { ...node, metadata: { ...node.metadata, annotations: { 'projectcalico.org/ASNumber': 'sixty' } } };
    expect(fromApiObject('nodes.projectcalico.org', nodes!, bad)['spec']).not.toHaveProperty('bgp');
  });

  it('patches the annotations: sets what spec.bgp has, removes what it lost, merges labels, leaves the rest', () => {
    const calico: AgentResource = { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-a', labels: { rr: 'yes' } }, spec: { bgp: { ipv4Address: '10.0.0.2/24', asNumber: 65002 } } };
    expect(coreNodePatch(calico, node)).toEqual({
      metadata: {
        labels: { rr: 'yes' },
        annotations: {
          'projectcalico.org/IPv4Address': '10.0.0.2/24',
          'projectcalico.org/ASNumber': '65002',
          'projectcalico.org/IPv6Address': null,
          'projectcalico.org/RouteReflectorClusterID': null,
        },
      },
    });
    const shown = fromApiObject('nodes.projectcalico.org', nodes!, node);
    expect(calicoNodeUnchanged(shown, calico)).toBe(false);
    expect(calicoNodeUnchanged(shown, { ...shown, metadata: { name: 'node-a' } })).toBe(true);
    expect(clearCalicoNodePatch(node)?.metadata.annotations).toEqual({
      'projectcalico.org/IPv4Address': null,
      'projectcalico.org/IPv6Address': null,
      'projectcalico.org/ASNumber': null,
      'projectcalico.org/RouteReflectorClusterID': null,
    });
    expect(clearCalicoNodePatch({ metadata: { name: 'n' } })).toBeUndefined();
  });
});
