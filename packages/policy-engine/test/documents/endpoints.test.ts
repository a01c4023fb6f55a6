// The endpoints a node enforces from endpoint records: the rule the agent's policy
// controller and `twill policy explain` share.

import { describe, expect, it } from 'vitest';

import { endpointFromRecord, endpointKeyOfRecord, endpointsFromRecords } from '../../src/index.js';

const pod = (namespace: string, name: string, labels: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { serviceAccountName: 'sa', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
  status: { podIPs: [{ ip: '192.0.2.1' }] },
});

describe('endpoints from records', () => {
  it('keys a record by its pod, or by its container in default', () => {
    expect(endpointKeyOfRecord({ containerId: 'abc', namespace: 'x', pod: 'a' })).toEqual({ namespace: 'x', name: 'a', key: 'x/a' });
    expect(endpointKeyOfRecord({ containerId: 'abc' })).toEqual({ namespace: 'default', name: 'abc', key: 'default/abc' });
  });

  it('labels a record by its Pod, with the record\'s addresses and node (not the Pod\'s status)', () => {
    const built = endpointFromRecord({ containerId: 'c', addresses: ['10.0.0.5/32', 'fd00::5/128'], namespace: 'x', pod: 'a', since: 1 }, pod('x', 'a', { app: 'web' }), 'n1');
    expect(built).toEqual({
      key: { namespace: 'x', name: 'a', key: 'x/a' },
      endpoint: { kind: 'workload', namespace: 'x', name: 'a', labels: { app: 'web' }, serviceAccount: 'sa', ips: ['10.0.0.5', 'fd00::5'], namedPorts: [{ name: 'http', protocol: 6, port: 80 }], node: 'n1' },
    });
  });

  it('a record with no Pod is an unlabelled endpoint on the record\'s node', () => {
    expect(endpointFromRecord({ containerId: 'c', addresses: ['10.0.0.5/32'], namespace: 'x', pod: 'gone', since: 1, node: 'n2' }, undefined, 'n1')).toEqual({
      key: { namespace: 'x', name: 'gone', key: 'x/gone' },
      endpoint: { kind: 'workload', namespace: 'x', name: 'gone', labels: {}, ips: ['10.0.0.5'], node: 'n2' },
    });
  });

  it('a Pod the model refuses leaves the endpoint unlabelled, with the reason', () => {
    const built = endpointFromRecord({ containerId: 'c', addresses: ['10.0.0.5/32'], namespace: 'x', pod: 'a', since: 1 }, pod('x', 'a', { app: 7 }), 'n1');
    expect(built.endpoint).toEqual({ kind: 'workload', namespace: 'x', name: 'a', labels: {}, ips: ['10.0.0.5'], node: 'n1' });
    expect(built.podError?.message).toMatch(/metadata\.labels/);
  });

  it('takes the newest record of each key, in key order', () => {
    const records = [
      { containerId: 'old', addresses: ['10.0.0.1'], namespace: 'x', pod: 'b', since: 1 },
      { containerId: 'new', addresses: ['10.0.0.2'], namespace: 'x', pod: 'b', since: 5 },
      { containerId: 'lone', addresses: ['10.0.0.3'], since: 2 },
    ];
    const built = endpointsFromRecords(records, (key) => (key === 'x/b' ? pod('x', 'b', { app: 'b' }) : undefined), 'n1');
    expect(built.map((b) => [b.key.key, b.record.containerId, b.endpoint.labels])).toEqual([
      ['default/lone', 'lone', {}],
      ['x/b', 'new', { app: 'b' }],
    ]);
  });
});
