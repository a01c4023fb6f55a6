// The pure parts of `policy explain`: near names of a missing pod, and the live
// snapshot's problems named by the stored object.

import { describe, expect, it } from 'vitest';

import { type StoredResource } from '../../src/client/index.js';
import { FailedError } from '../../src/errors.js';
import { buildLiveSnapshot, editDistance, missingPodText } from '../../src/policy/explain.js';

const stored = (kind: string, name: string, namespace: string | undefined, rv: string, rest: Record<string, unknown> = {}): StoredResource => ({
  apiVersion: kind === 'Pod' || kind === 'Namespace' ? 'v1' : 'networking.k8s.io/v1',
  kind,
  metadata: { name, ...(namespace === undefined ? {} : { namespace }), resourceVersion: rv, creationTimestamp: '2026-11-28T00:00:00Z', uid: `${name}-uid` },
  ...rest,
});

const pod = (namespace: string, name: string, rv: string, ip?: string) =>
  stored('Pod', name, namespace, rv, { spec: { containers: [] }, ...(ip === undefined ? {} : { status: { podIPs: [{ ip }] } }) });

describe('a missing pod', () => {
  const pods = [{ namespace: 'shop', name: 'frontend' }, { namespace: 'shop', name: 'api' }, { namespace: 'dev', name: 'tool' }, { namespace: 'dev', name: 'api' }];

  it('edit distance counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('names near pods, and pods of the same name in other namespaces, nearest first', () => {
    expect(missingPodText({ namespace: 'shop', name: 'fronted' }, pods)).toBe('no pod shop/fronted (did you mean shop/frontend?)');
    expect(missingPodText({ namespace: 'prod', name: 'api' }, pods)).toBe('no pod prod/api (did you mean shop/api, dev/api?)');
  });

  it('else the pods of its namespace, else that it has none', () => {
    expect(missingPodText({ namespace: 'dev', name: 'database' }, pods)).toBe('no pod dev/database (pods in dev: tool, api)');
    expect(missingPodText({ namespace: 'kube-system', name: 'coredns' }, pods)).toBe('no pod kube-system/coredns (no pods in namespace kube-system)');
  });
});

describe('the live snapshot', () => {
  const record = (containerId: string, address: string, since: number, ref: { namespace?: string; pod?: string; node?: string } = {}) =>
    ({ network: 'n', containerId, ifName: 'eth0', hostInterface: `tw${containerId}`, addresses: [`${address}/32`], since, ...ref });

  it('the endpoints are the records, as the agent enforces them: the newest of each pod, labelled by its Pod', () => {
    const live = buildLiveSnapshot('policy explain', {
      namespaces: [],
      pods: [pod('x', 'a', '1', '10.0.0.1'), pod('x', 'b', '2'), pod('x', 'idle', '3', '10.0.0.50')],
      policies: [],
      node: 'n1',
      records: [
        record('old', '10.0.0.7', 1, { namespace: 'x', pod: 'b' }),
        record('new', '10.0.0.8', 2, { namespace: 'x', pod: 'b', node: 'n2' }),
        record('c', '10.0.0.9', 3, { namespace: 'x', pod: 'a' }),
      ],
    });
    expect(live.pods).toEqual([{ namespace: 'x', name: 'a' }, { namespace: 'x', name: 'b' }]);
    // The record's address, not the Pod's status (the agent enforces the record's).
    expect([...live.snapshot.endpoints.values()].find((e) => e.endpoint.name === 'a')?.endpoint).toMatchObject({ ips: ['10.0.0.9'], node: 'n1' });
    expect([...live.snapshot.endpoints.values()].find((e) => e.endpoint.name === 'b')?.endpoint).toMatchObject({ ips: ['10.0.0.8'], node: 'n2' });
    expect(live.unenforced).toEqual([{ namespace: 'x', name: 'idle' }]);
    expect(live.leftOut).toEqual([]);
  });

  it('a record with no Pod is an unlabelled endpoint named by its pod, or its container in default', () => {
    const live = buildLiveSnapshot('policy explain', {
      namespaces: [],
      pods: [],
      policies: [],
      node: 'n1',
      records: [record('c1', '10.0.0.1', 1, { namespace: 'x', pod: 'gone' }), record('c2', '10.0.0.2', 1)],
    });
    expect(live.pods).toEqual([{ namespace: 'default', name: 'c2' }, { namespace: 'x', name: 'gone' }]);
    expect([...live.snapshot.endpoints.values()].find((e) => e.endpoint.name === 'gone')?.endpoint).toMatchObject({ labels: {}, ips: ['10.0.0.1'] });
  });

  it('a Pod the engine refuses leaves its endpoint enforced without labels, and says so', () => {
    const bad = stored('Pod', 'a', 'x', '4', { metadata: { name: 'a', namespace: 'x', resourceVersion: '4', labels: { app: 7 } }, spec: { containers: [] } });
    const live = buildLiveSnapshot('policy explain', { namespaces: [], pods: [bad], policies: [], node: 'n1', records: [record('c', '10.0.0.1', 1, { namespace: 'x', pod: 'a' })] });
    expect(live.pods).toEqual([{ namespace: 'x', name: 'a' }]);
    expect(live.leftOut).toHaveLength(1);
    expect(live.leftOut[0]).toMatch(/^pods\/x\/a@4: .*labels.*\(its endpoint is enforced without labels, as the agent does\)$/);
  });

  it('leaves out what the engine refuses, saying which object and why', () => {
    const bad = stored('NetworkPolicy', 'broken', 'x', '9', { spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] } });
    const live = buildLiveSnapshot('policy explain', { namespaces: [], pods: [pod('x', 'a', '1', '10.0.0.1')], policies: [{ kindId: 'networkpolicies.networking.k8s.io', resource: bad }], records: [], node: 'n1' });
    expect(live.leftOut).toHaveLength(1);
    expect(live.leftOut[0]).toMatch(/^networkpolicies\.networking\.k8s\.io\/x\/broken@9: .*10\.0\.0\.0\/33/);
  });

  it('two pods with one address: a failure naming the stored pod (exit 1)', () => {
    let error: unknown;
    try {
      buildLiveSnapshot('policy explain', {
        namespaces: [],
        pods: [pod('x', 'a', '1', '10.0.0.1'), pod('x', 'b', '2', '10.0.0.1')],
        policies: [],
        node: 'n1',
        records: [record('ca', '10.0.0.1', 1, { namespace: 'x', pod: 'a' }), record('cb', '10.0.0.1', 2, { namespace: 'x', pod: 'b' })],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FailedError);
    expect((error as FailedError).line()).toBe("twill: policy explain: pods/x/b@2: ips: 10.0.0.1 is also x/a's");
  });
});
