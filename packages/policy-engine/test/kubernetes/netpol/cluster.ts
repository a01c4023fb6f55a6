// The conformance topology: namespaces x, y, z, each with pods a, b, c; every pod serves
// ports 80 and 81 over TCP, UDP and SCTP, with upstream's container port names
// (serve-80-tcp, ...). Upstream trims each test to the pods it needs; we keep all nine
// and extend each expectation to the extra pods by the same semantics.

import { createSnapshot, type Endpoint, type Namespace, type Snapshot, type Policy, PROTOCOL } from '@twill/policy-engine';

import { NS_LABEL } from './fixture.js';

/** The namespaces of the model. */
export const NAMESPACES = ['x', 'y', 'z'] as const;

/** The pods of each namespace. */
export const POD_NAMES = ['a', 'b', 'c'] as const;

/** Every pod, `x/a` ... `z/c`. */
export const PODS: readonly string[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((pod) => `${ns}/${pod}`));

/** The address of a pod: 10.1.<namespace index + 1>.<pod index + 1>. */
export function podIp(pod: string): string {
  const [ns, name] = pod.split('/') as [string, string];
  return `10.1.${NAMESPACES.indexOf(ns as 'x') + 1}.${POD_NAMES.indexOf(name as 'a') + 1}`;
}

const NAMED_PORTS = [80, 81].flatMap((port) =>
  (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, protocol: PROTOCOL[protocol], port })),
);

/** The namespaces and pods of the model, with the label changes of a step. */
export function clusterObjects(
  podLabels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
  namespaceLabels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): { namespaces: Namespace[]; endpoints: Endpoint[] } {
  const namespaces: Namespace[] = NAMESPACES.map((name) => ({
    name,
    labels: { [NS_LABEL]: name, ns: name, ...namespaceLabels[name] },
  }));
  const endpoints: Endpoint[] = PODS.map((pod) => {
    const [namespace, name] = pod.split('/') as [string, string];
    return {
      kind: 'workload',
      namespace,
      name,
      labels: { pod: name, ...podLabels[pod] },
      ips: [podIp(pod)],
      namedPorts: NAMED_PORTS,
      node: 'node-1',
    };
  });
  return { namespaces, endpoints };
}

/** The snapshot of the model with `policies` and the label changes of a step. */
export function clusterSnapshot(
  policies: readonly Policy[],
  podLabels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
  namespaceLabels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): Snapshot {
  return createSnapshot({ ...clusterObjects(podLabels, namespaceLabels), policies });
}

/** Whether `pod` matches a pattern: `*`, a namespace, or `ns/pod`. */
export function podMatches(pattern: string, pod: string): boolean {
  if (pattern === '*') return true;
  return pattern.includes('/') ? pattern === pod : pod.startsWith(`${pattern}/`);
}
