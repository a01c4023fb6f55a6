// twill-ipam in pool mode (an `ipam` section with `pools`), every command through
// runPlugin in-process over one memory store: the JSON a runtime reads and the exit
// code, and what the pool allocator then says about the addresses.
import { describe, expect, it } from 'vitest';

import { runPlugin } from '@twill/cni-core';

import { parsePoolIpamConfig, PoolAllocator } from '../../src/pool/index.js';
import { createIpamPluginHandlers, type IpamPluginPorts } from '../../src/plugin/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { type Store } from '../../src/store/store.js';

function ports(store: Store, opened: string[] = []): IpamPluginPorts {
  return {
    openStore: (location) => {
      opened.push(`${location.kind} ${location.dataDir}`);
      return Promise.resolve({ get: (k) => store.get(k), list: (p) => store.list(p), commit: (o) => store.commit(o), close: () => Promise.resolve() });
    },
    readResolvConf: () => Promise.reject(new Error('not used')),
    hostname: () => 'node-a',
  };
}

const POOLS = { pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: 'fd44::/64' }], releaseCooldownSeconds: 0 };

function netconf(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'pods', type: 'ptp', ipam: { type: 'twill-ipam', ...ipam }, ...extra };
}

async function call(p: IpamPluginPorts, command: string, config: Record<string, unknown>, env: Record<string, string> = {}) {
  let stdout = '';
  const code = await runPlugin(
    {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...env },
      stdin: JSON.stringify(config),
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: () => true },
    },
    createIpamPluginHandlers(p),
  );
  return { code, output: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>) };
}

// The addresses of an ADD result, without prefix.
function ips(output: Record<string, unknown> | undefined): string[] {
  return ((output?.['ips'] ?? []) as { address: string }[]).map((ip) => ip.address.split('/')[0] ?? '');
}

function allocator(store: Store): PoolAllocator {
  return new PoolAllocator({ config: parsePoolIpamConfig(POOLS, { network: 'pods' }), store });
}

describe('twill-ipam pool mode', () => {
  it('ADD gives one address per family from this node\'s block, under the handle with the pod\'s attributes', async () => {
    const store = new MemoryStore();
    const opened: string[] = [];
    const { code, output } = await call(ports(store, opened), 'ADD', netconf({ ...POOLS, routes: [{ dst: '0.0.0.0/0' }] }), {
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-0',
    });
    expect(code).toBe(0);
    expect(output).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: expect.stringMatching(/^10\.244\.\d+\.\d+\/32$/u) }, { address: expect.stringMatching(/^fd44::[0-9a-f:]+\/128$/u) }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    expect(opened).toEqual(['sqlite /var/lib/cni/networks']);
    const [v4, v6] = ips(output);
    expect(await allocator(store).whyHeld(v6 ?? '')).toMatchObject({ state: 'allocated', handle: 'pods.ctr1' });
    expect(await allocator(store).whyHeld(v4 ?? '')).toMatchObject({
      state: 'allocated',
      handle: 'pods.ctr1',
      containerId: 'ctr1',
      ifName: 'eth0',
      node: 'node-a',
      namespace: 'shop',
      pod: 'cart-0',
      blockAffinity: 'node-a',
    });
  });

  it('ipam.nodeName picks the node; a second ADD of the handle is refused', async () => {
    const store = new MemoryStore();
    const { output } = await call(ports(store), 'ADD', netconf({ ...POOLS, nodeName: 'node-b' }));
    expect(await allocator(store).whyHeld(ips(output)[0] ?? '')).toMatchObject({ node: 'node-b', blockAffinity: 'node-b' });
    const again = await call(ports(store), 'ADD', netconf({ ...POOLS, nodeName: 'node-b' }));
    expect(again).toMatchObject({ code: 1, output: { code: 112 } });
  });

  it('DEL releases by handle, is idempotent, and the address comes back', async () => {
    const store = new MemoryStore();
    const p = ports(store);
    const first = ips((await call(p, 'ADD', netconf(POOLS))).output);
    expect(await call(p, 'DEL', netconf(POOLS))).toEqual({ code: 0, output: undefined });
    for (const ip of first) expect(await allocator(store).whyHeld(ip)).toMatchObject({ state: 'free' });
    expect(await call(p, 'DEL', netconf(POOLS), { CNI_NETNS: '' })).toEqual({ code: 0, output: undefined });
    // No cooldown configured: the next pod on the node gets the same addresses back.
    expect(ips((await call(p, 'ADD', netconf(POOLS), { CNI_CONTAINERID: 'ctr2' })).output)).toEqual(first);
  });

  it('CHECK passes while the handle holds prevResult\'s addresses and names what changed otherwise', async () => {
    const store = new MemoryStore();
    const p = ports(store);
    const added = await call(p, 'ADD', netconf(POOLS));
    expect(await call(p, 'CHECK', netconf(POOLS, { prevResult: added.output }))).toEqual({ code: 0, output: undefined });
    const other = ips((await call(p, 'ADD', netconf(POOLS), { CNI_CONTAINERID: 'other' })).output)[0] ?? '';
    const foreign = { cniVersion: '1.0.0', ips: [{ address: `${other}/32` }] };
    expect((await call(p, 'CHECK', netconf(POOLS, { prevResult: foreign }))).output).toMatchObject({
      code: 999,
      msg: `twill-ipam: ${other} of prevResult is not held by pods.ctr1 (it is held by pods.other)`,
    });
    // Addresses outside the pools (another plugin's in a chain) are not judged.
    const outside = { cniVersion: '1.0.0', ips: [{ address: '192.0.2.1/24' }] };
    expect((await call(p, 'CHECK', netconf(POOLS, { prevResult: outside }))).output).toMatchObject({
      code: 999,
      msg: 'twill-ipam: failed to find an address of prevResult held by pods.ctr1',
    });
    await call(p, 'DEL', netconf(POOLS));
    const mine = ips(added.output)[0] ?? '';
    expect((await call(p, 'CHECK', netconf(POOLS, { prevResult: added.output }))).output).toMatchObject({
      code: 999,
      msg: `twill-ipam: ${mine} of prevResult is not held by pods.ctr1 (it is free)`,
    });
  });

  it('GC releases the handles of attachments not in cni.dev/valid-attachments', async () => {
    const store = new MemoryStore();
    const p = ports(store);
    const keep = ips((await call(p, 'ADD', netconf(POOLS), { CNI_CONTAINERID: 'keep' })).output);
    const drop = ips((await call(p, 'ADD', netconf(POOLS), { CNI_CONTAINERID: 'drop' })).output);
    const gc = netconf(POOLS, { cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
    expect(await call(p, 'GC', gc)).toEqual({ code: 0, output: undefined });
    for (const ip of keep) expect(await allocator(store).whyHeld(ip)).toMatchObject({ state: 'allocated', handle: 'pods.keep' });
    for (const ip of drop) expect(await allocator(store).whyHeld(ip)).toMatchObject({ state: 'free' });
  });

  it('STATUS succeeds on a writable store and answers 50 when the store cannot be opened', async () => {
    expect(await call(ports(new MemoryStore()), 'STATUS', netconf(POOLS, { cniVersion: '1.1.0' }))).toEqual({ code: 0, output: undefined });
    const broken: IpamPluginPorts = { ...ports(new MemoryStore()), openStore: () => Promise.reject(new Error('disk on fire')) };
    expect((await call(broken, 'STATUS', netconf(POOLS, { cniVersion: '1.1.0' }))).output).toMatchObject({
      code: 50,
      msg: 'twill-ipam: the pool store at /var/lib/cni/networks cannot be written',
      details: 'disk on fire',
    });
  });

  const badConfigs: { name: string; ipam: Record<string, unknown>; msg: string }[] = [
    { name: 'empty pools', ipam: { pools: [] }, msg: 'ipam.pools: must name at least one pool' },
    { name: 'a bad CIDR', ipam: { pools: [{ cidr: '10.244.0.0/33' }] }, msg: 'ipam.pools[0].cidr: invalid CIDR "10.244.0.0/33"' },
    { name: 'a block larger than its pool', ipam: { pools: [{ cidr: '10.244.0.0/24', blockSize: 22 }] }, msg: 'ipam.pools[0].blockSize: a /22 block is larger than the pool 10.244.0.0/24' },
    { name: 'overlapping pools', ipam: { pools: [{ cidr: '10.0.0.0/16' }, { cidr: '10.0.1.0/24' }] }, msg: 'ipam.pools[1].cidr: 10.0.1.0/24 overlaps pools[0] "10.0.0.0-16" (10.0.0.0/16)' },
    { name: 'ranges beside pools', ipam: { ...POOLS, ranges: [[{ subnet: '10.1.0.0/24' }]] }, msg: 'ipam.ranges: cannot be combined with ipam.pools (pool mode hands out addresses from pools only)' },
    { name: 'the files store', ipam: { ...POOLS, store: 'files' }, msg: 'ipam.store: the pool allocator keeps its blocks in "sqlite" (got "files")' },
    { name: 'a node name with a slash', ipam: { ...POOLS, nodeName: 'a/b' }, msg: 'ipam.nodeName: invalid node name "a/b" (not empty, no "/", not "." or "..")' },
    { name: 'a relative dataDir', ipam: { ...POOLS, dataDir: 'var/lib' }, msg: 'ipam.dataDir: must be an absolute path (got "var/lib")' },
    { name: 'a bad route', ipam: { ...POOLS, routes: [{ dst: 'nowhere' }] }, msg: expect.stringContaining('ipam.routes[0].dst') as unknown as string },
  ];

  it.each(badConfigs)('$name: code 7 naming the field', async ({ ipam, msg }) => {
    const { code, output } = await call(ports(new MemoryStore()), 'ADD', netconf(ipam));
    expect(code).toBe(1);
    expect(output).toMatchObject({ code: 7, msg });
  });
});
