import type * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';

import { type KubeObject } from '../../src/agent/kubernetes/kinds.js';
import { KubeApiClient } from '../../src/agent/kubernetes/sys/api-client.js';
import { type InformedObject, Informer, type InformerEvent } from '../../src/agent/kubernetes/sys/informer.js';
import { calicoCrds } from '../../src/agent/manifests/calico-crds.js';
import { recordingLogger } from '../agent/datastore/watch-helpers.js';
import { type KubernetesTestServer, startKubernetesTestServer } from './api-server.js';
import { blackHole } from './black-hole.js';

// The informer alone, against the Kubernetes API test server through the real client-node:
// list in pages, watch with bookmarks, resume, relist on 410, back off on errors.
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(): Promise<KubernetesTestServer> {
  const api = await startKubernetesTestServer({ bookmarkMs: 50 });
  closers.push(() => api.close());
  return api;
}

interface Small extends InformedObject {
  readonly labels?: Readonly<Record<string, string>>;
}

function informer(
  api: { kubeConfig(): k8s.KubeConfig },
  path: string,
  options: { pageSize?: number; logger?: ReturnType<typeof recordingLogger>; refuse?: (o: KubeObject) => boolean; timeoutMs?: number } = {},
) {
  const events: InformerEvent<Small>[] = [];
  const logger = options.logger ?? recordingLogger();
  const transform = (o: KubeObject): Small => {
    if (options.refuse?.(o) === true) throw new Error(`cannot take ${o.metadata?.name ?? '?'}`);
    return {
      metadata: { name: o.metadata?.name ?? '', resourceVersion: o.metadata?.resourceVersion ?? '', ...(o.metadata?.namespace === undefined ? {} : { namespace: o.metadata.namespace }) },
      ...(o.metadata?.labels === undefined ? {} : { labels: o.metadata.labels }),
    };
  };
  const result = new Informer<Small>({
    client: new KubeApiClient(api.kubeConfig(), options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    kubeConfig: api.kubeConfig(),
    path,
    what: path,
    transform,
    onEvents: (batch) => events.push(...batch),
    logger,
    initialBackoffMs: 5,
    maxBackoffMs: 40,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  });
  closers.push(() => result.stop());
  return { informer: result, events, logger };
}

const lists = (api: KubernetesTestServer, resource: string): number => api.requests.filter((r) => r.verb === 'list' && r.resource === resource).length;
const ns = (name: string): object => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

describe('the informer', () => {
  it('lists every page, then is synced with every object as an upsert', async () => {
    const api = await server();
    const before = lists(api, 'namespaces');
    for (const name of ['a', 'b', 'c', 'd', 'e']) await api.create(ns(name));
    const all = api.requests.length;
    const { informer: inf, events } = informer(api, '/api/v1/namespaces', { pageSize: 2 });
    await inf.start();
    expect(inf.synced()).toBe(true);
    const names = inf.values().map((o) => o.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd', 'e']));
    expect(events.map((e) => e.type)).toEqual(names.map(() => 'upsert'));
    // Five namespaces and the server's own (default, kube-system, ...): several pages of two.
    expect(lists(api, 'namespaces') - before).toBe(Math.ceil(names.length / 2));
    expect(api.requests.length).toBeGreaterThan(all);
  });

  it('moves its resourceVersion with bookmarks, so a quiet watch resumes after compaction without listing again', async () => {
    const api = await server();
    await api.create(ns('shop'));
    const { informer: inf } = informer(api, '/api/v1/pods');
    await inf.start();
    // Writes to other kinds move the revision; only bookmarks tell the pods watch.
    await api.create(ns('other'));
    const latest = api.read('v1', 'Namespace', 'other')?.metadata.resourceVersion ?? '';
    expect(await inf.waitFor(() => inf.resourceVersion === latest, 60_000)).toBe(true);
    api.compact();
    api.dropWatches();
    await api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    expect(await inf.waitFor(() => inf.get('shop/web') !== undefined, 60_000)).toBe(true);
    expect(lists(api, 'pods')).toBe(1);
  });

  it('backs off while the list fails, logs the streak once, and recovers when the resource is served', async () => {
    const api = await server();
    const logger = recordingLogger();
    const { informer: inf, events } = informer(api, '/apis/crd.projectcalico.org/v1/tiers', { logger });
    await inf.start({ failFast: false });
    await expect.poll(() => logger.lines.filter((l) => l.msg === 'informer: still failing').length).toBeGreaterThanOrEqual(3);
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings.length).toBe(1);
    expect(warnings[0]?.msg).toMatch(/^informer: GET \/apis\/crd\.projectcalico\.org\/v1\/tiers: 404 NotFound .*; retrying with backoff$/);
    expect(inf.synced()).toBe(false);

    for (const crd of calicoCrds()) await api.create(crd);
    await api.create({ apiVersion: 'crd.projectcalico.org/v1', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } });
    expect(await inf.waitFor(() => inf.get('security') !== undefined, 60_000)).toBe(true);
    expect(inf.synced()).toBe(true);
    expect(events.map((e) => `${e.type} ${e.key}`)).toEqual(['upsert security']);
    await expect.poll(() => logger.lines.some((l) => l.level === 'info' && l.msg === 'informer: recovered')).toBe(true);
  });

  it('rejects the first list with the API failure when asked to fail fast', async () => {
    const api = await server();
    const { informer: inf } = informer(api, '/apis/cilium.io/v2/ciliumnetworkpolicies');
    await expect(inf.start()).rejects.toThrow(/^GET \/apis\/cilium\.io\/v2\/ciliumnetworkpolicies: 404 NotFound /);
  });

  it('does not lose an event its transform threw on: logs it, lists again and delivers the object then', async () => {
    const api = await server();
    let refusals = 0;
    // The transform fails on the first version of "flaky" it sees (a bug, a bad object).
    const refuse = (o: KubeObject): boolean => o.metadata?.name === 'flaky' && refusals++ === 0;
    const { informer: inf, events, logger } = informer(api, '/api/v1/namespaces', { refuse });
    await inf.start();
    const listed = lists(api, 'namespaces');
    await api.create(ns('flaky'));
    await api.create(ns('after'));
    await expect.poll(() => inf.get('flaky') !== undefined && inf.get('after') !== undefined).toBe(true);
    expect(refusals).toBe(2);
    expect(events.filter((e) => e.key === 'flaky').map((e) => e.type)).toEqual(['upsert']);
    expect(lists(api, 'namespaces')).toBeGreaterThan(listed);
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => [l.msg, (l.obj as { name?: string }).name])).toEqual([
      ['informer: cannot take an object (the transform threw); listing again', 'flaky'],
    ]);
  });

  it('fails a LIST the API server does not answer after the client timeout', async () => {
    const kubeConfig = await blackHole(closers);
    const { informer: inf } = informer({ kubeConfig: () => kubeConfig }, '/api/v1/namespaces', { timeoutMs: 100 });
    await expect(inf.start()).rejects.toThrow(/^GET \/api\/v1\/namespaces: the API server at http:\/\/127\.0\.0\.1:[0-9]+ did not answer within 100 ms$/);
  });

  it('stops at once while its LIST waits on an API server that does not answer', async () => {
    const kubeConfig = await blackHole(closers);
    // The client's own deadline (30 s) is far away: stop() must not wait for it.
    const { informer: inf } = informer({ kubeConfig: () => kubeConfig }, '/api/v1/namespaces');
    await inf.start({ failFast: false });
    await inf.stop();
    expect(inf.synced()).toBe(false);
  });

  it('delivers nothing once stopped', async () => {
    const api = await server();
    const { informer: inf, events } = informer(api, '/api/v1/namespaces');
    await inf.start();
    const count = events.length;
    await inf.stop();
    await api.create(ns('late'));
    // A second informer sees the write: by then the stopped one would have had it.
    const { informer: other } = informer(api, '/api/v1/namespaces');
    await other.start();
    expect(other.get('late')).toBeDefined();
    expect(events.length).toBe(count);
  });
});
