// Lint fixtures: each finding kind with its exact message, and policies that must
// produce no finding.

import { describe, expect, it } from 'vitest';

import {
  compileNetworkPolicy,
  createSnapshot,
  DENY_PRECEDENCE_TIER,
  labelEquals,
  parseNetworkPolicy,
  PROTOCOL,
  type Policy,
  type Rule,
  type Selector,
} from '@twill/policy-engine';

import { lintPolicies, type LintFinding } from '../../src/lint/lint.js';

const rule = (action: Rule['action'], index: number, extra: Partial<Rule> = {}): Rule => ({ action, origin: { path: `spec.ingress[${index}]` }, ...extra });
const from = (selector: Selector) => ({ peer: { kind: 'selector' as const, selector } });
const fromNets = (cidrs: string[], except?: string[]) => ({ peer: { kind: 'cidr' as const, cidrs, ...(except === undefined ? {} : { except }) } });
const toPorts = (first: number, last = first) => ({ ports: [{ kind: 'range' as const, first, last }] });

function gnp(name: string, rules: Rule[], extra: Partial<Policy> = {}): Policy {
  return { ref: { dialect: 'calico', kind: 'GlobalNetworkPolicy', name }, tier: 'default', order: 100, subject: labelEquals('app', 'db'), ingress: { rules, isolates: true }, ...extra };
}

const messages = (findings: LintFinding[]) => findings.map((f) => `${f.kind} | ${f.path ?? '-'} | ${f.message}`);

describe('lint: rules that can never match', () => {
  const cases: { name: string; rule: Rule; message: string }[] = [
    { name: 'except covering the whole cidr', rule: rule('allow', 0, { source: fromNets(['10.0.0.0/24'], ['10.0.0.0/16']) }), message: 'source: except 10.0.0.0/16 covers every CIDR of 10.0.0.0/24' },
    { name: 'notPorts covering ports', rule: rule('allow', 0, { protocol: PROTOCOL.TCP, destination: { ...toPorts(80, 90), notPorts: [{ kind: 'range', first: 1, last: 1024 }] } }), message: 'destination.notPorts exclude every port of destination.ports' },
    { name: 'contradictory selector', rule: rule('allow', 0, { source: from({ kind: 'and', of: [labelEquals('app', 'a'), labelEquals('app', 'b')] }) }), message: 'source: selector app == "a" && app == "b" can match nothing: no value of label app satisfies every test' },
    { name: 'has and !has', rule: rule('deny', 0, { source: from({ kind: 'and', of: [{ kind: 'exists', key: 'x' }, { kind: 'not', of: { kind: 'exists', key: 'x' } }] }) }), message: 'source: selector has(x) && !has(x) can match nothing: label x must be both present and absent' },
    { name: 'two namespaces at once', rule: rule('allow', 0, { source: from({ kind: 'and', of: [{ kind: 'in-namespace', namespace: 'a' }, { kind: 'in-namespace', namespace: 'b' }] }) }), message: 'source: selector namespace == "a" && namespace == "b" can match nothing: a subject cannot be in namespaces a and b at once' },
    { name: 'protocol equal to notProtocol', rule: rule('allow', 0, { protocol: PROTOCOL.UDP, notProtocol: PROTOCOL.UDP }), message: 'protocol UDP is also its notProtocol' },
    { name: 'ports on ICMP', rule: rule('allow', 0, { protocol: PROTOCOL.ICMP, destination: toPorts(80) }), message: 'destination.ports need TCP, UDP, SCTP or UDPLite, but the protocol is ICMP' },
    { name: 'icmp on TCP', rule: rule('allow', 0, { protocol: PROTOCOL.TCP, icmp: { type: 8 } }), message: 'icmp needs protocol ICMP or ICMPv6, but the protocol is TCP' },
    { name: 'notIcmp covering icmp', rule: rule('allow', 0, { protocol: PROTOCOL.ICMP, icmp: { type: 8, code: 0 }, notIcmp: { type: 8 } }), message: 'notIcmp excludes every ICMP message icmp matches' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(messages(lintPolicies({ policies: [gnp('p', [c.rule])] }))).toEqual([`never-matches | spec.ingress[0] | GlobalNetworkPolicy p rule spec.ingress[0] can never match: ${c.message}`]);
    });
  }
});

describe('lint: shadowed rules', () => {
  it('in the same policy', () => {
    const policy = gnp('p', [rule('allow', 0, { source: fromNets(['10.0.0.0/8']) }), rule('deny', 1, { protocol: PROTOCOL.TCP, source: fromNets(['10.1.0.0/16']), destination: toPorts(443) })]);
    expect(messages(lintPolicies({ policies: [policy] }))).toEqual([
      'shadowed | spec.ingress[1] | GlobalNetworkPolicy p rule spec.ingress[1] is shadowed by GlobalNetworkPolicy p rule spec.ingress[0] (allow), which matches every flow it matches',
    ]);
  });

  it('across policies of a tier, by order, when the earlier subject covers the later', () => {
    const early = gnp('a-early', [rule('pass', 0, { source: from(labelEquals('team', 'ops')) })], { order: 10, subject: { kind: 'all' } });
    const late = gnp('b-late', [rule('allow', 0, { source: from({ kind: 'and', of: [labelEquals('team', 'ops'), labelEquals('role', 'admin')] }) })], { order: 20 });
    const findings = lintPolicies({ policies: [late, early] });
    expect(messages(findings)).toEqual([
      'shadowed | spec.ingress[0] | GlobalNetworkPolicy b-late rule spec.ingress[0] is shadowed by GlobalNetworkPolicy a-early rule spec.ingress[0] (pass), which matches every flow it matches',
    ]);
    expect(findings[0]?.related).toEqual({ policy: early.ref, path: 'spec.ingress[0]' });
  });

  it('Kubernetes rules split per peer and port keep their part in the path', () => {
    const policy = compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'web', namespace: 'x' },
      spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }, { from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 80 }] }] },
    }));
    expect(messages(lintPolicies({ policies: [policy] }))).toEqual([
      'shadowed | spec.ingress[1] (from[0], ports[0]) | NetworkPolicy x/web rule spec.ingress[1] (from[0], ports[0]) is shadowed by NetworkPolicy x/web rule spec.ingress[0] (ports[0]) (allow), which matches every flow it matches',
    ]);
  });
});

describe('lint: policies that select nothing', () => {
  it('given a snapshot', () => {
    const snapshot = createSnapshot({ endpoints: [{ kind: 'workload', namespace: 'x', name: 'a', labels: { app: 'web' }, ips: ['10.0.0.1'] }] });
    expect(messages(lintPolicies({ policies: [gnp('p', [rule('allow', 0)])], snapshot }))).toEqual([
      'selects-nothing | - | GlobalNetworkPolicy p selects no endpoint: app == "db" matches none of the 1 endpoints',
    ]);
  });

  it('without a snapshot, when the subject contradicts itself', () => {
    const policy = gnp('p', [rule('allow', 0)], { subject: { kind: 'and', of: [labelEquals('app', 'db'), { kind: 'not', of: { kind: 'in', key: 'app', values: ['db', 'web'] } }] } });
    expect(messages(lintPolicies({ policies: [policy] }))).toEqual([
      'selects-nothing | - | GlobalNetworkPolicy p selects nothing: its subject app == "db" && app not in {"db", "web"} can match nothing (no value of label app satisfies every test)',
    ]);
  });
});

describe('lint: allow and deny overlapping', () => {
  it('a Cilium deny against a Kubernetes allow: the deny tier comes first', () => {
    const deny: Policy = {
      ref: { dialect: 'cilium', kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'no-10-1' }, tier: DENY_PRECEDENCE_TIER.name, order: 1000, subject: { kind: 'all' },
      ingress: { rules: [{ action: 'deny', source: fromNets(['10.1.0.0/16']), origin: { path: 'spec.ingressDeny[0]' } }], isolates: false },
    };
    const allow = compileNetworkPolicy(parseNetworkPolicy({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'web', namespace: 'x' },
      spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] },
    }));
    expect(messages(lintPolicies({ policies: [allow, deny] }))).toEqual([
      'allow-deny-overlap | spec.ingress[0] (from[0]) | NetworkPolicy x/web rule spec.ingress[0] (from[0]) (allow) overlaps CiliumNetworkPolicy x/no-10-1 rule spec.ingressDeny[0] (deny), which comes first and decides the flows both match',
    ]);
  });

  it('a partial overlap in one policy', () => {
    const policy = gnp('p', [rule('deny', 0, { protocol: PROTOCOL.TCP, destination: toPorts(80, 90) }), rule('allow', 1, { protocol: PROTOCOL.TCP, destination: toPorts(85, 100) })]);
    expect(messages(lintPolicies({ policies: [policy] }))).toEqual([
      'allow-deny-overlap | spec.ingress[1] | GlobalNetworkPolicy p rule spec.ingress[1] (allow) overlaps GlobalNetworkPolicy p rule spec.ingress[0] (deny), which comes first and decides the flows both match',
    ]);
  });
});

describe('lint: no finding', () => {
  const clean: { name: string; policies: Policy[] }[] = [
    { name: 'an allow after a narrower deny on other ports', policies: [gnp('p', [rule('deny', 0, { protocol: PROTOCOL.TCP, destination: toPorts(22) }), rule('allow', 1, { protocol: PROTOCOL.TCP, destination: toPorts(80) })])] },
    { name: 'a narrower rule before a wider one', policies: [gnp('p', [rule('allow', 0, { source: fromNets(['10.1.0.0/16']) }), rule('allow', 1, { source: fromNets(['10.0.0.0/8']) })])] },
    { name: 'an except that leaves part of the cidr', policies: [gnp('p', [rule('allow', 0, { source: fromNets(['10.0.0.0/16'], ['10.0.1.0/24']) })])] },
    { name: 'notPorts that leave some ports', policies: [gnp('p', [rule('allow', 0, { protocol: PROTOCOL.TCP, destination: { ...toPorts(80, 90), notPorts: [{ kind: 'range', first: 85, last: 85 }] } })])] },
    { name: 'a deny and an allow on disjoint selectors', policies: [gnp('p', [rule('deny', 0, { source: from(labelEquals('app', 'a')) }), rule('allow', 1, { source: from(labelEquals('app', 'b')) })])] },
    { name: 'the same rule in policies whose subjects differ', policies: [gnp('p', [rule('allow', 0, { protocol: PROTOCOL.TCP })]), gnp('q', [rule('allow', 0, { protocol: PROTOCOL.TCP })], { subject: labelEquals('app', 'web') })] },
    { name: 'a Log rule before the same Allow', policies: [gnp('p', [rule('log', 0), rule('allow', 1)])] },
    { name: 'the seed\'s Kubernetes default deny', policies: [compileNetworkPolicy(parseNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'x' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }))] },
  ];
  for (const c of clean) {
    it(c.name, () => {
      expect(lintPolicies({ policies: c.policies })).toEqual([]);
    });
  }
});
