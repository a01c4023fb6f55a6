import { MemoryStore, parsePoolIpamConfig, PoolAllocator, poolKeys, type Store } from '@twill/ipam';
import { beforeEach, describe, expect, it } from 'vitest';

import { checkNode, type NodeCheckNetwork, type NodeKernelReader, type NodeLink, type NodeRoute } from '../../src/agent/node-check.js';
import { StoreEndpointRegistry } from '../../src/plugin/endpoints.js';
import { hostInterfaceName } from '../../src/plugin/names.js';
import { type EndpointRecord } from '../../src/plugin/ports.js';

const NETWORK = 'k8s-pod-network';
const NODE = 'node-a';
const pools = parsePoolIpamConfig({ pools: [{ cidr: '10.244.0.0/24', blockSize: 26 }, { cidr: 'fd00:10::/120', blockSize: 122 }] }, { network: NETWORK });
const networks: NodeCheckNetwork[] = [{ network: NETWORK, pools }];

// A node's kernel as plain data: the check reads it through the reader port.
class FakeKernel implements NodeKernelReader {
  links: NodeLink[] = [{ name: 'lo', index: 1, up: true }, { name: 'eth0', index: 2, up: true }];
  routes: NodeRoute[] = [{ dst: '0.0.0.0/0', link: 'eth0', type: 'unicast' }, { dst: '198.51.100.0/24', link: 'eth0', type: 'unicast' }];
  #next = 3;

  read() {
    return Promise.resolve({ links: [...this.links], routes: [...this.routes] });
  }

  plumb(hostInterface: string, addresses: readonly string[]): void {
    this.links.push({ name: hostInterface, index: this.#next++, kind: 'veth', up: true });
    for (const cidr of addresses) this.routes.push({ dst: cidr, link: hostInterface, type: 'unicast' });
    // What the kernel adds when an IPv6 link comes up: not a pod route.
    this.routes.push({ dst: 'fe80::/64', link: hostInterface, type: 'unicast' });
  }

  unplumb(hostInterface: string): void {
    this.links = this.links.filter((l) => l.name !== hostInterface);
    this.routes = this.routes.filter((r) => r.link !== hostInterface);
  }
}

describe('checkNode', () => {
  let store: Store;
  let kernel: FakeKernel;
  let allocator: PoolAllocator;
  let registry: StoreEndpointRegistry;

  // What a successful ADD leaves: an allocation, a record and the links with their routes.
  async function addPod(containerId: string, options: { node?: string; plumb?: boolean; register?: boolean } = {}): Promise<EndpointRecord> {
    const node = options.node ?? NODE;
    const allocation = await allocator.allocate({ containerId, ifName: 'eth0', node });
    const addresses = allocation.addresses.map((a) => `${a.address.split('/')[0]}/${a.address.includes(':') ? 128 : 32}`);
    const record = { network: NETWORK, containerId, ifName: 'eth0', hostInterface: hostInterfaceName(containerId, 'eth0'), addresses, node, since: 1 };
    if (options.register !== false) await registry.register(record);
    if (options.plumb !== false && node === NODE) kernel.plumb(record.hostInterface, addresses);
    return record;
  }

  const check = () => checkNode({ store, kernel, nodeName: NODE, networks });

  beforeEach(() => {
    store = new MemoryStore();
    kernel = new FakeKernel();
    allocator = new PoolAllocator({ config: pools, store });
    registry = new StoreEndpointRegistry(store);
  });

  it('finds a node where records, pools, links and routes agree consistent, and counts them', async () => {
    for (const id of ['a', 'b', 'c']) await addPod(id);
    await addPod('elsewhere', { node: 'node-b' });
    expect(await check()).toEqual({ consistent: true, node: NODE, endpoints: 3, links: 3, allocations: 3, problems: [] });
  });

  it('reports a record whose link is gone (a killed ADD before plumbing, or an ip link del)', async () => {
    const record = await addPod('a', { plumb: false });
    const report = await check();
    expect(report.consistent).toBe(false);
    expect(report.problems).toEqual([
      { kind: 'record-without-link', subject: `${NETWORK}/a`, detail: `its host-side link ${record.hostInterface} is not in the node's namespace` },
    ]);
  });

  it('reports a twill link no record names, and its routes', async () => {
    const record = await addPod('a');
    await registry.unregister(NETWORK, 'a');
    await allocator.release({ containerId: 'a' });
    const { problems } = await check();
    expect(problems).toEqual([
      { kind: 'link-without-record', subject: record.hostInterface, detail: 'a twill host-side link that no endpoint record names' },
      ...record.addresses.map((cidr) => ({
        kind: 'route-without-link',
        subject: cidr,
        detail: `dev ${record.hostInterface}: no endpoint's host-side link holds ${cidr.split('/')[0]}`,
      })),
    ]);
  });

  it('ignores links that are not twill host sides', async () => {
    kernel.links.push({ name: 'twin0', index: 50, kind: 'veth', up: true }, { name: 'cali1234567890a', index: 51, kind: 'veth', up: true });
    expect((await check()).problems).toEqual([]);
  });

  it('reports an allocation of this node without a record (a killed ADD between IPAM and the record)', async () => {
    await addPod('a', { register: false, plumb: false });
    const { problems } = await check();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'allocation-without-record', subject: `${NETWORK}.a` });
    expect(problems[0]!.detail).toMatch(/^10\.244\.0\.\d+, fd00:10::[0-9a-f]+ allocated to a\/eth0 on node-a, which has no endpoint record$/u);
  });

  it("leaves other nodes' allocations and records alone", async () => {
    await addPod('b1', { node: 'node-b', register: false });
    await addPod('b2', { node: 'node-b' });
    expect((await check()).problems).toEqual([]);
  });

  it('reports a record whose addresses its handle does not hold', async () => {
    const record = await addPod('a');
    await allocator.release({ containerId: 'a' });
    const { problems } = await check();
    expect(problems.map((p) => p.kind)).toEqual(['record-not-allocated', 'record-not-allocated']);
    expect(problems[0]).toEqual({ kind: 'record-not-allocated', subject: `${NETWORK}/a`, detail: `${record.addresses[0]!.split('/')[0]} is not held by ${NETWORK}.a (cooling)` });
  });

  it('reports an address held by another handle', async () => {
    const a = await addPod('a');
    await addPod('b');
    await registry.register({ ...a, containerId: 'x', hostInterface: hostInterfaceName('x', 'eth0') });
    kernel.plumb(hostInterfaceName('x', 'eth0'), []);
    const { problems } = await check();
    const ip = a.addresses[0]!.split('/')[0]!;
    expect(problems).toContainEqual({ kind: 'record-not-allocated', subject: `${NETWORK}/x`, detail: `${ip} is not held by ${NETWORK}.x (allocated to ${NETWORK}.a)` });
    expect(problems).toContainEqual({ kind: 'duplicate-address', subject: ip, detail: `recorded by ${NETWORK}/a, ${NETWORK}/x` });
    expect(problems).toContainEqual({ kind: 'route-missing', subject: `${NETWORK}/x`, detail: `no route to ${ip} dev ${hostInterfaceName('x', 'eth0')}` });
  });

  it('reports a pod route through the wrong link, a blackhole /32 in the pools, and a missing route', async () => {
    const a = await addPod('a');
    const [, v6] = a.addresses;
    kernel.routes = kernel.routes.filter((r) => r.dst !== v6);
    kernel.routes.push({ dst: '10.244.0.200/32', link: 'eth0', type: 'unicast' }, { dst: '10.244.0.201/32', type: 'blackhole' }, { dst: '10.244.0.0/26', type: 'blackhole' });
    const { problems } = await check();
    expect(problems).toEqual([
      { kind: 'route-without-link', subject: '10.244.0.200/32', detail: "dev eth0: no endpoint's host-side link holds 10.244.0.200" },
      { kind: 'route-without-link', subject: '10.244.0.201/32', detail: "a blackhole route: no endpoint's host-side link holds 10.244.0.201" },
      { kind: 'route-missing', subject: `${NETWORK}/a`, detail: `no route to ${v6!.split('/')[0]} dev ${a.hostInterface}` },
    ]);
  });

  it('compares IPv6 addresses whatever their spelling', async () => {
    const a = await addPod('a');
    const v6 = a.addresses[1]!;
    const long = v6.replace('fd00:10::', 'fd00:0010:0000:0000:0000:0000:0000:');
    kernel.routes = kernel.routes.map((r) => (r.dst === v6 ? { ...r, dst: long } : r));
    expect((await check()).problems).toEqual([]);
  });

  it('reports a link that is down or not a veth', async () => {
    const a = await addPod('a');
    kernel.links = kernel.links.map((l) => (l.name === a.hostInterface ? { ...l, kind: 'dummy', up: false } : l));
    expect((await check()).problems).toEqual([{ kind: 'link-not-ready', subject: `${NETWORK}/a`, detail: `${a.hostInterface} is a dummy link and down` }]);
  });

  it('reports a corrupt record and corrupt pool documents', async () => {
    await store.commit([{ type: 'put', key: `twill-endpoints/${NETWORK}/junk`, value: '{"containerId": 3' }]);
    await store.commit([{ type: 'put', key: `${poolKeys('twill-pools').handlesPrefix}${NETWORK}.junk`, value: 'not json' }]);
    const { problems } = await check();
    expect(problems).toEqual([
      { kind: 'corrupt-record', subject: `twill-endpoints/${NETWORK}/junk`, detail: 'the endpoint record does not decode (containerId, ifName, hostInterface and addresses expected)' },
      { kind: 'ipam-inconsistent', subject: `twill-pools/handles/${NETWORK}.junk`, detail: 'corrupt-document: the document does not decode' },
    ]);
  });

  it('reports a block that gives an address to a handle that does not exist', async () => {
    const a = await addPod('a');
    await store.commit([{ type: 'delete', key: `${poolKeys('twill-pools').handlesPrefix}${NETWORK}.a` }]);
    const { problems } = await check();
    const ip = a.addresses[0]!.split('/')[0]!;
    expect(problems).toContainEqual({ kind: 'record-not-allocated', subject: `${NETWORK}/a`, detail: `${ip} is not held by ${NETWORK}.a (leaked to ${NETWORK}.a)` });
    const block = `10.244.0.${Math.floor(Number(ip.split('.')[3]) / 64) * 64}/26`;
    expect(problems).toContainEqual({ kind: 'ipam-inconsistent', subject: ip, detail: `address-without-handle: block ${block} gives it to ${NETWORK}.a, which does not exist` });
  });

  it('checks a network with delegated IPAM on records and the kernel only', async () => {
    const record = { network: 'other', containerId: 'd', ifName: 'eth0', hostInterface: hostInterfaceName('d', 'eth0'), addresses: ['10.22.0.5/32'], since: 1 };
    await registry.register(record);
    kernel.plumb(record.hostInterface, record.addresses);
    const report = await checkNode({ store, kernel, nodeName: NODE, networks: [{ network: 'other' }] });
    expect(report).toEqual({ consistent: true, node: NODE, endpoints: 1, links: 1, allocations: 0, problems: [] });
    // Without that network in the list, its link belongs to nobody.
    expect((await check()).problems.map((p) => p.kind)).toEqual(['link-without-record', 'route-without-link']);
  });
});
