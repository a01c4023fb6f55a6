// policy simulate reads all three dialects from one folder: a Cilium deny wins over a
// Kubernetes allow of the same traffic, and the probe names the Cilium rule and its line.

import { describe, expect, it } from 'vitest';

import { twill } from '../helpers.js';
import { netpolClusterYaml } from './cluster-yaml.js';

const FILES = {
  'cluster.yaml': netpolClusterYaml(),
  'policies/k8s.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-to-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{}]
`,
  'policies/cilium.json': JSON.stringify({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'no-z', namespace: 'x' },
    spec: {
      endpointSelector: { matchLabels: { pod: 'a' } },
      ingressDeny: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'z' } }] }],
    },
  }, null, 2),
};

describe('policy simulate across dialects', () => {
  it('a Cilium ingressDeny beats a Kubernetes allow, and says so', async () => {
    const base = ['policy', 'simulate', '--cluster', 'cluster.yaml', '--policies', 'policies', '--to', 'x/a', '--port', '80', '-o', 'json'];
    const fromZ = await twill([...base, '--from', 'z/b'], { files: FILES });
    expect(fromZ.code).toBe(0);
    const denied = JSON.parse(fromZ.stdout) as { verdict: string; decidedBy: { reason: string; action: string; policy: { dialect: string; kind: string; name: string; source: string } } };
    expect(denied.verdict).toBe('deny');
    expect(denied.decidedBy).toMatchObject({ reason: 'rule', action: 'deny', policy: { dialect: 'cilium', kind: 'CiliumNetworkPolicy', name: 'no-z', source: 'policies/cilium.json:1' } });
    const fromY = JSON.parse((await twill([...base, '--from', 'y/b'], { files: FILES })).stdout) as { verdict: string; decidedBy: { policy: { dialect: string } } };
    expect(fromY.verdict).toBe('allow');
    expect(fromY.decidedBy.policy.dialect).toBe('kubernetes');
  });
});
