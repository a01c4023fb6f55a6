// Policies with L7 rules shared by the dataplane compilers' tests (nftables' l7Mark, the
// eBPF compiler's l7Proxy): the same Allow compiled by each.

/** db takes HTTP GETs from web on 8080 (L7) and anything from tool on 9000 (L4 only). */
export const DB_HTTP_POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: db-http, namespace: prod }
spec:
  endpointSelector: { matchLabels: { app: db } }
  ingress:
  - fromEndpoints: [{ matchLabels: { app: web } }]
    toPorts:
    - ports: [{ port: "8080", protocol: TCP }]
      rules:
        http: [{ method: GET, path: "/api/v1/.*" }]
  - fromEndpoints: [{ matchLabels: { app: tool, k8s:io.kubernetes.pod.namespace: dev } }]
    toPorts:
    - ports: [{ port: "9000", protocol: TCP }]
`;

/** DB_HTTP_POLICY with tool refused 8080 outright (an ingressDeny of the same policy). */
export const DB_HTTP_POLICY_DENYING_TOOL = `${DB_HTTP_POLICY}  ingressDeny:
  - fromEndpoints: [{ matchLabels: { app: tool, k8s:io.kubernetes.pod.namespace: dev } }]
    toPorts:
    - ports: [{ port: "8080", protocol: TCP }]
`;
