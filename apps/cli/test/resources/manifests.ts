// The documents the resource tests apply: policies of the three dialects, and the
// network kinds (an IPPool, a BGPPeer, the BGPConfiguration), as a folder of files.

/** Kubernetes NetworkPolicies (two documents). */
export const K8S_POLICIES = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-frontend, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: frontend}
    ports:
    - port: 8080
`;

/** Calico: a GlobalNetworkPolicy and a namespaced NetworkPolicy. */
export const CALICO_POLICIES = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: no-dev-to-prod}
spec:
  order: 10
  namespaceSelector: env == 'prod'
  types: [Ingress]
  ingress:
  - action: Deny
    source:
      namespaceSelector: env == 'dev'
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db-from-api, namespace: shop}
spec:
  order: 100
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: app == 'api'
    destination:
      ports: [5432]
`;

/** Cilium, as JSON. */
export const CILIUM_POLICY = `${JSON.stringify({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'cache-from-api', namespace: 'shop' },
  spec: {
    endpointSelector: { matchLabels: { app: 'cache' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '6379', protocol: 'TCP' }] }] }],
  },
}, null, 2)}\n`;

/** The network kinds. */
export const NETWORK = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-a}
spec:
  cidr: 10.244.0.0/16
  blockSize: 26
  nodeSelector: all()
  natOutgoing: true
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rack-tor}
spec:
  peerIP: 192.0.2.1
  asNumber: 64513
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 64512
  nodeToNodeMeshEnabled: false
  listenPort: 179
`;

/** The folder `apply -f manifests` reads, file by file in name order. */
export const MANIFESTS: Readonly<Record<string, string>> = {
  'manifests/calico.yaml': CALICO_POLICIES,
  'manifests/cilium.json': CILIUM_POLICY,
  'manifests/k8s.yaml': K8S_POLICIES,
  'manifests/network.yaml': NETWORK,
  'manifests/README.txt': 'not a manifest: skipped\n',
};
