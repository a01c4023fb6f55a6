import { CniError } from '@twill/cni-core';
import { describe, expect, it } from 'vitest';

import { parseNodeSelector, parsePoolIpamConfig, selectsNode } from '@twill/ipam';

const parse = (ipam: unknown, network = 'net'): ReturnType<typeof parsePoolIpamConfig> => parsePoolIpamConfig(ipam, { network });

// Each bad configuration, and the exact error a user sees: code 7, the field named.
const corpus: readonly { name: string; ipam: unknown; network?: string; msg: string }[] = [
  { name: 'ipam not an object', ipam: [], msg: 'ipam: must be an object (got array)' },
  { name: 'pools missing', ipam: {}, msg: 'ipam.pools: missing' },
  { name: 'pools not an array', ipam: { pools: {} }, msg: 'ipam.pools: must be an array (got object)' },
  { name: 'pools empty', ipam: { pools: [] }, msg: 'ipam.pools: must name at least one pool' },
  { name: 'pool not an object', ipam: { pools: ['10.0.0.0/16'] }, msg: 'ipam.pools[0]: must be an object (got string)' },
  { name: 'cidr missing', ipam: { pools: [{ blockSize: 26 }] }, msg: 'ipam.pools[0].cidr: missing' },
  { name: 'cidr not a string', ipam: { pools: [{ cidr: 10 }] }, msg: 'ipam.pools[0].cidr: must be a string (got number)' },
  { name: 'cidr invalid', ipam: { pools: [{ cidr: '10.0.0.0/33' }] }, msg: 'ipam.pools[0].cidr: invalid CIDR "10.0.0.0/33"' },
  { name: 'cidr without prefix', ipam: { pools: [{ cidr: '10.0.0.0' }] }, msg: 'ipam.pools[0].cidr: invalid CIDR "10.0.0.0"' },
  {
    name: 'cidr with host bits',
    ipam: { pools: [{ cidr: '10.0.0.1/16' }] },
    msg: 'ipam.pools[0].cidr: 10.0.0.1/16 has host bits set (the network is 10.0.0.0/16)',
  },
  {
    name: 'blockSize larger than the pool',
    ipam: { pools: [{ cidr: '10.0.0.0/24', blockSize: 22 }] },
    msg: 'ipam.pools[0].blockSize: a /22 block is larger than the pool 10.0.0.0/24',
  },
  {
    name: 'default IPv4 blockSize larger than a small pool',
    ipam: { pools: [{ cidr: '10.0.0.0/28' }] },
    msg: 'ipam.pools[0].blockSize: a /26 block is larger than the pool 10.0.0.0/28',
  },
  {
    name: 'IPv4 blockSize below range',
    ipam: { pools: [{ cidr: '10.0.0.0/8', blockSize: 19 }] },
    msg: 'ipam.pools[0].blockSize: 19 is out of range for an IPv4 pool (20 to 32)',
  },
  {
    name: 'IPv4 blockSize above range',
    ipam: { pools: [{ cidr: '10.0.0.0/8', blockSize: 33 }] },
    msg: 'ipam.pools[0].blockSize: 33 is out of range for an IPv4 pool (20 to 32)',
  },
  {
    name: 'IPv6 blockSize out of range',
    ipam: { pools: [{ cidr: 'fd00::/64', blockSize: 64 }] },
    msg: 'ipam.pools[0].blockSize: 64 is out of range for an IPv6 pool (116 to 128)',
  },
  { name: 'blockSize not an integer', ipam: { pools: [{ cidr: '10.0.0.0/16', blockSize: 26.5 }] }, msg: 'ipam.pools[0].blockSize: must be an integer (got 26.5)' },
  { name: 'blockSize a string', ipam: { pools: [{ cidr: '10.0.0.0/16', blockSize: '26' }] }, msg: 'ipam.pools[0].blockSize: must be an integer (got "26")' },
  {
    name: 'overlapping pools',
    ipam: { pools: [{ cidr: '10.0.0.0/16' }, { cidr: 'fd00::/64' }, { cidr: '10.0.128.0/24' }] },
    msg: 'ipam.pools[2].cidr: 10.0.128.0/24 overlaps pools[0] "10.0.0.0-16" (10.0.0.0/16)',
  },
  {
    name: 'duplicate pool names',
    ipam: { pools: [{ name: 'a', cidr: '10.0.0.0/16' }, { name: 'a', cidr: '10.1.0.0/16' }] },
    msg: 'ipam.pools[1].name: duplicate pool name "a" (also pools[0])',
  },
  { name: 'pool name with a slash', ipam: { pools: [{ name: 'a/b', cidr: '10.0.0.0/16' }] }, msg: 'ipam.pools[0].name: invalid pool name "a/b" (no "/", not empty, "." or "..")' },
  {
    name: 'unsupported selector',
    ipam: { pools: [{ cidr: '10.0.0.0/16', nodeSelector: "zone in {'a'}" }] },
    msg: `ipam.pools[0].nodeSelector: unsupported selector term "zone in {'a'}" (supported: all(), has(k), !has(k), k == 'v', k != 'v', joined by &&)`,
  },
  { name: 'selector not a string', ipam: { pools: [{ cidr: '10.0.0.0/16', nodeSelector: { zone: 'a' } }] }, msg: 'ipam.pools[0].nodeSelector: must be a string (got object)' },
  { name: 'disabled not a boolean', ipam: { pools: [{ cidr: '10.0.0.0/16', disabled: 'yes' }] }, msg: 'ipam.pools[0].disabled: must be a boolean (got string)' },
  { name: 'strictAffinity not a boolean', ipam: { pools: [{ cidr: '10.0.0.0/16' }], strictAffinity: 1 }, msg: 'ipam.strictAffinity: must be a boolean (got number)' },
  { name: 'maxBlocksPerHost negative', ipam: { pools: [{ cidr: '10.0.0.0/16' }], maxBlocksPerHost: -1 }, msg: 'ipam.maxBlocksPerHost: must be a non-negative integer (got -1)' },
  { name: 'reserved not an address', ipam: { pools: [{ cidr: '10.0.0.0/16' }], reserved: ['10.0.0.300'] }, msg: 'ipam.reserved[0]: invalid IP address or CIDR "10.0.0.300"' },
  { name: 'reserved with host bits', ipam: { pools: [{ cidr: '10.0.0.0/16' }], reserved: ['10.0.0.1/24'] }, msg: 'ipam.reserved[0]: 10.0.0.1/24 has host bits set (the network is 10.0.0.0/24)' },
  {
    name: 'cooldown negative',
    ipam: { pools: [{ cidr: '10.0.0.0/16' }], releaseCooldownSeconds: -5 },
    msg: 'ipam.releaseCooldownSeconds: must be a non-negative number (got -5)',
  },
  { name: 'network name with a slash', ipam: { pools: [{ cidr: '10.0.0.0/16' }] }, network: 'a/b', msg: 'name: invalid network name "a/b" for the pool allocator' },
];

describe('parsePoolIpamConfig: bad configurations', () => {
  it('has a corpus of at least 15 cases', () => expect(corpus.length).toBeGreaterThanOrEqual(15));
  it.each(corpus)('$name', ({ ipam, network, msg }) => {
    let error: unknown;
    try {
      parse(ipam, network);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CniError);
    expect((error as CniError).code).toBe(7);
    expect((error as CniError).msg).toBe(msg);
  });
});

describe('parsePoolIpamConfig: good configurations', () => {
  it('fills Calico defaults: /26 and /122 blocks, all() selector, enabled, 30 s cooldown', () => {
    const config = parse({ pools: [{ cidr: '10.244.0.0/16' }, { cidr: 'fd00:10:244::/56' }] });
    expect(config.pools.map((p) => [p.name, p.family, p.blockSize, p.nodeSelector.text, p.disabled])).toEqual([
      ['10.244.0.0-16', 4, 26, 'all()', false],
      ['fd00:10:244::-56', 6, 122, 'all()', false],
    ]);
    expect(config).toMatchObject({ network: 'net', strictAffinity: false, maxBlocksPerHost: 0, releaseCooldownMs: 30_000, reserved: [] });
  });

  it('reads every field', () => {
    const config = parse({
      pools: [{ name: 'a', cidr: '10.0.0.0/16', blockSize: 28, nodeSelector: "zone == 'a' && has(gpu)", disabled: true }],
      strictAffinity: true,
      maxBlocksPerHost: 3,
      reserved: ['10.0.0.1', '10.0.1.0/24'],
      releaseCooldownSeconds: 1.5,
    });
    expect(config.strictAffinity).toBe(true);
    expect(config.maxBlocksPerHost).toBe(3);
    expect(config.releaseCooldownMs).toBe(1500);
    expect(config.reserved.map((r) => r.prefixLength)).toEqual([32, 24]);
    expect(config.pools[0]?.nodeSelector.terms).toEqual([
      { op: '==', key: 'zone', value: 'a' },
      { op: 'has', key: 'gpu' },
    ]);
  });
});

describe('node selectors', () => {
  const table: readonly [string, Record<string, string>, boolean][] = [
    ['', {}, true],
    ['all()', { a: 'b' }, true],
    ["zone == 'a'", { zone: 'a' }, true],
    ['zone == "a"', { zone: 'b' }, false],
    ["zone != 'a'", {}, true],
    ["zone != 'a'", { zone: 'a' }, false],
    ['has(kubernetes.io/os)', { 'kubernetes.io/os': 'linux' }, true],
    ['!has(gpu)', { gpu: '1' }, false],
    ["has(gpu) && zone == 'a'", { gpu: '1', zone: 'a' }, true],
    ["has(gpu) && zone == 'a'", { zone: 'a' }, false],
  ];
  it.each(table)('%s on %o is %s', (text, labels, expected) => {
    const selector = parseNodeSelector(text);
    if (typeof selector === 'string') throw new Error(selector);
    expect(selectsNode(selector, labels)).toBe(expected);
  });
});
