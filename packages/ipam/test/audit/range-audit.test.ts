import { describe, expect, it } from 'vitest';

import { checkRanges, MemoryStore, parseRangeIpamConfig, RangeAllocator, whyHeldInRanges } from '@twill/ipam';

const config = parseRangeIpamConfig({
  name: 'net1',
  cniVersion: '1.1.0',
  ipam: { ranges: [[{ subnet: '10.0.0.0/29' }], [{ subnet: 'fd00::/124' }]] },
});

describe('range allocator audit', () => {
  it('whyHeld names the attachment, the gateway, a free address, or none', async () => {
    const store = new MemoryStore();
    await new RangeAllocator({ config, store }).allocate({ containerId: 'c1', ifName: 'eth0' });
    const audit = { config, store };
    expect(await whyHeldInRanges(audit, '10.0.0.2')).toEqual({ state: 'allocated', ip: '10.0.0.2', rangeSet: 0, containerId: 'c1', ifName: 'eth0' });
    expect(await whyHeldInRanges(audit, 'fd00::2')).toEqual({ state: 'allocated', ip: 'fd00::2', rangeSet: 1, containerId: 'c1', ifName: 'eth0' });
    expect(await whyHeldInRanges(audit, '10.0.0.1')).toEqual({ state: 'gateway', ip: '10.0.0.1', rangeSet: 0 });
    expect(await whyHeldInRanges(audit, '10.0.0.3')).toEqual({ state: 'free', ip: '10.0.0.3', rangeSet: 0, ranges: '10.0.0.1-10.0.0.6' });
    expect(await whyHeldInRanges(audit, '10.9.9.9')).toEqual({ state: 'outside-ranges', ip: '10.9.9.9' });
    await expect(whyHeldInRanges(audit, 'nope')).rejects.toMatchObject({ code: 4 });
  });

  it('check is clean after ordinary use and reports a corrupted data directory precisely', async () => {
    const store = new MemoryStore();
    const allocator = new RangeAllocator({ config, store });
    await allocator.allocate({ containerId: 'c1', ifName: 'eth0' });
    await allocator.allocate({ containerId: 'c2', ifName: 'eth0' });
    expect(await checkRanges({ config, store })).toEqual({ ok: true, reservations: 4, problems: [] });
    await store.commit([
      { type: 'put', key: 'net1/10.0.0.1', value: 'c3\r\neth0' }, // the gateway
      { type: 'put', key: 'net1/10.0.0.5', value: 'c1\r\neth0' }, // c1 twice in set 0
      { type: 'put', key: 'net1/192.168.1.1', value: 'old' }, // a range that is gone
      { type: 'put', key: 'net1/last_reserved_ip.1', value: '10.0.0.2' }, // wrong family
    ]);
    const report = await checkRanges({ config, store });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { kind: 'gateway-reserved', ip: '10.0.0.1', rangeSet: 0, containerId: 'c3' },
      { kind: 'reservation-outside-ranges', ip: '192.168.1.1', containerId: 'old' },
      { kind: 'duplicate-attachment', containerId: 'c1', ifName: 'eth0', rangeSet: 0, ips: ['10.0.0.2', '10.0.0.5'] },
      { kind: 'bad-cursor', key: 'net1/last_reserved_ip.1', value: '10.0.0.2' },
    ]);
  });
});
