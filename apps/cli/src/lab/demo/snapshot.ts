// The lab as a cluster snapshot for `twill policy simulate` and `twill policy lint
// --cluster`: v1 Namespace and Pod objects as Kubernetes writes them, with the pods'
// labels, addresses (status.podIPs) and the port each serves (a named containerPort).

import { stringify } from 'yaml';

import { type LabNamespaceSpec, type LabPod } from '../ports.js';
import { roleOf, ROLE_SERVICES } from './roles.js';

// Port names as a Kubernetes manifest would give them (policies may name ports).
const PORT_NAMES: Readonly<Record<number, string>> = { 80: 'http', 8080: 'http-api', 5432: 'postgres' };

/**
 * The YAML snapshot of `pods` (and of `namespaces`, plus any namespace a pod is in that
 * they do not list), namespaces first, each group in name order. A pod of the
 * demonstration declares the port its role serves; other pods declare none.
 */
export function labSnapshotYaml(pods: readonly LabPod[], namespaces: readonly LabNamespaceSpec[] = []): string {
  const byName = new Map<string, Readonly<Record<string, string>>>();
  for (const ns of namespaces) byName.set(ns.name, ns.labels);
  for (const pod of pods) if (!byName.has(pod.namespace)) byName.set(pod.namespace, {});
  const documents: unknown[] = [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, labels]) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      // The API server adds this label to every namespace; policies select namespaces by it.
      metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } },
    }));
  const sorted = [...pods].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  for (const pod of sorted) {
    const role = roleOf(pod.labels);
    const service = role === undefined ? undefined : ROLE_SERVICES[role];
    documents.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: pod.namespace, labels: { ...pod.labels } },
      spec: {
        nodeName: pod.node,
        containers: [{
          name: role ?? 'pod',
          ...(service === undefined ? {} : { ports: [{ name: PORT_NAMES[service.port] ?? `port-${service.port}`, containerPort: service.port, protocol: 'TCP' }] }),
        }],
      },
      status: { podIP: pod.address, podIPs: [{ ip: pod.address }] },
    });
  }
  return documents.map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
}
