import { describe, expect, it } from 'vitest';

import {
  L7RedirectError,
  compileL7RedirectSets,
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
    expect(sets).toEqual({ in4: ['10.0.0.1 . 200', '10.0.0.1 . 80-150'], in6: ['::ffff:a01:203 . 443', 'fd00::1 . 1-65535'], out: ['"twa" . 9090-9092'] });
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
    [{ ingress: [], egress: [{ hostInterface: 'tw"; flush ruleset', ports: ports([80, 80]) }] }, 'L7 redirect egress target 0 ("tw\\"; flush ruleset"): not an interface name (1-15 characters, no space, quote, backslash, / or :)'],
    [{ ingress: [], egress: [{ hostInterface: 'a-name-too-long-x', ports: ports([80, 80]) }] }, 'L7 redirect egress target 0 ("a-name-too-long-x"): not an interface name (1-15 characters, no space, quote, backslash, / or :)'],
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
