// The Kubernetes API test server, driven by the real @kubernetes/client-node: what a client
// sees of CRUD, conflicts, lists, watches, informers across compaction and dropped
// streams, CRDs and schema validation, and the Status of each kind of bad request.

import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type KubernetesTestServer, startKubernetesTestServer } from './api-server.js';

let server: KubernetesTestServer;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

beforeEach(async () => {
  server = await startKubernetesTestServer({ bookmarkMs: 50 });
  kc = server.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'ns1' } } });
});

afterEach(async () => {
  await server.close();
});

/** The Status a client-node call failed with. */
async function statusOf(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string; details?: { causes?: { field?: string; reason: string }[] } }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const body = JSON.parse(error.body as string) as { code: number; reason: string; message: string };
      expect(body.code).toBe(error.code);
      return body;
    }
    throw error;
  }
  throw new Error('the call succeeded');
}

const ipPoolCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'ippools.twill.io' },
  spec: {
    group: 'twill.io',
    scope: 'Cluster',
    names: { plural: 'ippools', singular: 'ippool', kind: 'IPPool', listKind: 'IPPoolList' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['cidr'],
                properties: {
                  cidr: { type: 'string', pattern: '^[0-9a-f.:]+/[0-9]+$' },
                  blockSize: { type: 'integer', format: 'int32', minimum: 16, maximum: 32, default: 26 },
                  mode: { type: 'string', enum: ['Always', 'Never'] },
                  port: { 'x-kubernetes-int-or-string': true },
                  nodes: { type: 'array', items: { type: 'object', properties: { name: { type: 'string', minLength: 1 } } } },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 5 } },
                },
              },
              status: { type: 'object', properties: { allocated: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};

describe('core v1 objects', () => {
  it('stamps metadata from one global revision and reads back what was written', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' }, data: { k: 'v' } } });
    const b = await core.createNamespacedSecret({ namespace: 'ns1', body: { metadata: { name: 'b' }, stringData: { token: 'hi' } } });
    expect(a.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata?.generation).toBe(1);
    expect(a.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(b.metadata?.resourceVersion)).toBe(Number(a.metadata?.resourceVersion) + 1);
    // stringData is stored as base64 data, as the real server does.
    expect(b.data).toEqual({ token: Buffer.from('hi').toString('base64') });
    expect(b.stringData).toBeUndefined();
    const read = await core.readNamespacedConfigMap({ namespace: 'ns1', name: 'a' });
    expect(read.data).toEqual({ k: 'v' });
    expect(read.kind).toBe('ConfigMap');
    expect(server.read('v1', 'ConfigMap', 'a', 'ns1')?.metadata.resourceVersion).toBe(a.metadata?.resourceVersion);
  });

  it('answers 409 AlreadyExists, 409 Conflict on a stale update, and takes unconditional updates', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' }, data: { v: '1' } } });
    const exists = await statusOf(core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } }));
    expect(exists).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'configmaps "a" already exists' });

    const updated = await core.replaceNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: { ...a, data: { v: '2' } } });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(a.metadata?.resourceVersion));
    const stale = await statusOf(core.replaceNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: { ...a, data: { v: '3' } } }));
    expect(stale).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
    });
    const unconditional = await core.replaceNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: { metadata: { name: 'a' }, data: { v: '4' } } });
    expect(unconditional.data).toEqual({ v: '4' });
    expect(unconditional.metadata?.uid).toBe(a.metadata?.uid);

    // An update that changes nothing writes nothing: the revision stays.
    const same = await core.replaceNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: unconditional });
    expect(same.metadata?.resourceVersion).toBe(unconditional.metadata?.resourceVersion);

    const missing = await statusOf(core.replaceNamespacedConfigMap({ namespace: 'ns1', name: 'zz', body: { metadata: { name: 'zz' } } }));
    expect(missing).toMatchObject({ code: 404, reason: 'NotFound', message: 'configmaps "zz" not found' });
  });

  it('patches with JSON patch (client-node) and merge patch, and a stale resourceVersion in a patch is a conflict', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a', labels: { x: '1' } }, data: { k: 'v', drop: 'me' } } });
    const patched = await core.patchNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: [{ op: 'replace', path: '/data/k', value: 'w' }, { op: 'remove', path: '/data/drop' }] });
    expect(patched.data).toEqual({ k: 'w' });
    const merge = await fetch(`${server.url}/api/v1/namespaces/ns1/configmaps/a`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { labels: { x: null, y: '2' } }, data: { n: 'new' } }),
    });
    expect(merge.status).toBe(200);
    const merged = (await merge.json()) as k8s.V1ConfigMap;
    expect(merged.metadata?.labels).toEqual({ y: '2' });
    expect(merged.data).toEqual({ k: 'w', n: 'new' });
    const stale = await fetch(`${server.url}/api/v1/namespaces/ns1/configmaps/a`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { resourceVersion: a.metadata?.resourceVersion }, data: { n: 'x' } }),
    });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { reason: string }).reason).toBe('Conflict');
    // A strategic merge patch on a built-in merges maps like a merge patch.
    const strategic = await fetch(`${server.url}/api/v1/namespaces/ns1/configmaps/a`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ data: { s: 'smp' } }),
    });
    expect(((await strategic.json()) as k8s.V1ConfigMap).data).toEqual({ k: 'w', n: 'new', s: 'smp' });
    const failedTest = await statusOf(core.patchNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: [{ op: 'test', path: '/data/k', value: 'nope' }] }));
    expect(failedTest.code).toBe(422);
  });

  it('deletes with preconditions, answering 409 on a mismatch and the Status of the deleted object', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    const wrongUid = await statusOf(core.deleteNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: { preconditions: { uid: 'not-it' } } }));
    expect(wrongUid).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(wrongUid.message).toContain('Precondition failed: UID in precondition: not-it');
    const wrongRv = await statusOf(core.deleteNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: { preconditions: { resourceVersion: '1' } } }));
    expect(wrongRv.message).toContain('Precondition failed: ResourceVersion in precondition: 1');
    const deleted = await core.deleteNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: { preconditions: { uid: a.metadata!.uid!, resourceVersion: a.metadata!.resourceVersion! } } });
    expect(deleted).toMatchObject({ status: 'Success', details: { name: 'a', kind: 'configmaps', uid: a.metadata?.uid } });
    expect(await statusOf(core.readNamespacedConfigMap({ namespace: 'ns1', name: 'a' }))).toMatchObject({ code: 404, reason: 'NotFound' });
    // Pods answer with the deleted object itself. (An image is one thing a Pod update may change.)
    const created = await core.createNamespacedPod({ namespace: 'ns1', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    await core.replaceNamespacedPod({ namespace: 'ns1', name: 'p', body: { ...created, spec: { containers: [{ name: 'c', image: 'busybox:2' }] } } });
    const pod = await core.deleteNamespacedPod({ namespace: 'ns1', name: 'p' });
    expect(pod.metadata?.name).toBe('p');
  });

  it('validates a dryRun=All write and answers it without storing anything', async () => {
    const rv = (await core.listNamespacedConfigMap({ namespace: 'ns1' })).metadata?.resourceVersion;
    const dry = await core.createNamespacedConfigMap({ namespace: 'ns1', dryRun: 'All', body: { metadata: { name: 'a' }, data: { k: 'v' } } });
    expect(dry.data).toEqual({ k: 'v' });
    expect(server.read('v1', 'ConfigMap', 'a', 'ns1')).toBeUndefined();
    expect(await statusOf(core.createNamespacedConfigMap({ namespace: 'ns1', dryRun: 'All', body: { metadata: { name: 'A' } } }))).toMatchObject({ code: 422, reason: 'Invalid' });
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'b' } } });
    await core.deleteNamespacedConfigMap({ namespace: 'ns1', name: 'b', dryRun: 'All' });
    expect(server.read('v1', 'ConfigMap', 'b', 'ns1')).toBeDefined();
    expect(Number((await core.listNamespacedConfigMap({ namespace: 'ns1' })).metadata?.resourceVersion)).toBe(Number(rv) + 1);
  });

  it('keeps an object with finalizers until the last one is removed', async () => {
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'f', finalizers: ['twill.io/hold'] } } });
    await core.deleteNamespacedConfigMap({ namespace: 'ns1', name: 'f' });
    const marked = await core.readNamespacedConfigMap({ namespace: 'ns1', name: 'f' });
    expect(marked.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    await core.patchNamespacedConfigMap({ namespace: 'ns1', name: 'f', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    expect(server.read('v1', 'ConfigMap', 'f', 'ns1')).toBeUndefined();
  });

  it('needs the namespace to exist and validates names', async () => {
    const noNamespace = await statusOf(core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'a' } } }));
    expect(noNamespace).toMatchObject({ code: 404, reason: 'NotFound', message: 'namespaces "nope" not found' });
    const badName = await statusOf(core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'Bad_Name' } } }));
    expect(badName).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(badName.message).toMatch(/^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    expect(badName.details?.causes).toEqual([expect.objectContaining({ reason: 'FieldValueInvalid', field: 'metadata.name' })]);
    const generated = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { generateName: 'gen-' } } });
    expect(generated.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('deleting a namespace deletes its objects', async () => {
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    await core.deleteNamespace({ name: 'ns1' });
    expect(server.read('v1', 'ConfigMap', 'a', 'ns1')).toBeUndefined();
    expect(server.read('v1', 'Namespace', 'ns1')).toBeUndefined();
  });
});

describe('list', () => {
  beforeEach(async () => {
    await core.createNamespace({ body: { metadata: { name: 'ns2' } } });
    const labels: Record<string, Record<string, string>> = {
      a: { app: 'web', tier: 'front' },
      b: { app: 'web', tier: 'back' },
      c: { app: 'db' },
      d: {},
    };
    for (const [name, l] of Object.entries(labels)) {
      await core.createNamespacedPod({ namespace: 'ns1', body: { metadata: { name, labels: l }, spec: { nodeName: name === 'c' ? 'n2' : 'n1', containers: [{ name: 'c', image: 'busybox' }] } } });
    }
    await core.createNamespacedPod({ namespace: 'ns2', body: { metadata: { name: 'e', labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } } });
  });

  const names = (list: k8s.V1PodList): string[] => list.items.map((p) => `${p.metadata!.namespace!}/${p.metadata!.name!}`);

  it('selects by labels with every operator', async () => {
    const select = async (labelSelector: string) => names(await core.listNamespacedPod({ namespace: 'ns1', labelSelector }));
    expect(await select('app=web')).toEqual(['ns1/a', 'ns1/b']);
    expect(await select('app==web,tier!=front')).toEqual(['ns1/b']);
    expect(await select('app in (db, web),tier notin (back)')).toEqual(['ns1/a', 'ns1/c']);
    expect(await select('tier')).toEqual(['ns1/a', 'ns1/b']);
    expect(await select('!app')).toEqual(['ns1/d']);
    expect(await select('app!=web')).toEqual(['ns1/c', 'ns1/d']);
    expect(await select('')).toEqual(['ns1/a', 'ns1/b', 'ns1/c', 'ns1/d']);
  });

  it('selects by fields, across namespaces too, and refuses an unsupported field', async () => {
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' }))).toEqual(['ns1/a', 'ns1/b', 'ns1/d', 'ns2/e']);
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=ns2' }))).toEqual(['ns2/e']);
    expect(names(await core.listNamespacedPod({ namespace: 'ns1', fieldSelector: 'metadata.name!=a,spec.nodeName==n1' }))).toEqual(['ns1/b', 'ns1/d']);
    const unsupported = await statusOf(core.listNamespacedConfigMap({ namespace: 'ns1', fieldSelector: 'spec.nodeName=n1' }));
    expect(unsupported).toMatchObject({ code: 400, reason: 'BadRequest', message: 'field label not supported: spec.nodeName' });
  });

  it('pages with limit and continue over the snapshot of the first page', async () => {
    const first = await core.listPodForAllNamespaces({ limit: 2 });
    expect(names(first)).toEqual(['ns1/a', 'ns1/b']);
    expect(first.metadata?.remainingItemCount).toBe(3);
    // Writes between pages do not show in the later pages (a consistent list).
    await core.createNamespacedPod({ namespace: 'ns1', body: { metadata: { name: 'bb' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    await core.deleteNamespacedPod({ namespace: 'ns2', name: 'e' });
    const second = await core.listPodForAllNamespaces({ limit: 2, _continue: first.metadata!._continue! });
    expect(names(second)).toEqual(['ns1/c', 'ns1/d']);
    const third = await core.listPodForAllNamespaces({ limit: 2, _continue: second.metadata!._continue! });
    expect(names(third)).toEqual(['ns2/e']);
    expect(third.metadata?._continue).toBeUndefined();
    expect(third.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    // After compaction the token is too old: 410 Expired.
    server.compact();
    const expiredStatus = await statusOf(core.listPodForAllNamespaces({ limit: 2, _continue: first.metadata!._continue! }));
    expect(expiredStatus).toMatchObject({ code: 410, reason: 'Expired' });
    expect(expiredStatus.message).toMatch(/^The provided continue parameter is too old to display a consistent list result/);
    // The 410 carries a token that continues, inconsistently, from the latest state.
    const inconsistent = (expiredStatus as unknown as { metadata: { continue: string } }).metadata.continue;
    const rest = await core.listPodForAllNamespaces({ limit: 10, _continue: inconsistent });
    expect(names(rest)).toEqual(['ns1/bb', 'ns1/c', 'ns1/d']);
  });

  it('lists items without kind and apiVersion, as typed lists are', async () => {
    const list = await core.listNamespacedPod({ namespace: 'ns1' });
    expect(list.kind).toBe('PodList');
    expect(list.items[0]?.kind).toBeUndefined();
  });

  it('answers a list at a resourceVersion it has not reached with 504', async () => {
    const tooNew = await statusOf(core.listNamespacedPod({ namespace: 'ns1', resourceVersion: '99999', resourceVersionMatch: 'NotOlderThan' }));
    expect(tooNew).toMatchObject({ code: 504, reason: 'Timeout' });
    expect(tooNew.message).toMatch(/^Too large resource version: 99999, current: \d+$/);
  });
});

interface SeenEvent {
  readonly type: string;
  readonly name: string | undefined;
  readonly rv: string | undefined;
}

/** Starts a client-node watch recording its events; `done` resolves when it ends. */
async function watchEvents(path: string, query: Record<string, string | boolean>) {
  const events: SeenEvent[] = [];
  const objects: k8s.KubernetesObject[] = [];
  let resolveDone: (err: unknown) => void = () => {};
  const done = new Promise<unknown>((resolve) => {
    resolveDone = resolve;
  });
  const controller = await new k8s.Watch(kc).watch(
    path,
    query,
    (type, object: k8s.KubernetesObject) => {
      events.push({ type, name: object.metadata?.name, rv: object.metadata?.resourceVersion });
      objects.push(object);
    },
    (err) => resolveDone(err),
  );
  return { events, objects, done, abort: () => controller.abort() };
}

describe('watch', () => {
  it('sends every event after a resourceVersion in order, deletions at their revision', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    const b = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'b' } } });
    const a2 = await core.replaceNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: { ...a, data: { v: '2' } } });
    await core.createNamespacedSecret({ namespace: 'ns1', body: { metadata: { name: 's' } } });
    const w = await watchEvents('/api/v1/namespaces/ns1/configmaps', { resourceVersion: a.metadata!.resourceVersion! });
    await core.deleteNamespacedConfigMap({ namespace: 'ns1', name: 'b' });
    const c = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'c' } } });
    await vi.waitFor(() => expect(w.events).toHaveLength(4));
    expect(w.events).toEqual([
      { type: 'ADDED', name: 'b', rv: b.metadata?.resourceVersion },
      { type: 'MODIFIED', name: 'a', rv: a2.metadata?.resourceVersion },
      { type: 'DELETED', name: 'b', rv: String(Number(c.metadata?.resourceVersion) - 1) },
      { type: 'ADDED', name: 'c', rv: c.metadata?.resourceVersion },
    ]);
    expect(w.objects[0]).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    w.abort();
  });

  it('starts with the current objects as ADDED when no resourceVersion is given', async () => {
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    const w = await watchEvents('/api/v1/configmaps', {});
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'b' } } });
    await vi.waitFor(() => expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED a', 'ADDED b']));
    w.abort();
  });

  it('sends bookmarks carrying only the resourceVersion', async () => {
    const w = await watchEvents('/api/v1/namespaces/ns1/configmaps', { allowWatchBookmarks: true });
    const cm = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    await vi.waitFor(() => expect(w.events.some((e) => e.type === 'BOOKMARK' && e.rv === cm.metadata?.resourceVersion)).toBe(true));
    const bookmark = w.objects[w.events.findIndex((e) => e.type === 'BOOKMARK')];
    expect(bookmark).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: expect.any(String) } });
    w.abort();
  });

  it('turns objects that stop or start matching the selector into DELETED and ADDED', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a', labels: { app: 'web' } } } });
    const w = await watchEvents('/api/v1/namespaces/ns1/configmaps', { resourceVersion: a.metadata!.resourceVersion!, labelSelector: 'app=web' });
    const off = await core.patchNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: [{ op: 'replace', path: '/metadata/labels/app', value: 'db' }] });
    const on = await core.patchNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: [{ op: 'replace', path: '/metadata/labels/app', value: 'web' }] });
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'other' } } });
    const last = await core.patchNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: [{ op: 'add', path: '/data', value: { k: 'v' } }] });
    await vi.waitFor(() => expect(w.events).toHaveLength(3));
    expect(w.events).toEqual([
      { type: 'DELETED', name: 'a', rv: off.metadata?.resourceVersion },
      { type: 'ADDED', name: 'a', rv: on.metadata?.resourceVersion },
      { type: 'MODIFIED', name: 'a', rv: last.metadata?.resourceVersion },
    ]);
    // The DELETED object is the last state that matched.
    expect(w.objects[0]?.metadata?.labels).toEqual({ app: 'web' });
    w.abort();
  });

  it('answers a compacted resourceVersion with an ERROR 410 event and ends the stream', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'b' } } });
    server.compact();
    const w = await watchEvents('/api/v1/namespaces/ns1/configmaps', { resourceVersion: a.metadata!.resourceVersion! });
    expect(await w.done).toBeNull();
    expect(w.events.map((e) => e.type)).toEqual(['ERROR']);
    expect(w.objects[0]).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect((w.objects[0] as unknown as { message: string }).message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('takes watch=1 and streams newline-delimited JSON events', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    const response = await fetch(`${server.url}/api/v1/namespaces/ns1/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const lines = (await response.text()).split('\n');
    expect(lines.map((l) => (l === '' ? '' : (JSON.parse(l) as { type: string }).type))).toEqual(['ADDED', '']);
    expect(JSON.parse(lines[0]!)).toMatchObject({ object: { kind: 'ConfigMap', metadata: { name: 'a', resourceVersion: a.metadata?.resourceVersion } } });
  });

  it('ends the stream after timeoutSeconds', async () => {
    const w = await watchEvents('/api/v1/namespaces/ns1/configmaps', { timeoutSeconds: '1' });
    expect(await w.done).toBeNull();
  });
});

describe('informers (client-node ListWatch)', () => {
  /** An informer on ns1's configmaps recording what its handlers saw. */
  async function startInformer() {
    const seen: string[] = [];
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/ns1/configmaps', () => core.listNamespacedConfigMap({ namespace: 'ns1' }));
    informer.on('add', (o) => seen.push(`add ${o.metadata!.name!}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata!.name!}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata!.name!}`));
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    return { informer, seen, errors };
  }

  const cached = (informer: k8s.Informer<k8s.V1ConfigMap> & k8s.ObjectCache<k8s.V1ConfigMap>) =>
    informer.list('ns1').map((o) => `${o.metadata!.name!}=${JSON.stringify(o.data ?? {})}@${o.metadata!.resourceVersion!}`).sort();
  const truth = () =>
    ['a', 'b', 'c', 'd']
      .map((n) => server.read('v1', 'ConfigMap', n, 'ns1'))
      .filter((o) => o !== undefined)
      .map((o) => `${o.metadata.name!}=${JSON.stringify(o.data ?? {})}@${o.metadata.resourceVersion!}`)
      .sort();
  const watchCount = () => server.requests.filter((r) => r.verb === 'watch' && r.resource === 'configmaps').length;
  const listCount = () => server.requests.filter((r) => r.verb === 'list' && r.resource === 'configmaps').length;

  it('reconnects after dropWatches from its resourceVersion and misses nothing', async () => {
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns1' }, data: { v: '1' } });
    const { informer, seen, errors } = await startInformer();
    await vi.waitFor(() => expect(watchCount()).toBe(1));
    await vi.waitFor(() => expect(seen).toEqual(['add a']));
    server.dropWatches();
    // Written while no watch is open: the reconnected watch must bring them.
    const a = server.read('v1', 'ConfigMap', 'a', 'ns1')!;
    await server.update({ ...a, data: { v: '2' } });
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns1' } });
    await server.remove('v1', 'ConfigMap', 'a', 'ns1');
    await vi.waitFor(() => expect(seen).toEqual(['add a', 'update a', 'add b', 'delete a']));
    expect(cached(informer)).toEqual(truth());
    expect(watchCount()).toBe(2);
    expect(listCount()).toBe(1);
    expect(errors).toEqual([]);
    await informer.stop();
  });

  it('stops with an error when the connection is reset, and a restart resumes without losing events', async () => {
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns1' } });
    const { informer, seen, errors } = await startInformer();
    await vi.waitFor(() => expect(watchCount()).toBe(1));
    server.dropWatches('reset');
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns1' } });
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(watchCount()).toBe(1);
    // What client-node's README asks of informer users: start again after an error.
    await informer.start();
    await vi.waitFor(() => expect(seen).toEqual(['add a', 'add b']));
    expect(cached(informer)).toEqual(truth());
    await informer.stop();
  });

  it('relists after its resourceVersion is compacted (410) and ends with the right objects', async () => {
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns1' } });
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns1' } });
    const { informer, seen, errors } = await startInformer();
    await vi.waitFor(() => expect(watchCount()).toBe(1));
    // While the informer is away: changes it must see, a write elsewhere, and compaction.
    server.dropWatches();
    await server.remove('v1', 'ConfigMap', 'a', 'ns1');
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns1' }, data: { v: 'c' } });
    const b = server.read('v1', 'ConfigMap', 'b', 'ns1')!;
    await server.update({ ...b, data: { v: 'b2' } });
    server.compact();
    await vi.waitFor(() => expect(listCount()).toBe(2));
    await vi.waitFor(() => expect(cached(informer)).toEqual(truth()));
    expect(seen).toEqual(['add a', 'add b', 'delete a', 'update b', 'add c']);
    // Later events still arrive on the new watch.
    await server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd', namespace: 'ns1' } });
    await vi.waitFor(() => expect(seen.at(-1)).toBe('add d'));
    expect(cached(informer)).toEqual(truth());
    expect(errors).toEqual([]);
    await informer.stop();
  });
});

describe('custom resources', () => {
  const ipPools = (co: k8s.CustomObjectsApi) => ({
    create: (body: object) => co.createClusterCustomObject({ group: 'twill.io', version: 'v1alpha1', plural: 'ippools', body }),
    get: (name: string) => co.getClusterCustomObject({ group: 'twill.io', version: 'v1alpha1', plural: 'ippools', name }) as Promise<Record<string, unknown>>,
  });

  it('serves a CRD\'s resources once it is created and not after it is deleted', async () => {
    const co = kc.makeApiClient(k8s.CustomObjectsApi);
    expect(await statusOf(ipPools(co).create({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } }))).toMatchObject({ code: 404, reason: 'NotFound' });
    // client-node's models name the x-kubernetes-* fields differently: plain JSON goes through its serializer.
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(JSON.stringify(ipPoolCrd));
    const crd = await kc.makeApiClient(k8s.ApiextensionsV1Api).createCustomResourceDefinition({ body });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    const groups = await kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toContain('twill.io');
    const resources = await (await fetch(`${server.url}/apis/twill.io/v1alpha1`)).json() as k8s.V1APIResourceList;
    expect(resources.resources.map((r) => `${r.name} ${String(r.namespaced)}`)).toEqual(['ippools false', 'ippools/status false']);
    const pool = await ipPools(co).create({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } });
    expect(pool).toMatchObject({ kind: 'IPPool', metadata: { name: 'p', generation: 1 } });
    // KubernetesObjectApi resolves the path through discovery.
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const read = await objects.read({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p' } });
    expect(read.metadata?.uid).toBe((pool as { metadata: { uid: string } }).metadata.uid);
    await kc.makeApiClient(k8s.ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'ippools.twill.io' });
    expect(await statusOf(ipPools(co).get('p'))).toMatchObject({ code: 404, reason: 'NotFound' });
    expect(server.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'ippools.twill.io')).toBeUndefined();
  });

  it('validates against the schema (422 naming each field), prunes unknown fields and applies defaults', async () => {
    await server.create(ipPoolCrd);
    const co = kc.makeApiClient(k8s.CustomObjectsApi);
    const bad = await statusOf(ipPools(co).create({
      apiVersion: 'twill.io/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'bad' },
      spec: { cidr: 'nope', blockSize: 8, mode: 'Sometimes', port: 1.5, nodes: [{ name: '' }], labels: { k: 'toolong' } },
    }));
    expect(bad).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(bad.message).toMatch(/^IPPool.twill.io "bad" is invalid: \[spec.cidr: Invalid value: "nope": spec.cidr in body should match/);
    expect(bad.details?.causes?.map((c) => `${c.field ?? ''} ${c.reason}`).sort()).toEqual([
      'spec.blockSize FieldValueInvalid',
      'spec.cidr FieldValueInvalid',
      'spec.labels.k FieldValueTooLong',
      'spec.mode FieldValueNotSupported',
      'spec.nodes[0].name FieldValueInvalid',
      'spec.port FieldValueTypeInvalid',
    ]);
    const missing = await statusOf(ipPools(co).create({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'm' }, spec: {} }));
    expect(missing.details?.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.cidr' }]);

    const created = await ipPools(co).create({
      apiVersion: 'twill.io/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'ok' },
      spec: { cidr: '10.0.0.0/16', port: 'http', unknown: 1, extra: { anything: { goes: true } }, nodes: [{ name: 'n1', junk: 2 }] },
      status: { allocated: 3 },
      topLevelJunk: true,
    });
    expect(created).toEqual({
      apiVersion: 'twill.io/v1alpha1',
      kind: 'IPPool',
      metadata: expect.objectContaining({ name: 'ok' }),
      // Pruned: spec.unknown, nodes[0].junk, topLevelJunk; status is the subresource's; blockSize defaulted.
      spec: { cidr: '10.0.0.0/16', port: 'http', blockSize: 26, extra: { anything: { goes: true } }, nodes: [{ name: 'n1' }] },
    });
  });

  it('validates, defaults and prunes inside a subschema the CRD repeats (compiled once, shared)', async () => {
    const endpoint = {
      type: 'object',
      required: ['host'],
      properties: {
        host: { type: 'string', pattern: '^[a-z0-9.-]+$', description: 'a host name, lower case, as DNS writes it' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 443, description: 'the TCP port the endpoint listens on' },
      },
    };
    const crd = structuredClone(ipPoolCrd) as typeof ipPoolCrd;
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties as Record<string, unknown>;
    schema.primary = endpoint;
    schema.backup = endpoint;
    schema.more = { type: 'array', items: endpoint };
    await server.create(crd);
    const co = kc.makeApiClient(k8s.CustomObjectsApi);
    const bad = await statusOf(co.createClusterCustomObject({ group: 'twill.io', version: 'v1alpha1', plural: 'ippools', body: {
      apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p' },
      spec: { cidr: '10.0.0.0/8', primary: { host: 'a' }, backup: { host: 'B!' }, more: [{ host: 'c' }, { port: 0 }] },
    } }));
    expect(bad.details?.causes?.map((c) => `${c.field ?? ''} ${c.reason}`).sort()).toEqual([
      'spec.backup.host FieldValueInvalid',
      'spec.more[1].host FieldValueRequired',
      'spec.more[1].port FieldValueInvalid',
    ]);
    const ok = (await co.createClusterCustomObject({ group: 'twill.io', version: 'v1alpha1', plural: 'ippools', body: {
      apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p' },
      spec: { cidr: '10.0.0.0/8', primary: { host: 'a', junk: 1 }, more: [{ host: 'c', port: 80 }] },
    } })) as { spec: object };
    expect(ok.spec).toEqual({ cidr: '10.0.0.0/8', blockSize: 26, primary: { host: 'a', port: 443 }, more: [{ host: 'c', port: 80 }] });
  });

  it('changes status only through the status subresource, and generation only with the spec', async () => {
    await server.create(ipPoolCrd);
    const co = kc.makeApiClient(k8s.CustomObjectsApi);
    const pool = (await ipPools(co).create({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } })) as k8s.KubernetesObject & { spec: object };
    const withStatus = (await co.replaceClusterCustomObjectStatus({ group: 'twill.io', version: 'v1alpha1', plural: 'ippools', name: 'p', body: { ...pool, status: { allocated: 5 } } })) as { status: object; metadata: { generation: number } };
    expect(withStatus.status).toEqual({ allocated: 5 });
    expect(withStatus.metadata.generation).toBe(1);
    const respec = (await co.replaceClusterCustomObject({ group: 'twill.io', version: 'v1alpha1', plural: 'ippools', name: 'p', body: { ...withStatus, spec: { cidr: '10.1.0.0/16' }, status: { allocated: 0 } } })) as { status: object; metadata: { generation: number } };
    expect(respec.status).toEqual({ allocated: 5 });
    expect(respec.metadata.generation).toBe(2);
  });
});

describe('custom resources at several versions', () => {
  const widgetCrd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.io' },
    spec: {
      group: 'example.io',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: [
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } },
        { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } },
        { name: 'v1alpha1', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
      ],
    },
  };

  it('serves each served version of one stored object, namespaced, and ends watches when the CRD goes', async () => {
    await server.create(widgetCrd);
    const co = kc.makeApiClient(k8s.CustomObjectsApi);
    await co.createNamespacedCustomObject({ group: 'example.io', version: 'v1', namespace: 'ns1', plural: 'widgets', body: { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 3 } } });
    const beta = (await co.getNamespacedCustomObject({ group: 'example.io', version: 'v1beta1', namespace: 'ns1', plural: 'widgets', name: 'w' })) as k8s.KubernetesObject;
    expect(beta.apiVersion).toBe('example.io/v1beta1');
    expect(await statusOf(co.getNamespacedCustomObject({ group: 'example.io', version: 'v1alpha1', namespace: 'ns1', plural: 'widgets', name: 'w' }))).toMatchObject({ code: 404 });
    const list = (await co.listClusterCustomObject({ group: 'example.io', version: 'v1', plural: 'widgets' })) as { kind: string; items: k8s.KubernetesObject[] };
    expect(list.kind).toBe('WidgetList');
    // Unstructured lists keep apiVersion and kind on their items.
    expect(list.items.map((i) => `${i.apiVersion!} ${i.kind!} ${i.metadata!.namespace!}/${i.metadata!.name!}`)).toEqual(['example.io/v1 Widget ns1/w']);
    const doc = (await (await fetch(`${server.url}/apis/example.io`)).json()) as k8s.V1APIGroup;
    expect(doc.versions.map((v) => v.version)).toEqual(['v1', 'v1beta1']);
    expect(doc.preferredVersion?.version).toBe('v1');

    const w = await watchEvents('/apis/example.io/v1beta1/namespaces/ns1/widgets', {});
    await vi.waitFor(() => expect(w.events.map((e) => e.type)).toEqual(['ADDED']));
    expect(w.objects[0]?.apiVersion).toBe('example.io/v1beta1');
    await server.remove('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.io');
    expect(await w.done).toBeNull();
    expect(w.events.map((e) => `${e.type} ${e.name ?? ''}`)).toEqual(['ADDED w', 'DELETED w']);
    const gone = await fetch(`${server.url}/apis/example.io/v1/namespaces/ns1/widgets`);
    expect(gone.status).toBe(404);
  });
});

describe('bad requests', () => {
  const corpus: { name: string; method: string; path: string; body?: unknown; contentType?: string; code: number; reason: string; message?: string | RegExp }[] = [
    { name: 'unknown resource', method: 'GET', path: '/api/v1/widgets', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' },
    { name: 'unknown group', method: 'GET', path: '/apis/nothere.io/v1/things', code: 404, reason: 'NotFound' },
    { name: 'unknown version', method: 'GET', path: '/apis/networking.k8s.io/v9/networkpolicies', code: 404, reason: 'NotFound' },
    { name: 'cluster-scoped resource under a namespace', method: 'GET', path: '/api/v1/namespaces/ns1/nodes', code: 404, reason: 'NotFound' },
    { name: 'missing object', method: 'GET', path: '/apis/networking.k8s.io/v1/namespaces/ns1/networkpolicies/x', code: 404, reason: 'NotFound', message: 'networkpolicies.networking.k8s.io "x" not found' },
    { name: 'POST to a named path', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps/a', body: { metadata: { name: 'a' } }, code: 405, reason: 'MethodNotAllowed' },
    { name: 'PUT to a collection', method: 'PUT', path: '/api/v1/namespaces/ns1/configmaps', body: { metadata: { name: 'a' } }, code: 405, reason: 'MethodNotAllowed' },
    { name: 'kind of the body differs from the path', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps', body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' } }, code: 400, reason: 'BadRequest' },
    { name: 'apiVersion of the body differs from the path', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps', body: { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'a' } }, code: 400, reason: 'BadRequest', message: 'the API version in the data (apps/v1) does not match the expected API version (v1)' },
    { name: 'name in the body differs from the path', method: 'PUT', path: '/api/v1/namespaces/ns1/configmaps/a', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } }, code: 400, reason: 'BadRequest', message: 'the name of the object (b) does not match the name on the URL (a)' },
    { name: 'namespace in the body differs from the path', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps', body: { metadata: { name: 'a', namespace: 'other' } }, code: 400, reason: 'BadRequest', message: 'the namespace of the provided object does not match the namespace sent on the request' },
    { name: 'body is not JSON', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps', body: '{not json', code: 400, reason: 'BadRequest', message: /^couldn't get version\/kind; json parse error/ },
    { name: 'secret data not base64', method: 'POST', path: '/api/v1/namespaces/ns1/secrets', body: { metadata: { name: 's' }, data: { k: 'not base64!' } }, code: 400, reason: 'BadRequest', message: /illegal base64 data at input byte 3/ },
    { name: 'label selector syntax', method: 'GET', path: '/api/v1/namespaces/ns1/pods?labelSelector=app%20in%20web', code: 400, reason: 'BadRequest' },
    { name: 'unsupported field selector', method: 'GET', path: '/api/v1/namespaces/ns1/pods?fieldSelector=spec.nope%3Dx', code: 400, reason: 'BadRequest', message: 'field label not supported: spec.nope' },
    { name: 'namespace name with a dot', method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'a.b' } }, code: 422, reason: 'Invalid' },
    { name: 'no name', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps', body: { metadata: {} }, code: 422, reason: 'Invalid', message: 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required' },
    { name: 'pod without containers', method: 'POST', path: '/api/v1/namespaces/ns1/pods', body: { metadata: { name: 'p' }, spec: {} }, code: 422, reason: 'Invalid', message: 'Pod "p" is invalid: spec.containers: Required value' },
    { name: 'pod update that moves it to another node', method: 'PUT', path: '/api/v1/namespaces/ns1/pods/p', body: { metadata: { name: 'p' }, spec: { nodeName: 'n2', containers: [{ name: 'c', image: 'busybox' }] } }, code: 422, reason: 'Invalid', message: /^Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/ },
    { name: 'bad label value', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps', body: { metadata: { name: 'a', labels: { k: 'a b' } } }, code: 422, reason: 'Invalid' },
    { name: 'strategic merge patch on a custom resource', method: 'PATCH', path: '/apis/twill.io/v1alpha1/ippools/p', body: {}, contentType: 'application/strategic-merge-patch+json', code: 415, reason: 'UnsupportedMediaType' },
    { name: 'custom resource of a version not served', method: 'GET', path: '/apis/twill.io/v1beta1/ippools/p', code: 404, reason: 'NotFound' },
    { name: 'custom resource under a namespace when cluster-scoped', method: 'GET', path: '/apis/twill.io/v1alpha1/namespaces/ns1/ippools/p', code: 404, reason: 'NotFound' },
    { name: 'custom resource without kind', method: 'POST', path: '/apis/twill.io/v1alpha1/ippools', body: { apiVersion: 'twill.io/v1alpha1', metadata: { name: 'q' }, spec: { cidr: '10.0.0.0/8' } }, code: 400, reason: 'BadRequest', message: /^Object 'Kind' is missing in/ },
    { name: 'CRD whose name is not plural.group', method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: { ...ipPoolCrd, metadata: { name: 'pools.twill.io' } }, code: 422, reason: 'Invalid', message: 'CustomResourceDefinition.apiextensions.k8s.io "pools.twill.io" is invalid: metadata.name: Invalid value: "pools.twill.io": must be spec.names.plural+"."+spec.group' },
    {
      name: 'CRD with a field without a type',
      method: 'POST',
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      body: { ...ipPoolCrd, metadata: { name: 'things.example.io' }, spec: { ...ipPoolCrd.spec, group: 'example.io', names: { plural: 'things', kind: 'Thing' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { properties: { a: { type: 'string' } } } } } } }] } },
      code: 422,
      reason: 'Invalid',
      message: 'CustomResourceDefinition.apiextensions.k8s.io "things.example.io" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
    },
    {
      name: 'CRD with a pattern that does not compile',
      method: 'POST',
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      body: { ...ipPoolCrd, metadata: { name: 'things.example.io' }, spec: { ...ipPoolCrd.spec, group: 'example.io', names: { plural: 'things', kind: 'Thing' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { a: { type: 'string', pattern: '([a-z' } } } } }] } },
      code: 422,
      reason: 'Invalid',
      message: /openAPIV3Schema.properties\[a\].pattern: Invalid value: "\(\[a-z": must be a valid regular expression$/,
    },
    { name: 'dryRun other than All', method: 'POST', path: '/api/v1/namespaces/ns1/configmaps?dryRun=Some', body: { metadata: { name: 'b' } }, code: 400, reason: 'BadRequest', message: 'dryRun: Unsupported value: "Some": supported values: "All"' },
    { name: 'delete of a missing object', method: 'DELETE', path: '/api/v1/namespaces/ns1/configmaps/zz', code: 404, reason: 'NotFound', message: 'configmaps "zz" not found' },
    { name: 'patch content type unknown', method: 'PATCH', path: '/api/v1/namespaces/ns1/configmaps/a', body: {}, contentType: 'text/plain', code: 415, reason: 'UnsupportedMediaType' },
    { name: 'continue token garbage', method: 'GET', path: '/api/v1/namespaces/ns1/configmaps?limit=1&continue=zzz', code: 400, reason: 'BadRequest' },
    { name: 'resourceVersion not a number', method: 'GET', path: '/api/v1/namespaces/ns1/configmaps?resourceVersion=abc', code: 400, reason: 'BadRequest' },
    { name: 'status of a resource without that subresource', method: 'GET', path: '/api/v1/namespaces/ns1/configmaps/a/status', code: 404, reason: 'NotFound' },
  ];

  it.each(corpus)('$name: $code $reason', async ({ method, path, body, contentType, code, reason, message }) => {
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    await server.create(ipPoolCrd);
    await server.create({ apiVersion: 'twill.io/v1alpha1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } });
    await server.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns1' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } });
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'Content-Type': contentType ?? 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const status = (await response.json()) as { kind: string; status: string; code: number; reason: string; message: string };
    expect({ http: response.status, kind: status.kind, status: status.status, code: status.code, reason: status.reason }).toEqual({ http: code, kind: 'Status', status: 'Failure', code, reason });
    if (typeof message === 'string') expect(status.message).toBe(message);
    else if (message !== undefined) expect(status.message).toMatch(message);
  });
});

describe('request log', () => {
  it('records each request with the verb RBAC would check', async () => {
    const before = server.requests.length;
    await core.createNamespacedConfigMap({ namespace: 'ns1', body: { metadata: { name: 'a' } } });
    await core.readNamespacedConfigMap({ namespace: 'ns1', name: 'a' });
    await core.listConfigMapForAllNamespaces();
    await core.patchNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: [{ op: 'add', path: '/data', value: { k: 'v' } }] });
    const cm = await core.readNamespacedConfigMap({ namespace: 'ns1', name: 'a' });
    await core.replaceNamespacedConfigMap({ namespace: 'ns1', name: 'a', body: cm });
    await core.createNamespacedPod({ namespace: 'ns1', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    const pod = await core.readNamespacedPod({ namespace: 'ns1', name: 'p' });
    await core.replaceNamespacedPodStatus({ namespace: 'ns1', name: 'p', body: { ...pod, status: { phase: 'Running', podIP: '10.0.0.5' } } });
    const w = await watchEvents('/api/v1/nodes', { timeoutSeconds: '1' });
    await w.done;
    await core.deleteNamespacedConfigMap({ namespace: 'ns1', name: 'a' });
    expect(server.requests.slice(before)).toEqual([
      { verb: 'create', group: '', resource: 'configmaps', namespace: 'ns1' },
      { verb: 'get', group: '', resource: 'configmaps', namespace: 'ns1', name: 'a' },
      { verb: 'list', group: '', resource: 'configmaps' },
      { verb: 'patch', group: '', resource: 'configmaps', namespace: 'ns1', name: 'a' },
      { verb: 'get', group: '', resource: 'configmaps', namespace: 'ns1', name: 'a' },
      { verb: 'update', group: '', resource: 'configmaps', namespace: 'ns1', name: 'a' },
      { verb: 'create', group: '', resource: 'pods', namespace: 'ns1' },
      { verb: 'get', group: '', resource: 'pods', namespace: 'ns1', name: 'p' },
      { verb: 'update', group: '', resource: 'pods', subresource: 'status', namespace: 'ns1', name: 'p' },
      { verb: 'watch', group: '', resource: 'nodes' },
      { verb: 'delete', group: '', resource: 'configmaps', namespace: 'ns1', name: 'a' },
    ]);
    expect(server.read('v1', 'Pod', 'p', 'ns1')?.status).toEqual({ phase: 'Running', podIP: '10.0.0.5' });
  });

  it('writes a kubeconfig that client-node loads', async () => {
    const loaded = new k8s.KubeConfig();
    loaded.loadFromString(server.kubeconfigYaml());
    expect(loaded.getCurrentCluster()?.server).toBe(server.url);
    const namespaces = await loaded.makeApiClient(k8s.CoreV1Api).listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(['ns1']);
  });
});
