// Delta scripts: only what changed, in an order the kernel accepts; names and ranges.

import { describe, expect, it } from 'vitest';

import { buildTableModel, EMPTY_TABLE_MODEL, endpointStem, NftablesNameError, quoteInterface, renderDelta, renderFullSync } from '@twill/policy-engine';

import { addressRange, formatRange, portSegments, subtractRanges, unionRanges } from '../../../src/dataplane/nftables/ranges.js';
import { indexWith, modelOf } from './cluster.js';
import { KUBERNETES } from './policies.js';

const lines = (script: string): string[] => script.split('\n').filter((l) => l !== '');

describe('renderDelta', () => {
  it('is empty when nothing changed', () => {
    const index = indexWith(KUBERNETES);
    expect(renderDelta(modelOf(index, ['prod/db']), modelOf(index, ['prod/db']))).toBe('');
  });

  it('changes only set elements when a peer pod appears (no chain is flushed)', () => {
    const index = indexWith(KUBERNETES);
    const before = modelOf(index, ['prod/db']);
    index.upsertEndpoint({ kind: 'workload', namespace: 'prod', name: 'web3', labels: { app: 'web' }, ips: ['10.0.0.9'] });
    const stem = endpointStem('prod/db');
    expect(lines(renderDelta(before, modelOf(index, ['prod/db'])))).toEqual([
      'add element inet twill cluster_v4 { 10.0.0.9 }',
      `add element inet twill ${stem}_in_t0_s0 { 10.0.0.9 . 6 . 5432 }`,
      `add element inet twill ${stem}_out_t0_s0 { 10.0.0.9 }`,
    ]);
  });

  it('adds a new address as one element of a hash set, whatever addresses are next to it', () => {
    const index = indexWith(KUBERNETES);
    const before = modelOf(index, ['prod/db']);
    index.upsertEndpoint({ kind: 'workload', namespace: 'prod', name: 'web3', labels: { app: 'web' }, ips: ['10.0.0.0'] });
    const stem = endpointStem('prod/db');
    expect(lines(renderDelta(before, modelOf(index, ['prod/db']))).filter((l) => l.includes(`${stem}_in`))).toEqual([
      `add element inet twill ${stem}_in_t0_s0 { 10.0.0.0 . 6 . 5432 }`,
    ]);
  });

  it('flushes and refills only the changed endpoint chains, in one script', () => {
    const index = indexWith(KUBERNETES);
    const before = modelOf(index, ['prod/db', 'prod/web']);
    index.apply([{ kind: 'delete-policy', ref: { dialect: 'kubernetes', kind: 'NetworkPolicy', namespace: 'prod', name: 'db' } }]);
    const stem = endpointStem('prod/db');
    expect(lines(renderDelta(before, modelOf(index, ['prod/db', 'prod/web'])))).toEqual([
      `flush chain inet twill ${stem}_in`,
      `flush chain inet twill ${stem}_out`,
      `flush chain inet twill ${stem}_in_t0`,
      `flush chain inet twill ${stem}_out_t0`,
      `delete set inet twill ${stem}_in_t0_s0`,
      `delete set inet twill ${stem}_in_t0_s1`,
      `delete set inet twill ${stem}_out_t0_s0`,
      `delete chain inet twill ${stem}_in_t0`,
      `delete chain inet twill ${stem}_out_t0`,
    ]);
  });

  it('refills a chain whose rule names a set made again with other flags, before deleting the set', () => {
    const model = (interval: boolean) => ({
      ...EMPTY_TABLE_MODEL,
      chains: new Map([['ep_c_in', ['ip saddr @ep_c_in_s0 return']]]),
      sets: new Map([['ep_c_in_s0', { type: 'ipv4_addr', interval, elements: ['10.0.0.1'] }]]),
    });
    expect(lines(renderDelta(model(true), model(false)))).toEqual([
      'flush chain inet twill ep_c_in',
      'delete set inet twill ep_c_in_s0',
      'add set inet twill ep_c_in_s0 { type ipv4_addr; }',
      'add element inet twill ep_c_in_s0 { 10.0.0.1 }',
      'add rule inet twill ep_c_in ip saddr @ep_c_in_s0 return',
    ]);
  });

  it('removes the map elements of a detached endpoint before its chains', () => {
    const index = indexWith(KUBERNETES);
    const script = lines(renderDelta(modelOf(index, ['prod/web']), EMPTY_TABLE_MODEL));
    expect(script[0]).toBe('delete element inet twill ep_ingress { "tw0" }');
    expect(script.at(-1)).toBe(`delete chain inet twill ${endpointStem('prod/web')}_out`);
  });
});

describe('names', () => {
  it.each([
    ['', 'hostInterface: "" is not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)'],
    ['tw1234567890abcd', 'hostInterface: "tw1234567890abcd" is not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)'],
    ['tw" accept', 'hostInterface: "tw\\" accept" is not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)'],
    ['a/b', 'hostInterface: "a/b" is not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)'],
  ])('refuses the interface name %j', (name, message) => {
    expect(() => quoteInterface(name)).toThrow(new NftablesNameError('hostInterface', message.slice('hostInterface: '.length)));
  });

  it('makes chain stems of [a-z0-9_] that differ for keys that sanitise alike', () => {
    expect(endpointStem('x/a-b')).toMatch(/^ep_x_a_b_[0-9a-f]{8}$/);
    expect(endpointStem('x/a-b')).not.toBe(endpointStem('x/a_b'));
  });
});

describe('ranges', () => {
  const r = (text: string) => addressRange(text) ?? (() => { throw new Error(text); })();

  it('subtracts excepted prefixes and prints prefixes where it can', () => {
    expect(subtractRanges([r('10.0.0.0/8')], [r('10.1.0.0/16'), r('10.255.255.255')]).map(formatRange))
      .toEqual(['10.0.0.0/16', '10.2.0.0-10.255.255.254']);
    expect(subtractRanges([r('2001:db8::/32')], [r('2001:db8::/33')]).map(formatRange)).toEqual(['2001:db8:8000::/33']);
  });

  it('merges overlapping and adjacent ranges, per family', () => {
    expect(unionRanges([r('10.0.0.1'), r('10.0.0.0/31'), r('10.0.0.2'), r('::1')]).map(formatRange)).toEqual(['10.0.0.0-10.0.0.2', '::1']);
  });

  it('cuts overlapping port ranges into segments that no range straddles', () => {
    expect(portSegments([{ first: 80, last: 90 }, { first: 85, last: 85 }, { first: 100, last: 100 }]))
      .toEqual([{ first: 80, last: 84 }, { first: 85, last: 85 }, { first: 86, last: 90 }, { first: 100, last: 100 }]);
  });
});

describe('flowtable', () => {
  const index = indexWith(KUBERNETES);
  const withFlowtable = (keys: readonly string[]) => ({ ...modelOf(index, keys), flowtable: new Set(keys.map((_, i) => `tw${i}`)) });
  const none = { chains: new Set<string>(), sets: new Map() };

  it('declares the flowtable of the attached interfaces before the forward chain that offloads into it', () => {
    const script = lines(renderFullSync(withFlowtable(['prod/db', 'prod/web']), none));
    const declared = script.indexOf('add flowtable inet twill ft_endpoints { hook ingress priority filter; devices = { "tw0", "tw1" }; }');
    const offload = script.indexOf('add rule inet twill hook_forward iifname @ep_egress oifname @ep_ingress ct state established flow add @ft_endpoints');
    expect(declared).toBeGreaterThan(0);
    expect(offload).toBeGreaterThan(declared);
    // Offloaded before the accept that takes established packets, in the forward chain only.
    expect(script[offload + 1]).toBe('add rule inet twill hook_forward ct state established,related accept');
    expect(script.filter((l) => l.includes('flow add'))).toHaveLength(1);
  });

  it('writes no flowtable and no offload rule when the model has none', () => {
    expect(renderFullSync(modelOf(index, ['prod/db']), none)).not.toMatch(/flowtable|flow add/);
  });

  it('removes, on a full sync, the devices the kernel holds that are no longer attached, a flowtable not ours, or ours when it is off', () => {
    const kernel = { ...none, flowtables: new Map([['ft_endpoints', new Set(['tw0', 'tw7'])]]) };
    const on = lines(renderFullSync(withFlowtable(['prod/db']), kernel));
    expect(on).toContain('delete flowtable inet twill ft_endpoints { devices = { "tw7" }; }');
    expect(on.filter((l) => l.startsWith('delete flowtable'))).toHaveLength(1);
    const foreign = { ...kernel, flowtables: new Map([...kernel.flowtables, ['ft_other', new Set<string>()]]) };
    expect(lines(renderFullSync(withFlowtable(['prod/db']), foreign)).at(-1)).toBe('delete flowtable inet twill ft_other');
    const off = lines(renderFullSync(modelOf(index, ['prod/db']), kernel));
    expect(off.at(-1)).toBe('delete flowtable inet twill ft_endpoints');
    expect(off.indexOf('flush chain inet twill hook_forward')).toBeLessThan(off.length - 1);
  });

  it('adds and removes only the devices of endpoints that come and go', () => {
    const script = lines(renderDelta(withFlowtable(['prod/db', 'prod/web']), { ...modelOf(index, ['prod/db']), flowtable: new Set(['tw0', 'tw5']) }));
    expect(script.filter((l) => l.includes('flowtable'))).toEqual([
      'delete flowtable inet twill ft_endpoints { devices = { "tw1" }; }',
      'add flowtable inet twill ft_endpoints { hook ingress priority filter; devices = { "tw5" }; }',
    ]);
    expect(renderDelta(withFlowtable(['prod/db']), withFlowtable(['prod/db']))).toBe('');
  });

  it('rewrites the forward chain when the flowtable is turned on or off', () => {
    const off = modelOf(index, ['prod/db']);
    const on = withFlowtable(['prod/db']);
    expect(lines(renderDelta(off, on))).toEqual([
      'add flowtable inet twill ft_endpoints { hook ingress priority filter; devices = { "tw0" }; }',
      'flush chain inet twill hook_forward',
      'add rule inet twill hook_forward iifname @ep_egress oifname @ep_ingress ct state established flow add @ft_endpoints',
      'add rule inet twill hook_forward ct state established,related accept',
      'add rule inet twill hook_forward ct state invalid counter drop',
      'add rule inet twill hook_forward icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept',
      'add rule inet twill hook_forward iifname vmap @ep_egress',
      'add rule inet twill hook_forward oifname vmap @ep_ingress',
    ]);
    const back = lines(renderDelta(on, off));
    expect(back[0]).toBe('flush chain inet twill hook_forward');
    expect(back.at(-1)).toBe('delete flowtable inet twill ft_endpoints');
    expect(back.some((l) => l.includes('flow add'))).toBe(false);
  });

  it('refuses a device name that is not an interface name', () => {
    expect(() => renderFullSync({ ...modelOf(index, ['prod/db']), flowtable: new Set(['tw" }; flush ruleset']) }, none)).toThrow(NftablesNameError);
  });
});

describe('buildTableModel', () => {
  it('puts every attached interface in the flowtable when asked, and has none otherwise', () => {
    const index = indexWith(KUBERNETES);
    const model = modelOf(index, ['prod/db', 'prod/web']);
    const endpoints = [...model.ingress.keys()].map((hostInterface) => ({ hostInterface, nft: { chains: new Map(), sets: new Map(), entry: { ingress: 'x_in', egress: 'x_out' }, identities: new Set<number>(), usesWorld: false } }));
    expect(buildTableModel(endpoints, [], { flowtable: true }).flowtable).toEqual(new Set(['tw0', 'tw1']));
    expect(buildTableModel(endpoints, []).flowtable).toBeUndefined();
  });
});
