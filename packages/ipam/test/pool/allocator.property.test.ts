import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { MemoryStore, PoolAllocator, PoolExhaustedError, SqliteStore, type Store } from '@twill/ipam';

import { fakeClock, noSleep, poolConfig } from './helpers.js';

// Random sequences of allocate, release, bursts of concurrent allocations, node add and
// node remove, and clock ticks, across simulated nodes sharing one store. The model is
// a map container -> (node, addresses). Checked after every step: no address twice,
// nothing lost (allocated + free + reserved + cooling = pool, and the store holds what
// the model holds), the documents agree with each other (check() is clean), and the
// affinity rules hold (strictAffinity: only the node's own blocks; maxBlocksPerHost).
const NODES = ['n0', 'n1', 'n2', 'n3'] as const;

const command = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('allocate' as const), node: fc.integer({ min: 0, max: 3 }), id: fc.integer({ min: 0, max: 39 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('burst' as const), ids: fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 39 })), { minLength: 2, maxLength: 6 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('release' as const), id: fc.integer({ min: 0, max: 39 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add-node' as const), node: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove-node' as const), node: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }) },
);

type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

const settings = fc.record({
  strictAffinity: fc.boolean(),
  maxBlocksPerHost: fc.constantFrom(0, 1, 2),
  releaseCooldownSeconds: fc.constantFrom(0, 2),
  reserved: fc.constantFrom([], ['10.0.0.5'], ['10.0.0.8/30']),
});

async function runScenario(makeStore: () => Store, commands: readonly Command[], ipamSettings: Record<string, unknown>): Promise<void> {
  const store = makeStore();
  const clock = fakeClock();
  // A /27 in eight /30 blocks: small enough that claims, borrowing and exhaustion all happen.
  const config = poolConfig({ pools: [{ name: 'p', cidr: '10.0.0.0/27', blockSize: 30 }], ...ipamSettings });
  const allocator = new PoolAllocator({ config, store, now: clock.now, retry: noSleep });
  const model = new Map<string, { node: string; ip: string }>();
  const active = new Set<string>(['n0', 'n1']);
  const allocate = async (node: string, id: string): Promise<void> => {
    if (!active.has(node)) return;
    try {
      const got = await allocator.allocate({ containerId: id, ifName: 'eth0', node });
      expect(model.has(id)).toBe(false);
      model.set(id, { node, ip: got.addresses[0]?.ip ?? '' });
    } catch (error) {
      if (model.has(id)) return; // a second ADD is refused
      expect(error).toBeInstanceOf(PoolExhaustedError);
      // Without strictAffinity or a block limit, exhaustion means the pool is really full.
      if (!config.strictAffinity && config.maxBlocksPerHost === 0) expect((await allocator.usage())[0]?.free).toBe(0n);
    }
  };
  try {
    for (const c of commands) {
      const node = NODES['node' in c ? c.node : 0] ?? 'n0';
      if (c.op === 'allocate') await allocate(node, `c${c.id}`);
      else if (c.op === 'burst') {
        const unique = [...new Map(c.ids.map(([n, id]) => [id, n])).entries()];
        await Promise.all(unique.map(([id, n]) => allocate(NODES[n] ?? 'n0', `c${id}`)));
      } else if (c.op === 'release') {
        const held = model.get(`c${c.id}`);
        expect(await allocator.release({ containerId: `c${c.id}` })).toEqual(held === undefined ? [] : [held.ip]);
        model.delete(`c${c.id}`);
      } else if (c.op === 'add-node') active.add(node);
      else if (c.op === 'remove-node') {
        const held = [...model].filter(([, v]) => v.node === node);
        expect([...(await allocator.removeNode(node))].sort()).toEqual(held.map(([, v]) => v.ip).sort());
        for (const [id] of held) model.delete(id);
        active.delete(node);
      } else clock.advance(c.ms);

      const ips = [...model.values()].map((v) => v.ip);
      expect(new Set(ips).size).toBe(ips.length);
      const [usage] = await allocator.usage();
      if (usage === undefined) throw new Error('no usage');
      expect(usage.allocated + usage.free + usage.reserved + usage.cooling).toBe(usage.size);
      expect(usage.allocated).toBe(BigInt(model.size));
      const report = await allocator.check();
      expect(report.problems).toEqual([]);
      for (const [id, { node: owner, ip }] of model) {
        const status = await allocator.whyHeld(ip);
        expect(status).toMatchObject({ state: 'allocated', containerId: id, node: owner });
        // strictAffinity: only the node's own blocks (no borrowing; a block that lost its
        // node is claimed only once empty, and a removed node's addresses are released).
        if (config.strictAffinity && status.state === 'allocated') expect(status.blockAffinity).toBe(owner);
      }
      if (config.maxBlocksPerHost > 0) {
        for (const n of NODES) {
          const doc = await store.get(`twill-pools/affinity/${n}`);
          const blocks = doc === undefined ? [] : (JSON.parse(doc.value) as { blocks: string[] }).blocks;
          expect(blocks.length).toBeLessThanOrEqual(config.maxBlocksPerHost);
        }
      }
    }
  } finally {
    await store.close();
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('PoolAllocator properties', () => {
  it('memory store: no duplicate, nothing lost, affinity rules respected', async () => {
    await fc.assert(
      fc.asyncProperty(settings, fc.array(command, { maxLength: 50 }), (ipamSettings, commands) => runScenario(() => new MemoryStore(), commands, ipamSettings)),
      { numRuns: 120 },
    );
  }, 120_000);

  // The memory store without its synchronous face: attempts interleave at every read,
  // so bursts race and the compare-and-swap conflicts and retries are exercised.
  it('memory store, asynchronous only (interleaved attempts): the same', async () => {
    const asyncOnly = (): Store => {
      const inner = new MemoryStore();
      return { get: (key) => inner.get(key), list: (prefix) => inner.list(prefix), commit: (ops) => inner.commit(ops), close: () => inner.close() };
    };
    await fc.assert(
      fc.asyncProperty(settings, fc.array(command, { maxLength: 50 }), (ipamSettings, commands) => runScenario(asyncOnly, commands, ipamSettings)),
      { numRuns: 60 },
    );
  }, 120_000);

  it('SQLite store (a temporary file): the same, fewer runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-pool-prop-'));
    dirs.push(dir);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(settings, fc.array(command, { maxLength: 30 }), (ipamSettings, commands) =>
        runScenario(() => SqliteStore.open({ path: join(dir, `run-${n++}.db`) }), commands, ipamSettings),
      ),
      { numRuns: 12 },
    );
  }, 120_000);
});
