// Cilium → IR: every rule feature compiled and evaluated on the small cluster.

import { describe, expect, it } from 'vitest';

import { compileHttpPattern } from '@twill/policy-engine';

import { clusterWith, compileYaml, flow, icmpFlow } from '../calico/cluster.js';

const cnp = (spec: string, namespace = 'production', name = 'p'): string =>
  `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}`;
const ccnp = (spec: string, name = 'c'): string => `apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: ${name}}\n${spec}`;

describe('Cilium endpoint selectors', () => {
  it('limits a namespaced policy and its fromEndpoints to the namespace, with k8s: prefixes', () => {
    const check = clusterWith(cnp('  endpointSelector: {matchLabels: {"k8s:app": database}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: frontend}}]'));
    expect(check(flow('production/frontend', 'production/database', 5432)).allowed).toBe(true);
    expect(check(flow('default/frontend', 'production/database', 5432)).ingress?.message)
      .toBe('production/database is isolated for ingress by CiliumNetworkPolicy production/p; no rule allowed TCP/5432 from default/frontend');
  });

  it('lets fromEndpoints name another namespace; namespace labels alone keep the policy namespace', () => {
    const check = clusterWith(cnp(`  endpointSelector: {matchLabels: {app: database}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: default, app: frontend}}]
  - fromEndpoints: [{matchLabels: {k8s:io.cilium.k8s.namespace.labels.env: dev}}, {matchLabels: {k8s:io.cilium.k8s.namespace.labels.env: prod}}]`));
    expect(check(flow('default/frontend', 'production/database', 1)).ingress?.decidedBy?.origin.path).toBe('spec.ingress[0]');
    // Cilium adds io.kubernetes.pod.namespace=production unless the selector tests that very label.
    expect(check(flow('dev/tool', 'production/database', 1)).allowed).toBe(false);
    expect(check(flow('production/frontend', 'production/database', 1)).ingress?.decidedBy?.origin.path).toBe('spec.ingress[1]');
    const clusterwide = clusterWith(ccnp('spec:\n  endpointSelector: {matchLabels: {app: database}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {k8s:io.cilium.k8s.namespace.labels.env: dev}}]'));
    expect(clusterwide(flow('dev/tool', 'production/database', 1)).allowed).toBe(true);
    expect(clusterwide(flow('production/frontend', 'production/database', 1)).allowed).toBe(false);
  });

  it('matches matchExpressions, and a clusterwide {} selects pods of every namespace only', () => {
    const check = clusterWith(ccnp(`spec:
  endpointSelector: {matchExpressions: [{key: app, operator: In, values: [database, api]}]}
  ingress:
  - fromEndpoints: [{}]`));
    expect(check(flow('dev/tool', 'production/database', 1)).allowed).toBe(true);
    expect(check(flow('host:n1', 'default/api', 1)).allowed).toBe(false);
    expect(check(flow('8.8.8.8', 'default/api', 1)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'default/frontend', 1)).allowed).toBe(true);
  });

  it('selects nodes with nodeSelector (host policies) and fromNodes', () => {
    const check = clusterWith(ccnp('spec:\n  nodeSelector: {matchLabels: {node-role: worker}}\n  ingress:\n  - fromNodes: [{matchLabels: {node-role: control-plane}}]'));
    expect(check(flow('host:n2', 'host:n1', 10250)).allowed).toBe(true);
    expect(check(flow('dev/tool', 'host:n1', 10250)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'host:n2', 10250)).allowed).toBe(true);
  });
});

describe('Cilium peers', () => {
  it('matches CIDRs and CIDR sets with except, never for cluster endpoints', () => {
    const check = clusterWith(cnp(`  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toCIDR: [203.0.113.7]
  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}]`));
    expect(check(flow('production/frontend', '203.0.113.7', 443)).egress?.decidedBy?.origin.path).toBe('spec.egress[0]');
    expect(check(flow('production/frontend', '10.1.2.3', 443)).egress?.decidedBy?.origin.path).toBe('spec.egress[1]');
    expect(check(flow('production/frontend', '10.9.0.1', 443)).allowed).toBe(false);
    // 10.0.0.3 is a pod: Cilium gives it its own identity, which no CIDR rule selects.
    expect(check(flow('production/frontend', 'production/database', 443)).allowed).toBe(false);
  });

  it('matches entities: world, cluster, host, remote-node, kube-apiserver, health', () => {
    const check = clusterWith(cnp('  endpointSelector: {matchLabels: {app: frontend}}\n  egress:\n  - toEntities: [kube-apiserver, host, health]\n  - toEntities: [world]'));
    expect(check(flow('production/frontend', '172.16.0.1', 443)).egress?.decidedBy?.origin.path).toBe('spec.egress[0]');
    expect(check(flow('production/frontend', 'host:n1', 22)).egress?.allowed).toBe(true);
    expect(check(flow('production/frontend', 'host:n2', 22)).egress?.allowed).toBe(false);
    expect(check(flow('production/frontend', 'kube-system/cilium-health', 4240)).egress?.allowed).toBe(true);
    expect(check(flow('production/frontend', '1.1.1.1', 443)).egress?.decidedBy?.origin.path).toBe('spec.egress[1]');
    expect(check(flow('production/frontend', 'dev/tool', 443)).egress?.allowed).toBe(false);
    const cluster = clusterWith(cnp('  endpointSelector: {matchLabels: {app: frontend}}\n  egress:\n  - toEntities: [cluster, remote-node]'));
    expect(cluster(flow('production/frontend', 'dev/tool', 443)).egress?.allowed).toBe(true);
    expect(cluster(flow('production/frontend', 'host:n2', 443)).egress?.allowed).toBe(true);
    expect(cluster(flow('production/frontend', '1.1.1.1', 443)).egress?.allowed).toBe(false);
  });

  it('reads an L4-only rule as any peer, an empty rule as none', () => {
    const l4 = clusterWith(cnp('  endpointSelector: {matchLabels: {app: database}}\n  ingress:\n  - toPorts: [{ports: [{port: "5432", protocol: TCP}]}]'));
    expect(l4(flow('8.8.8.8', 'production/database', 5432)).allowed).toBe(true);
    expect(l4(flow('8.8.8.8', 'production/database', 5433)).allowed).toBe(false);
    const none = clusterWith(cnp('  endpointSelector: {matchLabels: {app: database}}\n  ingress:\n  - {}'));
    expect(none(flow('production/frontend', 'production/database', 5432)).ingress?.reason).toBe('isolated');
    const emptyList = clusterWith(cnp('  endpointSelector: {matchLabels: {app: database}}\n  ingress:\n  - fromEndpoints: []\n    toPorts: [{ports: [{port: "5432"}]}]'));
    expect(emptyList(flow('production/frontend', 'production/database', 5432)).allowed).toBe(false);
  });
});

describe('Cilium ports and L7', () => {
  it('matches port numbers, names, endPort ranges and protocols (ANY by default)', () => {
    const check = clusterWith(cnp(`  endpointSelector: {matchLabels: {app: api-server}}
  ingress:
  - toPorts:
    - ports: [{port: "9000", endPort: 9100}, {port: http, protocol: TCP}]
    - ports: [{port: "53", protocol: UDP}]
    - ports: [{port: "7000"}]`));
    expect(check(flow('dev/tool', 'production/api-server', 9050)).ingress?.decidedBy?.origin.detail).toBe('toPorts[0].ports[0]');
    expect(check(flow('dev/tool', 'production/api-server', 8080)).ingress?.decidedBy?.origin.detail).toBe('toPorts[0].ports[1]');
    expect(check(flow('dev/tool', 'production/api-server', 53, 'UDP')).allowed).toBe(true);
    expect(check(flow('dev/tool', 'production/api-server', 53, 'TCP')).allowed).toBe(false);
    expect(check(flow('dev/tool', 'production/api-server', 7000, 'SCTP')).allowed).toBe(true);
  });

  it('keeps HTTP rules (method, path, host, headers) as L7 data, over TCP', () => {
    const { policies } = compileYaml(cnp(`  endpointSelector: {matchLabels: {app: api-server}}
  ingress:
  - toPorts:
    - ports: [{port: "8080"}]
      rules:
        http:
        - method: GET|HEAD
          path: /api/v1/.*
          host: api\\.example\\.com
          headers: ["X-Token: abc", "X-Trace"]
          headerMatches: [{name: X-Env, value: prod}]`));
    const rule = policies[0]?.ingress?.rules[0];
    expect(rule?.protocol).toBe(6);
    expect(rule?.l7).toEqual({ kind: 'http', rules: [{
      method: 'GET|HEAD', path: { kind: 'regex', value: '/api/v1/.*' }, host: 'api\\.example\\.com',
      headers: [{ name: 'X-Token', value: 'abc' }, { name: 'X-Trace' }, { name: 'X-Env', value: 'prod' }],
    }] });
    // Cilium (Envoy) matches the whole path: the pattern is implicitly anchored.
    expect(compileHttpPattern('/api/v1/.*', 'pattern').fullMatch('/api/v1/users')).toBe(true);
    expect(compileHttpPattern('/api/v1/.*', 'pattern').fullMatch('/x/api/v1/users')).toBe(false);
    expect(compileHttpPattern('GET|HEAD', 'pattern').fullMatch('GETX')).toBe(false);
  });

  it('compiles a pattern as RE2: a catastrophic-backtracking pattern answers, lookaround is refused with the field', () => {
    // A backtracking engine takes 2^n steps on (a+)+b against a run of a's; RE2 is linear.
    expect(compileHttpPattern('(a+)+b', 'pattern').fullMatch(`${'a'.repeat(100_000)}c`)).toBe(false);
    expect(() => compileHttpPattern('/api/(?!admin).*', 'spec.ingress[0].toPorts[0].rules.http[0].path'))
      .toThrow(expect.objectContaining({ name: 'FieldError', code: 'invalid-value', path: 'spec.ingress[0].toPorts[0].rules.http[0].path' }));
  });

  it('keeps Kafka, DNS and l7proto rules as opaque L7 data', () => {
    const { policies } = compileYaml(cnp(`  endpointSelector: {}
  egress:
  - toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules: {dns: [{matchPattern: "*.example.com"}]}
    - ports: [{port: "9092"}]
      rules: {kafka: [{role: produce, topic: logs}]}
    - ports: [{port: "6379"}]
      rules: {l7proto: redis, l7: [{cmd: GET}]}`));
    const rules = policies[0]?.egress?.rules ?? [];
    expect(rules.map((r) => [r.protocol, r.l7?.kind === 'opaque' ? r.l7.parser : undefined])).toEqual([[undefined, 'dns'], [6, 'kafka'], [6, 'redis']]);
  });

  it('matches icmps by family and type name or number', () => {
    const check = clusterWith(cnp('  endpointSelector: {matchLabels: {app: database}}\n  ingress:\n  - icmps: [{fields: [{type: EchoRequest}, {family: IPv6, type: 128}]}]'));
    expect(check(icmpFlow('dev/tool', 'production/database', 8)).allowed).toBe(true);
    expect(check(icmpFlow('dev/tool', 'production/database', 0)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'production/database', 8, 'TCP')).allowed).toBe(false);
  });
});

describe('Cilium deny rules and default deny', () => {
  it('lets an ingressDeny beat an allow of the same policy, and puts the endpoint in default deny', () => {
    const check = clusterWith(cnp(`  endpointSelector: {matchLabels: {app: database}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
  ingress:
  - fromEntities: [cluster]`));
    const denied = check(flow('production/frontend', 'production/database', 5432));
    expect(denied.ingress?.message).toBe('CiliumNetworkPolicy production/p rule spec.ingressDeny[0] in tier twill:deny-precedence denies TCP/5432 from production/frontend to production/database');
    expect(check(flow('production/api-server', 'production/database', 5432)).allowed).toBe(true);
    expect(check(flow('8.8.8.8', 'production/database', 5432)).ingress?.reason).toBe('isolated');
    const denyOnly = clusterWith(cnp('  endpointSelector: {matchLabels: {app: database}}\n  egressDeny:\n  - toEntities: [world]'));
    expect(denyOnly(flow('production/database', 'dev/tool', 1)).egress?.reason).toBe('isolated');
  });

  it('does not isolate with enableDefaultDeny false', () => {
    const check = clusterWith(cnp(`  endpointSelector: {matchLabels: {app: database}}
  enableDefaultDeny: {ingress: false}
  ingressDeny:
  - fromEntities: [world]`));
    expect(check(flow('production/frontend', 'production/database', 1)).allowed).toBe(true);
    expect(check(flow('8.8.8.8', 'production/database', 1)).allowed).toBe(false);
  });

  it('compiles each of specs to its own policies, with paths', () => {
    const check = clusterWith(`apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: multi, namespace: production}
specs:
- endpointSelector: {matchLabels: {app: database}}
  ingress: [{fromEndpoints: [{matchLabels: {app: api-server}}]}]
- endpointSelector: {matchLabels: {app: api-server}}
  ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}]}]`);
    expect(check(flow('production/api-server', 'production/database', 1)).ingress?.decidedBy?.origin.path).toBe('specs[0].ingress[0]');
    expect(check(flow('production/frontend', 'production/api-server', 1)).ingress?.decidedBy?.origin.path).toBe('specs[1].ingress[0]');
    expect(check(flow('production/frontend', 'production/database', 1)).allowed).toBe(false);
  });
});
