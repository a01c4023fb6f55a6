import { afterEach, describe, expect, it, vi } from 'vitest';

import { parsePoolIpamConfig, PoolAllocator, type Store, StoreFailureError } from '@twill/ipam';

import { openKubernetesStore } from '../../src/agent/kubernetes/sys/store.js';
import { agentClusterRules, rbacAllows } from '../../src/agent/manifests/rbac.js';
import { twillCrds } from '../../src/agent/manifests/twill-crds.js';
import { recordingLogger } from '../agent/datastore/watch-helpers.js';
import { type KubernetesTestServer, startKubernetesTestServer } from './api-server.js';
import { blackHole } from './black-hole.js';

// The ipam Store over Twill's CRDs, against the Kubernetes API test server through the
// real client-node: the Store contract, what kubectl sees, the change token, and pool
// allocators (one per agent) sharing the API.
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(options: { crds?: boolean } = {}): Promise<KubernetesTestServer> {
  const api = await startKubernetesTestServer({ bookmarkMs: 200 });
  closers.push(() => api.close());
  if (options.crds !== false) for (const crd of twillCrds()) await api.create(crd);
  return api;
}

async function open(api: KubernetesTestServer): Promise<Store & { changeToken(): Promise<string> }> {
  const store = await openKubernetesStore({ kubeConfig: api.kubeConfig() });
  closers.push(() => store.close());
  return store;
}

const TWILL = 'twill.io/v1alpha1';

describe('the Kubernetes store: the Store contract', () => {
  it('puts, gets and lists directly under a prefix, in key order', async () => {
    const store = await open(await server());
    expect(
      await store.commit([
        { type: 'put', key: 'n/b', value: '2' },
        { type: 'put', key: 'n/a', value: '1' },
        { type: 'put', key: 'n/a/deeper', value: '4' },
        { type: 'put', key: 'm/c', value: '3' },
      ]),
    ).toEqual({ ok: true });
    expect((await store.get('n/a'))?.value).toBe('1');
    expect(await store.get('n/zz')).toBeUndefined();
    expect((await store.list('n/')).map((e) => [e.key, e.value])).toEqual([['n/a', '1'], ['n/b', '2']]);
    expect((await store.list('n/a/')).map((e) => e.key)).toEqual(['n/a/deeper']);
    expect(await store.list('empty/')).toEqual([]);
  });

  it('creates only when absent', async () => {
    const store = await open(await server());
    expect(await store.commit([{ type: 'put', key: 'n/a', value: '1', expect: { absent: true } }])).toEqual({ ok: true });
    expect(await store.commit([{ type: 'put', key: 'n/a', value: '2', expect: { absent: true } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    expect((await store.get('n/a'))?.value).toBe('1');
  });

  it('writes only at the expected revision (compare-and-swap), the revision being the resourceVersion', async () => {
    const api = await server();
    const store = await open(api);
    await store.commit([{ type: 'put', key: 'twill-pools/affinity/n1', value: '1' }]);
    const read = await store.get('twill-pools/affinity/n1');
    if (read === undefined) throw new Error('missing');
    expect(read.revision).toBe(api.read(TWILL, 'BlockAffinity', 'n1')?.metadata.resourceVersion);
    // Another client writes the object between the read and the commit.
    const object = api.read(TWILL, 'BlockAffinity', 'n1');
    await api.update({ ...object, spec: { ...(object?.['spec'] as object), value: '2' } });
    expect(await store.commit([{ type: 'put', key: 'twill-pools/affinity/n1', value: '3', expect: { revision: read.revision } }])).toEqual({
      ok: false,
      conflicts: ['twill-pools/affinity/n1'],
    });
    expect(await store.commit([{ type: 'delete', key: 'twill-pools/affinity/n1', expect: { revision: read.revision } }])).toEqual({
      ok: false,
      conflicts: ['twill-pools/affinity/n1'],
    });
    const now = await store.get('twill-pools/affinity/n1');
    expect(now?.value).toBe('2');
    expect(now?.revision).not.toBe(read.revision);
    expect(await store.commit([{ type: 'delete', key: 'twill-pools/affinity/n1', expect: { revision: now?.revision ?? '' } }])).toEqual({ ok: true });
    expect(await store.get('twill-pools/affinity/n1')).toBeUndefined();
    // A write at a revision of an entry that is gone conflicts too.
    expect(await store.commit([{ type: 'put', key: 'twill-pools/affinity/n1', value: '4', expect: { revision: now?.revision ?? '' } }])).toEqual({
      ok: false,
      conflicts: ['twill-pools/affinity/n1'],
    });
  });

  it('deletes, unconditionally and on the condition that a key is absent', async () => {
    const store = await open(await server());
    await store.commit([{ type: 'put', key: 'n/a', value: '1' }]);
    expect(await store.commit([{ type: 'delete', key: 'n/a', expect: { absent: true } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    expect(await store.commit([{ type: 'delete', key: 'n/a' }])).toEqual({ ok: true });
    expect(await store.commit([{ type: 'delete', key: 'n/a' }])).toEqual({ ok: true });
    expect(await store.commit([{ type: 'delete', key: 'n/a', expect: { absent: true } }])).toEqual({ ok: true });
    expect(await store.get('n/a')).toBeUndefined();
  });

  it('applies all of a commit or nothing: a conflict on the second write undoes the first', async () => {
    const api = await server();
    const store = await open(api);
    await store.commit([
      { type: 'put', key: 'twill-pools/handles/net.old', value: 'old' },
      { type: 'put', key: 'twill-pools/affinity/gone', value: 'bye' },
      { type: 'put', key: 'n/taken', value: 'x' },
    ]);
    const old = await store.get('twill-pools/handles/net.old');
    const gone = await store.get('twill-pools/affinity/gone');
    const outcome = await store.commit([
      { type: 'put', key: 'twill-pools/blocks/10.0.0.0-28', value: 'new', expect: { absent: true } },
      { type: 'put', key: 'twill-pools/handles/net.old', value: 'replaced', expect: { revision: old?.revision ?? '' } },
      { type: 'delete', key: 'twill-pools/affinity/gone', expect: { revision: gone?.revision ?? '' } },
      { type: 'put', key: 'n/taken', value: 'z', expect: { absent: true } },
    ]);
    expect(outcome).toEqual({ ok: false, conflicts: ['n/taken'] });
    // As any other client sees it: the created object is gone, the others are back.
    expect(api.read(TWILL, 'IPAMBlock', '10.0.0.0-28')).toBeUndefined();
    expect(await store.get('twill-pools/blocks/10.0.0.0-28')).toBeUndefined();
    expect((await store.get('twill-pools/handles/net.old'))?.value).toBe('old');
    expect((await store.get('twill-pools/affinity/gone'))?.value).toBe('bye');
    expect((await store.get('n/taken'))?.value).toBe('x');
  });

  it('rejects malformed keys and prefixes', async () => {
    const store = await open(await server());
    await expect(store.get('../etc/passwd')).rejects.toThrow(new TypeError('invalid store key "../etc/passwd"'));
    await expect(store.commit([{ type: 'put', key: 'n//a', value: '' }])).rejects.toThrow(TypeError);
    await expect(store.list('n')).rejects.toThrow(TypeError);
  });

  // IPv6 CIDRs, upper case container IDs, long keys, odd text: each key lands in its own
  // object and comes back exactly.
  const odd = [
    ['twill-pools/blocks/fd00::40-122', '{"cidr":"fd00::40/122"}'],
    ['twill-pools/handles/net.ABCDEF0123456789', 'upper'],
    ['twill-pools/handles/net.abcdef0123456789', 'lower'],
    [`twill-pools/handles/net.${'c'.repeat(300)}`, 'long'],
    ['twill-endpoints/net1/0123abcd', '{"pod":"p"}\n'],
    ['net1/10.0.0.5', 'c1\r\neth0'],
    ['net1/last_reserved_ip.0', 'ünïcødé ✓'],
    ['n/a.', ''],
  ] as const;

  it('keeps odd keys apart and their text exact', async () => {
    const store = await open(await server());
    expect(await store.commit(odd.map(([key, value]) => ({ type: 'put' as const, key, value, expect: { absent: true as const } })))).toEqual({ ok: true });
    for (const [key, value] of odd) expect(await store.get(key), key).toMatchObject({ key, value });
    expect((await store.list('twill-pools/handles/')).map((e) => e.value)).toEqual(['upper', 'lower', 'long']);
  });
});

describe('the Kubernetes store: objects, failures, change token', () => {
  it('writes objects kubectl can read: the readable name and copies beside spec.key and spec.value', async () => {
    const api = await server();
    const store = await open(api);
    const block = '{"cidr":"10.0.0.64/26","pool":"p","affinity":"n1","size":64,"released":[]}';
    await store.commit([
      { type: 'put', key: 'twill-pools/blocks/10.0.0.64-26', value: block, expect: { absent: true } },
      { type: 'put', key: 'twill-pools/affinity/n1', value: '{"node":"n1","blocks":["10.0.0.64/26"]}', expect: { absent: true } },
    ]);
    expect(api.read(TWILL, 'IPAMBlock', '10.0.0.64-26')?.['spec']).toEqual({ key: 'twill-pools/blocks/10.0.0.64-26', value: block, cidr: '10.0.0.64/26', affinity: 'host:n1' });
    expect(api.read(TWILL, 'BlockAffinity', 'n1')?.['spec']).toMatchObject({ node: 'n1' });
    // Every request the store made is one the agent's ClusterRole allows.
    const rules = agentClusterRules();
    for (const request of api.requests) expect(rbacAllows(rules, request), JSON.stringify(request)).toBe(true);
  });

  it('fails with a StoreFailureError naming the kind when the CRDs are not installed', async () => {
    const store = await open(await server({ crds: false }));
    await expect(store.get('twill-pools/blocks/10.0.0.0-28')).rejects.toThrow(StoreFailureError);
    await expect(store.get('twill-pools/blocks/10.0.0.0-28')).rejects.toThrow(/get ipamblocks\/10\.0\.0\.0-28 failed: 404 NotFound.*is the CRD installed/);
    await expect(store.commit([{ type: 'put', key: 'n/a', value: '1' }])).rejects.toThrow(/storeentries/);
  });

  it("fails with the API's reason when the server refuses an object, and when it cannot be reached", async () => {
    // A cluster whose StoreEntry CRD allows at most 8 characters of text: the server
    // refuses longer values with 422 Invalid, naming the field.
    const api = await server({ crds: false });
    for (const crd of twillCrds() as { metadata: { name: string }; spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: { value: object } } } } } }[] } }[]) {
      if (crd.metadata.name === 'storeentries.twill.io') {
        const schema = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties;
        if (schema !== undefined) schema.value = { ...schema.value, maxLength: 8 };
      }
      await api.create(crd);
    }
    const store = await open(api);
    expect(await store.commit([{ type: 'put', key: 'n/a', value: 'short' }])).toEqual({ ok: true });
    const refused = store.commit([{ type: 'put', key: 'n/b', value: 'far too long', expect: { absent: true } }]);
    await expect(refused).rejects.toThrow(StoreFailureError);
    await expect(refused).rejects.toThrow(/create storeentries\/n\.b-h[0-9a-f]{16} failed: 422 Invalid: .*spec\.value/);
    // A multi-write commit refused in the middle leaves nothing of itself.
    await expect(store.commit([
      { type: 'put', key: 'n/c', value: 'ok', expect: { absent: true } },
      { type: 'put', key: 'n/d', value: 'far too long', expect: { absent: true } },
    ])).rejects.toThrow(/422 Invalid/);
    expect((await store.list('n/')).map((e) => e.key)).toEqual(['n/a']);
    await api.close();
    await expect(store.get('n/a')).rejects.toThrow(/Kubernetes store: get storeentries\/n\.a-h[0-9a-f]{16} failed: /);
  });

  it('moves its change token with its own commits and with any other client\'s writes, and only then', async () => {
    const api = await server();
    const store = await open(api);
    const first = await store.changeToken();
    await store.get('n/a');
    await store.list('n/');
    expect(await store.changeToken()).toBe(first);
    await store.commit([{ type: 'put', key: 'n/a', value: '1' }]);
    const afterCommit = await store.changeToken();
    expect(afterCommit).not.toBe(first);
    // The commit's own watch event arrives too; once things are quiet the token holds.
    let quiet = afterCommit;
    await vi.waitFor(async () => {
      const again = await store.changeToken();
      const settled = again === quiet;
      quiet = again;
      expect(settled).toBe(true);
    });
    await api.create({ apiVersion: TWILL, kind: 'StoreEntry', metadata: { name: 'by-hand' }, spec: { key: 'x/by-hand', value: 'v' } });
    await vi.waitFor(async () => expect(await store.changeToken()).not.toBe(quiet));
  });

  it('gives a new token at every call while its watches are down, and holds again once they run (after 410 Gone too)', async () => {
    const api = await server();
    const store = await open(api);
    await store.commit([{ type: 'put', key: 'n/a', value: '1' }]);
    // The watches resume from a resourceVersion the server has forgotten: 410, list again.
    api.compact();
    api.dropWatches();
    // Each call while any watch is down is a token never seen before.
    await vi.waitFor(async () => {
      const a = await store.changeToken();
      expect(await store.changeToken()).not.toBe(a);
    });
    await vi.waitFor(async () => {
      const a = await store.changeToken();
      expect(await store.changeToken()).toBe(a);
    });
    const held = await store.changeToken();
    await api.create({ apiVersion: TWILL, kind: 'IPAMHandle', metadata: { name: 'by-hand' }, spec: { key: 'x/handles/by-hand', value: 'v' } });
    await vi.waitFor(async () => expect(await store.changeToken()).not.toBe(held));
  });

  it('keeps its watches trying when they cannot even send (credentials failing), and runs again once they can', async () => {
    const api = await server();
    const kubeConfig = api.kubeConfig();
    // A watch reads the credentials itself before its request (client-node's Watch);
    // plain requests take another path, so reads keep working while watches cannot start.
    let broken = false;
    const apply = kubeConfig.applyToFetchOptions.bind(kubeConfig);
    kubeConfig.applyToFetchOptions = async (options) => {
      if (broken) throw new Error('cannot read the token file /var/run/secrets/token');
      return apply(options);
    };
    const logger = recordingLogger();
    const store = await openKubernetesStore({ kubeConfig, logger });
    closers.push(() => store.close());
    broken = true;
    api.dropWatches();
    const failed = (): number => logger.lines.filter((l) => l.level === 'warn' && /token file/.test(String((l.obj as { err?: Error }).err?.message))).length;
    // Failing again and again (each a new try), not crashing the process with an unhandled rejection.
    await vi.waitFor(() => expect(failed()).toBeGreaterThanOrEqual(8));
    expect(await store.changeToken()).not.toBe(await store.changeToken());
    expect(await store.commit([{ type: 'put', key: 'n/a', value: '1' }])).toEqual({ ok: true });
    broken = false;
    await vi.waitFor(async () => {
      const a = await store.changeToken();
      expect(await store.changeToken()).toBe(a);
    });
  });

  it('backs off a watch the server accepts and ends at once, and starts the backoff over once a watch works', async () => {
    // No bookmarks within the test: a watch dropped before an event has shown nothing.
    const api = await startKubernetesTestServer({ bookmarkMs: 600_000 });
    closers.push(() => api.close());
    for (const crd of twillCrds()) await api.create(crd);
    const logger = recordingLogger();
    const store = await openKubernetesStore({ kubeConfig: api.kubeConfig(), logger });
    closers.push(() => store.close());
    const watches = (): number => api.requests.filter((r) => r.verb === 'watch' && r.resource === 'storeentries').length;
    const delays = (): number[] =>
      logger.lines.filter((l) => (l.obj as { kind?: string }).kind === 'storeentries').map((l) => (l.obj as { retryInMs: number }).retryInMs);
    let seen = 0;
    for (let drop = 0; drop < 4; drop++) {
      // The next watch is open (the server serves it at once): end it before anything happens.
      await vi.waitFor(() => expect(watches()).toBeGreaterThan(seen));
      seen = watches();
      api.dropWatches();
      await vi.waitFor(() => expect(delays()).toHaveLength(drop + 1));
    }
    // Each stream ended before showing anything: the waits grow.
    expect(delays()).toEqual([50, 100, 200, 400]);
    // A watch that delivers an event has worked: its end waits the shortest time again.
    const now = watches();
    await vi.waitFor(() => expect(watches()).toBeGreaterThan(now));
    const held = await store.changeToken();
    await api.create({ apiVersion: TWILL, kind: 'StoreEntry', metadata: { name: 'by-hand' }, spec: { key: 'x/by-hand', value: 'v' } });
    await vi.waitFor(async () => expect(await store.changeToken()).not.toBe(held));
    api.dropWatches();
    await vi.waitFor(() => expect(delays()).toHaveLength(5));
    expect(delays()[4]).toBe(50);
  });

  it('fails a request to an API server that does not answer after its timeout, instead of hanging', async () => {
    const hole = { kubeConfig: await blackHole(closers) };
    const store = await openKubernetesStore({ kubeConfig: hole.kubeConfig, requestTimeoutMs: 100 });
    closers.push(() => store.close());
    const read = store.get('n/a');
    await expect(read).rejects.toThrow(StoreFailureError);
    await expect(read).rejects.toThrow(/^Kubernetes store: get storeentries\/n\.a-h[0-9a-f]{16} failed: the API server did not answer within 100 ms/);
    // A commit's write that timed out may have been applied: it says so.
    await expect(store.commit([{ type: 'put', key: 'n/a', value: '1', expect: { absent: true } }])).rejects.toThrow(/n\/a may have been written/);
  });

  it('refuses use after close', async () => {
    const store = await open(await server());
    await store.close();
    await expect(store.get('n/a')).rejects.toThrow(new StoreFailureError('Kubernetes store: used after close()'));
  });
});

describe('pool allocators over the Kubernetes store', () => {
  const ipam = { pools: [{ name: 'p', cidr: '10.20.0.0/24', blockSize: 28 }], releaseCooldownSeconds: 0 };
  const retry = { maxAttempts: 200, baseDelayMs: 2, maxDelayMs: 20 };

  it('allocates, finds and releases a handle', async () => {
    const api = await server();
    const store = await open(api);
    const allocator = new PoolAllocator({ config: parsePoolIpamConfig(ipam, { network: 'net' }), store, retry });
    const got = await allocator.allocate({ containerId: 'c1', ifName: 'eth0', node: 'n1' });
    const ip = got.addresses[0]?.ip ?? '';
    expect(ip).toMatch(/^10\.20\.0\.\d+$/);
    expect(await allocator.whyHeld(ip)).toMatchObject({ state: 'allocated', node: 'n1', blockAffinity: 'n1' });
    // The allocation is three objects: its block, the node's affinity, the handle.
    expect(api.read(TWILL, 'IPAMHandle', 'net.c1')?.['spec']).toMatchObject({ key: 'twill-pools/handles/net.c1' });
    expect(api.read(TWILL, 'BlockAffinity', 'n1')?.['spec']).toMatchObject({ node: 'n1' });
    expect(api.read(TWILL, 'IPAMBlock', '10.20.0.0-28')?.['spec']).toMatchObject({ cidr: '10.20.0.0/28', affinity: 'host:n1' });
    expect(await allocator.release({ containerId: 'c1' })).toEqual([ip]);
    expect(await store.get('twill-pools/handles/net.c1')).toBeUndefined();
    expect(await allocator.release({ containerId: 'c1' })).toEqual([]);
    expect((await allocator.check()).problems).toEqual([]);
  });

  it('three agents claiming blocks at once: no block claimed twice, no address given twice, nothing left once released', async () => {
    const api = await server();
    const nodes = ['n1', 'n2', 'n3'];
    // Three stores (three agents), each with its own allocator.
    const agents = await Promise.all(
      nodes.map(async (node) => ({ node, allocator: new PoolAllocator({ config: parsePoolIpamConfig(ipam, { network: 'net' }), store: await open(api), retry }) })),
    );
    const PER_NODE = 40;
    // Two allocations at once per agent too, so an agent also races itself.
    const PARALLEL = 2;
    const given: { node: string; containerId: string; ip: string }[] = [];
    await Promise.all(
      agents.flatMap(({ node, allocator }) =>
        Array.from({ length: PARALLEL }, async (_, lane) => {
          for (let i = lane; i < PER_NODE; i += PARALLEL) {
            const containerId = `${node}-c${i}`;
            const got = await allocator.allocate({ containerId, ifName: 'eth0', node });
            given.push({ node, containerId, ip: got.addresses[0]?.ip ?? '' });
          }
        }),
      ),
    );
    const ips = given.map((g) => g.ip);
    expect(ips).toHaveLength(nodes.length * PER_NODE);
    expect(new Set(ips).size).toBe(ips.length);

    const watcher = await open(api);
    const auditor = new PoolAllocator({ config: parsePoolIpamConfig(ipam, { network: 'net' }), store: watcher, retry });
    const report = await auditor.check();
    expect(report.problems).toEqual([]);
    expect(report.handles).toBe(ips.length);
    // No block in two nodes' affinity documents, and each block's own affinity agrees.
    const claims = (await watcher.list('twill-pools/affinity/')).flatMap((e) => (JSON.parse(e.value) as { node: string; blocks: string[] }).blocks.map((b) => [b, e.key]));
    expect(new Set(claims.map(([block]) => block)).size).toBe(claims.length);
    for (const { node, ip } of given) expect(await auditor.whyHeld(ip)).toMatchObject({ state: 'allocated', node });

    // Every handle released, then every node removed: the pool is as before.
    await Promise.all(
      agents.flatMap(({ node, allocator }) => {
        const mine = given.filter((g) => g.node === node);
        return Array.from({ length: PARALLEL }, async (_, lane) => {
          for (let i = lane; i < mine.length; i += PARALLEL) await allocator.release({ containerId: mine[i]?.containerId ?? '' });
        });
      }),
    );
    expect(await watcher.list('twill-pools/handles/')).toEqual([]);
    expect((await auditor.usage())[0]?.allocated).toBe(0n);
    for (const { node, allocator } of agents) await allocator.removeNode(node);
    expect(await watcher.list('twill-pools/blocks/')).toEqual([]);
    expect(await watcher.list('twill-pools/affinity/')).toEqual([]);
    // All of it went through the API as IPAMBlock, BlockAffinity and IPAMHandle objects.
    for (const resource of ['ipamblocks', 'blockaffinities', 'ipamhandles']) expect(api.requests.some((r) => r.verb === 'create' && r.resource === resource)).toBe(true);
  }, 120_000);
});
