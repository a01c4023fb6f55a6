// What `twill ipam` prints, from the agent's answers: the pool and block tables (golden),
// each state of an address in words, each kind of consistency problem in words.

import { describe, expect, it } from 'vitest';

import { type BlockView, type PoolAddressStatus, type PoolUsage } from '../../src/client/index.js';
import { blockSize, countOf, percentOf, problemWords, renderAddressStatus, renderBlocks, renderCheck, renderPools } from '../../src/ipam/render.js';

const NOW = Date.parse('2026-11-28T12:00:00.000Z');

const POOLS: PoolUsage[] = [
  { pool: 'default-ipv4', cidr: '10.244.0.0/16', size: '65536', allocated: '5', reserved: '0', cooling: '1', free: '65530', blocks: '1024', claimedBlocks: '2' },
  // An IPv6 /56 holds 2^72 addresses: more than a JSON number carries exactly.
  { pool: 'default-ipv6', cidr: 'fd00:10:244::/56', size: '4722366482869645213696', allocated: '3', reserved: '0', cooling: '0', free: '4722366482869645213693', blocks: '65536', claimedBlocks: '1' },
  { pool: 'small', cidr: '192.0.2.0/30', size: 4, allocated: 4, reserved: 0, cooling: 0, free: 0, blocks: 1, claimedBlocks: 1 },
];

const BLOCKS: BlockView[] = [
  { cidr: '10.244.0.0/26', pool: 'default-ipv4', affinity: 'node-a', allocated: 3, free: 61, handles: 3 },
  { cidr: '10.244.0.64/26', pool: 'default-ipv4', affinity: 'node-b', allocated: 2, free: 62, handles: 2 },
  { cidr: '10.244.0.128/26', pool: 'default-ipv4', allocated: 0, free: 64, handles: 0 },
];

describe('ipam tables', () => {
  it('pools: size, in use and free with their shares, reserved, cooling, blocks claimed of all', async () => {
    await expect(renderPools(POOLS)).toMatchFileSnapshot('golden/pools.txt');
  });

  it('blocks: pool, affinity (- for none), in use and free with their shares, handles', async () => {
    await expect(renderBlocks(BLOCKS)).toMatchFileSnapshot('golden/blocks.txt');
  });

  it('shares never hide a non-zero count or the last free address', () => {
    expect(percentOf(0n, 256n)).toBe('0%');
    expect(percentOf(1n, 65536n)).toBe('<1%');
    expect(percentOf(65535n, 65536n)).toBe('>99%');
    expect(percentOf(256n, 256n)).toBe('100%');
    expect(percentOf(3n, 64n)).toBe('5%');
    expect(percentOf(32n, 64n)).toBe('50%');
    expect(percentOf(1n, 0n)).toBe('-');
  });

  it('counts come as numbers or decimal strings; anything else is unknown', () => {
    expect(countOf('4722366482869645213696')).toBe(4722366482869645213696n);
    expect(countOf(12)).toBe(12n);
    expect(countOf(1.5)).toBeUndefined();
    expect(countOf('12abc')).toBeUndefined();
    expect(blockSize('10.244.0.0/26')).toBe(64n);
    expect(blockSize('fd00::/122')).toBe(64n);
    expect(blockSize('nonsense')).toBeUndefined();
  });
});

describe('an address in words', () => {
  const base = { ip: '10.244.0.5', pool: 'default-ipv4', block: '10.244.0.0/26' };

  it('allocated: the pod, node, handle, container and since when', () => {
    const status: PoolAddressStatus = {
      state: 'allocated', ...base, blockAffinity: 'node-a', handle: 'k8s-pod-network.c0ffee', containerId: 'c0ffee', ifName: 'eth0',
      node: 'node-a', namespace: 'shop', pod: 'api-0', since: '2026-11-28T11:55:00.000Z', sinceMs: NOW - 300_000,
    };
    expect(renderAddressStatus(status, NOW)).toBe([
      '10.244.0.5 is allocated to pod shop/api-0 on node node-a',
      '  handle:    k8s-pod-network.c0ffee',
      '  container: c0ffee, interface eth0',
      '  where:     pool default-ipv4, block 10.244.0.0/26 (affine to node-a)',
      '  since:     2026-11-28T11:55:00.000Z (5 minutes ago)',
      '',
    ].join('\n'));
  });

  it('allocated from a block borrowed from another node, to a container no pod names', () => {
    const status: PoolAddressStatus = {
      state: 'allocated', ...base, blockAffinity: 'node-b', handle: 'net.abc', containerId: 'abc', ifName: 'net1', node: 'node-a',
      since: '2026-11-26T09:00:00.000Z', sinceMs: 0,
    };
    const text = renderAddressStatus(status, NOW);
    expect(text.split('\n')[0]).toBe('10.244.0.5 is allocated to container abc on node node-a');
    expect(text).toContain('block 10.244.0.0/26 (affine to node-b; borrowed)');
    expect(text).toContain('(2 days 3 hours ago)');
  });

  it('free, in a claimed block and in one no node claimed', () => {
    expect(renderAddressStatus({ state: 'free', ...base, blockAffinity: 'node-a', claimed: true }, NOW))
      .toBe('10.244.0.5 is free\n  where:     pool default-ipv4, block 10.244.0.0/26 (affine to node-a)\n');
    expect(renderAddressStatus({ state: 'free', ...base, blockAffinity: null, claimed: false }, NOW))
      .toBe('10.244.0.5 is free\n  where:     pool default-ipv4, block 10.244.0.0/26 (not claimed by any node yet)\n');
  });

  it('reserved, cooling down, leaked, outside every pool', () => {
    expect(renderAddressStatus({ state: 'reserved', ip: '10.244.0.1', pool: 'default-ipv4', reservation: '10.244.0.0/30' }, NOW))
      .toBe('10.244.0.1 is reserved: pool default-ipv4 keeps 10.244.0.0/30 from pods\n');
    const cooling = renderAddressStatus({ state: 'cooling', ...base, releasedAt: '2026-11-28T11:59:50.000Z', reusableAt: '2026-11-28T12:00:20.000Z' }, NOW);
    expect(cooling).toBe([
      '10.244.0.5 is cooling down after a release: no pod gets it before 2026-11-28T12:00:20.000Z (in 20 seconds)',
      '  released:  2026-11-28T11:59:50.000Z (10 seconds ago)',
      '  where:     pool default-ipv4, block 10.244.0.0/26',
      '',
    ].join('\n'));
    expect(renderAddressStatus({ state: 'leaked', ...base, handle: 'net.gone' }, NOW).split('\n').slice(0, 1))
      .toEqual(['10.244.0.5 is leaked: block 10.244.0.0/26 gives it to handle net.gone, which does not hold it']);
    expect(renderAddressStatus({ state: 'outside-pools', ip: '8.8.8.8' }, NOW)).toBe('8.8.8.8 is in no IP pool\n');
  });
});

describe('consistency problems in words', () => {
  const cases: [Record<string, unknown> & { kind: string }, string, string][] = [
    [{ kind: 'corrupt-document', key: 'twill-pools/handles/net.x' }, 'twill-pools/handles/net.x', 'the stored document does not decode'],
    [{ kind: 'block-outside-pools', block: '10.9.0.0/26', pool: 'old' }, '10.9.0.0/26', 'names pool old, which has no block like it (pool removed or changed)'],
    [{ kind: 'overlapping-blocks', blocks: ['10.0.0.0/26', '10.0.0.0/27'] }, '10.0.0.0/27', 'overlaps block 10.0.0.0/26'],
    [{ kind: 'overlapping-pools', pools: ['a', 'b'], cidrs: ['10.0.0.0/16', '10.0.1.0/24'] }, 'pool a', "10.0.0.0/16 overlaps pool b's 10.0.1.0/24"],
    [{ kind: 'address-without-handle', ip: '10.0.0.5', block: '10.0.0.0/26', handle: 'net.a', reason: 'handle-missing' }, '10.0.0.5', 'block 10.0.0.0/26 gives it to handle net.a, which does not exist'],
    [{ kind: 'address-without-handle', ip: '10.0.0.5', block: '10.0.0.0/26', handle: 'net.a', reason: 'handle-does-not-list-it' }, '10.0.0.5', 'block 10.0.0.0/26 gives it to handle net.a, which does not list it'],
    [{ kind: 'handle-without-allocation', handle: 'net.a', ip: '10.0.0.5', block: '10.0.0.0/26', reason: 'block-missing' }, 'handle net.a', 'lists 10.0.0.5 in block 10.0.0.0/26, which does not exist'],
    [{ kind: 'handle-without-allocation', handle: 'net.a', ip: '10.0.0.5', block: '10.0.0.0/26', reason: 'not-allocated' }, 'handle net.a', 'lists 10.0.0.5, which block 10.0.0.0/26 has free'],
    [{ kind: 'handle-without-allocation', handle: 'net.a', ip: '10.0.0.5', block: '10.0.0.0/26', reason: 'allocated-to-another-handle' }, 'handle net.a', 'lists 10.0.0.5, which block 10.0.0.0/26 gives to another handle'],
    [{ kind: 'affinity-mismatch', block: '10.0.0.0/26', blockAffinity: 'node-a', listedBy: ['node-b'] }, '10.0.0.0/26', 'is affine to node-a, but listed by node-b'],
    [{ kind: 'affinity-mismatch', block: '10.0.0.0/26', blockAffinity: null, listedBy: [] }, '10.0.0.0/26', 'is affine to no node, but no node lists it'],
    [{ kind: 'affinity-without-block', node: 'node-a', block: '10.0.0.0/26' }, 'node node-a', 'lists block 10.0.0.0/26, which does not exist'],
    [{ kind: 'block-node-unknown', block: '10.0.0.0/26', node: 'gone' }, '10.0.0.0/26', 'is affine to gone, which is not a node of the cluster'],
    [{ kind: 'block-node-not-selected', block: '10.0.0.0/26', node: 'node-a', pool: 'p' }, '10.0.0.0/26', "is affine to node-a, which pool p's nodeSelector no longer selects"],
    [{ kind: 'reserved-address-allocated', ip: '10.0.0.1', handle: 'net.a' }, '10.0.0.1', 'is reserved, yet allocated to handle net.a'],
    [{ kind: 'from-a-newer-agent', detail: 7 }, '-', '{"detail":7}'],
  ];
  for (const [problem, subject, words] of cases) {
    it(`${problem.kind}: ${words}`, () => {
      expect(problemWords(problem)).toEqual({ kind: problem.kind, subject, problem: words });
    });
  }

  it('the report: a row per problem and a summary; a consistent one is a line', () => {
    expect(renderCheck({ ok: true, blocks: 3, handles: 5, nodes: 2, problems: [] })).toBe('consistent: 0 problems in 3 blocks, 5 handles, 2 nodes\n');
    expect(renderCheck({ ok: false, blocks: 1, handles: 0, nodes: 1, problems: [cases[4]![0]] })).toBe([
      'KIND                    SUBJECT   PROBLEM',
      'address-without-handle  10.0.0.5  block 10.0.0.0/26 gives it to handle net.a, which does not exist',
      'inconsistent: 1 problem in 1 block, 0 handles, 1 node',
      '',
    ].join('\n'));
  });
});
