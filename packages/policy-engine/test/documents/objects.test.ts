// namespaceFromResource and endpointFromPod: the core/v1 objects as the model's
// namespaces and endpoints, checked by what policies then decide about them.

import { describe, expect, it } from 'vitest';

import {
  compileResourceDocument,
  endpointFromPod,
  namespaceFromResource,
  PolicyIndex,
  PolicyValidationError,
  type Flow,
} from '@twill/policy-engine';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

const API_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'api-server', namespace: 'production', labels: { app: 'api-server' }, uid: 'u1', resourceVersion: '3' },
  spec: {
    nodeName: 'node-a',
    serviceAccountName: 'api',
    containers: [
      { name: 'api', image: 'registry.example/api:1', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9000 }] },
      { name: 'metrics', image: 'registry.example/exporter:1', ports: [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] },
    ],
  },
  status: { podIP: '10.0.0.2', podIPs: [{ ip: '10.0.0.2' }, { ip: 'fd00::2' }] },
};

const FRONTEND_POD = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'frontend', namespace: 'web', labels: { app: 'frontend' } },
  spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
};

describe('namespaceFromResource', () => {
  it('gives the namespace its labels and the name label the API server adds', () => {
    const namespace = namespaceFromResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production', labels: { env: 'prod' }, uid: 'u', resourceVersion: '9' } });
    expect(namespace).toEqual({ name: 'production', labels: { env: 'prod', 'kubernetes.io/metadata.name': 'production' } });
  });

  it('names each bad field, under the given path', () => {
    const error = thrown(() => namespaceFromResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { labels: { env: 3 } } }, 'items[0]'));
    expect(error).toBeInstanceOf(PolicyValidationError);
    expect((error as PolicyValidationError).message).toBe('items[0].metadata.name: required\nitems[0].metadata.labels["env"]: must be a string, not number 3');
    expect((thrown(() => namespaceFromResource({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })) as Error).message).toBe('kind: must be "Namespace", not "Pod"');
  });
});

describe('endpointFromPod', () => {
  it('reads labels, service account, named container ports, addresses and node', () => {
    expect(endpointFromPod(API_POD)).toEqual({
      kind: 'workload',
      namespace: 'production',
      name: 'api-server',
      labels: { app: 'api-server' },
      serviceAccount: 'api',
      ips: ['10.0.0.2', 'fd00::2'],
      namedPorts: [{ name: 'http', protocol: 6, port: 8080 }, { name: 'metrics', protocol: 6, port: 9100 }, { name: 'dns', protocol: 17, port: 53 }],
      node: 'node-a',
    });
  });

  it('takes addresses and node from the caller over the object, and defaults what the API server would', () => {
    expect(endpointFromPod(FRONTEND_POD, { ips: ['10.0.1.1'], node: 'node-b' })).toEqual({
      kind: 'workload', namespace: 'web', name: 'frontend', labels: { app: 'frontend' }, serviceAccount: 'default', ips: ['10.0.1.1'], node: 'node-b',
    });
    const bare = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } };
    expect(endpointFromPod(bare)).toEqual({ kind: 'workload', namespace: 'default', name: 'p', labels: {}, serviceAccount: 'default', ips: [] });
  });

  it('lets a policy allow a named port the pod declares, by its number, and nothing else', () => {
    const index = new PolicyIndex();
    index.apply([
      { kind: 'upsert-namespace', namespace: namespaceFromResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production' } }) },
      { kind: 'upsert-namespace', namespace: namespaceFromResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web', labels: { tier: 'web' } } }) },
      { kind: 'upsert-endpoint', endpoint: endpointFromPod(API_POD) },
      { kind: 'upsert-endpoint', endpoint: endpointFromPod(FRONTEND_POD, { ips: ['10.0.1.1'] }) },
    ]);
    const policy = compileResourceDocument({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'api-http', namespace: 'production' },
      spec: { podSelector: { matchLabels: { app: 'api-server' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 'http' }] }] },
    });
    for (const p of policy.policies) index.upsertPolicy(p);
    const flow = (port: number): Flow => ({
      source: { endpoint: { namespace: 'web', name: 'frontend' } },
      destination: { endpoint: { namespace: 'production', name: 'api-server' } },
      protocol: 'TCP',
      destinationPort: port,
    });
    expect([8080, 9000, 9100].map((port) => index.evaluate(flow(port)).allowed)).toEqual([true, false, false]);
  });

  it('names each bad field of the parts policy reads', () => {
    const bad = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: ['app'] },
      spec: { serviceAccountName: 7, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 0 }, { name: 'q', containerPort: 80, protocol: 'QUIC' }] }] },
      status: { podIPs: [{}] },
    };
    const error = thrown(() => endpointFromPod(bad)) as PolicyValidationError;
    expect(error.errors.map((e) => e.message)).toEqual([
      'metadata.labels: must be an object, not a list',
      'spec.serviceAccountName: must be a string, not number 7',
      'spec.containers[0].ports[0].containerPort: must be 1-65535, not 0',
      'spec.containers[0].ports[1].protocol: must be "TCP", "UDP" or "SCTP", not "QUIC"',
      'status.podIPs[0].ip: required',
    ]);
  });
});
