import { describe, expect, it } from 'vitest';

import {
  AddressUnavailableError,
  DuplicateAllocationError,
  IPAM_ERROR,
  MemoryStore,
  parseRangeIpamConfig,
  RangeAllocator,
  RangeExhaustedError,
} from '@twill/ipam';

function setup(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}, cniArgs?: Map<string, string>) {
  const store = new MemoryStore();
  const config = parseRangeIpamConfig({ cniVersion: '1.1.0', name: 'net1', type: 'bridge', ipam: { type: 'twill-ipam', ...ipam }, ...extra }, cniArgs ? { cniArgs } : {});
  return { store, allocator: new RangeAllocator({ config, store, retry: { sleep: () => Promise.resolve() } }) };
}

async function addresses(allocator: RangeAllocator, id: string, ifName = 'eth0'): Promise<string[]> {
  return (await allocator.allocate({ containerId: id, ifName })).map((a) => a.address);
}

describe('RangeAllocator (host-local semantics)', () => {
  it('skips the gateway and hands out addresses in order, with prefix and gateway', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/29' }]] });
    expect(await allocator.allocate({ containerId: 'a', ifName: 'eth0' })).toEqual([
      { rangeSet: 0, address: '10.0.0.2/29', gateway: '10.0.0.1' },
    ]);
    expect(await addresses(allocator, 'b')).toEqual(['10.0.0.3/29']);
  });

  it('never hands out the network or broadcast address and fails clearly when exhausted', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/29' }]] });
    const got: string[] = [];
    for (const id of ['a', 'b', 'c', 'd', 'e']) got.push(...(await addresses(allocator, id)));
    expect(got).toEqual(['10.0.0.2/29', '10.0.0.3/29', '10.0.0.4/29', '10.0.0.5/29', '10.0.0.6/29']);
    const error = await allocator.allocate({ containerId: 'f', ifName: 'eth0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeExhaustedError);
    expect((error as RangeExhaustedError).code).toBe(IPAM_ERROR.RANGE_EXHAUSTED);
    expect((error as RangeExhaustedError).msg).toBe('no IP addresses available in range set 0 (10.0.0.1-10.0.0.6)');
  });

  it('goes round robin from the last reserved address, not back to the lowest free one', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/29' }]] });
    await addresses(allocator, 'a'); // .2
    await addresses(allocator, 'b'); // .3
    await allocator.release({ containerId: 'a', ifName: 'eth0' });
    expect(await addresses(allocator, 'c')).toEqual(['10.0.0.4/29']);
    await addresses(allocator, 'd'); // .5
    await addresses(allocator, 'e'); // .6
    // Wraps past the end (and past the gateway .1) to the released .2.
    expect(await addresses(allocator, 'f')).toEqual(['10.0.0.2/29']);
  });

  it('honours rangeStart, rangeEnd and an explicit gateway inside the range', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.12', gateway: '10.0.0.11' }]] });
    expect(await addresses(allocator, 'a')).toEqual(['10.0.0.10/24']);
    expect(await addresses(allocator, 'b')).toEqual(['10.0.0.12/24']);
    await expect(allocator.allocate({ containerId: 'c', ifName: 'eth0' })).rejects.toThrow('no IP addresses available in range set 0 (10.0.0.10-10.0.0.12)');
  });

  it('moves on to the next range of a set when one is full', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' }]] });
    expect(await addresses(allocator, 'a')).toEqual(['10.0.0.2/30']);
    expect(await addresses(allocator, 'b')).toEqual(['10.0.1.2/30']);
  });

  it('gives one address per range set (dual stack), atomically', async () => {
    const { allocator, store } = setup({ ranges: [[{ subnet: '10.0.0.0/30' }], [{ subnet: 'fd00::/126' }]] });
    expect(await allocator.allocate({ containerId: 'a', ifName: 'eth0' })).toEqual([
      { rangeSet: 0, address: '10.0.0.2/30', gateway: '10.0.0.1' },
      { rangeSet: 1, address: 'fd00::2/126', gateway: 'fd00::1' },
    ]);
    // The IPv4 set (one usable address) is now full: the IPv6 address must not be kept.
    expect(store.size).toBe(4);
    await expect(allocator.allocate({ containerId: 'b', ifName: 'eth0' })).rejects.toBeInstanceOf(RangeExhaustedError);
    expect(store.size).toBe(4);
  });

  it('does not keep a partial allocation when a later range set is exhausted', async () => {
    const { allocator, store } = setup({ ranges: [[{ subnet: 'fd00::/120' }], [{ subnet: '10.0.0.0/30' }]] });
    await addresses(allocator, 'a');
    const size = store.size;
    await expect(allocator.allocate({ containerId: 'b', ifName: 'eth0' })).rejects.toBeInstanceOf(RangeExhaustedError);
    expect(store.size).toBe(size);
  });

  it('stores host-local\'s file contents: id\\r\\nifname and last_reserved_ip.N', async () => {
    const { allocator, store } = setup({ ranges: [[{ subnet: '10.0.0.0/29' }], [{ subnet: 'fd00::/125' }]] });
    await addresses(allocator, 'abc');
    expect((await store.list('net1/')).map((e) => [e.key, e.value])).toEqual([
      ['net1/10.0.0.2', 'abc\r\neth0'],
      ['net1/fd00::2', 'abc\r\neth0'],
      ['net1/last_reserved_ip.0', '10.0.0.2'],
      ['net1/last_reserved_ip.1', 'fd00::2'],
    ]);
  });

  it('refuses a second ADD for the same attachment', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/29' }]] });
    await addresses(allocator, 'a');
    const error = await allocator.allocate({ containerId: 'a', ifName: 'eth0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateAllocationError);
    expect((error as DuplicateAllocationError).msg).toBe('10.0.0.2 has been allocated to a, duplicate allocation is not allowed');
    // Another interface of the same container is another attachment.
    expect(await addresses(allocator, 'a', 'eth1')).toEqual(['10.0.0.3/29']);
  });

  it.each([
    ['CNI_ARGS', {}, new Map([['IP', '10.0.0.5']])],
    ['args.cni.ips', { args: { cni: { ips: ['10.0.0.5'] } } }, undefined],
    ['the ips capability', { runtimeConfig: { ips: ['10.0.0.5/24'] } }, undefined],
  ] as const)('gives a requested address from %s', async (_source, extra, cniArgs) => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/24' }]] }, extra, cniArgs === undefined ? undefined : new Map(cniArgs));
    expect(await addresses(allocator, 'a')).toEqual(['10.0.0.5/24']);
  });

  it('gives each requested address to the range set that contains it (dual stack)', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]] }, { runtimeConfig: { ips: ['fd00::99', '10.0.0.77'] } });
    expect(await addresses(allocator, 'a')).toEqual(['10.0.0.77/24', 'fd00::99/64']);
  });

  it.each([
    ['the gateway', ['10.0.0.1'], 'requested ip 10.0.0.1 is subnet\'s gateway'],
    ['outside every range set', ['10.9.0.1'], 'failed to allocate all requested IPs: 10.9.0.1'],
    ['two in one set', ['10.0.0.5', '10.0.0.6'], 'failed to allocate all requested IPs: 10.0.0.6'],
  ])('refuses a requested address that is %s', async (_what, ips, msg) => {
    const { allocator, store } = setup({ ranges: [[{ subnet: '10.0.0.0/24' }]] }, { runtimeConfig: { ips } });
    const error = await allocator.allocate({ containerId: 'a', ifName: 'eth0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AddressUnavailableError);
    expect((error as AddressUnavailableError).msg).toBe(msg);
    expect(store.size).toBe(0);
  });

  it('refuses a requested address that is taken', async () => {
    const first = setup({ ranges: [[{ subnet: '10.0.0.0/24' }]] });
    await addresses(first.allocator, 'a'); // 10.0.0.2
    const config = parseRangeIpamConfig({ name: 'net1', cniVersion: '1.1.0', ipam: { ranges: [[{ subnet: '10.0.0.0/24' }]] }, runtimeConfig: { ips: ['10.0.0.2'] } });
    const second = new RangeAllocator({ config, store: first.store });
    await expect(second.allocate({ containerId: 'b', ifName: 'eth0' })).rejects.toThrow(
      'requested IP address 10.0.0.2 is not available in range set 10.0.0.1-10.0.0.254',
    );
  });

  it('releases by container ID and interface, idempotently, and old ID-only reservations too', async () => {
    const { allocator, store } = setup({ ranges: [[{ subnet: '10.0.0.0/24' }]] });
    await addresses(allocator, 'a', 'eth0');
    await addresses(allocator, 'a', 'eth1');
    expect(await allocator.release({ containerId: 'a', ifName: 'eth0' })).toEqual(['10.0.0.2']);
    expect(await allocator.release({ containerId: 'a', ifName: 'eth0' })).toEqual([]);
    expect((await allocator.held()).map((h) => [h.address, h.ifName])).toEqual([['10.0.0.3', 'eth1']]);
    await store.commit([{ type: 'put', key: 'net1/10.0.0.50', value: 'old\n' }]);
    expect(await allocator.release({ containerId: 'old', ifName: 'eth0' })).toEqual(['10.0.0.50']);
  });

  it('garbage-collects reservations of attachments that are no longer valid', async () => {
    const { allocator } = setup({ ranges: [[{ subnet: '10.0.0.0/24' }]] });
    await addresses(allocator, 'a');
    await addresses(allocator, 'b');
    await addresses(allocator, 'c');
    expect(await allocator.gc([{ containerID: 'b', ifname: 'eth0' }])).toEqual(['10.0.0.2', '10.0.0.4']);
    expect((await allocator.held()).map((h) => h.containerId)).toEqual(['b']);
  });

  it('reports code 11 when the store stays contended', async () => {
    const store = new MemoryStore();
    const config = parseRangeIpamConfig({ name: 'net1', cniVersion: '1.1.0', ipam: { ranges: [[{ subnet: '10.0.0.0/24' }]] } });
    const delays: number[] = [];
    const contended = {
      get: (key: string) => store.get(key),
      list: (prefix: string) => store.list(prefix),
      commit: () => Promise.resolve({ ok: false as const, conflicts: ['net1/10.0.0.2'] }),
      close: () => store.close(),
    };
    const allocator = new RangeAllocator({
      config,
      store: contended,
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 25, random: () => 1, sleep: (ms) => (delays.push(ms), Promise.resolve()) },
    });
    const error = await allocator.allocate({ containerId: 'a', ifName: 'eth0' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 11, msg: 'IPAM store contended: allocate gave up after 4 attempts' });
    // Bounded exponential backoff: 10, 20, then capped at 25.
    expect(delays).toEqual([10, 20, 25]);
  });
});
