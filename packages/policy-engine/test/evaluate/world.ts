// A small cluster for evaluation tests: namespaces prod and dev, two nodes with their
// host endpoints, a few pods, a network set and the API server's address.

import { type Endpoint, type NetworkSet, PROTOCOL } from '@twill/policy-engine';

/** Pods and hosts. */
export const ENDPOINTS: readonly Endpoint[] = [
  { kind: 'workload', namespace: 'prod', name: 'web', labels: { app: 'web' }, ips: ['10.0.0.1'], node: 'n1', namedPorts: [{ name: 'http', protocol: PROTOCOL.TCP, port: 8080 }] },
  { kind: 'workload', namespace: 'prod', name: 'api', labels: { app: 'api' }, ips: ['10.0.0.2', 'fd00::2'], node: 'n1', serviceAccount: 'api-sa' },
  { kind: 'workload', namespace: 'prod', name: 'db', labels: { app: 'db' }, ips: ['10.0.0.3'], node: 'n2' },
  { kind: 'workload', namespace: 'dev', name: 'tool', labels: { app: 'tool' }, ips: ['10.0.1.1'], node: 'n2' },
  { kind: 'workload', namespace: 'kube-system', name: 'health', labels: { 'reserved:health': '' }, ips: ['10.0.9.9'], node: 'n1' },
  { kind: 'host', name: 'n1', labels: { 'node-role': 'worker' }, ips: ['192.168.0.1'], node: 'n1' },
  { kind: 'host', name: 'n2', labels: { 'node-role': 'worker' }, ips: ['192.168.0.2'], node: 'n2' },
];

/** A Calico-style network set. */
export const NETWORK_SETS: readonly NetworkSet[] = [
  { name: 'partners', namespace: 'prod', labels: { role: 'partner' }, nets: ['203.0.113.0/24'] },
];

/** The API server. */
export const KUBE_API_SERVER = ['172.16.0.1'];
