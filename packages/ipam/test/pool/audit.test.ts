import { describe, expect, it } from 'vitest';

import { decodeBlock, encodeBlock, MemoryStore, type NodeLabels, parsePoolIpamConfig, PoolAllocator } from '@twill/ipam';

import { ipOf, noSleep, setup } from './helpers.js';


const ipam = { pools: [{ name: 'p', cidr: '10.0.0.0/28', blockSize: 30 }], releaseCooldownSeconds: 0 };

describe('gc', () => {
  it('frees every handle of the network that no valid attachment holds, and nothing else', async () => {
    const { allocator, store } = setup(ipam);
    for (const [id, ifName] of [['a', 'eth0'], ['b', 'eth0'], ['c', 'net1']] as const) await allocator.allocate({ containerId: id, ifName, node: 'n1' });
    // Another network sharing the pools: its handles are not this network's to collect.
    const other = new PoolAllocator({ config: parsePoolIpamConfig(ipam, { network: 'other' }), store, retry: noSleep });
    await other.allocate({ containerId: 'z', ifName: 'eth0', node: 'n1' });
    const released = await allocator.gc([{ containerID: 'a', ifname: 'eth0' }, { containerID: 'c', ifname: 'eth0' }]);
    expect(released).toEqual([
      { ip: '10.0.0.1', handle: 'net.b', reason: 'invalid-attachment' },
      { ip: '10.0.0.2', handle: 'net.c', reason: 'invalid-attachment' },
    ]);
    expect((await allocator.whyHeld('10.0.0.0')).state).toBe('allocated');
    expect(await allocator.whyHeld('10.0.0.3')).toMatchObject({ state: 'allocated', handle: 'other.z' });
    expect(await allocator.gc([{ containerID: 'a', ifname: 'eth0' }])).toEqual([]);
    expect((await allocator.check()).ok).toBe(true);
  });

  it('frees an address whose handle document is gone (a crash, or a hand-edited store)', async () => {
    const { allocator, store } = setup(ipam);
    await allocator.allocate({ containerId: 'a', ifName: 'eth0', node: 'n1' });
    await store.commit([{ type: 'delete', key: 'twill-pools/handles/net.a' }]);
    expect(await allocator.whyHeld('10.0.0.0')).toEqual({ state: 'leaked', ip: '10.0.0.0', pool: 'p', block: '10.0.0.0/30', handle: 'net.a' });
    expect(await allocator.gc([{ containerID: 'a', ifname: 'eth0' }])).toEqual([{ ip: '10.0.0.0', handle: 'net.a', reason: 'no-handle' }]);
    expect((await allocator.whyHeld('10.0.0.0')).state).toBe('free');
    expect((await allocator.check()).ok).toBe(true);
  });
});

describe('check', () => {
  it('is clean after ordinary use', async () => {
    const { allocator } = setup(ipam);
    for (let i = 0; i < 10; i++) await allocator.allocate({ containerId: `c${i}`, ifName: 'eth0', node: `n${i % 3}` });
    await allocator.release({ containerId: 'c4' });
    expect(await allocator.check()).toEqual({ ok: true, blocks: 3, handles: 9, nodes: 3, problems: [] });
  });

  it('reports a deliberately corrupted store precisely', async () => {
    const { allocator, store } = setup(ipam);
    for (let i = 0; i < 3; i++) await allocator.allocate({ containerId: `c${i}`, ifName: 'eth0', node: 'n1' });
    const block = decodeBlock((await store.get('twill-pools/blocks/10.0.0.0-30'))?.value ?? '');
    await store.commit([
      // 1. c1's handle vanishes: 10.0.0.1 is leaked.
      { type: 'delete', key: 'twill-pools/handles/net.c1' },
      // 2. A handle claims an address no block gives it.
      {
        type: 'put',
        key: 'twill-pools/handles/net.ghost',
        value: JSON.stringify({
          handle: 'net.ghost',
          network: 'net',
          addresses: [{ ip: '10.0.0.3', block: '10.0.0.0/30' }, { ip: '10.0.0.9', block: '10.0.0.8/30' }],
          attributes: { containerId: 'ghost', ifName: 'eth0', node: 'n1', since: 0 },
        }),
      },
      // 3. The block says n9 while n1's affinity document lists it.
      { type: 'put', key: 'twill-pools/blocks/10.0.0.0-30', value: encodeBlock({ ...block, affinity: 'n9' }) },
      // 4. An affinity document naming a block that does not exist.
      { type: 'put', key: 'twill-pools/affinity/n7', value: JSON.stringify({ node: 'n7', blocks: ['10.0.0.12/30'] }) },
      // 5. A document that is not JSON.
      { type: 'put', key: 'twill-pools/handles/net.bad', value: '{not json' },
      // 6. A block of a block size no pool uses (a pool's blockSize was changed).
      {
        type: 'put',
        key: 'twill-pools/blocks/10.0.0.0-29',
        value: encodeBlock({ cidr: '10.0.0.0/29', pool: 'p', affinity: null, allocations: Array<null>(8).fill(null), released: [] }),
      },
    ]);
    const report = await allocator.check({ otherPools: parsePoolIpamConfig({ pools: [{ name: 'q', cidr: '10.0.0.8/29', blockSize: 30 }] }, { network: 'x' }).pools });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { kind: 'overlapping-pools', pools: ['p', 'q'], cidrs: ['10.0.0.0/28', '10.0.0.8/29'] },
      { kind: 'corrupt-document', key: 'twill-pools/handles/net.bad' },
      { kind: 'affinity-without-block', node: 'n7', block: '10.0.0.12/30' },
      // Blocks in key order: 10.0.0.0-29 sorts before 10.0.0.0-30.
      { kind: 'block-outside-pools', block: '10.0.0.0/29', pool: 'p' },
      { kind: 'overlapping-blocks', blocks: ['10.0.0.0/29', '10.0.0.0/30'] },
      { kind: 'affinity-mismatch', block: '10.0.0.0/30', blockAffinity: 'n9', listedBy: ['n1'] },
      { kind: 'address-without-handle', ip: '10.0.0.1', block: '10.0.0.0/30', handle: 'net.c1', reason: 'handle-missing' },
      { kind: 'handle-without-allocation', handle: 'net.ghost', ip: '10.0.0.3', block: '10.0.0.0/30', reason: 'not-allocated' },
      { kind: 'handle-without-allocation', handle: 'net.ghost', ip: '10.0.0.9', block: '10.0.0.8/30', reason: 'block-missing' },
    ]);
  });

  it('reports blocks affine to unknown nodes and to nodes the pool no longer selects', async () => {
    const store = new MemoryStore();
    const config = parsePoolIpamConfig({ pools: [{ name: 'p', cidr: '10.0.0.0/28', blockSize: 30 }] }, { network: 'net' });
    const allocator = new PoolAllocator({ config, store, retry: noSleep });
    await allocator.allocate({ containerId: 'a', ifName: 'eth0', node: 'n1' });
    await allocator.allocate({ containerId: 'b', ifName: 'eth0', node: 'n2' });
    // The pool's selector changes: only GPU nodes.
    const narrowed = new PoolAllocator({ config: parsePoolIpamConfig({ pools: [{ name: 'p', cidr: '10.0.0.0/28', blockSize: 30, nodeSelector: 'has(gpu)' }] }, { network: 'net' }), store });
    const n1Block = await blockOf(narrowed, 'a');
    const n2Block = await blockOf(narrowed, 'b');
    const unknown = await narrowed.check({ nodes: new Map([['n1', { gpu: '1' }]]) });
    expect(unknown.problems).toEqual([{ kind: 'block-node-unknown', block: n2Block, node: 'n2' }]);
    const unselected = await narrowed.check({ nodes: new Map<string, NodeLabels>([['n1', {}], ['n2', { gpu: '1' }]]) });
    expect(unselected.problems).toEqual([{ kind: 'block-node-not-selected', block: n1Block, node: 'n1', pool: 'p' }]);
  });
});

describe('check: addresses and handles that disagree', () => {
  it('reports an address its handle does not list, a handle listing another\'s address, and an allocated reservation', async () => {
    const { allocator, store } = setup(ipam);
    await allocator.allocate({ containerId: 'a', ifName: 'eth0', node: 'n1' }); // 10.0.0.0
    await allocator.allocate({ containerId: 'b', ifName: 'eth0', node: 'n1' }); // 10.0.0.1
    // net.b's document now lists net.a's address instead of its own.
    const b = JSON.parse((await store.get('twill-pools/handles/net.b'))?.value ?? '{}') as { addresses: { ip: string }[] };
    b.addresses = [{ ...b.addresses[0], ip: '10.0.0.0' }];
    await store.commit([{ type: 'put', key: 'twill-pools/handles/net.b', value: JSON.stringify(b) }]);
    // 10.0.0.0 is reserved after it was handed out.
    const reserving = new PoolAllocator({ config: parsePoolIpamConfig({ ...ipam, reserved: ['10.0.0.0'] }, { network: 'net' }), store });
    expect((await reserving.check()).problems).toEqual([
      { kind: 'reserved-address-allocated', ip: '10.0.0.0', handle: 'net.a' },
      { kind: 'address-without-handle', ip: '10.0.0.1', block: '10.0.0.0/30', handle: 'net.b', reason: 'handle-does-not-list-it' },
      { kind: 'handle-without-allocation', handle: 'net.b', ip: '10.0.0.0', block: '10.0.0.0/30', reason: 'allocated-to-another-handle' },
    ]);
    expect(await reserving.whyHeld('10.0.0.1')).toEqual({ state: 'leaked', ip: '10.0.0.1', pool: 'p', block: '10.0.0.0/30', handle: 'net.b' });
  });
});

async function blockOf(allocator: PoolAllocator, containerId: string): Promise<string> {
  for (let i = 0; i < 16; i++) {
    const status = await allocator.whyHeld(`10.0.0.${i}`);
    if (status.state === 'allocated' && status.containerId === containerId) return status.block;
  }
  throw new Error(`${containerId} holds nothing`);
}

describe('whyHeld', () => {
  it('answers free, unclaimed, outside and invalid', async () => {
    const { allocator } = setup(ipam);
    expect(await allocator.whyHeld('10.0.0.7')).toEqual({ state: 'free', ip: '10.0.0.7', pool: 'p', block: '10.0.0.4/30', blockAffinity: null, claimed: false });
    expect(await allocator.whyHeld('192.168.0.1')).toEqual({ state: 'outside-pools', ip: '192.168.0.1' });
    await expect(allocator.whyHeld('10.0.0')).rejects.toMatchObject({ code: 4, msg: 'invalid IP address "10.0.0"' });
  });

  it('says which node borrowed an address from which node\'s block', async () => {
    const { allocator } = setup({ ...ipam, pools: [{ name: 'p', cidr: '10.0.0.0/30', blockSize: 30 }] });
    await allocator.allocate({ containerId: 'a', ifName: 'eth0', node: 'n1' });
    const b = await allocator.allocate({ containerId: 'b', ifName: 'eth0', node: 'n2', namespace: 'kube-system', pod: 'dns' });
    expect(await allocator.whyHeld(ipOf(b))).toMatchObject({ state: 'allocated', blockAffinity: 'n1', node: 'n2', namespace: 'kube-system', pod: 'dns', handle: 'net.b' });
  });
});
