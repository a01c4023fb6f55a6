// Import/export policies as tables: a policy, a route, the verdict and the attributes.
import { describe, expect, it } from 'vitest';

import { type PolicyDefinition, type RouteAttributes, BgpInvalidArgument, asn, compilePolicy, compilePrefixList, evaluatePolicy, parseCommunity, parsePrefix, prefixKey, prefixListPermits, runPolicy } from '@twill/bgp';

const route = (extra: Partial<RouteAttributes> = {}): RouteAttributes => ({
  origin: 0,
  asPath: [
    { type: 2, asns: [asn(65001), asn(65002)] },
    { type: 1, asns: [asn(65003), asn(65004)] },
  ],
  nextHop: '192.0.2.1',
  ...extra,
});

describe('prefix lists with ge/le', () => {
  const cases: [string, { prefix: string; ge?: number; le?: number }, boolean][] = [
    ['10.0.0.0/8', { prefix: '10.0.0.0/8' }, true],
    ['10.1.0.0/16', { prefix: '10.0.0.0/8' }, false], // exact length only
    ['10.1.0.0/16', { prefix: '10.0.0.0/8', le: 16 }, true],
    ['10.1.1.0/24', { prefix: '10.0.0.0/8', le: 16 }, false],
    ['10.1.1.0/24', { prefix: '10.0.0.0/8', ge: 24 }, true],
    ['10.1.0.0/16', { prefix: '10.0.0.0/8', ge: 24 }, false],
    ['10.1.1.1/32', { prefix: '10.0.0.0/8', ge: 24 }, true], // ge alone: up to /32
    ['10.1.1.0/24', { prefix: '10.0.0.0/8', ge: 16, le: 24 }, true],
    ['10.1.1.0/25', { prefix: '10.0.0.0/8', ge: 16, le: 24 }, false],
    ['11.0.0.0/16', { prefix: '10.0.0.0/8', le: 32 }, false], // outside
    ['10.128.0.0/9', { prefix: '10.128.0.0/9', le: 9 }, true],
    ['10.0.0.0/9', { prefix: '10.128.0.0/9', le: 16 }, false], // bit 9 differs
    ['2001:db8:1::/48', { prefix: '2001:db8::/32', le: 48 }, true],
    ['10.0.0.0/8', { prefix: '2001:db8::/32', le: 128 }, false], // other family
  ];
  it.each(cases)('%s against %o → %s', (p, entry, expected) => {
    expect(prefixListPermits(compilePrefixList([entry]), parsePrefix(p))).toBe(expected);
  });

  it('the first matching entry decides; deny entries exclude', () => {
    const list = compilePrefixList([{ prefix: '10.1.0.0/16', le: 32, action: 'deny' }, { prefix: '10.0.0.0/8', le: 32 }]);
    expect(prefixListPermits(list, parsePrefix('10.1.2.0/24'))).toBe(false);
    expect(prefixListPermits(list, parsePrefix('10.2.2.0/24'))).toBe(true);
  });

  it.each([
    [{ prefix: '10.0.0.0/8', ge: 4 }],
    [{ prefix: '10.0.0.0/8', ge: 24, le: 16 }],
    [{ prefix: '10.0.0.0/8', le: 33 }],
    [{ prefix: '10.0.0.1/8' }],
  ])('rejects %o', (entry) => {
    expect(() => compilePrefixList([entry])).toThrow(BgpInvalidArgument);
  });
});

describe('policy terms', () => {
  const policy: PolicyDefinition = {
    terms: [
      { name: 'blackhole', match: { communities: { any: ['BLACKHOLE'] } }, then: 'reject' },
      { name: 'tag-customers', match: { asPath: '^65001_' }, set: { addCommunities: ['65000:100'] }, then: 'next' },
      { name: 'prefer-65010', match: { asPath: '_65010$' }, set: { localPref: 250 }, then: 'accept' },
      { name: 'large', match: { largeCommunities: { all: ['65000:1:2'] } }, set: { med: 40, removeLargeCommunities: ['65000:1:2'] }, then: 'accept' },
      { name: 'pods', match: { prefixList: [{ prefix: '10.244.0.0/16', ge: 26, le: 26 }] }, set: { nextHop: '192.0.2.9', communities: ['65000:7'] }, then: 'accept' },
      { name: 'v6', match: { family: 6 }, then: 'accept' },
    ],
    default: 'reject',
  };
  const compiled = compilePolicy(policy);
  const rows: [string, string, Partial<RouteAttributes>, string, Partial<RouteAttributes> | undefined][] = [
    ['community match rejects', '10.1.0.0/24', { communities: [parseCommunity('BLACKHOLE')] }, 'blackhole', undefined],
    ['AS path regex + next, then default reject', '10.1.0.0/24', {}, 'default', undefined],
    ['AS path match on the origin AS, after next', '10.1.0.0/24', { asPath: [{ type: 2, asns: [asn(65001), asn(65010)] }] }, 'prefer-65010', { localPref: 250, communities: [parseCommunity('65000:100')] }],
    ['`_` does not match inside a number', '10.1.0.0/24', { asPath: [{ type: 2, asns: [asn(165001), asn(165010)] }] }, 'default', undefined],
    ['large community all + remove', '10.1.0.0/24', { asPath: [{ type: 2, asns: [asn(7)] }], largeCommunities: [{ globalAdministrator: 65000, localData1: 1, localData2: 2 }] }, 'large', { med: 40 }],
    ['prefix list ge/le + set next hop + replace communities', '10.244.3.64/26', { asPath: [], communities: [parseCommunity('1:1')] }, 'pods', { nextHop: '192.0.2.9', communities: [parseCommunity('65000:7')] }],
    ['prefix list misses other lengths', '10.244.3.0/24', { asPath: [] }, 'default', undefined],
    ['family match', '2001:db8::/32', { asPath: [] }, 'v6', {}],
  ];
  it.each(rows)('%s', (_name, prefix, attrs, decidedBy, expected) => {
    const input = { prefix: parsePrefix(prefix), attributes: route(attrs) };
    expect(evaluatePolicy(compiled, input).decidedBy).toBe(decidedBy);
    const out = runPolicy(compiled, input);
    if (expected === undefined) expect(out).toBeUndefined();
    else expect(out).toMatchObject(expected);
    // The RIB calls the policy with its compact prefix keys: same verdict.
    expect(evaluatePolicy(compiled, { prefix: prefixKey(parsePrefix(prefix)), attributes: route(attrs) }).decidedBy).toBe(decidedBy);
  });

  it('AS path text follows BIRD/FRR: sets in braces', () => {
    const p = compilePolicy({ terms: [{ match: { asPath: '_\\{65003,65004\\}$' }, then: 'accept' }], default: 'reject' });
    expect(runPolicy(p, { prefix: parsePrefix('10.0.0.0/8'), attributes: route() })).toBeDefined();
  });

  it.each([
    [{ terms: [{ match: { communities: { any: ['65536:1'] } }, then: 'accept' }], default: 'reject' }, /term 0: community/],
    [{ terms: [{ match: { asPath: '(' }, then: 'accept' }], default: 'reject' }, /term 0: "\(" is not a regular expression/],
    [{ terms: [{ name: 'lp', set: { localPref: -1 }, then: 'accept' }], default: 'reject' }, /term 0 \(lp\): local preference -1/],
    [{ terms: [{ then: 'maybe' }], default: 'reject' }, /then must be accept, reject or next/],
    [{ terms: [], default: 'perhaps' }, /default must be accept or reject/],
  ])('compilePolicy rejects a bad definition %#', (definition, message) => {
    expect(() => compilePolicy(definition as PolicyDefinition)).toThrow(message);
  });
});
