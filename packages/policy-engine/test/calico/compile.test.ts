// Calico → IR: every rule feature compiled and evaluated on the small cluster.

import { describe, expect, it } from 'vitest';

import { CalicoError, compileCalicoPolicy, parseCalicoDocument, type CalicoPolicy } from '@twill/policy-engine';
import { parse } from 'yaml';

import { clusterWith, flow, icmpFlow } from './cluster.js';

const np = (spec: string, name = 'p', namespace = 'production'): string =>
  `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}`;
const gnp = (spec: string, name = 'g'): string => `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec:\n${spec}`;

describe('Calico policy selection', () => {
  it('scopes a NetworkPolicy to its namespace and a GlobalNetworkPolicy to everything', () => {
    const check = clusterWith(np('  selector: app == "frontend"\n  types: [Ingress]'));
    expect(check(flow('dev/tool', 'production/frontend', 80)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'default/frontend', 80)).allowed).toBe(true);
    const global = clusterWith(gnp('  selector: app == "frontend"\n  types: [Ingress]'));
    expect(global(flow('dev/tool', 'default/frontend', 80)).ingress?.message)
      .toBe('default/frontend is isolated for ingress by GlobalNetworkPolicy g; no rule allowed TCP/80 from dev/tool');
  });

  it('applies a GlobalNetworkPolicy namespaceSelector and serviceAccountSelector', () => {
    const check = clusterWith(gnp('  namespaceSelector: env == "prod"\n  serviceAccountSelector: role == "backend"\n  types: [Ingress]'));
    expect(check(flow('dev/tool', 'production/api-server', 80)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'production/database', 80)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'production/frontend', 80)).allowed).toBe(true);
    expect(check(flow('production/api-server', 'dev/tool', 80)).allowed).toBe(true);
  });

  it('selects host endpoints with a global policy only', () => {
    const check = clusterWith(gnp('  selector: node-role == "worker"\n  types: [Ingress]'));
    expect(check(flow('dev/tool', 'host:n1', 22)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'host:n2', 22)).allowed).toBe(true);
  });
});

describe('Calico rules', () => {
  it('scopes rule selectors to the policy namespace, or to namespaceSelector, or to global()', () => {
    const check = clusterWith(np(`  selector: app == "database"
  ingress:
  - action: Allow
    source: {selector: app == "frontend"}
  - action: Allow
    source: {namespaceSelector: env == "dev"}
  - action: Allow
    source: {namespaceSelector: global()}`));
    expect(check(flow('production/frontend', 'production/database', 5432)).ingress?.allowed).toBe(true);
    expect(check(flow('default/frontend', 'production/database', 5432)).ingress?.allowed).toBe(false);
    expect(check(flow('dev/tool', 'production/database', 5432)).ingress?.decidedBy?.origin.path).toBe('spec.ingress[1]');
    expect(check(flow('host:n1', 'production/database', 5432)).ingress?.decidedBy?.origin.path).toBe('spec.ingress[2]');
  });

  it('keeps notSelector unscoped but scopes the rest of the side to the namespace', () => {
    const check = clusterWith(np('  selector: app == "database"\n  ingress:\n  - action: Allow\n    source: {notSelector: app == "frontend"}'));
    expect(check(flow('production/api-server', 'production/database', 1)).allowed).toBe(true);
    expect(check(flow('production/frontend', 'production/database', 1)).allowed).toBe(false);
    // Another namespace's pod matches no side selector scoped to production.
    expect(check(flow('dev/tool', 'production/database', 1)).allowed).toBe(false);
    // A side with only nets matches any address, in or out of the namespace.
    const nets = clusterWith(np('  selector: app == "database"\n  ingress:\n  - action: Allow\n    source: {nets: [10.0.2.0/24]}'));
    expect(nets(flow('dev/tool', 'production/database', 1)).allowed).toBe(true);
  });

  it('matches nets and notNets, and network sets by their labels', () => {
    const check = clusterWith(`${np('  selector: app == "database"\n  ingress:\n  - action: Allow\n    source: {nets: [203.0.113.0/24], notNets: [203.0.113.128/25]}\n  - action: Allow\n    source: {selector: partner == "acme"}')}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: acme, namespace: production, labels: {partner: acme}}
spec: {nets: [198.51.100.0/24]}`);
    expect(check(flow('203.0.113.5', 'production/database', 1)).allowed).toBe(true);
    expect(check(flow('203.0.113.200', 'production/database', 1)).allowed).toBe(false);
    expect(check(flow('198.51.100.7', 'production/database', 1)).ingress?.decidedBy?.origin.path).toBe('spec.ingress[1]');
    expect(check(flow('192.0.2.1', 'production/database', 1)).allowed).toBe(false);
  });

  it('matches global network sets with namespaceSelector global()', () => {
    const check = clusterWith(`${gnp('  selector: all()\n  types: [Egress]\n  egress:\n  - action: Deny\n    destination: {namespaceSelector: global(), selector: threat == "bad"}\n  - action: Allow')}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: feed, labels: {threat: bad}}
spec: {nets: [192.0.2.0/24]}`);
    expect(check(flow('production/frontend', '192.0.2.9', 443)).allowed).toBe(false);
    expect(check(flow('production/frontend', '8.8.8.8', 443)).allowed).toBe(true);
  });

  it('matches protocol, notProtocol, ports, ranges, named ports and notPorts', () => {
    const check = clusterWith(np(`  selector: app == "api-server"
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: ["9000:9100", http], notPorts: [9050]}
  - action: Allow
    notProtocol: TCP
    source: {selector: app == "frontend"}`));
    expect(check(flow('dev/tool', 'production/api-server', 9001)).allowed).toBe(true);
    expect(check(flow('dev/tool', 'production/api-server', 9050)).allowed).toBe(false);
    expect(check(flow('dev/tool', 'production/api-server', 8080)).allowed).toBe(true);
    expect(check(flow('dev/tool', 'production/api-server', 8080, 'UDP')).allowed).toBe(false);
    expect(check(flow('production/frontend', 'production/api-server', 53, 'UDP')).allowed).toBe(true);
    expect(check(flow('production/frontend', 'production/api-server', 53, 'TCP')).allowed).toBe(false);
  });

  it('matches icmp and notICMP, and ipVersion', () => {
    const check = clusterWith(np(`  selector: app == "database"
  ingress:
  - action: Allow
    protocol: ICMP
    icmp: {type: 8}
  - action: Allow
    protocol: ICMP
    notICMP: {type: 13}
    source: {selector: app == "frontend"}
  - action: Allow
    ipVersion: 6`));
    expect(check(icmpFlow('dev/tool', 'production/database', 8)).allowed).toBe(true);
    expect(check(icmpFlow('dev/tool', 'production/database', 0)).allowed).toBe(false);
    expect(check(icmpFlow('production/frontend', 'production/database', 0)).allowed).toBe(true);
    expect(check(icmpFlow('production/frontend', 'production/database', 13)).allowed).toBe(false);
  });

  it('matches serviceAccounts by name and by labels', () => {
    const check = clusterWith(np(`  selector: app == "database"
  ingress:
  - action: Allow
    source: {serviceAccounts: {names: [web]}}
  - action: Allow
    source: {serviceAccounts: {selector: role == "backend"}}`));
    expect(check(flow('production/frontend', 'production/database', 5432)).ingress?.decidedBy?.origin.path).toBe('spec.ingress[0]');
    expect(check(flow('production/api-server', 'production/database', 5432)).ingress?.decidedBy?.origin.path).toBe('spec.ingress[1]');
    expect(check(flow('dev/tool', 'production/database', 5432)).allowed).toBe(false);
  });

  it('records Log, ends on Deny, and keeps http as L7 data', () => {
    const check = clusterWith(np(`  selector: app == "api-server"
  ingress:
  - action: Log
  - action: Deny
    source: {selector: app == "database"}
  - action: Allow
    protocol: TCP
    http:
      methods: [GET, HEAD]
      paths: [{exact: /healthz}, {prefix: /api/}]`));
    const denied = check(flow('production/database', 'production/api-server', 8080));
    expect(denied.ingress?.passedThrough.map((h) => h.action)).toEqual(['log']);
    expect(denied.ingress?.message).toBe('NetworkPolicy production/p rule spec.ingress[1] denies TCP/8080 from production/database to production/api-server');
    const allowed = check(flow('production/frontend', 'production/api-server', 8080));
    expect(allowed.l7).toEqual([{ direction: 'ingress', rules: { kind: 'http', rules: [
      { method: 'GET', path: { kind: 'exact', value: '/healthz' } },
      { method: 'GET', path: { kind: 'prefix', value: '/api/' } },
      { method: 'HEAD', path: { kind: 'exact', value: '/healthz' } },
      { method: 'HEAD', path: { kind: 'prefix', value: '/api/' } },
    ] } }]);
  });

  it('orders policies by order (absent last), then by name', () => {
    const check = clusterWith(`${np('  order: 20\n  selector: all()\n  ingress: [{action: Allow}]', 'b')}
---
${np('  order: 10\n  selector: all()\n  ingress: [{action: Deny}]', 'z')}
---
${np('  selector: all()\n  ingress: [{action: Allow}]', 'a')}`);
    expect(check(flow('dev/tool', 'production/database', 1)).ingress?.decidedBy?.policy.name).toBe('z');
  });
});

describe('Calico tiers', () => {
  const tiers = `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 200, defaultAction: Pass}
---
`;

  it('evaluates tiers by order; a tier ends in its default action; Pass goes on to the next tier', () => {
    const check = clusterWith(`${tiers}${gnp('  tier: security\n  selector: all()\n  ingress:\n  - action: Deny\n    source: {selector: app == "tool"}\n  - action: Pass', 'security.quarantine')}
---
${gnp('  tier: platform\n  selector: app == "database"\n  ingress:\n  - action: Allow\n    source: {selector: app == "frontend"}', 'platform.db')}`);
    expect(check(flow('dev/tool', 'production/database', 1)).ingress?.message)
      .toBe('GlobalNetworkPolicy security.quarantine rule spec.ingress[0] in tier security denies TCP/1 from dev/tool to production/database');
    expect(check(flow('production/frontend', 'production/database', 1)).ingress?.decidedBy?.tier).toBe('platform');
    // The platform tier passes what it does not match (defaultAction Pass), and no later tier isolates.
    expect(check(flow('production/api-server', 'production/database', 1)).ingress?.reason).toBe('passed');
  });

  it('denies at the end of a tier whose default action is Deny', () => {
    const check = clusterWith(`${tiers}${gnp('  tier: security\n  selector: app == "database"\n  ingress:\n  - action: Allow\n    source: {selector: app == "frontend"}', 'security.db')}`);
    const verdict = check(flow('production/api-server', 'production/database', 1));
    expect(verdict.ingress?.message).toBe('production/database is isolated for ingress by GlobalNetworkPolicy security.db in tier security; no rule allowed TCP/1 from production/api-server');
  });
});

describe('what the IR cannot express yet', () => {
  it('refuses services matches at compile time, naming the field', () => {
    const policy = parseCalicoDocument(parse(np('  egress:\n  - action: Allow\n    destination: {services: {name: db}}'))) as CalicoPolicy;
    expect(() => compileCalicoPolicy(policy)).toThrow(CalicoError);
    expect(() => compileCalicoPolicy(policy)).toThrow('spec.egress[0].destination.services: service matches are not supported yet');
  });
});
