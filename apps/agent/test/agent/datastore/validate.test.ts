import { describe, expect, it } from 'vitest';

import { MemoryStore } from '@twill/ipam';

import {
  effectiveBgpConfiguration,
  ipPoolBlockSize,
  RESOURCE_ERROR_CODE,
  resourceDatastoreOver,
  ResourceValidationError,
  UnknownResourceKindError,
  validateResource,
} from '../../../src/agent/datastore/index.js';
import { BAD_RESOURCES } from './corpus.js';

function rejection(document: unknown): ResourceValidationError {
  try {
    validateResource(document);
  } catch (error) {
    if (error instanceof ResourceValidationError) return error;
    throw error;
  }
  throw new Error('the document was accepted');
}

describe('validateResource: bad resources name the field', () => {
  it('has a corpus of at least 30 bad resources', () => {
    expect(BAD_RESOURCES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD_RESOURCES)('$what → $path', ({ document, path, message }) => {
    const error = rejection(document);
    expect(error.path).toBe(path);
    expect(error.message).toBe(message);
  });

  it.each(BAD_RESOURCES)('apply writes nothing: $what', async ({ document, message }) => {
    const datastore = resourceDatastoreOver(new MemoryStore());
    await expect(datastore.apply(document as never)).rejects.toThrow(message);
    expect(await datastore.store.list('twill-resources/')).toEqual([]);
  });

  it('reports every problem of a document, one line each', () => {
    const error = rejection({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPPeer',
      metadata: { name: 'rack-1' },
      spec: { peerIP: '10.0.0.256', asNumber: -1, keepOriginalNextHop: 'yes' },
    });
    expect(error.errors.map((e) => e.path)).toEqual(['spec.peerIP', 'spec.asNumber', 'spec.keepOriginalNextHop']);
    expect(error.message.split('\n')).toEqual([
      'BGPPeer rack-1: spec.peerIP: invalid peer address "10.0.0.256": expected an IP address, optionally with a port ("10.0.0.2:179", "[fd00::2]:179")',
      'BGPPeer rack-1: spec.asNumber: must be an integer from 1 to 4294967295, not the number -1',
      'BGPPeer rack-1: spec.keepOriginalNextHop: must be true or false, not the string "yes"',
    ]);
  });

  it('an unknown kind is an UnknownResourceKindError with a stable code', () => {
    const error = rejection({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } });
    expect(error).toBeInstanceOf(UnknownResourceKindError);
    expect(error.code).toBe(RESOURCE_ERROR_CODE.UNKNOWN_KIND);
    expect(error.message).toContain('Deployment web: kind: unknown kind "Deployment": the known kinds are Namespace (namespaces), Pod (pods), ');
  });
});

describe('validateResource: good resources', () => {
  const good = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'a' } } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' } },
      spec: {
        nodeName: 'node-a',
        serviceAccountName: 'web',
        restartPolicy: 'Always',
        containers: [{ name: 'app', image: 'nginx', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }],
      },
      status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00:244::5' }] },
    },
    { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-a' }, spec: { bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64', asNumber: 64512 } } },
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { node: 'node-a', peerIP: '10.0.0.254:1179', asNumber: 65001, password: 's3cret', keepOriginalNextHop: true, sourceAddress: 'None', ttlSecurity: 1 } },
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'rr' }, spec: { nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' } },
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: false, listenPort: 179, serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] } },
    { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v6' }, spec: { cidr: 'fd00:244::/48', blockSize: 122, nodeSelector: 'all()', vxlanMode: 'Never' } },
    { apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkSet', metadata: { name: 'dns' }, spec: { nets: ['8.8.8.8/32'] } },
    { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'c' }, spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{}] }] } },
  ];

  it.each(good)('accepts $kind $metadata.name', (document) => {
    const valid = validateResource(document);
    expect(valid.name).toBe(document.metadata.name);
    expect(valid.object.spec).toEqual('spec' in document ? document.spec : undefined);
  });

  it('fills in the namespace and leaves out what the datastore owns', () => {
    const valid = validateResource({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'c', uid: 'u', resourceVersion: '9', creationTimestamp: '2020-01-01T00:00:00Z', labels: { a: 'b' } },
      spec: { endpointSelector: {} },
    });
    expect(valid.kind.id).toBe('ciliumnetworkpolicies.cilium.io');
    expect(valid.namespace).toBe('default');
    expect(valid.resourceVersion).toBe('9');
    expect(valid.object.metadata).toEqual({ name: 'c', namespace: 'default', labels: { a: 'b' } });
  });

  it('copies the document: changing it afterwards changes nothing validated', () => {
    const document = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { x: 'y' } } };
    const valid = validateResource(document);
    document.metadata.labels.x = 'z';
    expect(valid.object.metadata.labels).toEqual({ x: 'y' });
  });
});

describe('Calico defaults', () => {
  it('a node runs with the default BGPConfiguration, its own node.<name> over it, and Calico\'s defaults under both', async () => {
    const datastore = resourceDatastoreOver(new MemoryStore());
    const none = effectiveBgpConfiguration(await datastore.list('bgpconfigurations.projectcalico.org'), 'node-a');
    expect([none.asNumber, none.nodeToNodeMeshEnabled, none.listenPort]).toEqual([64512, true, 179]);
    await datastore.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 65010, nodeToNodeMeshEnabled: false } });
    await datastore.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'node.node-a' }, spec: { listenPort: 1179 } });
    const configurations = await datastore.list('bgpconfig');
    const a = effectiveBgpConfiguration(configurations, 'node-a');
    const b = effectiveBgpConfiguration(configurations, 'node-b');
    expect([a.asNumber, a.nodeToNodeMeshEnabled, a.listenPort]).toEqual([65010, false, 1179]);
    expect([b.asNumber, b.nodeToNodeMeshEnabled, b.listenPort]).toEqual([65010, false, 179]);
  });

  it('pools without a block size take /26 (IPv4) or /122 (IPv6)', () => {
    expect(ipPoolBlockSize({ cidr: '192.168.0.0/16' })).toBe(26);
    expect(ipPoolBlockSize({ cidr: 'fd00:244::/48' })).toBe(122);
    expect(ipPoolBlockSize({ cidr: '192.168.0.0/16', blockSize: 28 })).toBe(28);
  });
});
