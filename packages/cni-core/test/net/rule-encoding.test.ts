import { describe, expect, it } from 'vitest';

import { NetError } from '../../src/net/errors.js';
import { decodeRule, describeRule, encodeRule } from '../../src/net/rule.js';

describe('encodeRule', () => {
  it('builds `ip rule add fwmark 0x200/0xf00 lookup 2004 pref 9` as ip does', () => {
    const message = encodeRule({ family: 4, fwmark: 0x200, fwmask: 0xf00, table: 2004, priority: 9 }, 'op');
    // struct fib_rule_hdr: AF_INET, table byte RT_TABLE_UNSPEC (2004 only fits FRA_TABLE), FR_ACT_TO_TBL.
    expect(message.data).toEqual({ family: 2, table: 0, action: 1 });
    expect(message.attrs).toEqual({ table: 2004, priority: 9, fwmark: 0x200, fwmask: 0xf00 });
  });

  it('puts a table below 256 in the header too, and leaves the mask out when not given', () => {
    const message = encodeRule({ family: 6, fwmark: 1, table: 100, priority: 1000 }, 'op');
    expect(message.data).toEqual({ family: 10, table: 100, action: 1 });
    expect(message.attrs).toEqual({ table: 100, priority: 1000, fwmark: 1 });
  });

  it.each([
    [{ family: 5 as 4, fwmark: 1, table: 1, priority: 1 }, 'family 5 is not 4 or 6'],
    [{ family: 4 as const, fwmark: -1, table: 1, priority: 1 }, 'fwmark -1 is not a 32-bit unsigned integer'],
    [{ family: 4 as const, fwmark: 1, fwmask: 2 ** 32, table: 1, priority: 1 }, 'fwmask 4294967296 is not a 32-bit unsigned integer'],
    [{ family: 4 as const, fwmark: 1, table: 0, priority: 1 }, 'table 0 is not a table (1..2^32-1)'],
    [{ family: 4 as const, fwmark: 1, table: 1, priority: 1.5 }, 'priority 1.5 is not a 32-bit unsigned integer'],
  ])('refuses %j before sending anything', (spec, detail) => {
    const error = (() => {
      try {
        encodeRule(spec, 'addRule x');
      } catch (e) {
        return e;
      }
      throw new Error('expected a throw');
    })();
    expect(error).toBeInstanceOf(NetError);
    expect(error).toMatchObject({ code: 'EINVAL', message: `addRule x: EINVAL: ${detail}` });
  });
});

describe('decodeRule', () => {
  it('reads a fwmark rule as the kernel sends it (action parsed to the netlink enum key)', () => {
    const rule = decodeRule({ kind: 'rule', data: { family: 2, table: 0, action: 'toTbl', flags: {} }, attrs: { table: 2004, priority: 9, fwmark: 0x200, fwmask: 0xf00 } });
    expect(rule).toEqual({ family: 4, priority: 9, action: 'lookup', table: 2004, fwmark: 0x200, fwmask: 0xf00, invert: false });
  });

  it('reads the main-table rule (no mark, no priority attribute on older kernels), a source prefix and not', () => {
    expect(decodeRule({ kind: 'rule', data: { family: 10, table: 254, action: 'toTbl', flags: {} }, attrs: {} })).toEqual({
      family: 6,
      priority: 0,
      action: 'lookup',
      table: 254,
      invert: false,
    });
    const rule = decodeRule({
      kind: 'rule',
      data: { family: 2, srcLen: 24, action: 'blackhole', flags: { invert: true } },
      attrs: { src: Buffer.from([10, 1, 2, 0]), priority: 5, iifname: 'eth0' },
    });
    expect(rule).toEqual({ family: 4, priority: 5, action: 'blackhole', table: 0, src: '10.1.2.0/24', iifname: 'eth0', invert: true });
  });

  it('gives undefined for a family other than IPv4 and IPv6', () => {
    expect(decodeRule({ kind: 'rule', data: { family: 7 }, attrs: {} })).toBeUndefined();
  });
});

describe('describeRule', () => {
  it('writes a rule in ip words for messages', () => {
    expect(describeRule({ family: 6, fwmark: 0x200, fwmask: 0xf00, table: 2004, priority: 9 })).toBe('ipv6 fwmark 0x200/0xf00 lookup 2004 pref 9');
  });
});
