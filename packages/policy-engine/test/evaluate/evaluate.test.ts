import { describe, expect, it } from 'vitest';

import {
  createSnapshot,
  evaluate,
  FlowError,
  labelEquals,
  SnapshotError,
  type Flow,
  type Policy,
  type Rule,
  type SnapshotInput,
} from '@twill/policy-engine';

import { ENDPOINTS, KUBE_API_SERVER, NETWORK_SETS } from './world.js';

const snapshot = (policies: Policy[], extra: Partial<SnapshotInput> = {}) =>
  createSnapshot({ endpoints: ENDPOINTS, networkSets: NETWORK_SETS, kubeApiServer: KUBE_API_SERVER, policies, ...extra });

const app = (name: string) => labelEquals('app', name);
const pod = (namespace: string, name: string) => ({ endpoint: { namespace, name } });
const tcp = (source: Flow['source'], destination: Flow['destination'], port: number): Flow => ({ source, destination, protocol: 'TCP', destinationPort: port });

function policy(name: string, rules: Rule[], extra: Partial<Policy> = {}): Policy {
  return {
    ref: { dialect: 'calico', kind: 'GlobalNetworkPolicy', name },
    tier: 'default',
    subject: app('db'),
    ingress: { rules, isolates: true },
    ...extra,
  };
}

const rule = (action: Rule['action'], index: number, extra: Partial<Rule> = {}): Rule => ({ action, origin: { path: `spec.ingress[${index}]` }, ...extra });

describe('evaluate: defaults and traces', () => {
  it('allows what no policy selects, and says so', () => {
    const verdict = evaluate(tcp(pod('prod', 'web'), pod('prod', 'db'), 5432), snapshot([]));
    expect(verdict.allowed).toBe(true);
    expect(verdict.explanation).toBe('no policy selects prod/web for egress; TCP/5432 to prod/db is allowed by default; no policy selects prod/db for ingress; TCP/5432 from prod/web is allowed by default');
  });

  it('names the isolating policy when nothing allowed', () => {
    const verdict = evaluate(tcp(pod('prod', 'web'), pod('prod', 'db'), 5432), snapshot([policy('db-only-api', [rule('allow', 0, { source: { peer: { kind: 'selector', selector: app('api') } } })])]));
    expect(verdict.ingress).toMatchObject({ allowed: false, reason: 'isolated', isolatedBy: [{ kind: 'GlobalNetworkPolicy', name: 'db-only-api' }] });
    expect(verdict.ingress?.message).toBe('prod/db is isolated for ingress by GlobalNetworkPolicy db-only-api; no rule allowed TCP/5432 from prod/web');
  });

  it('names the policy and rule that decided', () => {
    const verdict = evaluate(tcp(pod('prod', 'api'), pod('prod', 'db'), 5432), snapshot([policy('db-only-api', [rule('allow', 0, { source: { peer: { kind: 'selector', selector: app('api') } } })])]));
    expect(verdict.ingress?.decidedBy).toEqual({ policy: { dialect: 'calico', kind: 'GlobalNetworkPolicy', name: 'db-only-api' }, tier: 'default', ruleIndex: 0, origin: { path: 'spec.ingress[0]' }, action: 'allow' });
    expect(verdict.ingress?.message).toBe('GlobalNetworkPolicy db-only-api rule spec.ingress[0] allows TCP/5432 from prod/api to prod/db');
    expect(verdict.destination.identity).toBeGreaterThanOrEqual(256);
  });
});

describe('evaluate: tiers, order, Pass and Log', () => {
  const tiers = [{ name: 'security', order: 100, defaultAction: 'deny' as const }];

  it('lets an earlier tier decide before the default tier', () => {
    const deny = policy('block-dev', [rule('deny', 0, { source: { peer: { kind: 'selector', selector: { kind: 'in-namespace', namespace: 'dev' } } } })], { tier: 'security', subject: { kind: 'all' } });
    const allow = policy('allow-all', [rule('allow', 0)]);
    const verdict = evaluate(tcp(pod('dev', 'tool'), pod('prod', 'db'), 5432), snapshot([allow, deny], { tiers }));
    expect(verdict.ingress?.decidedBy?.policy.name).toBe('block-dev');
    expect(verdict.ingress?.message).toBe('GlobalNetworkPolicy block-dev rule spec.ingress[0] in tier security denies TCP/5432 from dev/tool to prod/db');
  });

  it('Pass skips to the next tier; Log records and continues', () => {
    const pass = policy('pass-prod', [rule('log', 0), rule('pass', 1)], { tier: 'security', subject: { kind: 'all' } });
    const allow = policy('allow-all', [rule('allow', 0)]);
    const verdict = evaluate(tcp(pod('prod', 'web'), pod('prod', 'db'), 5432), snapshot([pass, allow], { tiers }));
    expect(verdict.ingress?.passedThrough.map((h) => h.action)).toEqual(['log', 'pass']);
    expect(verdict.ingress?.decidedBy?.policy.name).toBe('allow-all');
  });

  it('a tier that selects but does not match denies at its end; a pass tier does not', () => {
    const selectOnly = policy('nothing-matches', [rule('allow', 0, { protocol: 17 })], { tier: 'security', subject: { kind: 'all' } });
    expect(evaluate(tcp(pod('prod', 'web'), pod('prod', 'db'), 5432), snapshot([selectOnly], { tiers })).ingress?.reason).toBe('isolated');
    const passTiers = [{ name: 'security', order: 100, defaultAction: 'pass' as const }];
    const verdict = evaluate(tcp(pod('prod', 'web'), pod('prod', 'db'), 5432), snapshot([selectOnly], { tiers: passTiers }));
    expect(verdict.ingress).toMatchObject({ allowed: true, reason: 'passed' });
  });

  it('orders policies by order, absent last, ties by name', () => {
    const a = policy('a-deny', [rule('deny', 0)]);
    const b = policy('b-allow', [rule('allow', 0)], { order: 10 });
    const c = policy('c-deny', [rule('deny', 0)], { order: 10 });
    expect(evaluate(tcp(pod('prod', 'web'), pod('prod', 'db'), 1), snapshot([a, c, b])).ingress?.decidedBy?.policy.name).toBe('b-allow');
  });

  it('refuses an unknown tier and the reserved tier name', () => {
    expect(() => snapshot([policy('p', [], { tier: 'nope' })])).toThrow(SnapshotError);
    expect(() => snapshot([], { tiers: [{ name: 'twill:deny-precedence', defaultAction: 'deny' }] })).toThrow(/reserved/);
  });
});

describe('evaluate: Cilium deny precedence and L7', () => {
  const l7 = { kind: 'http' as const, rules: [{ method: 'GET', path: { kind: 'regex' as const, value: '/api/v1/.*' } }] };
  const cilium = (name: string, tier: string, rules: Rule[], isolates = true): Policy => ({
    ref: { dialect: 'cilium', kind: 'CiliumNetworkPolicy', namespace: 'prod', name },
    tier,
    order: 1000,
    subject: app('web'),
    ingress: { rules, isolates },
  });

  it('a deny in the deny-precedence tier beats an allow in an earlier-ordered tier', () => {
    const early = policy('allow-everything', [rule('allow', 0)], { tier: 'security', subject: { kind: 'all' } });
    const deny = cilium('no-dev', 'twill:deny-precedence', [rule('deny', 0, { source: { peer: { kind: 'selector', selector: { kind: 'in-namespace', namespace: 'dev' } } } })], false);
    const snap = snapshot([early, deny], { tiers: [{ name: 'security', order: -5, defaultAction: 'deny' }] });
    expect(evaluate(tcp(pod('dev', 'tool'), pod('prod', 'web'), 8080), snap).ingress?.decidedBy?.policy.name).toBe('no-dev');
    expect(evaluate(tcp(pod('prod', 'api'), pod('prod', 'web'), 8080), snap).ingress?.decidedBy?.policy.name).toBe('allow-everything');
  });

  it('returns L7 rules of the allowing rule', () => {
    const verdict = evaluate(tcp(pod('prod', 'api'), pod('prod', 'web'), 8080), snapshot([cilium('l7', 'default', [rule('allow', 0, { protocol: 6, destination: { ports: [{ kind: 'range', first: 8080, last: 8080 }] }, l7 })])]));
    expect(verdict.allowed).toBe(true);
    expect(verdict.l7).toEqual([{ direction: 'ingress', rules: l7 }]);
  });

  it('drops L7 rules when another allow of equal order allows without them', () => {
    const withL7 = cilium('a-l7', 'default', [rule('allow', 0, { l7 })]);
    const plain: Policy = { ...cilium('b-plain', 'default', [rule('allow', 0)]), ref: { dialect: 'kubernetes', kind: 'NetworkPolicy', namespace: 'prod', name: 'b-plain' } };
    expect(evaluate(tcp(pod('prod', 'api'), pod('prod', 'web'), 8080), snapshot([withL7, plain])).l7).toEqual([]);
  });

  it('matches entities from the enforcing endpoint’s point of view', () => {
    const fromHost = cilium('from-host', 'default', [rule('allow', 0, { source: { peer: { kind: 'entity', entities: ['host', 'health', 'kube-apiserver'] } } })]);
    const snap = snapshot([fromHost]);
    expect(evaluate(tcp({ endpoint: { name: 'n1' } }, pod('prod', 'web'), 80), snap).allowed).toBe(true);
    expect(evaluate(tcp({ endpoint: { name: 'n2' } }, pod('prod', 'web'), 80), snap).allowed).toBe(false);
    expect(evaluate(tcp(pod('kube-system', 'health'), pod('prod', 'web'), 80), snap).allowed).toBe(true);
    expect(evaluate(tcp({ ip: '172.16.0.1' }, pod('prod', 'web'), 80), snap).allowed).toBe(true);
    const world = evaluate(tcp({ ip: '8.8.8.8' }, pod('prod', 'web'), 80), snap);
    expect(world.allowed).toBe(false);
    expect(world.source.identity).toBe(2);
    expect(evaluate(tcp({ endpoint: { name: 'n2' } }, pod('prod', 'web'), 80), snap).source.identity).toBe(6);
  });
});

describe('evaluate: matching details', () => {
  const only = (extra: Partial<Rule>) => snapshot([policy('p', [rule('allow', 0, extra)], { subject: app('web') })]);

  it('selects network sets by label for addresses in them', () => {
    const snap = only({ source: { peer: { kind: 'selector', selector: labelEquals('role', 'partner') } } });
    expect(evaluate(tcp({ ip: '203.0.113.7' }, pod('prod', 'web'), 443), snap).allowed).toBe(true);
    expect(evaluate(tcp({ ip: '198.51.100.7' }, pod('prod', 'web'), 443), snap).allowed).toBe(false);
  });

  it('matches CIDRs with except, IPv6 included, by the address in use', () => {
    const snap = only({ source: { peer: { kind: 'cidr', cidrs: ['10.0.0.0/24', 'fd00::/64'], except: ['10.0.0.2/32'] } } });
    expect(evaluate(tcp(pod('prod', 'api'), pod('prod', 'web'), 1), snap).allowed).toBe(false);
    expect(evaluate(tcp({ endpoint: { namespace: 'prod', name: 'api' }, ip: 'fd00::2' }, pod('prod', 'web'), 1), snap).allowed).toBe(true);
    expect(evaluate(tcp({ ip: '10.0.0.3' }, pod('prod', 'web'), 1), snap).source.endpoint).toEqual({ namespace: 'prod', name: 'db' });
  });

  it('resolves named ports on the destination endpoint, for the flow’s protocol', () => {
    const snap = only({ destination: { ports: [{ kind: 'named', name: 'http' }] } });
    expect(evaluate(tcp(pod('prod', 'api'), pod('prod', 'web'), 8080), snap).allowed).toBe(true);
    expect(evaluate({ ...tcp(pod('prod', 'api'), pod('prod', 'web'), 8080), protocol: 'UDP' }, snap).allowed).toBe(false);
  });

  it('supports notPorts, source ports, notProtocol and ICMP', () => {
    const notPorts = only({ destination: { ports: [{ kind: 'range', first: 1, last: 1024 }], notPorts: [{ kind: 'range', first: 22, last: 22 }] } });
    expect(evaluate(tcp(pod('prod', 'api'), pod('prod', 'web'), 80), notPorts).allowed).toBe(true);
    expect(evaluate(tcp(pod('prod', 'api'), pod('prod', 'web'), 22), notPorts).allowed).toBe(false);
    const sourcePort = only({ source: { ports: [{ kind: 'range', first: 53, last: 53 }] } });
    expect(evaluate({ ...tcp(pod('prod', 'api'), pod('prod', 'web'), 9), sourcePort: 53 }, sourcePort).allowed).toBe(true);
    expect(evaluate({ ...tcp(pod('prod', 'api'), pod('prod', 'web'), 9), sourcePort: 54 }, sourcePort).allowed).toBe(false);
    const notTcp = only({ notProtocol: 6 });
    expect(evaluate({ ...tcp(pod('prod', 'api'), pod('prod', 'web'), 9), protocol: 17 }, notTcp).allowed).toBe(true);
    const ping = only({ protocol: 1, icmp: { type: 8 } });
    const echo: Flow = { source: pod('prod', 'api'), destination: pod('prod', 'web'), protocol: 'ICMP', icmp: { type: 8, code: 0 } };
    expect(evaluate(echo, ping).allowed).toBe(true);
    expect(evaluate({ ...echo, icmp: { type: 13 } }, ping).allowed).toBe(false);
    expect(evaluate({ ...echo, icmp: { type: 13 } }, ping).ingress?.message).toBe('prod/web is isolated for ingress by GlobalNetworkPolicy p; no rule allowed ICMP type 13 from prod/api');
  });

  it('evaluates only the direction asked for', () => {
    const snap = only({ protocol: 17 });
    expect(evaluate({ ...tcp(pod('prod', 'api'), pod('prod', 'web'), 80), direction: 'egress' }, snap).allowed).toBe(true);
    expect(evaluate({ ...tcp(pod('prod', 'api'), pod('prod', 'web'), 80), direction: 'ingress' }, snap).allowed).toBe(false);
  });

  it('refuses flows it cannot resolve', () => {
    const snap = snapshot([]);
    expect(() => evaluate(tcp(pod('prod', 'nope'), pod('prod', 'web'), 80), snap)).toThrow(FlowError);
    expect(() => evaluate(tcp({ ip: '10.1' }, pod('prod', 'web'), 80), snap)).toThrow('source.ip: invalid IP address "10.1"');
    expect(() => evaluate(tcp({ endpoint: { namespace: 'prod', name: 'web' }, ip: '10.0.0.2' }, pod('prod', 'web'), 80), snap)).toThrow(/not an address of prod\/web/);
    expect(() => evaluate({ ...tcp(pod('prod', 'web'), pod('prod', 'web'), 80), protocol: 'HTTP' }, snap)).toThrow('protocol: unknown protocol "HTTP"');
  });

  it('refuses contradictory snapshots', () => {
    expect(() => createSnapshot({ endpoints: [...ENDPOINTS, { kind: 'workload', namespace: 'x', name: 'dup', labels: {}, ips: ['10.0.0.1'] }] })).toThrow('endpoints[7].ips: 10.0.0.1 is also prod/web\'s');
    expect(() => createSnapshot({ endpoints: [{ kind: 'workload', name: 'a', labels: {}, ips: [] }] })).toThrow('endpoints[0].namespace: a workload needs a namespace');
  });
});
