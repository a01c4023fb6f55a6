import { describe, expect, it } from 'vitest';

import {
  L7RedirectError,
  type L7RedirectOptions,
  compileL7RedirectSets,
  decodeL7RedirectListing,
  renderL7Redirect,
  renderL7RedirectDelta,
  renderL7RedirectRemoval,
  resolveL7RedirectOptions,
} from '../../../src/agent/l7/redirect.js';
import { type L7RedirectTargets, NO_L7_TARGETS } from '../../../src/agent/l7/redirect-targets.js';

const ports = (...ranges: [number, number][]) => ranges.map(([first, last]) => ({ first, last }));

const TARGETS: L7RedirectTargets = {
  ingress: [
    { address: '10.244.1.5', ports: ports([8080, 8080], [9000, 9100]) },
    { address: 'fd00:0:0::0005', ports: ports([80, 80]) },
  ],
  egress: [{ hostInterface: 'tw1234abcd', ports: ports([9090, 9090]) }],
};

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('renderL7Redirect', () => {
  it('writes its own inet table: sets of targets, socket rule, mark rule, tproxy rules with the mark set first, then the reset', () => {
    expect(renderL7Redirect(TARGETS, { table: 'twt_l7', proxyPort: 4000, mark: 0x10, mask: 0xf0 })).toBe(
      [
        'table inet twt_l7 {}',
        'delete table inet twt_l7',
        'table inet twt_l7 {',
        '  set l7_in4 {',
        '    type ipv4_addr . inet_service',
        '    flags interval',
        '    elements = { 10.244.1.5 . 8080, 10.244.1.5 . 9000-9100 }',
        '  }',
        '  set l7_in6 {',
        '    type ipv6_addr . inet_service',
        '    flags interval',
        '    elements = { fd00::5 . 80 }',
        '  }',
        '  set l7_out {',
        '    type ifname . inet_service',
        '    flags interval',
        '    elements = { "tw1234abcd" . 9090 }',
        '  }',
        '  chain prerouting {',
        '    type filter hook prerouting priority dstnat + 10; policy accept;',
        '    meta l4proto tcp socket transparent 1 socket wildcard 0 meta mark set meta mark and 0xffffff0f or 0x10 accept',
        '    meta mark and 0xf0 == 0x10 accept',
        '    ip daddr . tcp dport @l7_in4 meta mark set meta mark and 0xffffff0f or 0x10 tproxy ip to :4000 accept',
        '    ip6 daddr . tcp dport @l7_in6 meta mark set meta mark and 0xffffff0f or 0x10 tproxy ip6 to :4000 accept',
        '    meta nfproto ipv4 iifname . tcp dport @l7_out meta mark set meta mark and 0xffffff0f or 0x10 tproxy ip to :4000 accept',
        '    meta nfproto ipv6 iifname . tcp dport @l7_out meta mark set meta mark and 0xffffff0f or 0x10 tproxy ip6 to :4000 accept',
        '    meta l4proto tcp meta mark and 0xf0 == 0x10 reject with tcp reset',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('leaves out the ip6 tproxy rules for a node serving IPv4 only (families [4])', () => {
    const script = renderL7Redirect(TARGETS, { table: 'twt_l7', proxyPort: 4000, mark: 0x10, mask: 0xf0, families: [4] });
    const rules = script.split('\n').filter((line) => line.includes('tproxy'));
    expect(rules).toEqual([
      '    ip daddr . tcp dport @l7_in4 meta mark set meta mark and 0xffffff0f or 0x10 tproxy ip to :4000 accept',
      '    meta nfproto ipv4 iifname . tcp dport @l7_out meta mark set meta mark and 0xffffff0f or 0x10 tproxy ip to :4000 accept',
    ]);
    // The same table otherwise: the sets (IPv6 included, so deltas stay the same) and the other rules.
    expect(script.split('\n').filter((line) => !line.includes('ip6'))).toEqual(renderL7Redirect(TARGETS, { table: 'twt_l7', proxyPort: 4000, mark: 0x10, mask: 0xf0 }).split('\n').filter((line) => !line.includes('ip6')));
  });

  it('uses the defaults: table twill_l7, port 15001, mark 0x200/0xf00; empty sets have no elements line', () => {
    const script = renderL7Redirect(NO_L7_TARGETS);
    expect(script.startsWith('table inet twill_l7 {}\ndelete table inet twill_l7\ntable inet twill_l7 {\n')).toBe(true);
    expect(script).toContain('tproxy ip to :15001 accept');
    expect(script).toContain('meta mark set meta mark and 0xfffff0ff or 0x200');
    expect(script).not.toContain('elements');
  });
});

describe('compileL7RedirectSets', () => {
  it('merges overlapping and touching ranges of one address or interface, across targets, and writes IPv6 canonically', () => {
    const sets = compileL7RedirectSets({
      ingress: [
        { address: '10.0.0.1', ports: ports([80, 90], [85, 100], [101, 101], [200, 200]) },
        { address: '10.0.0.1', ports: ports([95, 150]) },
        { address: 'FD00::0001', ports: ports([1, 65535]) },
        { address: 'fd00::1', ports: ports([443, 443]) },
        { address: '::ffff:10.1.2.3', ports: ports([443, 443]) },
      ],
      egress: [
        { hostInterface: 'twa', ports: ports([9090, 9090]) },
        { hostInterface: 'twa', ports: ports([9091, 9092]) },
      ],
    });
    // An IPv4-mapped IPv6 address is the IPv4 address on the wire: in the IPv6 set it would never match.
    expect(sets).toEqual({ in4: ['10.0.0.1 . 200', '10.0.0.1 . 80-150', '10.1.2.3 . 443'], in6: ['fd00::1 . 1-65535'], out: ['"twa" . 9090-9092'] });
  });

  it.each([
    [{ ingress: [{ address: '10.0.0', ports: ports([80, 80]) }], egress: [] }, 'L7 redirect ingress target 0 ("10.0.0"): the address is not an IPv4 or IPv6 address'],
    [{ ingress: [{ address: '10.0.0.1/32', ports: ports([80, 80]) }], egress: [] }, 'L7 redirect ingress target 0 ("10.0.0.1/32"): the address is not an IPv4 or IPv6 address'],
    [{ ingress: [{ address: 'fe80::1%eth0', ports: ports([80, 80]) }], egress: [] }, 'L7 redirect ingress target 0 ("fe80::1%eth0"): the address is not an IPv4 or IPv6 address'],
    [{ ingress: [{ address: '010.0.0.1', ports: ports([80, 80]) }], egress: [] }, 'L7 redirect ingress target 0 ("010.0.0.1"): the address is not an IPv4 or IPv6 address'],
    [{ ingress: [{ address: 'fd00::1::2', ports: ports([80, 80]) }], egress: [] }, 'L7 redirect ingress target 0 ("fd00::1::2"): the address is not an IPv4 or IPv6 address'],
    [{ ingress: [{ address: '10.0.0.1', ports: [] }], egress: [] }, 'L7 redirect ingress target 0 ("10.0.0.1"): no ports'],
    [{ ingress: [{ address: '10.0.0.1', ports: ports([90, 80]) }], egress: [] }, 'L7 redirect ingress target 0 ("10.0.0.1") port range 0 {"first":90,"last":80}: want 1 <= first <= last <= 65535'],
    [{ ingress: [], egress: [{ hostInterface: 'tw0', ports: ports([0, 80]) }] }, 'L7 redirect egress target 0 ("tw0") port range 0 {"first":0,"last":80}: want 1 <= first <= last <= 65535'],
    [{ ingress: [], egress: [{ hostInterface: 'tw"; flush ruleset', ports: ports([80, 80]) }] }, 'L7 redirect egress target 0 ("tw\\"; flush ruleset"): not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)'],
    [{ ingress: [], egress: [{ hostInterface: 'a-name-too-long-x', ports: ports([80, 80]) }] }, 'L7 redirect egress target 0 ("a-name-too-long-x"): not an interface name (1-15 of A-Z a-z 0-9 _ . : @ + -)'],
  ])('refuses bad targets, naming which: %#', (targets, message) => {
    const error = thrown(() => compileL7RedirectSets(targets));
    expect(error).toBeInstanceOf(L7RedirectError);
    expect(error).toMatchObject({ code: 'bad-target', message });
  });
});

describe('resolveL7RedirectOptions', () => {
  it.each([
    [{ table: 'bad name' }, 'L7 redirect option table "bad name": want a letter then letters, digits, _ or - (at most 64)'],
    [{ proxyPort: 70000 }, 'L7 redirect option proxyPort 70000: want a port 1-65535'],
    [{ mark: 0 }, 'L7 redirect option mark 0: want 1 to 0xffffffff'],
    [{ mark: 0x300, mask: 0x200 }, 'L7 redirect option mark 0x300 has bits outside mask 0x200'],
    [{ families: [6] as unknown as L7RedirectOptions['families'] }, 'L7 redirect option families [6]: want [4] or [4, 6]'],
    [{ families: [4, 4] as unknown as L7RedirectOptions['families'] }, 'L7 redirect option families [4,4]: want [4] or [4, 6]'],
  ])('refuses %j, naming the option', (options, message) => {
    expect(thrown(() => resolveL7RedirectOptions(options))).toMatchObject({ code: 'bad-option', message });
  });
});

describe('renderL7RedirectDelta', () => {
  const before = compileL7RedirectSets(TARGETS);

  it('writes only the elements that change, deletions first, never touching a chain', () => {
    const after = compileL7RedirectSets({
      ingress: [{ address: '10.244.1.5', ports: ports([8080, 8080], [9000, 9200]) }, { address: 'fd00::5', ports: ports([80, 80]) }],
      egress: [],
    });
    expect(renderL7RedirectDelta(before, after, { table: 'twt_l7' })).toBe(
      [
        'delete element inet twt_l7 l7_in4 { 10.244.1.5 . 9000-9100 }',
        'delete element inet twt_l7 l7_out { "tw1234abcd" . 9090 }',
        'add element inet twt_l7 l7_in4 { 10.244.1.5 . 9000-9200 }',
        '',
      ].join('\n'),
    );
  });

  it('is empty when nothing changed', () => {
    expect(renderL7RedirectDelta(before, compileL7RedirectSets(TARGETS))).toBe('');
  });
});

describe('renderL7RedirectRemoval', () => {
  it('deletes the table whether or not it exists, in one transaction', () => {
    expect(renderL7RedirectRemoval({ table: 'twt_l7' })).toBe('table inet twt_l7 {}\ndelete table inet twt_l7\n');
  });
});

describe('decodeL7RedirectListing', () => {
  // What `nft -j list table inet twill_l7` prints (nftables 1.0.6) for the table renderL7Redirect(TARGETS) makes.
  const listing = {
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'twill_l7', handle: 1 } },
      { set: { family: 'inet', name: 'l7_in4', table: 'twill_l7', type: ['ipv4_addr', 'inet_service'], handle: 1, flags: ['interval'], elem: [{ concat: ['10.244.1.5', 8080] }, { concat: ['10.244.1.5', { range: [9000, 9100] }] }] } },
      { set: { family: 'inet', name: 'l7_in6', table: 'twill_l7', type: ['ipv6_addr', 'inet_service'], handle: 2, flags: ['interval'], elem: [{ concat: ['fd00::5', 80] }] } },
      { set: { family: 'inet', name: 'l7_out', table: 'twill_l7', type: ['ifname', 'inet_service'], handle: 3, flags: ['interval'], elem: [{ concat: ['tw1234abcd', 9090] }] } },
      { chain: { family: 'inet', table: 'twill_l7', name: 'prerouting', handle: 4, type: 'filter', hook: 'prerouting', prio: -90, policy: 'accept' } },
    ],
  };

  it('reads back the sets as compileL7RedirectSets writes them, so a restart keeps them and the next delta applies', () => {
    expect(decodeL7RedirectListing(listing)).toEqual(compileL7RedirectSets(TARGETS));
    expect(renderL7RedirectDelta(decodeL7RedirectListing(listing)!, compileL7RedirectSets(TARGETS))).toBe('');
  });

  it('reads a set without elements, or of another type, as empty; no table or no prerouting chain as nothing', () => {
    const [meta, table, in4, , out, chain] = listing.nftables;
    const wrongType = { set: { ...(in4 as { set: object }).set, type: ['ipv4_addr'] } };
    expect(decodeL7RedirectListing({ nftables: [meta, table, wrongType, out, chain] })).toEqual({ in4: [], in6: [], out: ['"tw1234abcd" . 9090'] });
    expect(decodeL7RedirectListing({ nftables: [meta, table, in4] })).toBeUndefined();
    expect(decodeL7RedirectListing(undefined)).toBeUndefined();
  });
});
