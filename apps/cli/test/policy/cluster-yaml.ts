// Cluster snapshots as Kubernetes writes them (what `kubectl get ns,pods -o yaml` gives),
// for the netpol conformance topology: namespaces x, y, z with pods a, b, c at
// 10.1.<ns>.<pod>, each serving 80 and 81 over TCP, UDP and SCTP with upstream's port names.

import { stringify } from 'yaml';

/** The pods of the topology, `x/a` ... `z/c`. */
export const NETPOL_PODS = ['x', 'y', 'z'].flatMap((ns) => ['a', 'b', 'c'].map((pod) => `${ns}/${pod}`));

/** The snapshot YAML, with a step's label changes. */
export function netpolClusterYaml(
  podLabels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
  namespaceLabels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): string {
  const docs: unknown[] = [];
  ['x', 'y', 'z'].forEach((ns) => {
    docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, ns, ...namespaceLabels[ns] } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  });
  ['x', 'y', 'z'].forEach((ns, n) => ['a', 'b', 'c'].forEach((pod, p) => {
    const ip = `10.1.${n + 1}.${p + 1}`;
    docs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace: ns, labels: { pod, ...podLabels[`${ns}/${pod}`] }, uid: `uid-${ns}-${pod}` },
      spec: {
        nodeName: 'node-1',
        containers: [80, 81].flatMap((port) => ['TCP', 'UDP', 'SCTP'].map((protocol) => ({
          name: `cont-${port}-${protocol.toLowerCase()}`,
          image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
          ports: [{ containerPort: port, name: `serve-${port}-${protocol.toLowerCase()}`, protocol }],
        }))),
      },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
    });
  }));
  return docs.map((doc) => stringify(doc)).join('---\n');
}
