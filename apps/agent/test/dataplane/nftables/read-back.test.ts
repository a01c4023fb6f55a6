// Reading `nft -j list table inet twill` back: names, rule and element counts, map
// elements; and listings that are not nftables JSON.

import { describe, expect, it } from 'vitest';

import { NftablesDataplaneError, readKernelTable } from '../../../src/dataplane/nftables/index.js';

// Trimmed from `nft -j list table inet twill` (nftables 1.0.6) after one endpoint was programmed.
const LISTING = {
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'twill', handle: 1 } },
    { map: { family: 'inet', name: 'ep_ingress', table: 'twill', type: 'ifname', handle: 2, map: 'verdict', elem: [['twa', { jump: { target: 'ep_x_a_dacc8f5b_in' } }]] } },
    { map: { family: 'inet', name: 'ep_egress', table: 'twill', type: 'ifname', handle: 3, map: 'verdict', elem: [['twa', { jump: { target: 'ep_x_a_dacc8f5b_out' } }]] } },
    { set: { family: 'inet', name: 'cluster_v4', table: 'twill', type: 'ipv4_addr', handle: 4, flags: ['interval'], elem: [{ range: ['10.1.1.1', '10.1.1.3'] }, '10.1.1.9'] } },
    { set: { family: 'inet', name: 'ep_x_a_dacc8f5b_in_t0_s0', table: 'twill', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 5, flags: ['interval'], elem: [{ concat: ['10.1.1.2', 'tcp', 80] }] } },
    { chain: { family: 'inet', table: 'twill', name: 'hook_forward', handle: 6, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
    { chain: { family: 'inet', table: 'twill', name: 'ep_x_a_dacc8f5b_in', handle: 7 } },
    { rule: { family: 'inet', table: 'twill', chain: 'ep_x_a_dacc8f5b_in', handle: 8, expr: [{ goto: { target: 'ep_x_a_dacc8f5b_in_t0' } }] } },
    { rule: { family: 'inet', table: 'twill', chain: 'hook_forward', handle: 9, expr: [{ accept: null }] } },
    { rule: { family: 'inet', table: 'twill', chain: 'hook_forward', handle: 10, expr: [{ drop: null }] } },
  ],
};

describe('readKernelTable', () => {
  it('reads chains, rule counts, set shapes, element counts and map elements', () => {
    const table = readKernelTable(LISTING);
    expect([...table.chains]).toEqual(['hook_forward', 'ep_x_a_dacc8f5b_in']);
    expect(Object.fromEntries(table.rules)).toEqual({ ep_x_a_dacc8f5b_in: 1, hook_forward: 2 });
    expect(Object.fromEntries(table.sets)).toEqual({
      cluster_v4: { type: 'ipv4_addr', interval: true },
      ep_x_a_dacc8f5b_in_t0_s0: { type: 'ipv4_addr . inet_proto . inet_service', interval: true },
    });
    expect(Object.fromEntries(table.elements)).toEqual({ cluster_v4: 2, ep_x_a_dacc8f5b_in_t0_s0: 1 });
    expect(Object.fromEntries(table.ingress)).toEqual({ twa: 'ep_x_a_dacc8f5b_in' });
    expect(Object.fromEntries(table.egress)).toEqual({ twa: 'ep_x_a_dacc8f5b_out' });
  });

  it('reads the flowtables\' devices: one as a string, several as an array, none as no "dev" (libnftables-json(5) FLOWTABLE)', () => {
    const flowtable = (name: string, dev?: unknown) => ({ flowtable: { family: 'inet', name, table: 'twill', handle: 11, hook: 'ingress', prio: 0, ...(dev === undefined ? {} : { dev }) } });
    const table = readKernelTable({ nftables: [...LISTING.nftables, flowtable('ft_endpoints', ['twa', 'twb']), flowtable('ft_one', 'twa'), flowtable('ft_none')] });
    expect(Object.fromEntries([...table.flowtables].map(([name, devices]) => [name, [...devices]]))).toEqual({ ft_endpoints: ['twa', 'twb'], ft_one: ['twa'], ft_none: [] });
    expect(readKernelTable(LISTING).flowtables.size).toBe(0);
  });

  it('reads no table as an empty one', () => {
    expect(readKernelTable(undefined).chains.size).toBe(0);
  });

  it.each([
    [null, 'nft -j listing: no "nftables" array'],
    [{ nftables: 'x' }, 'nft -j listing: no "nftables" array'],
    [{ nftables: [1] }, 'nft -j listing: an entry is not an object'],
  ])('refuses %j', (listing, message) => {
    expect(() => readKernelTable(listing)).toThrow(new NftablesDataplaneError('bad-listing', message));
    expect(() => readKernelTable(listing)).toThrow(NftablesDataplaneError);
  });
});
