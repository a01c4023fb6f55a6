// What the evaluator's caches must not change: a verdict follows every change to the
// index (compiled endpoints and resolved addresses are dropped with it), and a verdict
// returned earlier is not rewritten by later evaluations.

import { describe, expect, it } from 'vitest';

import { labelEquals, RESERVED_IDENTITY, type Endpoint, type Flow, type Policy } from '@twill/policy-engine';

import { PolicyIndex } from '../../src/engine/policy-index.js';

const pod = (name: string, app: string, ip: string): Endpoint => ({ kind: 'workload', namespace: 'prod', name, labels: { app }, ips: [ip], node: 'n1' });

/** db accepts TCP/5432 from api only, and nothing from 192.0.2.0/24. */
const DB_INGRESS: Policy = {
  ref: { dialect: 'calico', kind: 'NetworkPolicy', namespace: 'prod', name: 'db' },
  tier: 'default',
  order: 100,
  subject: labelEquals('app', 'db'),
  ingress: {
    isolates: true,
    rules: [
      { action: 'deny', source: { peer: { kind: 'cidr', cidrs: ['192.0.2.0/24'] } }, origin: { path: 'spec.ingress[0]' } },
      { action: 'allow', protocol: 6, source: { peer: { kind: 'selector', selector: labelEquals('app', 'api') } }, destination: { ports: [{ kind: 'range', first: 5432, last: 5432 }] }, origin: { path: 'spec.ingress[1]' } },
    ],
  },
};

function cluster(): PolicyIndex {
  const index = new PolicyIndex();
  index.apply([
    { kind: 'upsert-endpoint', endpoint: pod('db', 'db', '10.0.0.3') },
    { kind: 'upsert-endpoint', endpoint: pod('api', 'api', '10.0.0.2') },
    { kind: 'upsert-policy', policy: DB_INGRESS },
  ]);
  return index;
}

const toDb = (source: Flow['source']): Flow => ({ source, destination: { endpoint: { namespace: 'prod', name: 'db' } }, protocol: 'TCP', destinationPort: 5432 });

describe('PolicyIndex.evaluate and its caches', () => {
  it('resolves a bare address again after the index changes', () => {
    const index = cluster();
    const flow = toDb({ ip: '10.0.0.9' });
    const before = index.evaluate(flow);
    expect([before.sourceIdentity, before.allowed, before.ingress?.reason]).toEqual([RESERVED_IDENTITY.WORLD, false, 'isolated']);
    index.upsertEndpoint(pod('api-2', 'api', '10.0.0.9'));
    const after = index.evaluate(flow);
    expect(after.sourceIdentity).toBe(index.evaluate(toDb({ endpoint: { namespace: 'prod', name: 'api' } })).sourceIdentity);
    expect([after.allowed, after.ingress?.decidedBy?.ruleIndex]).toEqual([true, 1]);
    index.deleteEndpoint({ namespace: 'prod', name: 'api-2' });
    expect(index.evaluate(flow).sourceIdentity).toBe(RESERVED_IDENTITY.WORLD);
  });

  it('follows relabelled endpoints and edited policies', () => {
    const index = cluster();
    const flow = toDb({ endpoint: { namespace: 'prod', name: 'api' } });
    expect(index.evaluate(flow).allowed).toBe(true);
    index.upsertEndpoint(pod('api', 'batch', '10.0.0.2'));
    expect(index.evaluate(flow).ingress?.reason).toBe('isolated');
    index.upsertPolicy({ ...DB_INGRESS, ingress: { isolates: true, rules: [{ action: 'allow', origin: { path: 'spec.ingress[0]' } }] } });
    expect(index.evaluate(flow).ingress?.decidedBy?.ruleIndex).toBe(0);
  });

  it('matches the deny CIDR from an outside address', () => {
    const verdict = cluster().evaluate(toDb({ ip: '192.0.2.7' }));
    expect([verdict.allowed, verdict.ingress?.decidedBy?.action, verdict.ingress?.decidedBy?.ruleIndex]).toEqual([false, 'deny', 0]);
  });

  it('returns a new verdict per flow, with frozen direction verdicts', () => {
    const index = cluster();
    const allowed = index.evaluate(toDb({ endpoint: { namespace: 'prod', name: 'api' } }));
    const denied = index.evaluate(toDb({ ip: '192.0.2.7' }));
    expect(allowed).not.toBe(denied);
    expect([allowed.allowed, allowed.ingress?.reason, allowed.ingress?.decidedBy?.ruleIndex]).toEqual([true, 'rule', 1]);
    expect(Object.isFrozen(allowed.ingress)).toBe(true);
    expect(Object.isFrozen(allowed.ingress?.l7)).toBe(true);
  });

  it('keeps verdicts apart by the networks the remote address is in, not only by identity', () => {
    const index = cluster();
    index.upsertEndpoint(pod('api-2', 'api', '192.0.2.9'));
    const fromApi = toDb({ endpoint: { namespace: 'prod', name: 'api' } });
    const fromApi2 = toDb({ endpoint: { namespace: 'prod', name: 'api-2' } });
    const outcome = (flow: Flow): unknown[] => {
      const verdict = index.evaluate(flow);
      return [verdict.allowed, verdict.ingress?.reason, verdict.ingress?.decidedBy?.ruleIndex];
    };
    for (let round = 0; round < 2; round += 1) {
      expect(outcome(fromApi)).toEqual([true, 'rule', 1]);
      expect(outcome(fromApi2)).toEqual([false, 'rule', 0]);
      expect(outcome(toDb({ ip: '192.0.2.7' }))).toEqual([false, 'rule', 0]);
      expect(outcome(toDb({ ip: '198.51.100.7' }))).toEqual([false, 'isolated', undefined]);
    }
  });

  it('keeps verdicts apart by protocol and port', () => {
    const index = cluster();
    const fromApi = toDb({ endpoint: { namespace: 'prod', name: 'api' } });
    for (let round = 0; round < 2; round += 1) {
      expect(index.evaluate(fromApi).allowed).toBe(true);
      expect(index.evaluate({ ...fromApi, destinationPort: 5433 }).allowed).toBe(false);
      expect(index.evaluate({ ...fromApi, protocol: 'UDP' }).allowed).toBe(false);
    }
  });

  it('decides ICMP flows by type whatever came before', () => {
    const index = cluster();
    index.upsertPolicy({
      ...DB_INGRESS,
      ingress: { isolates: true, rules: [{ action: 'allow', protocol: 1, icmp: { type: 8 }, origin: { path: 'spec.ingress[0]' } }] },
    });
    const ping = (type: number): Flow => ({ ...toDb({ endpoint: { namespace: 'prod', name: 'api' } }), protocol: 'ICMP', destinationPort: undefined, icmp: { type, code: 0 } });
    for (let round = 0; round < 2; round += 1) {
      expect(index.evaluate(ping(8)).allowed).toBe(true);
      expect(index.evaluate(ping(13)).allowed).toBe(false);
    }
  });
});
