// End to end: the seed tutorial's three policies, from YAML text, through the Calico and
// Cilium front ends, evaluated on the tutorial's frontend / api / database pods, and
// compared with the IR written by hand in test/evaluate/seed.test.ts. Then the mixed
// dialect scenarios of the README's precedence model.

import { describe, expect, it } from 'vitest';

import { allOf, createSnapshot, evaluate, labelEquals, type Flow, type Policy } from '@twill/policy-engine';

import { clusterWith, compileYaml, ENDPOINTS, flow, NAMESPACES } from '../calico/cluster.js';

// The tutorial's documents, as a user would write them (the tutorial lost YAML's indentation).
const ALLOW_API_ACCESS = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-api-access
  namespace: production
spec:
  selector: app == "api-server"
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: app == "frontend"
    destination:
      ports:
      - 8080
  egress:
  - action: Allow
    protocol: TCP
    destination:
      selector: app == "database"
      ports:
      - 5432
`;
const DEFAULT_DENY = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  selector: all()
  types:
  - Ingress
  - Egress
`;
const L7_API_POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: l7-api-policy
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: api
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: frontend
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
      rules:
        http:
        - method: "GET"
          path: "/api/v1/.*"
`;

// The IR of test/evaluate/seed.test.ts, the contract the front ends must meet.
const inNs = (namespace: string) => ({ kind: 'in-namespace', namespace } as const);
const HAND_WRITTEN: Readonly<Record<string, Policy>> = {
  allowApiAccess: {
    ref: { dialect: 'calico', kind: 'NetworkPolicy', namespace: 'production', name: 'allow-api-access' },
    tier: 'default',
    subject: allOf(inNs('production'), labelEquals('app', 'api-server')),
    ingress: { isolates: true, rules: [{ action: 'allow', protocol: 6, source: { peer: { kind: 'selector', selector: allOf(inNs('production'), labelEquals('app', 'frontend')) } }, destination: { ports: [{ kind: 'range', first: 8080, last: 8080 }] }, origin: { path: 'spec.ingress[0]' } }] },
    egress: { isolates: true, rules: [{ action: 'allow', protocol: 6, destination: { peer: { kind: 'selector', selector: allOf(inNs('production'), labelEquals('app', 'database')) }, ports: [{ kind: 'range', first: 5432, last: 5432 }] }, origin: { path: 'spec.egress[0]' } }] },
  },
  defaultDeny: {
    ref: { dialect: 'calico', kind: 'GlobalNetworkPolicy', name: 'default-deny' },
    tier: 'default',
    subject: { kind: 'all' },
    ingress: { isolates: true, rules: [] },
    egress: { isolates: true, rules: [] },
  },
  l7ApiPolicy: {
    ref: { dialect: 'cilium', kind: 'CiliumNetworkPolicy', namespace: 'default', name: 'l7-api-policy' },
    tier: 'default',
    order: 1000,
    subject: allOf(inNs('default'), labelEquals('app', 'api')),
    ingress: { isolates: true, rules: [{
      action: 'allow', protocol: 6,
      source: { peer: { kind: 'selector', selector: allOf(inNs('default'), labelEquals('app', 'frontend')) } },
      destination: { ports: [{ kind: 'range', first: 8080, last: 8080 }] },
      l7: { kind: 'http', rules: [{ method: 'GET', path: { kind: 'regex', value: '/api/v1/.*' } }] },
      origin: { path: 'spec.ingress[0]', detail: 'toPorts[0]' },
    }] },
  },
};

const compiled = (yaml: string): Policy => {
  const [policy] = compileYaml(yaml).policies;
  if (policy === undefined) throw new Error('no policy');
  return policy;
};

const pods = ['production/frontend', 'production/api-server', 'production/database', 'default/frontend', 'default/api', 'dev/tool'];
const PORTS = [80, 5432, 8080, 9090];

/** Every TCP flow between the tutorial's pods on the ports that matter. */
function allFlows(): Flow[] {
  return pods.flatMap((from) => pods.filter((to) => to !== from).flatMap((to) => PORTS.map((port) => flow(from, to, port))));
}

describe('the seed tutorial, from YAML', () => {
  it('compiles each document to the IR written by hand', () => {
    expect(compiled(ALLOW_API_ACCESS)).toEqual(HAND_WRITTEN.allowApiAccess);
    expect(compiled(DEFAULT_DENY)).toEqual(HAND_WRITTEN.defaultDeny);
    expect(compiled(L7_API_POLICY)).toEqual(HAND_WRITTEN.l7ApiPolicy);
  });

  it('evaluates every flow between the pods exactly as the hand-written IR does, with the same traces', () => {
    const fromYaml = createSnapshot({ ...clusterInput(), policies: compileYaml(`${ALLOW_API_ACCESS}---\n${DEFAULT_DENY}---\n${L7_API_POLICY}`).policies });
    const byHand = createSnapshot({ ...clusterInput(), policies: Object.values(HAND_WRITTEN) });
    for (const f of allFlows()) {
      const a = evaluate(f, fromYaml);
      const b = evaluate(f, byHand);
      expect([a.allowed, a.explanation, a.l7]).toEqual([b.allowed, b.explanation, b.l7]);
    }
  });

  it('gives Calico users what they expect', () => {
    const check = clusterWith(ALLOW_API_ACCESS);
    expect(check(flow('production/frontend', 'production/api-server', 8080)).allowed).toBe(true);
    expect(check(flow('production/frontend', 'production/api-server', 9090)).ingress?.message)
      .toBe('production/api-server is isolated for ingress by NetworkPolicy production/allow-api-access; no rule allowed TCP/9090 from production/frontend');
    expect(check(flow('default/frontend', 'production/api-server', 8080)).allowed).toBe(false);
    expect(check(flow('production/api-server', 'production/database', 5432)).egress?.message)
      .toBe('NetworkPolicy production/allow-api-access rule spec.egress[0] allows TCP/5432 to production/database from production/api-server');
    const withDefaultDeny = clusterWith(`${DEFAULT_DENY}---\n${ALLOW_API_ACCESS}`);
    const verdict = withDefaultDeny(flow('production/frontend', 'production/api-server', 8080));
    expect(verdict.allowed).toBe(false);
    expect(verdict.ingress?.allowed).toBe(true);
    expect(verdict.egress?.message).toBe('production/frontend is isolated for egress by GlobalNetworkPolicy default-deny; no rule allowed TCP/8080 to production/api-server');
  });

  it('gives Cilium users what they expect: the allow, with its HTTP rules', () => {
    const check = clusterWith(L7_API_POLICY);
    const verdict = check(flow('default/frontend', 'default/api', 8080));
    expect(verdict.allowed).toBe(true);
    expect(verdict.ingress?.message).toBe('CiliumNetworkPolicy default/l7-api-policy rule spec.ingress[0] (toPorts[0]) allows TCP/8080 from default/frontend to default/api');
    expect(verdict.l7).toEqual([{ direction: 'ingress', rules: { kind: 'http', rules: [{ method: 'GET', path: { kind: 'regex', value: '/api/v1/.*' } }] } }]);
    expect(check(flow('production/frontend', 'default/api', 8080)).allowed).toBe(false);
    expect(check(flow('default/frontend', 'default/api', 9090)).allowed).toBe(false);
  });
});

describe('mixing dialects', () => {
  it('a Calico tier Passes into the Kubernetes policies of the default tier', () => {
    const check = clusterWith(`apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: platform.delegate}
spec:
  tier: platform
  selector: all()
  types: [Ingress]
  ingress:
  - action: Deny
    source: {namespaceSelector: env == "dev"}
  - action: Pass
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: production}
spec:
  podSelector: {matchLabels: {app: database}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api-server}}}]}]`);
    const allowed = check(flow('production/api-server', 'production/database', 5432));
    expect(allowed.allowed).toBe(true);
    expect(allowed.ingress?.passedThrough.map((h) => `${h.policy.name} ${h.action}`)).toEqual(['platform.delegate pass']);
    expect(allowed.ingress?.decidedBy?.policy.dialect).toBe('kubernetes');
    expect(check(flow('production/frontend', 'production/database', 5432)).ingress?.reason).toBe('isolated');
    expect(check(flow('dev/tool', 'production/api-server', 80)).ingress?.decidedBy?.tier).toBe('platform');
  });

  it('a Cilium deny beats a Calico allow, even in a tier ordered before the default one', () => {
    const check = clusterWith(`apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: first}
spec: {order: 1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: first.allow-all}
spec: {tier: first, selector: all(), ingress: [{action: Allow}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-tool, namespace: production}
spec:
  endpointSelector: {matchLabels: {app: database}}
  enableDefaultDeny: {ingress: false}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: dev}}]`);
    expect(check(flow('dev/tool', 'production/database', 5432)).ingress?.message)
      .toBe('CiliumNetworkPolicy production/no-tool rule spec.ingressDeny[0] in tier twill:deny-precedence denies TCP/5432 from dev/tool to production/database');
    expect(check(flow('production/frontend', 'production/database', 5432)).ingress?.decidedBy?.policy.name).toBe('first.allow-all');
  });

  it('a Calico GlobalNetworkPolicy default-deny with Kubernetes allows: allows add up, the rest is denied', () => {
    // Kubernetes policies sit at order 1000; default-deny has no order, so it comes last.
    const check = clusterWith(`${DEFAULT_DENY}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: production}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: api-server}}}], ports: [{port: 8080}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: production}
spec:
  podSelector: {matchLabels: {app: api-server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}]}]`);
    expect(check(flow('production/frontend', 'production/api-server', 8080)).allowed).toBe(true);
    const other = check(flow('production/frontend', 'production/api-server', 9090));
    expect(other.egress?.message).toBe('production/frontend is isolated for egress by NetworkPolicy production/web-egress, GlobalNetworkPolicy default-deny; no rule allowed TCP/9090 to production/api-server');
    expect(check(flow('production/database', 'production/api-server', 8080)).allowed).toBe(false);
  });
});

function clusterInput(): { namespaces: typeof NAMESPACES; endpoints: typeof ENDPOINTS } {
  return { namespaces: NAMESPACES, endpoints: ENDPOINTS };
}
