import { describe, expect, it } from 'vitest';

import {
  createCalicoPolicyComparator,
  evaluateSelector,
  parseCalicoDocument,
  printSelector,
  sortCalicoTiers,
  type CalicoDocument,
  type CalicoGlobalNetworkPolicy,
  type CalicoNetworkPolicy,
  type CalicoNetworkSet,
  type CalicoPolicy,
  type CalicoTier,
} from '../../src/calico/index.js';
import { loadFixture, validFixtureNames } from './fixtures.js';

function load(name: string): CalicoDocument[] {
  return loadFixture(name).map(parseCalicoDocument);
}

function only<T extends CalicoDocument>(name: string): T {
  const docs = load(name);
  expect(docs).toHaveLength(1);
  return docs[0] as T;
}

describe('valid fixtures', () => {
  it.each(validFixtureNames())('%s parses', (name) => {
    expect(load(name).length).toBeGreaterThan(0);
  });
});

describe('the seed tutorial policies', () => {
  it('reads allow-api-access with inferred types', () => {
    const p = only<CalicoNetworkPolicy>('seed-allow-api-access.yaml');
    expect(p.kind).toBe('NetworkPolicy');
    expect(p.namespace).toBe('production');
    expect(p.tier).toBe('default');
    expect(p.qualifiedName).toBe('default.allow-api-access');
    expect(p.order).toBeUndefined();
    expect(p.selector.ast).toEqual({ kind: 'eq', key: 'app', value: 'api-server' });
    // Calico: both ingress and egress rules present → [Ingress, Egress].
    expect(p.types).toEqual(['Ingress', 'Egress']);
    expect(p.typesInferred).toBe(true);
    expect(p.ingress).toHaveLength(1);
    const [ingress] = p.ingress;
    expect(ingress?.action).toBe('Allow');
    expect(ingress?.protocol).toEqual({ number: 6, name: 'TCP' });
    expect(ingress?.source.selector?.source).toBe('app == "frontend"');
    expect(ingress?.destination.ports).toEqual([{ kind: 'range', min: 8080, max: 8080 }]);
    expect(p.egress[0]?.destination.ports).toEqual([{ kind: 'range', min: 5432, max: 5432 }]);
    expect(p.egress[0]?.destination.selector?.ast).toEqual({ kind: 'eq', key: 'app', value: 'database' });
  });

  it('reads default-deny: all(), both types, no rules', () => {
    const p = only<CalicoGlobalNetworkPolicy>('seed-default-deny.yaml');
    expect(p.kind).toBe('GlobalNetworkPolicy');
    expect(p.selector.ast).toEqual({ kind: 'all' });
    expect(p.types).toEqual(['Ingress', 'Egress']);
    expect(p.typesInferred).toBe(false);
    expect(p.ingress).toEqual([]);
    expect(p.egress).toEqual([]);
    expect([p.doNotTrack, p.preDNAT, p.applyOnForward]).toEqual([false, false, false]);
    expect(p.metadata.namespace).toBeUndefined();
  });
});

describe('rule features', () => {
  const p = only<CalicoNetworkPolicy>('every-rule-feature.yaml');

  it('keeps metadata, order, selectors and hints', () => {
    expect(p.metadata.labels).toEqual({ team: 'payments' });
    expect(p.metadata.annotations).toEqual({ owner: 'payments@example.com' });
    expect(p.order).toBe(12.5);
    expect(printSelector(p.selector.ast)).toBe('role in {"api", "worker"} && !has(legacy)');
    expect(p.serviceAccountSelector?.ast).toEqual({ kind: 'startsWith', key: 'tier', value: 'back' });
    expect(p.performanceHints).toEqual(['AssumeNeededOnEveryNode']);
    expect(p.typesInferred).toBe(false);
  });

  it('reads Log with rule annotations, and HTTP, service accounts and port kinds', () => {
    const [log, http] = p.ingress;
    expect(log).toMatchObject({ action: 'Log', annotations: { why: 'audit everything' } });
    expect(http?.http).toEqual({
      methods: ['GET', 'HEAD'],
      paths: [
        { kind: 'exact', path: '/healthz' },
        { kind: 'prefix', path: '/api/v1/' },
      ],
    });
    expect(http?.source.serviceAccounts?.names).toEqual(['frontend', 'checkout']);
    expect(http?.source.serviceAccounts?.selector?.source).toBe('app == "web"');
    expect(http?.destination.ports).toEqual([
      { kind: 'range', min: 8080, max: 8080 },
      { kind: 'range', min: 9000, max: 9100 },
      { kind: 'named', name: 'http-metrics' },
    ]);
    expect(http?.destination.notPorts).toEqual([{ kind: 'range', min: 9050, max: 9050 }]);
  });

  it('reads ICMP, nets and notNets, with bare addresses as /32', () => {
    const icmp = p.ingress[2];
    expect(icmp).toMatchObject({ action: 'Deny', ipVersion: 4, protocol: { number: 1, name: 'ICMP' }, icmp: { type: 8, code: 0 } });
    expect(icmp?.source.nets.map((n) => n.cidr)).toEqual(['10.0.0.0/8', '192.168.1.7/32']);
    expect(icmp?.source.notNets).toEqual([{ text: '10.1.0.0/16', cidr: '10.1.0.0/16', version: 4, prefixLength: 16 }]);
    const v6 = p.ingress[3];
    expect(v6?.protocol).toEqual({ number: 58, name: 'ICMPv6' });
    expect(v6?.notIcmp).toEqual({ type: 128 });
    expect(v6?.source.nets[0]).toMatchObject({ cidr: 'fd00::/8', version: 6 });
  });

  it('reads protocol numbers, notProtocol, notSelector and a namespaceSelector', () => {
    const sctp = p.ingress[4];
    expect(sctp?.protocol).toEqual({ number: 132, name: 'SCTP' });
    expect(sctp?.notProtocol).toEqual({ number: 17, name: 'UDP' });
    expect(sctp?.source.notSelector?.source).toBe('env == "dev"');
    expect(sctp?.source.namespaceSelector?.ast).toEqual({ kind: 'all' });
    expect(sctp?.source.ports).toEqual([{ kind: 'range', min: 1024, max: 65535 }]);
    // Protocol names are case-insensitive, as in Calico's ProtocolFromString.
    expect(p.ingress[5]?.notProtocol).toEqual({ number: 6, name: 'TCP' });
    expect(p.ingress[5]?.source.services).toEqual({ name: 'frontend-svc', namespace: 'web' });
  });

  it('reads egress services, UDPLite and an absent selector as "no constraint"', () => {
    expect(p.egress[0]?.protocol).toEqual({ number: 136, name: 'UDPLite' });
    expect(p.egress[0]?.destination.services).toEqual({ name: 'db' });
    expect(p.egress[1]?.destination.selector).toBeUndefined();
    expect(p.egress[1]?.source).toEqual({ nets: [], notNets: [], ports: [], notPorts: [] });
  });
});

describe('types inference', () => {
  const policy = (spec: object): CalicoPolicy =>
    parseCalicoDocument({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec }) as CalicoPolicy;

  it.each([
    [{}, ['Ingress']],
    [{ ingress: [{ action: 'Allow' }] }, ['Ingress']],
    [{ egress: [{ action: 'Allow' }] }, ['Egress']],
    [{ ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }, ['Ingress', 'Egress']],
    [{ types: [], egress: [{ action: 'Allow' }] }, ['Egress']],
    [{ types: ['Egress'], ingress: [{ action: 'Allow' }] }, ['Egress']],
  ])('%j gives %j', (spec, types) => {
    expect(policy(spec).types).toEqual(types);
  });

  it('defaults the namespace and the selector', () => {
    const p = policy({}) as CalicoNetworkPolicy;
    expect(p.namespace).toBe('default');
    expect(p.selector).toEqual({ source: '', ast: { kind: 'all' } });
  });
});

describe('global policies', () => {
  it('reads preDNAT, doNotTrack and applyOnForward', () => {
    const [preDnat, untracked] = load('global-host-policy.yaml') as CalicoGlobalNetworkPolicy[];
    expect(preDnat).toMatchObject({ preDNAT: true, applyOnForward: true, doNotTrack: false, types: ['Ingress'] });
    expect(preDnat?.ingress[0]?.destination.ports).toEqual([{ kind: 'range', min: 30000, max: 32767 }]);
    expect(untracked).toMatchObject({ doNotTrack: true, applyOnForward: true, types: ['Ingress', 'Egress'] });
    expect(untracked?.egress[0]?.source.ports).toEqual([{ kind: 'range', min: 11211, max: 11211 }]);
  });
});

describe('the CRD form', () => {
  it('reads crd.projectcalico.org/v1 with a default. prefix', () => {
    const p = only<CalicoNetworkPolicy>('crd-form.yaml');
    expect(p.apiVersion).toBe('crd.projectcalico.org/v1');
    expect(p.policyName).toBe('allow-web');
    expect(p.qualifiedName).toBe('default.allow-web');
    expect(p.ingress[0]?.destination.ports.map((x) => (x.kind === 'range' ? x.min : x.name))).toEqual([80, 443]);
  });
});

describe('network sets', () => {
  it('reads global and namespaced sets, masking host bits', () => {
    const [global, local] = load('network-sets.yaml') as CalicoNetworkSet[];
    expect(global?.kind).toBe('GlobalNetworkSet');
    expect(global?.nets.map((n) => n.cidr)).toEqual(['198.51.100.0/24', '203.0.113.9/32', '2001:db8::/32', '192.0.2.0/24']);
    expect(global && evaluateSelector({ kind: 'eq', key: 'threat-feed', value: 'bad' }, global.metadata.labels)).toBe(true);
    expect(local?.kind).toBe('NetworkSet');
    expect(local?.metadata.namespace).toBe('shop');
  });
});

describe('tiers and ordering', () => {
  const docs = load('tiered-policies.yaml');
  const tiers = docs.filter((d): d is CalicoTier => d.kind === 'Tier');
  const policies = docs.filter((d): d is CalicoPolicy => d.kind === 'NetworkPolicy' || d.kind === 'GlobalNetworkPolicy');

  it('reads tier order and default action', () => {
    expect(tiers.map((t) => [t.metadata.name, t.order, t.defaultAction])).toEqual([
      ['security', 100, 'Pass'],
      ['platform', 200, 'Deny'],
      ['default', 1_000_000, 'Deny'],
    ]);
    expect(sortCalicoTiers(tiers).map((t) => t.metadata.name)).toEqual(['security', 'platform', 'default']);
  });

  it('splits tier-prefixed names and reads global() namespace selectors', () => {
    const block = policies.find((p) => p.policyName === 'block-bad-nets');
    expect(block).toMatchObject({ tier: 'security', qualifiedName: 'security.block-bad-nets', order: 10 });
    expect(block?.ingress[0]?.source.namespaceSelector?.ast).toEqual({ kind: 'global' });
    expect(block?.ingress[1]?.action).toBe('Pass');
    const monitoring = policies.find((p) => p.metadata.name === 'platform-monitoring');
    expect(monitoring).toMatchObject({ tier: 'platform', policyName: 'platform-monitoring', qualifiedName: 'platform.platform-monitoring' });
  });

  it('orders by tier order, then policy order (absent last), then name', () => {
    const seed = [...load('seed-allow-api-access.yaml'), ...load('seed-default-deny.yaml')] as CalicoPolicy[];
    const ordered = [...seed, ...policies].sort(createCalicoPolicyComparator(tiers));
    expect(ordered.map((p) => p.qualifiedName)).toEqual([
      'security.block-bad-nets',
      'platform.allow-dns',
      'platform.platform-monitoring',
      'default.default-deny',
      'default.allow-api-access',
    ]);
  });

  it('breaks order ties by name and puts unknown tiers last', () => {
    const gnp = (name: string, spec: object): CalicoPolicy =>
      parseCalicoDocument({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec }) as CalicoPolicy;
    const list = [gnp('b', { order: 1 }), gnp('zz.x', { tier: 'zz' }), gnp('a', { order: 1 }), gnp('c', { order: 0.5 }), gnp('d', {})];
    expect(list.sort(createCalicoPolicyComparator([])).map((p) => p.qualifiedName)).toEqual([
      'default.c',
      'default.a',
      'default.b',
      'default.d',
      'zz.x',
    ]);
  });
});
