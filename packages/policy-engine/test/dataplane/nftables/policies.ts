// The policies of the generator's tests, one per dialect.

/** Kubernetes: db accepts web on TCP 5432 and a partner range except one subnet on UDP 53; egress to web only. */
export const KUBERNETES = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 5432}]
  - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]
    ports: [{port: 53, protocol: UDP}, {port: 8000, endPort: 8080}]
  egress:
  - to: [{podSelector: {matchLabels: {app: web}}}]
`;

/** Calico: a security tier (Log, Deny, Pass, end-of-tier deny) before the default tier's allow. */
export const CALICO = `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.guard}
spec:
  tier: security
  order: 10
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Log
    protocol: TCP
  - action: Deny
    source: {selector: app == 'tool', namespaceSelector: all()}
  - action: Pass
    protocol: TCP
    destination: {ports: [5432]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.allow-web, namespace: prod}
spec:
  order: 500
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == 'web'}
    destination: {ports: [5432]}
`;

/** Cilium: allow from the cluster, deny dev on 5432; egress to the world on 443 only, never to 203.0.113.0/24. */
export const CILIUM = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-guard, namespace: prod}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress:
  - fromEntities: [cluster]
  ingressDeny:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: dev}}]
    toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
  egress:
  - toEntities: [world]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  egressDeny:
  - toCIDR: [203.0.113.0/24]
`;
