// Diff correctness: each kind of change reports exactly the endpoints whose effective
// rules change, with the directions that change.

import { describe, expect, it } from 'vitest';

import { labelEquals, PROTOCOL, type Endpoint, type Policy, type Rule } from '@twill/policy-engine';

import { PolicyIndexError } from '../../src/engine/errors.js';
import { PolicyIndex } from '../../src/engine/policy-index.js';
import { type PolicyIndexDiff } from '../../src/engine/types.js';

const pod = (namespace: string, name: string, labels: Record<string, string>, ip: string, extra: Partial<Endpoint> = {}): Endpoint =>
  ({ kind: 'workload', namespace, name, labels, ips: [ip], node: 'n1', ...extra });

const ENDPOINTS: Endpoint[] = [
  pod('prod', 'web', { app: 'web' }, '10.0.0.1', { namedPorts: [{ name: 'http', protocol: PROTOCOL.TCP, port: 8080 }] }),
  pod('prod', 'api', { app: 'api' }, '10.0.0.2'),
  pod('prod', 'db', { app: 'db' }, '10.0.0.3'),
  pod('dev', 'tool', { app: 'tool' }, '10.0.1.1'),
  { kind: 'host', name: 'n1', labels: { role: 'node' }, ips: ['192.168.0.1'], node: 'n1' },
];

const selectorPeer = (app: string) => ({ peer: { kind: 'selector' as const, selector: labelEquals('app', app) } });
const rule = (extra: Partial<Rule> = {}): Rule => ({ action: 'allow', origin: { path: 'spec.ingress[0]' }, ...extra });

/** db accepts ingress from api only. */
const DB_FROM_API: Policy = {
  ref: { dialect: 'calico', kind: 'NetworkPolicy', namespace: 'prod', name: 'db-from-api' },
  tier: 'default',
  order: 100,
  subject: labelEquals('app', 'db'),
  ingress: { rules: [rule({ source: selectorPeer('api') })], isolates: true },
};

/** web's egress to db. */
const WEB_TO_DB: Policy = {
  ref: { dialect: 'calico', kind: 'NetworkPolicy', namespace: 'prod', name: 'web-to-db' },
  tier: 'default',
  order: 200,
  subject: labelEquals('app', 'web'),
  egress: { rules: [{ action: 'allow', destination: selectorPeer('db'), origin: { path: 'spec.egress[0]' } }], isolates: true },
};

function cluster(): PolicyIndex {
  const index = new PolicyIndex();
  index.apply([
    ...ENDPOINTS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })),
    { kind: 'upsert-tier', tier: { name: 'security', order: 10, defaultAction: 'deny' } },
    { kind: 'upsert-policy', policy: DB_FROM_API },
    { kind: 'upsert-policy', policy: WEB_TO_DB },
  ]);
  return index;
}

const summary = (diff: PolicyIndexDiff) => ({
  changed: diff.changed.map((c) => `${c.key} ${c.changed.join('+')}`),
  removed: diff.removed.map((r) => `${r.namespace ?? 'host'}/${r.name}`),
});

describe('PolicyIndex diffs', () => {
  it('a first load reports every endpoint, both directions, and every address', () => {
    const index = new PolicyIndex();
    const diff = index.apply([...ENDPOINTS.map((endpoint) => ({ kind: 'upsert-endpoint' as const, endpoint })), { kind: 'upsert-policy', policy: DB_FROM_API }]);
    expect(summary(diff).changed).toEqual(['dev/tool ingress+egress', 'host:n1 ingress+egress', 'prod/api ingress+egress', 'prod/db ingress+egress', 'prod/web ingress+egress']);
    expect(diff.ipcache.set.map((e) => e.prefix)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.1.1']);
    const db = index.effectiveRules({ namespace: 'prod', name: 'db' });
    expect(db?.ingress.tiers).toEqual([{
      tier: 'default', end: 'deny', isolatedBy: [DB_FROM_API.ref],
      rules: [{ action: 'allow', policy: DB_FROM_API.ref, ruleIndex: 0, origin: { path: 'spec.ingress[0]' }, order: 100, local: {}, remote: { peers: [{ identities: [index.effectiveRules({ namespace: 'prod', name: 'api' })?.identity] }] } }],
    }]);
  });

  const table: { name: string; change: (index: PolicyIndex) => PolicyIndexDiff; changed: string[]; removed?: string[] }[] = [
    { name: 'add a policy: the endpoints it selects', change: (i) => i.upsertPolicy({ ...DB_FROM_API, ref: { ...DB_FROM_API.ref, name: 'api-ingress' }, subject: labelEquals('app', 'api') }), changed: ['prod/api ingress'] },
    { name: 'update a policy to select another pod: before and after', change: (i) => i.upsertPolicy({ ...DB_FROM_API, subject: labelEquals('app', 'tool') }), changed: ['dev/tool ingress', 'prod/db ingress'] },
    { name: 'update a policy without changing its rules: nothing', change: (i) => i.upsertPolicy({ ...DB_FROM_API }), changed: [] },
    { name: 'update a policy egress rules: only its subjects', change: (i) => i.upsertPolicy({ ...WEB_TO_DB, egress: { rules: [], isolates: true } }), changed: ['prod/web egress'] },
    { name: 'delete a policy', change: (i) => i.deletePolicy(DB_FROM_API.ref), changed: ['prod/db ingress'] },
    { name: 'delete an unknown policy: nothing', change: (i) => i.deletePolicy({ ...DB_FROM_API.ref, name: 'nope' }), changed: [] },
    { name: 'add a pod with a new identity no rule names: only itself', change: (i) => i.upsertEndpoint(pod('prod', 'cache', { app: 'cache' }, '10.0.0.9')), changed: ['prod/cache ingress+egress'] },
    { name: 'add a pod a rule names, new identity: the rule\'s subjects', change: (i) => i.upsertEndpoint(pod('dev', 'api2', { app: 'api', v: '2' }, '10.0.1.2')), changed: ['dev/api2 ingress+egress', 'prod/db ingress'] },
    { name: 'add a pod a rule names, existing identity: only itself', change: (i) => i.upsertEndpoint(pod('prod', 'api-b', { app: 'api' }, '10.0.0.12')), changed: ['prod/api-b ingress+egress'] },
    { name: 'relabel a peer pod out of a rule', change: (i) => i.upsertEndpoint(pod('prod', 'api', { app: 'other' }, '10.0.0.2')), changed: ['prod/db ingress'] },
    { name: 'relabel a pod into a policy subject and into an existing identity: itself and the rules naming its old identity', change: (i) => i.upsertEndpoint(pod('prod', 'api', { app: 'db' }, '10.0.0.2')), changed: ['prod/api ingress', 'prod/db ingress'] },
    { name: 'relabel a pod into a new identity a rule names: itself and that rule\'s subjects', change: (i) => i.upsertEndpoint(pod('prod', 'api', { app: 'db', v: '2' }, '10.0.0.2')), changed: ['prod/api ingress', 'prod/db ingress', 'prod/web egress'] },
    { name: 'change a pod address only: no rules, a new ipcache entry', change: (i) => i.upsertEndpoint(pod('dev', 'tool', { app: 'tool' }, '10.0.1.50')), changed: [] },
    { name: 'delete a peer pod', change: (i) => i.deleteEndpoint({ namespace: 'prod', name: 'api' }), changed: ['prod/db ingress'], removed: ['prod/api'] },
    { name: 'namespace labels change: identities of its pods, rules naming them', change: (i) => i.upsertNamespace({ name: 'prod', labels: { 'kubernetes.io/metadata.name': 'prod', env: 'prod' } }), changed: ['prod/db ingress', 'prod/web egress'] },
    { name: 'a namespace nobody selects: nothing', change: (i) => i.upsertNamespace({ name: 'empty', labels: {} }), changed: [] },
    { name: 'a tier with no policies: nothing', change: (i) => i.upsertTier({ name: 'security', order: 5, defaultAction: 'pass' }), changed: [] },
    { name: 'a network set no rule names: nothing', change: (i) => i.upsertNetworkSet({ name: 'nets', labels: { role: 'x' }, nets: ['203.0.113.0/24'] }), changed: [] },
    { name: 'a network set a rule names: the rule\'s subjects', change: (i) => i.upsertNetworkSet({ name: 'nets', labels: { app: 'api' }, nets: ['203.0.113.0/24'] }), changed: ['prod/db ingress'] },
  ];

  for (const { name, change, changed, removed = [] } of table) {
    it(name, () => {
      const index = cluster();
      expect(summary(change(index))).toEqual({ changed, removed });
    });
  }

  it('moving a policy to a tier and changing that tier touches its subjects only', () => {
    const index = cluster();
    expect(summary(index.upsertPolicy({ ...DB_FROM_API, tier: 'security' })).changed).toEqual(['prod/db ingress']);
    expect(summary(index.upsertTier({ name: 'security', order: 10, defaultAction: 'pass' })).changed).toEqual(['prod/db ingress']);
    expect(index.effectiveRules({ namespace: 'prod', name: 'db' })?.ingress.tiers[0]).toMatchObject({ tier: 'security', end: 'pass', isolatedBy: [] });
  });

  it('reports address → identity changes for the LPM map', () => {
    const index = cluster();
    const api = index.effectiveRules({ namespace: 'prod', name: 'api' })?.identity;
    const moved = index.upsertEndpoint(pod('dev', 'tool', { app: 'tool' }, '10.0.1.50'));
    expect(moved.ipcache.removed).toEqual(['10.0.1.1']);
    expect(moved.ipcache.set.map((e) => e.prefix)).toEqual(['10.0.1.50']);
    // Same labels as prod/api, but another namespace: another identity.
    const relabelled = index.upsertEndpoint(pod('dev', 'tool', { app: 'api' }, '10.0.1.50'));
    expect(relabelled.ipcache.set).toEqual([{ prefix: '10.0.1.50', identity: expect.not.stringMatching(String(api)) as unknown }]);
    const namespaced = index.upsertEndpoint(pod('prod', 'tool2', { app: 'api' }, '10.0.0.77'));
    expect(namespaced.ipcache.set).toEqual([{ prefix: '10.0.0.77', identity: api }]);
  });

  it('resolves named ports on the local endpoint and per remote group', () => {
    const index = cluster();
    index.upsertPolicy({
      ref: { dialect: 'kubernetes', kind: 'NetworkPolicy', namespace: 'prod', name: 'to-http' },
      tier: 'default', order: 1000, subject: labelEquals('app', 'api'),
      egress: { rules: [{ action: 'allow', protocol: PROTOCOL.TCP, destination: { ports: [{ kind: 'named', name: 'http' }] }, origin: { path: 'spec.egress[0]' } }], isolates: true },
      ingress: { rules: [{ action: 'allow', protocol: PROTOCOL.TCP, destination: { ports: [{ kind: 'named', name: 'http' }] }, origin: { path: 'spec.ingress[0]' } }], isolates: true },
    });
    const api = index.effectiveRules({ namespace: 'prod', name: 'api' });
    // api has no port named http: its ingress rule can never match and is dropped.
    expect(api?.ingress.tiers[0]?.rules).toEqual([]);
    expect(api?.egress.tiers[0]?.rules.map((r) => r.remote)).toEqual([{ peers: [{ cidrs: ['10.0.0.1/32'] }], ports: [{ first: 8080, last: 8080, protocol: PROTOCOL.TCP }] }]);
    expect(index.evaluate({ source: { endpoint: { namespace: 'prod', name: 'api' } }, destination: { endpoint: { namespace: 'prod', name: 'web' } }, protocol: 'TCP', destinationPort: 8080 }).allowed).toBe(true);
    // web's named port moves: api's egress changes, nothing else.
    const diff = index.upsertEndpoint({ ...(ENDPOINTS[0] as Endpoint), namedPorts: [{ name: 'http', protocol: PROTOCOL.TCP, port: 9090 }] });
    expect(summary(diff).changed).toEqual(['prod/api egress']);
  });

  it('refuses contradictions with the field path, keeping earlier changes of the batch', () => {
    const index = cluster();
    expect(() => index.upsertPolicy({ ...DB_FROM_API, tier: 'nope' })).toThrow('tier: unknown tier "nope"');
    expect(() => index.upsertEndpoint(pod('prod', 'dup', {}, '10.0.0.1'))).toThrow('ips[0]: 10.0.0.1 is also prod/web\'s');
    expect(() => index.upsertEndpoint({ kind: 'workload', name: 'nons', labels: {}, ips: [] })).toThrow('namespace: a workload needs a namespace');
    expect(() => index.deleteTier('default')).toThrow('name: tier "default" is built in');
    expect(() => index.deleteTier('security')).not.toThrow();
    index.upsertTier({ name: 'security', order: 10, defaultAction: 'deny' });
    index.upsertPolicy({ ...DB_FROM_API, tier: 'security' });
    expect(() => index.deleteTier('security')).toThrow('name: tier "security" still holds policies');
    try {
      index.apply([{ kind: 'upsert-endpoint', endpoint: pod('prod', 'new', { app: 'new' }, '10.0.0.40') }, { kind: 'upsert-policy', policy: { ...DB_FROM_API, tier: 'nope' } }]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyIndexError);
      expect((error as PolicyIndexError).message).toBe('changes[1]: tier: unknown tier "nope"');
      expect((error as PolicyIndexError).applied?.changed.map((c) => c.key)).toEqual(['prod/new']);
      expect((error as PolicyIndexError).changeIndex).toBe(1);
    }
  });
});
