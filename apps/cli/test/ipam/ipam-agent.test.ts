// twill ipam end to end against a real twill-agent (test/agent-harness.ts). Addresses
// are allocated as the agent's served plugin allocates them: @twill/ipam's pool
// allocator on the agent's own SQLite store, with the agent's pools and network. They
// are allocated for another node than the agent's, so that its route controller owns
// no block and puts no blackhole route in this host's kernel; the pools are
// documentation ranges (RFC 5737, RFC 3849) for the same reason.

import { join } from 'node:path';

import { parsePoolIpamConfig, PoolAllocator, poolKeys, SqliteStore } from '@twill/ipam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestAgent, type TestAgent } from '../agent-harness.js';
import { twill } from '../helpers.js';

const NETWORK = 'twt-net';
const NODE = 'twt-node-b';
const POOLS = [{ name: 'twt-v4', cidr: '198.51.100.0/24', blockSize: 26 }, { name: 'twt-v6', cidr: '2001:db8:10::/120', blockSize: 122 }];

describe('twill ipam against a running agent', () => {
  let agent: TestAgent;
  let store: SqliteStore;
  let allocator: PoolAllocator;
  const held = new Map<string, string[]>();
  const run = (...args: string[]) => twill([...args, '--agent-socket', agent.apiSocket]);

  beforeAll(async () => {
    agent = await startTestAgent({ config: { network: NETWORK, cni: { pools: POOLS } } });
    store = SqliteStore.open({ path: join(agent.dataDir, 'twill.db') });
    allocator = new PoolAllocator({ config: parsePoolIpamConfig({ pools: POOLS }, { network: NETWORK }), store });
    for (const [containerId, pod] of [['c1', 'api-0'], ['c2', 'api-1'], ['c3', 'db-0']] as const) {
      const allocation = await allocator.allocate({ containerId, ifName: 'eth0', node: NODE, namespace: 'shop', pod });
      held.set(containerId, allocation.addresses.map((a) => a.address.split('/')[0] as string));
    }
  }, 120_000);

  afterAll(async () => {
    store?.close();
    await agent?.stop();
  });

  it('ipam show: each pool with its use and share', async () => {
    const shown = await run('ipam', 'show');
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe([
      'POOL    CIDR               SIZE  IN USE       FREE  RESERVED  COOLING  BLOCKS',
      'twt-v4  198.51.100.0/24     256  3 (1%)  253 (99%)         0        0     1/4',
      'twt-v6  2001:db8:10::/120   256  3 (1%)  253 (99%)         0        0     1/4',
      '',
    ].join('\n'));
  });

  it('ipam show --blocks -o json: the pools and blocks, counts as decimal strings', async () => {
    const shown = await run('ipam', 'show', '--blocks', '-o', 'json');
    expect(shown.code).toBe(0);
    const view = JSON.parse(shown.stdout) as { pools: { pool: string; cidr: string; size: unknown; allocated: unknown }[]; blocks: { cidr: string; affinity?: string; allocated: number; handles: number }[] };
    expect(view.pools.map((p) => [p.cidr, p.size, p.allocated])).toEqual([['198.51.100.0/24', '256', '3'], ['2001:db8:10::/120', '256', '3']]);
    expect(view.blocks).toEqual(expect.arrayContaining([
      expect.objectContaining({ cidr: '198.51.100.0/26', affinity: NODE, allocated: 3, handles: 3 }),
      expect.objectContaining({ cidr: '2001:db8:10::/122', affinity: NODE, allocated: 3, handles: 3 }),
    ]));
  });

  it('ipam why: who holds an address, and since when', async () => {
    const ip = held.get('c1')![0]!;
    const why = await run('ipam', 'why', ip);
    expect(why.code).toBe(0);
    const lines = why.stdout.split('\n');
    expect(lines[0]).toBe(`${ip} is allocated to pod shop/api-0 on node ${NODE}`);
    expect(lines[1]).toBe(`  handle:    ${NETWORK}.c1`);
    expect(lines[2]).toBe('  container: c1, interface eth0');
    expect(lines[3]).toBe(`  where:     pool twt-v4, block 198.51.100.0/26 (affine to ${NODE})`);
    expect(lines[4]).toMatch(/^ {2}since: {5}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \((\d+ (second|minute)s?( \d+ seconds?)? ago|now)\)$/);
    const json = JSON.parse((await run('ipam', 'why', ip, '-o', 'json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ state: 'allocated', ip, handle: `${NETWORK}.c1`, namespace: 'shop', pod: 'api-0', node: NODE });
  });

  it('ipam show --ip: the pools, then the address in words (a free one here)', async () => {
    const shown = await run('ipam', 'show', '--ip', '198.51.100.200');
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n\n')[1]).toBe('198.51.100.200 is free\n  where:     pool twt-v4, block 198.51.100.192/26 (not claimed by any node yet)\n');
  });

  it('ipam check: consistent pools exit 0; a handle deleted behind IPAM\'s back is a leak, exit 1', async () => {
    const ok = await run('ipam', 'check');
    expect(ok).toEqual({ code: 0, stdout: 'consistent: 0 problems in 2 blocks, 3 handles, 1 node\n', stderr: '' });

    await store.commit([{ type: 'delete', key: poolKeys().handle(`${NETWORK}.c3`) }]);
    const bad = await run('ipam', 'check');
    expect(bad.code).toBe(1);
    const [v4, v6] = held.get('c3') as [string, string];
    const width = Math.max(v4.length, v6.length);
    expect(bad.stdout).toBe([
      `KIND                    ${'SUBJECT'.padEnd(width)}  PROBLEM`,
      `address-without-handle  ${v4.padEnd(width)}  block 198.51.100.0/26 gives it to handle ${NETWORK}.c3, which does not exist`,
      `address-without-handle  ${v6.padEnd(width)}  block 2001:db8:10::/122 gives it to handle ${NETWORK}.c3, which does not exist`,
      'inconsistent: 2 problems in 2 blocks, 2 handles, 1 node',
      '',
    ].join('\n'));
    const json = await run('ipam', 'check', '-o', 'json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problems: [{ kind: 'address-without-handle', ip: v4, handle: `${NETWORK}.c3`, reason: 'handle-missing' }, { kind: 'address-without-handle', ip: v6 }] });
    // why says so too, and names the fix.
    const why = await run('ipam', 'why', v4);
    expect(why.stdout.split('\n')[0]).toBe(`${v4} is leaked: block 198.51.100.0/26 gives it to handle ${NETWORK}.c3, which does not hold it`);
    // The fix it names works: the leaked address is freed (and cools down), the other stays leaked.
    const fix = why.stdout.split('\n').find((line) => line.trim().startsWith('fix:'))?.trim().slice('fix:'.length).trim();
    expect(fix).toBe(`twill ipam release --ip ${v4}`);
    const args = (fix ?? '').split(' ').slice(1);
    expect(await run(...args)).toEqual({ code: 0, stdout: `released ${v4}\n`, stderr: '' });
    expect((await run('ipam', 'why', v4)).stdout.split('\n')[0]).toMatch(/ is cooling down after a release: /);
    expect((JSON.parse((await run('ipam', 'check', '-o', 'json')).stdout) as { problems: { ip: string }[] }).problems.map((p) => p.ip)).toEqual([v6]);
    expect(await run('ipam', 'release', '--ip', v6)).toEqual({ code: 0, stdout: `released ${v6}\n`, stderr: '' });
    expect(await run('ipam', 'check')).toMatchObject({ code: 0 });
  });

  it('ipam release --ip frees the whole allocation (both families); the address then cools down', async () => {
    const [v4, v6] = held.get('c2')!;
    const released = await run('ipam', 'release', '--ip', v4!);
    expect(released).toEqual({ code: 0, stdout: `released ${v4}\nreleased ${v6}\n`, stderr: '' });
    const why = await run('ipam', 'why', v4!);
    expect(why.stdout.split('\n')[0]).toMatch(new RegExp(`^${v4!.replaceAll('.', '\\.')} is cooling down after a release: no pod gets it before \\S+ \\(in \\d+ seconds?\\)$`));
    const again = await run('ipam', 'release', '--ip', v4!);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(new RegExp(`^twill: ipam release: ${v4!.replaceAll('.', '\\.')} is not allocated: released at .*\\(agent at ${agent.apiSocket.replaceAll('.', '\\.')}: 404 NotFound\\)\\n$`));
  });

  it('ipam release --handle, -o json; an unknown handle is exit 1 saying so', async () => {
    const released = await run('ipam', 'release', '--handle', `${NETWORK}.c1`, '-o', 'json');
    expect(released.code).toBe(0);
    expect(JSON.parse(released.stdout)).toEqual({ released: held.get('c1') });
    const unknown = await run('ipam', 'release', '--handle', `${NETWORK}.nope`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`twill: ipam release: handle "${NETWORK}.nope" holds no address (agent at ${agent.apiSocket}: 404 NotFound)\n`);
  });
});
