import { CniError } from '@twill/cni-core';
import { describe, expect, it } from 'vitest';

import { formatAddress, formatRange, parseRangeIpamConfig } from '@twill/ipam';

const base = { cniVersion: '1.1.0', name: 'net1', type: 'bridge' };

function withRanges(ranges: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...base, ipam: { type: 'twill-ipam', ranges, ...extra } };
}

function caught(fn: () => unknown): CniError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error('expected a CniError');
}

describe('parseRangeIpamConfig', () => {
  it('fills host-local defaults: gateway .1, rangeStart .1 (gateway skipped later), rangeEnd before broadcast', () => {
    const config = parseRangeIpamConfig(withRanges([[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00::/120' }]]));
    const [v4, v6] = config.rangeSets.map((set) => set[0]);
    expect(v4 && formatRange(v4)).toBe('10.1.0.1-10.1.0.254');
    expect(v4 && formatAddress(v4.gateway)).toBe('10.1.0.1');
    // IPv6 has no broadcast: the range ends on the last address.
    expect(v6 && formatRange(v6)).toBe('fd00::1-fd00::ff');
    expect(config.network).toBe('net1');
  });

  it('orders range sets as host-local: ipRanges capability, legacy range, then ranges', () => {
    const config = parseRangeIpamConfig({
      ...base,
      runtimeConfig: { ipRanges: [[{ subnet: '10.3.0.0/24' }]] },
      ipam: { type: 'x', subnet: '10.2.0.0/24', ranges: [[{ subnet: '10.1.0.0/24' }]] },
    });
    expect(config.rangeSets.map((set) => set[0] && formatRange(set[0]))).toEqual([
      '10.3.0.1-10.3.0.254',
      '10.2.0.1-10.2.0.254',
      '10.1.0.1-10.1.0.254',
    ]);
  });

  it('collects requested addresses from CNI_ARGS, args.cni.ips and runtimeConfig.ips, in that order', () => {
    const config = parseRangeIpamConfig(
      { ...withRanges([[{ subnet: '10.1.0.0/24' }]]), args: { cni: { ips: ['10.1.0.8'] } }, runtimeConfig: { ips: ['10.1.0.9/24'] } },
      { cniArgs: new Map([['IP', '10.1.0.7']]) },
    );
    expect(config.requested.map((r) => [formatAddress(r.address), r.source])).toEqual([
      ['10.1.0.7', 'CNI_ARGS IP'],
      ['10.1.0.8', 'args.cni.ips[0]'],
      ['10.1.0.9', 'runtimeConfig.ips[0]'],
    ]);
  });

  it('keeps routes, dataDir and resolvConf', () => {
    const config = parseRangeIpamConfig(
      withRanges([[{ subnet: '10.1.0.0/24' }]], { routes: [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.0.1' }], dataDir: '/run/x', resolvConf: '/etc/resolv.conf' }),
    );
    expect(config.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.0.1' }]);
    expect(config.dataDir).toBe('/run/x');
    expect(config.resolvConf).toBe('/etc/resolv.conf');
  });

  // The corpus of bad configurations: each gets code 7 (or 4 for CNI_ARGS) and a message
  // naming the field.
  const bad: readonly (readonly [string, unknown, number, string, ReadonlyMap<string, string>?])[] = [
    ['not an object', [], 7, 'configuration: must be an object (got array)'],
    ['no name', { ipam: { ranges: [] } }, 7, 'name: missing'],
    ['name with a slash', { name: 'a/b', ipam: {} }, 7, 'name: invalid network name "a/b"'],
    ['no ipam', { ...base }, 7, 'ipam: missing'],
    ['ipam not an object', { ...base, ipam: 'x' }, 7, 'ipam: must be an object (got string)'],
    ['no ranges at all', { ...base, ipam: { type: 'x' } }, 7, 'ipam.ranges: no IP ranges specified'],
    ['ranges not an array', withRanges({}), 7, 'ipam.ranges: must be an array (got object)'],
    ['range set not an array', withRanges([{ subnet: '10.0.0.0/24' }]), 7, 'ipam.ranges[0]: must be an array (got object)'],
    ['empty range set', withRanges([[]]), 7, 'ipam.ranges[0]: empty range set'],
    ['range not an object', withRanges([['10.0.0.0/24']]), 7, 'ipam.ranges[0][0]: must be an object (got string)'],
    ['missing subnet', withRanges([[{ gateway: '10.0.0.1' }]]), 7, 'ipam.ranges[0][0].subnet: missing'],
    ['subnet not a string', withRanges([[{ subnet: 10 }]]), 7, 'ipam.ranges[0][0].subnet: must be a string (got number)'],
    ['invalid CIDR', withRanges([[{ subnet: '10.1/33' }]]), 7, 'ipam.ranges[0][0].subnet: invalid CIDR "10.1/33"'],
    ['prefix too long', withRanges([[{ subnet: '10.0.0.0/33' }]]), 7, 'ipam.ranges[0][0].subnet: invalid CIDR "10.0.0.0/33"'],
    ['/31 too small', withRanges([[{ subnet: '10.0.0.0/31' }]]), 7, 'ipam.ranges[0][0].subnet: network 10.0.0.0/31 too small to allocate from'],
    ['/127 too small', withRanges([[{ subnet: 'fd00::/127' }]]), 7, 'ipam.ranges[0][0].subnet: network fd00::/127 too small to allocate from'],
    ['host bits set', withRanges([[{ subnet: '10.0.0.5/24' }]]), 7, 'ipam.ranges[0][0].subnet: 10.0.0.5/24 has host bits set (the network is 10.0.0.0/24)'],
    ['rangeStart outside subnet', withRanges([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.1.5' }]]), 7, 'ipam.ranges[0][0].rangeStart: 10.0.1.5 is not in subnet 10.0.0.0/24'],
    ['rangeEnd outside subnet', withRanges([[{ subnet: '10.0.0.0/24', rangeEnd: '10.0.1.5' }]]), 7, 'ipam.ranges[0][0].rangeEnd: 10.0.1.5 is not in subnet 10.0.0.0/24'],
    ['rangeStart not an address', withRanges([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0' }]]), 7, 'ipam.ranges[0][0].rangeStart: invalid IP address "10.0.0"'],
    ['rangeStart of the other family', withRanges([[{ subnet: '10.0.0.0/24', rangeStart: 'fd00::1' }]]), 7, 'ipam.ranges[0][0].rangeStart: fd00::1 is IPv6 but subnet 10.0.0.0/24 is IPv4'],
    ['rangeEnd before rangeStart', withRanges([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.10' }]]), 7, 'ipam.ranges[0][0].rangeEnd: 10.0.0.10 is before rangeStart 10.0.0.50'],
    ['rangeStart on the network address', withRanges([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.0' }]]), 7, 'ipam.ranges[0][0].rangeStart: 10.0.0.0 is the network address of 10.0.0.0/24'],
    ['rangeEnd on the broadcast address', withRanges([[{ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.255' }]]), 7, 'ipam.ranges[0][0].rangeEnd: 10.0.0.255 is the broadcast address of 10.0.0.0/24'],
    ['gateway outside subnet', withRanges([[{ subnet: '10.0.0.0/24', gateway: '10.0.9.1' }]]), 7, 'ipam.ranges[0][0].gateway: 10.0.9.1 is not in subnet 10.0.0.0/24'],
    ['only the gateway is left', withRanges([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.1', rangeEnd: '10.0.0.1' }]]), 7, 'ipam.ranges[0][0]: no allocatable address (the only one is the gateway)'],
    ['mixed families in a set', withRanges([[{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }]]), 7, 'ipam.ranges[0][1].subnet: fd00::/64 is IPv6 but the range set is IPv4'],
    ['overlap inside a set', withRanges([[{ subnet: '10.0.0.0/24' }, { subnet: '10.0.0.0/25' }]]), 7, 'ipam.ranges[0][1]: overlaps ipam.ranges[0][0] (10.0.0.0/24)'],
    ['overlap between sets', withRanges([[{ subnet: '10.0.0.0/16' }], [{ subnet: '10.0.5.0/24' }]]), 7, 'ipam.ranges[1][0]: overlaps ipam.ranges[0][0] (10.0.0.0/16)'],
    ['legacy range invalid', { ...base, ipam: { subnet: '10.0.0.0/24', gateway: '11.0.0.1' } }, 7, 'ipam.gateway: 11.0.0.1 is not in subnet 10.0.0.0/24'],
    ['legacy range overlapping ranges', { ...base, ipam: { subnet: '10.0.0.0/24', ranges: [[{ subnet: '10.0.0.0/24' }]] } }, 7, 'ipam.ranges[0][0]: overlaps ipam (10.0.0.0/24)'],
    ['ipRanges capability invalid', { ...base, runtimeConfig: { ipRanges: [[{ subnet: 'x' }]] }, ipam: {} }, 7, 'runtimeConfig.ipRanges[0][0].subnet: invalid CIDR "x"'],
    ['two IPv4 sets in 0.2.0', { ...withRanges([[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.1.0.0/24' }]]), cniVersion: '0.2.0' }, 7, 'ipam.ranges: CNI version 0.2.0 does not support more than 1 address per family'],
    ['route dst invalid', withRanges([[{ subnet: '10.0.0.0/24' }]], { routes: [{ dst: '0.0.0.0' }] }), 7, 'ipam.routes[0].dst: invalid CIDR "0.0.0.0"'],
    ['route gw invalid', withRanges([[{ subnet: '10.0.0.0/24' }]], { routes: [{ dst: '0.0.0.0/0', gw: 'gw' }] }), 7, 'ipam.routes[0].gw: invalid IP address "gw"'],
    ['relative dataDir', withRanges([[{ subnet: '10.0.0.0/24' }]], { dataDir: 'var/lib' }), 7, 'ipam.dataDir: must be an absolute path (got "var/lib")'],
    ['args.cni.ips bad', { ...withRanges([[{ subnet: '10.0.0.0/24' }]]), args: { cni: { ips: ['10.0.0.300'] } } }, 7, 'args.cni.ips[0]: invalid IP address "10.0.0.300"'],
    ['runtimeConfig.ips not an array', { ...withRanges([[{ subnet: '10.0.0.0/24' }]]), runtimeConfig: { ips: '10.0.0.5' } }, 7, 'runtimeConfig.ips: must be an array (got string)'],
    ['runtimeConfig.ips bad CIDR', { ...withRanges([[{ subnet: '10.0.0.0/24' }]]), runtimeConfig: { ips: ['10.0.0.5/40'] } }, 7, 'runtimeConfig.ips[0]: invalid CIDR "10.0.0.5/40"'],
    ['CNI_ARGS IP bad', withRanges([[{ subnet: '10.0.0.0/24' }]]), 4, 'CNI_ARGS: IP: invalid IP address "nope"', new Map([['IP', 'nope']])],
  ];

  it.each(bad)('rejects %s', (_name, config, code, msg, args) => {
    // it.each widens tuple elements; the table's type says what this one is.
    const cniArgs = args as ReadonlyMap<string, string> | undefined;
    const error = caught(() => parseRangeIpamConfig(config, cniArgs === undefined ? {} : { cniArgs }));
    expect({ code: error.code, msg: error.msg }).toEqual({ code, msg });
  });

  it('has a corpus of at least 20 bad configurations', () => {
    expect(bad.length).toBeGreaterThanOrEqual(20);
  });
});
