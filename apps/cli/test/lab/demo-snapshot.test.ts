// The lab as a cluster snapshot: what `twill policy simulate --cluster` reads for the
// demonstration, built from the lab's model (pods with namespace, labels, address).

import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

import { type LabPod } from '../../src/lab/ports.js';
import { DEMO_NAMESPACES, demoLabPods, ROLE_LABEL } from '../../src/lab/demo/roles.js';
import { labSnapshotYaml } from '../../src/lab/demo/snapshot.js';
import { twill } from '../helpers.js';
import { demoLabModel } from './demo-lab-model.js';

describe('the lab snapshot', () => {
  it('has the namespaces, then every pod with its labels, address and served port', () => {
    const docs = parseAllDocuments(labSnapshotYaml(demoLabModel(3, 2), DEMO_NAMESPACES)).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace === undefined ? '' : `${d.metadata.namespace}/`}${d.metadata.name}`)).toEqual([
      'Namespace default',
      'Namespace production',
      'Pod default/api',
      'Pod default/web',
      'Pod production/api-server',
      'Pod production/database',
      'Pod production/frontend',
      'Pod production/frontend-2',
    ]);
    expect(docs[1]).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production', labels: { environment: 'production', 'kubernetes.io/metadata.name': 'production' } } });
    // api-server is the second pod: node 2 of 3, 10.244.1.11 in the model.
    expect(docs[4]).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-server', namespace: 'production', labels: { app: 'api-server', tier: 'backend', [ROLE_LABEL]: 'api-server' } },
      spec: { nodeName: 'node-2', containers: [{ name: 'api-server', ports: [{ name: 'http-api', containerPort: 8080, protocol: 'TCP' }] }] },
      status: { podIP: '10.244.1.11', podIPs: [{ ip: '10.244.1.11' }] },
    });
  });

  it('places the roles round-robin on the nodes, replicas after the five roles', () => {
    expect(demoLabPods(3, 3).map((p) => `${p.node} ${p.namespace}/${p.name} app=${p.labels['app'] ?? ''}`)).toEqual([
      '0 production/frontend app=frontend',
      '1 production/api-server app=api-server',
      '2 production/database app=database',
      '0 default/web app=frontend',
      '1 default/api app=api',
      '2 production/frontend-2 app=frontend',
      '0 production/api-server-2 app=api-server',
      '1 production/database-2 app=database',
      '2 default/web-2 app=frontend',
    ]);
  });

  it('is a snapshot twill policy simulate reads: every served port is probed; a pod of no role declares none', async () => {
    const other: LabPod = { name: 'pod-1-1', namespace: 'default', node: 'node-1', netns: 'x', address: '10.244.0.99', labels: { app: 'pod-1-1' }, containerId: 'c' };
    const files = {
      '/lab/cluster.yaml': labSnapshotYaml([...demoLabModel(1, 3), other], DEMO_NAMESPACES),
      '/lab/none.yaml': '# no policy\n',
    };
    const run = await twill(['policy', 'simulate', '--cluster', '/lab/cluster.yaml', '--policies', '/lab/none.yaml', '--matrix'], { files });
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n').filter((line) => line.startsWith('TCP/'))).toEqual([
      'TCP/80                 default/pod-1-1  production/api-server  production/database  production/frontend',
      'TCP/5432               default/pod-1-1  production/api-server  production/database  production/frontend',
      'TCP/8080               default/pod-1-1  production/api-server  production/database  production/frontend',
    ]);
    expect(run.stdout).toContain('36 probes: 36 allowed, 0 denied');
  });
});
