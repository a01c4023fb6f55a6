import { describe, expect, it } from 'vitest';

import {
  decodeBlock,
  decodeHandle,
  DuplicateAllocationError,
  InvalidRequestError,
  MemoryStore,
  NoEligiblePoolError,
  PoolAllocator,
  PoolExhaustedError,
  StoreContendedError,
  type CommitOutcome,
  type Store,
  type StoreOp,
} from '@twill/ipam';

import { fakeClock, ipOf, noSleep, poolConfig, setup } from './helpers.js';

// A /28 pool cut in four /30 blocks of four addresses: small enough to fill by hand.
const small = { pools: [{ name: 'p', cidr: '10.0.0.0/28', blockSize: 30 }], releaseCooldownSeconds: 0 };
const add = (allocator: PoolAllocator, id: string, node: string): ReturnType<PoolAllocator['allocate']> =>
  allocator.allocate({ containerId: id, ifName: 'eth0', node });

async function failure(promise: Promise<unknown>): Promise<Error & { code: number; msg: string; details?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code: number; msg: string };
  }
  throw new Error('expected a failure');
}

describe('affinity and claiming', () => {
  it('allocates from the block the node claimed, lowest address first', async () => {
    const { allocator } = setup(small);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await add(allocator, `c${i}`, 'n1'));
    expect(got.map(ipOf)).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(new Set(got.map((g) => g.addresses[0]?.block))).toEqual(new Set(['10.0.0.0/30']));
    expect((await allocator.whyHeld('10.0.0.2')).state).toBe('allocated');
  });

  it('claims a new block when its blocks are full, and records the affinity', async () => {
    const { allocator, store } = setup(small);
    for (let i = 0; i < 5; i++) await add(allocator, `c${i}`, 'n1');
    const affinity = await store.get('twill-pools/affinity/n1');
    expect(JSON.parse(affinity?.value ?? '{}')).toEqual({ node: 'n1', blocks: ['10.0.0.0/30', '10.0.0.4/30'] });
    expect(decodeBlock((await store.get('twill-pools/blocks/10.0.0.4-30'))?.value ?? '')).toMatchObject({ affinity: 'n1', pool: 'p' });
  });

  it('gives each node its own block, and a node keeps using its own before claiming', async () => {
    const { allocator } = setup(small);
    const a = await add(allocator, 'a1', 'n1');
    const b = await add(allocator, 'b1', 'n2');
    const a2 = await add(allocator, 'a2', 'n1');
    expect(a.addresses[0]?.block).not.toBe(b.addresses[0]?.block);
    expect(a2.addresses[0]?.block).toBe(a.addresses[0]?.block);
  });

  it('borrows from another node\'s block when every block is claimed', async () => {
    const { allocator } = setup(small);
    for (const node of ['n1', 'n2', 'n3', 'n4']) await add(allocator, `${node}-c`, node);
    const borrowed = await add(allocator, 'x', 'n5');
    const status = await allocator.whyHeld(ipOf(borrowed));
    expect(status).toMatchObject({ state: 'allocated', node: 'n5', handle: 'net.x' });
    expect(status.state === 'allocated' && status.blockAffinity).not.toBe('n5');
  });

  it('strictAffinity refuses to borrow, naming the pool and the blocks', async () => {
    const { allocator } = setup({ ...small, strictAffinity: true });
    for (const node of ['n1', 'n2', 'n3', 'n4']) await add(allocator, `${node}-c`, node);
    const error = await failure(add(allocator, 'x', 'n5'));
    expect(error).toBeInstanceOf(PoolExhaustedError);
    expect(error.code).toBe(113);
    expect(error.message).toBe(
      'no free IPv4 address for node "n5" in pool "p" (10.0.0.0/28): 4 of 4 blocks claimed; borrowing from other nodes\' blocks is not allowed (strictAffinity)',
    );
  });

  it('maxBlocksPerHost stops claiming; the node borrows, or fails under strictAffinity', async () => {
    const { allocator } = setup({ ...small, maxBlocksPerHost: 1 });
    for (let i = 0; i < 4; i++) await add(allocator, `c${i}`, 'n1');
    await add(allocator, 'other', 'n2'); // n2 claims a block with 3 free addresses
    const borrowed = await add(allocator, 'c4', 'n1');
    expect(await allocator.whyHeld(ipOf(borrowed))).toMatchObject({ state: 'allocated', node: 'n1', blockAffinity: 'n2' });
    const strict = setup({ ...small, maxBlocksPerHost: 1, strictAffinity: true }).allocator;
    for (let i = 0; i < 4; i++) await add(strict, `c${i}`, 'n1');
    const error = await failure(add(strict, 'c4', 'n1'));
    expect(error.message).toBe(
      'no free IPv4 address for node "n1" in pool "p" (10.0.0.0/28): node "n1" holds 1 blocks, the maxBlocksPerHost limit; 1 of 4 blocks claimed; borrowing from other nodes\' blocks is not allowed (strictAffinity)',
    );
  });

  it('names every pool tried, and counts the blocks of all of them', async () => {
    const two = { pools: [{ name: 'p1', cidr: '10.0.0.0/29', blockSize: 30 }, { name: 'p2', cidr: '10.0.1.0/30', blockSize: 30 }], releaseCooldownSeconds: 0, strictAffinity: true };
    const { allocator } = setup(two);
    for (let i = 0; i < 12; i++) await add(allocator, `c${i}`, 'n1');
    const error = await failure(add(allocator, 'x', 'n2'));
    expect([error.code, error.msg, error.details]).toEqual([
      113,
      'no free IPv4 address for node "n2" in pool "p1" (10.0.0.0/29), "p2" (10.0.1.0/30)',
      '3 of 3 blocks claimed; borrowing from other nodes\' blocks is not allowed (strictAffinity)',
    ]);
  });

  it('reports exhaustion when borrowing finds nothing either', async () => {
    const { allocator } = setup(small);
    for (let i = 0; i < 16; i++) await add(allocator, `c${i}`, `n${i % 3}`);
    const error = await failure(add(allocator, 'last', 'n0'));
    expect(error.code).toBe(113);
    expect(error.message).toBe(
      'no free IPv4 address for node "n0" in pool "p" (10.0.0.0/28): 4 of 4 blocks claimed; borrowing was allowed and found no free address in other blocks',
    );
  });
});

describe('pools and nodes', () => {
  const zoned = {
    pools: [
      { name: 'zone-a', cidr: '10.1.0.0/24', blockSize: 28, nodeSelector: "zone == 'a'" },
      { name: 'off', cidr: '10.2.0.0/24', blockSize: 28, disabled: true },
      { name: 'rest', cidr: '10.3.0.0/24', blockSize: 28, nodeSelector: "zone != 'a'" },
    ],
  };
  it('takes blocks only from pools whose nodeSelector selects the node, never from disabled pools', async () => {
    const { allocator } = setup(zoned);
    const a = await allocator.allocate({ containerId: 'a', ifName: 'eth0', node: 'na', nodeLabels: { zone: 'a' } });
    const b = await allocator.allocate({ containerId: 'b', ifName: 'eth0', node: 'nb', nodeLabels: { zone: 'b' } });
    expect([a.addresses[0]?.pool, b.addresses[0]?.pool]).toEqual(['zone-a', 'rest']);
  });

  it('fails with code 114 when no enabled pool of a family selects the node', async () => {
    const { allocator } = setup({ pools: [{ cidr: '10.0.0.0/24', nodeSelector: 'has(worker)' }] });
    const error = await failure(allocator.allocate({ containerId: 'a', ifName: 'eth0', node: 'n1' }));
    expect(error).toBeInstanceOf(NoEligiblePoolError);
    expect([error.code, error.msg]).toEqual([114, 'no enabled IPv4 pool selects node "n1"']);
  });

  it('removeNode releases the node\'s allocations and returns its blocks to the pool', async () => {
    const { allocator } = setup(small);
    for (let i = 0; i < 6; i++) await add(allocator, `c${i}`, 'n1');
    const released = await allocator.removeNode('n1');
    expect(released).toHaveLength(6);
    expect((await allocator.check()).problems).toEqual([]);
    for (let i = 0; i < 16; i++) await add(allocator, `d${i}`, `m${i % 4}`);
    expect((await allocator.usage())[0]).toMatchObject({ allocated: 16n, free: 0n });
  });
});

describe('reservations and cooldown', () => {
  it('never hands out a reserved address', async () => {
    const { allocator } = setup({ ...small, reserved: ['10.0.0.0/31', '10.0.0.3'] });
    const got = [];
    for (let i = 0; i < 3; i++) got.push(ipOf(await add(allocator, `c${i}`, 'n1')));
    expect(got).toEqual(['10.0.0.2', '10.0.0.4', '10.0.0.5']);
    expect(await allocator.whyHeld('10.0.0.3')).toEqual({ state: 'reserved', ip: '10.0.0.3', pool: 'p', reservation: '10.0.0.3/32' });
  });

  it('rests a released address for the cooldown before handing it out again', async () => {
    const { allocator, clock } = setup({ pools: [{ name: 'p', cidr: '10.0.0.0/30', blockSize: 30 }], releaseCooldownSeconds: 10, strictAffinity: true });
    for (let i = 0; i < 4; i++) await add(allocator, `c${i}`, 'n1');
    expect(await allocator.releaseHandle('net.c1')).toEqual(['10.0.0.1']);
    clock.advance(4000);
    expect(await allocator.whyHeld('10.0.0.1')).toEqual({
      state: 'cooling',
      ip: '10.0.0.1',
      pool: 'p',
      block: '10.0.0.0/30',
      releasedAt: '2030-01-01T00:00:00.000Z',
      reusableAt: '2030-01-01T00:00:10.000Z',
    });
    expect((await failure(add(allocator, 'x', 'n1'))).code).toBe(113);
    expect((await allocator.usage())[0]).toMatchObject({ allocated: 3n, cooling: 1n, free: 0n });
    clock.advance(6000);
    expect(ipOf(await add(allocator, 'x', 'n1'))).toBe('10.0.0.1');
  });

  it('prefers a never-used address over one that just cooled down only by order: lowest free first', async () => {
    const { allocator, clock } = setup({ ...small, releaseCooldownSeconds: 1 });
    await add(allocator, 'a', 'n1');
    await allocator.release({ containerId: 'a' });
    expect(ipOf(await add(allocator, 'b', 'n1'))).toBe('10.0.0.1');
    clock.advance(1000);
    expect(ipOf(await add(allocator, 'c', 'n1'))).toBe('10.0.0.0');
  });
});

describe('handles', () => {
  it('records the handle <network>.<containerID> with attributes, and releases by handle', async () => {
    const { allocator } = setup(small);
    const got = await allocator.allocate({ containerId: 'abc', ifName: 'eth0', node: 'n1', namespace: 'ns', pod: 'web-0' });
    expect(got.handle).toBe('net.abc');
    expect(await allocator.whyHeld(ipOf(got))).toEqual({
      state: 'allocated',
      ip: '10.0.0.0',
      pool: 'p',
      block: '10.0.0.0/30',
      blockAffinity: 'n1',
      handle: 'net.abc',
      containerId: 'abc',
      ifName: 'eth0',
      node: 'n1',
      namespace: 'ns',
      pod: 'web-0',
      since: '2030-01-01T00:00:00.000Z',
      sinceMs: Date.UTC(2030, 0, 1),
    });
    expect(await allocator.releaseHandle('net.abc')).toEqual(['10.0.0.0']);
    expect(await allocator.releaseHandle('net.abc')).toEqual([]);
    expect(await allocator.release({ containerId: 'unknown' })).toEqual([]);
    expect((await allocator.whyHeld('10.0.0.0')).state).toBe('free');
  });

  it('refuses a second ADD for the same handle (code 112) and a container ID with a slash (code 4)', async () => {
    const { allocator } = setup(small);
    await add(allocator, 'c', 'n1');
    const error = await failure(add(allocator, 'c', 'n1'));
    expect(error).toBeInstanceOf(DuplicateAllocationError);
    expect([error.code, error.msg]).toEqual([112, '10.0.0.0 has been allocated to c, duplicate allocation is not allowed']);
    const bad = await failure(add(allocator, 'a/b', 'n1'));
    expect(bad).toBeInstanceOf(InvalidRequestError);
    expect([bad.code, bad.msg]).toEqual([4, 'invalid container ID "a/b": must be non-empty, without "/", and not "." or ".."']);
  });
});

describe('allocators sharing a store', () => {
  // Each allocator remembers the documents it decoded (keyed by their text): what another
  // allocator writes in between must be read, not the remembered document.
  it("read the node's affinity another allocator changed since they last read it", async () => {
    const ipam = { pools: [{ name: 'p', cidr: '10.0.0.0/28', blockSize: 30 }], releaseCooldownSeconds: 0, maxBlocksPerHost: 2 };
    const store = new MemoryStore();
    const one = setup(ipam, store).allocator;
    const two = setup(ipam, store).allocator;
    const first = await add(one, 'c0', 'n1');
    for (let i = 1; i < 4; i++) await add(one, `c${i}`, 'n1');
    // The second allocator finds the first block full and claims another for n1.
    const second = await add(two, 'c4', 'n1');
    expect(second.addresses[0]?.block).not.toBe(first.addresses[0]?.block);
    // The first allocator allocates from that block: it is n1's second and last one.
    const third = await add(one, 'c5', 'n1');
    expect(third.addresses[0]?.block).toBe(second.addresses[0]?.block);
    const affinity = await store.get('twill-pools/affinity/n1');
    expect(JSON.parse(affinity?.value ?? '')).toEqual({ node: 'n1', blocks: [first.addresses[0]?.block, second.addresses[0]?.block] });
    expect((await one.check()).ok).toBe(true);
  });
});

describe('dual stack', () => {
  const dual = { pools: [{ name: 'v4', cidr: '10.0.0.0/28', blockSize: 28 }, { name: 'v6', cidr: 'fd00::/126', blockSize: 126 }], releaseCooldownSeconds: 0 };

  it('gives one address per family under one handle', async () => {
    const { allocator } = setup(dual);
    const got = await add(allocator, 'c', 'n1');
    expect(got.addresses.map((a) => a.address)).toEqual(['10.0.0.0/32', 'fd00::/128']);
  });

  it('records both addresses and the attributes in one handle document', async () => {
    const { allocator, store, clock } = setup(dual);
    await allocator.allocate({ containerId: 'c', ifName: 'eth0', node: 'n1', namespace: 'ns', pod: 'web-0' });
    const entry = await store.get('twill-pools/handles/net.c');
    expect(decodeHandle(entry?.value ?? '')).toEqual({
      handle: 'net.c',
      network: 'net',
      addresses: [
        { ip: '10.0.0.0', block: '10.0.0.0/28' },
        { ip: 'fd00::', block: 'fd00::/126' },
      ],
      attributes: { containerId: 'c', ifName: 'eth0', node: 'n1', namespace: 'ns', pod: 'web-0', since: clock.now() },
    });
    expect(await allocator.release({ containerId: 'c' })).toEqual(['10.0.0.0', 'fd00::']);
  });

  it('writes nothing when one family fails: both or none', async () => {
    const { allocator } = setup(dual);
    for (let i = 0; i < 4; i++) await add(allocator, `c${i}`, 'n1');
    const error = await failure(add(allocator, 'c4', 'n1'));
    expect(error.msg).toBe('no free IPv6 address for node "n1" in pool "v6" (fd00::/126)');
    const usage = await allocator.usage();
    expect(usage.map((u) => u.allocated)).toEqual([4n, 4n]);
    expect((await allocator.whyHeld('10.0.0.4')).state).toBe('free');
    expect((await allocator.check()).ok).toBe(true);
  });
});

describe('contention', () => {
  // A store whose every commit conflicts, as if other nodes always got there first.
  function contended(): Store {
    const inner = new MemoryStore();
    return {
      get: (key) => inner.get(key),
      list: (prefix) => inner.list(prefix),
      commit: async (ops: readonly StoreOp[]): Promise<CommitOutcome> => ({ ok: false, conflicts: ops.map((op) => op.key) }),
      close: () => inner.close(),
    };
  }

  it('gives up with code 11 after the bounded, jittered retries', async () => {
    const waits: number[] = [];
    const allocator = new PoolAllocator({
      config: poolConfig(small),
      store: contended(),
      now: fakeClock().now,
      retry: { maxAttempts: 5, baseDelayMs: 2, maxDelayMs: 10, random: () => 1, sleep: async (ms) => void waits.push(ms) },
    });
    const error = await failure(add(allocator, 'c', 'n1'));
    expect(error).toBeInstanceOf(StoreContendedError);
    expect([error.code, error.msg]).toEqual([11, 'IPAM store contended: allocate gave up after 5 attempts']);
    expect(waits).toEqual([2, 4, 8, 10]);
  });

  it('concurrent allocations on one store never share an address or a block', async () => {
    const store = new MemoryStore();
    const allocators = ['n1', 'n2', 'n3'].map((node) => ({ node, allocator: new PoolAllocator({ config: poolConfig({ pools: [{ cidr: '10.0.0.0/24', blockSize: 28 }] }), store, retry: noSleep }) }));
    const got = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const { node, allocator } = allocators[i % 3] ?? { node: '', allocator: undefined as never };
        return allocator.allocate({ containerId: `c${i}`, ifName: 'eth0', node });
      }),
    );
    const ips = got.map(ipOf);
    expect(new Set(ips).size).toBe(60);
    expect((await allocators[0]?.allocator.check())?.problems).toEqual([]);
  });
});

describe('documents the memory store keeps as written', () => {
  it('read back as text through the asynchronous port: what a text reader sees agrees with the allocator', async () => {
    const store = new MemoryStore();
    const config = poolConfig(small);
    const fast = new PoolAllocator({ config, store });
    const got = [];
    for (let i = 0; i < 6; i++) got.push(await add(fast, `c${i}`, i < 3 ? 'n1' : 'n2'));
    // An allocator over the asynchronous port only reads every document as text.
    const textOnly: Store = { get: (k) => store.get(k), list: (p) => store.list(p), commit: (ops) => store.commit(ops), close: () => store.close() };
    const slow = new PoolAllocator({ config, store: textOnly });
    for (let i = 6; i < 9; i++) got.push(await add(slow, `c${i}`, 'n1'));
    expect(new Set(got.map(ipOf)).size).toBe(9);
    expect(decodeBlock((await store.get('twill-pools/blocks/10.0.0.0-30'))?.value ?? '').allocations).toEqual(['net.c0', 'net.c1', 'net.c2', 'net.c6']);
    expect((await slow.check()).ok).toBe(true);
    // And the fast allocator reads what the slow one wrote.
    got.push(await add(fast, 'c9', 'n2'));
    expect(new Set(got.map(ipOf)).size).toBe(10);
    expect((await fast.check()).ok).toBe(true);
  });
});
