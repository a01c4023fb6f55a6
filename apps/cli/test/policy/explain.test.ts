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
  it('takes a pod\'s address from its status, else from its newest endpoint record', () => {
    const live = buildLiveSnapshot('policy explain', {
      namespaces: [],
      pods: [pod('x', 'a', '1', '10.0.0.1'), pod('x', 'b', '2')],
      policies: [],
      records: [
        { network: 'n', containerId: 'old', ifName: 'eth0', hostInterface: 'tw1', addresses: ['10.0.0.7/32'], namespace: 'x', pod: 'b', since: 1 },
        { network: 'n', containerId: 'new', ifName: 'eth0', hostInterface: 'tw2', addresses: ['10.0.0.8/32'], namespace: 'x', pod: 'b', since: 2, node: 'n2' },
        { network: 'n', containerId: 'c', ifName: 'eth0', hostInterface: 'tw3', addresses: ['10.0.0.9/32'], namespace: 'x', pod: 'a', since: 3 },
      ],
    });
    expect(live.pods).toEqual([{ namespace: 'x', name: 'a' }, { namespace: 'x', name: 'b' }]);
    expect([...live.snapshot.endpoints.values()].find((e) => e.endpoint.name === 'a')?.endpoint.ips).toEqual(['10.0.0.1']);
    expect([...live.snapshot.endpoints.values()].find((e) => e.endpoint.name === 'b')?.endpoint).toMatchObject({ ips: ['10.0.0.8'], node: 'n2' });
    expect(live.leftOut).toEqual([]);
  });

  it('leaves out what the engine refuses, saying which object and why', () => {
    const bad = stored('NetworkPolicy', 'broken', 'x', '9', { spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] } });
    const live = buildLiveSnapshot('policy explain', { namespaces: [], pods: [pod('x', 'a', '1', '10.0.0.1')], policies: [{ kindId: 'networkpolicies.networking.k8s.io', resource: bad }], records: [] });
    expect(live.leftOut).toHaveLength(1);
    expect(live.leftOut[0]).toMatch(/^networkpolicies\.networking\.k8s\.io\/x\/broken@9: .*10\.0\.0\.0\/33/);
  });

  it('two pods with one address: a failure naming the stored pod (exit 1)', () => {
    let error: unknown;
    try {
      buildLiveSnapshot('policy explain', { namespaces: [], pods: [pod('x', 'a', '1', '10.0.0.1'), pod('x', 'b', '2', '10.0.0.1')], policies: [], records: [] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FailedError);
    expect((error as FailedError).line()).toBe("twill: policy explain: pods/x/b@2: ips: 10.0.0.1 is also x/a's");
  });
});
