// Calico and Cilium L3/L4 cases on the seed's cluster (test/calico/cluster.ts of the
// policy engine), written for the dataplanes: a Calico tier with Log, Deny and Pass in
// front of the default tier, a Calico Deny ordered before a Kubernetes allow, and
// Cilium deny rules taking precedence over allows (ingress and egress).

import { type Policy, type NetworkSet, type Tier } from '@twill/policy-engine';

import { type TruthTableCase } from './truth-table.js';

const CALICO_TIERS = `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.quarantine}
spec:
  tier: security
  order: 10
  selector: app == 'database' || app == 'api'
  types: [Ingress]
  ingress:
  - action: Log
    protocol: TCP
  - action: Deny
    source: {selector: app == 'tool', namespaceSelector: all()}
  - action: Pass
    protocol: TCP
    destination: {ports: [5432, 80, 8080]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.allow-frontend, namespace: production}
spec:
  order: 500
  selector: app == 'database'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == 'frontend'}
    destination: {ports: [5432]}
`;

const CALICO_DENY_BEFORE_KUBERNETES = `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-dev-http}
spec:
  order: 999
  selector: all()
  types: [Ingress, Egress]
  ingress:
  - action: Deny
    protocol: TCP
    source: {namespaceSelector: projectcalico.org/name == 'dev'}
    destination: {ports: [80]}
  egress:
  - action: Deny
    protocol: UDP
    destination: {ports: [53], nets: [10.0.0.0/24]}
  - action: Allow
    protocol: UDP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-http, namespace: production}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - ports: [{port: 80}, {port: 443}]
`;

const CILIUM_DENY = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-guard, namespace: production}
spec:
  endpointSelector: {matchLabels: {app: database}}
  ingress:
  - fromEntities: [cluster]
  ingressDeny:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: dev}}]
    toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: frontend-egress}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toEndpoints: [{}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}, {port: "53", protocol: UDP}, {port: "443", protocol: ANY}]}]
  egressDeny:
  - toEndpoints: [{matchLabels: {app: api}}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
`;

/** The cases, compiled with the policy engine's YAML helper. */
export function seedCases(compileYaml: (text: string) => { policies: Policy[]; tiers: Tier[]; networkSets: NetworkSet[] }): TruthTableCase[] {
  const step = (text: string) => {
    const { policies, tiers, networkSets } = compileYaml(text);
    return { policies, tiers, networkSets };
  };
  return [
    { name: 'Calico tier with Log, Deny and Pass before the default tier', steps: [step(CALICO_TIERS)] },
    { name: 'Calico Deny at order 999 before a Kubernetes allow; egress Deny then Allow', steps: [step(CALICO_DENY_BEFORE_KUBERNETES)] },
    { name: 'Cilium deny rules beat allows (ingress and egress)', steps: [step(CILIUM_DENY)] },
    { name: 'all of them together, then one removed', steps: [step(CALICO_TIERS + '---' + CALICO_DENY_BEFORE_KUBERNETES + '---' + CILIUM_DENY), step(CALICO_TIERS + '---' + CILIUM_DENY)] },
  ];
}
