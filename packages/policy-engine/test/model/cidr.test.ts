import { describe, expect, it } from 'vitest';

import { cidrContainsAddress, cidrContainsCidr, parseCidr, parseIpAddress, type Cidr, type IpAddress } from '@twill/policy-engine';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (parsed === undefined) throw new Error(`bad fixture ${text}`);
  return parsed;
}

function address(text: string): IpAddress {
  const parsed = parseIpAddress(text);
  if (parsed === undefined) throw new Error(`bad fixture ${text}`);
  return parsed;
}

describe('addresses and CIDRs', () => {
  it('refuses the inet_aton forms', () => {
    expect(parseIpAddress('10.1')).toBeUndefined();
    expect(parseIpAddress('0x0a000001')).toBeUndefined();
    expect(parseIpAddress('fe80::1%eth0')).toBeUndefined();
  });

  it('reads IPv4-mapped IPv6 as IPv4', () => {
    expect(parseIpAddress('::ffff:10.0.0.1')?.text).toBe('10.0.0.1');
  });

  it('clears host bits and canonicalizes', () => {
    expect(parseCidr('10.1.2.3/16')?.text).toBe('10.1.0.0/16');
    expect(parseCidr('FD00:0:0::1/64')?.text).toBe('fd00::/64');
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0/08')).toBeUndefined();
    expect(parseCidr('10.0.0.0')).toBeUndefined();
  });

  it('tests containment within a family only', () => {
    expect(cidrContainsAddress(cidr('10.0.0.0/8'), address('10.255.0.1'))).toBe(true);
    expect(cidrContainsAddress(cidr('::/0'), address('10.0.0.1'))).toBe(false);
    expect(cidrContainsCidr(cidr('10.0.0.0/8'), cidr('10.1.0.0/16'))).toBe(true);
    expect(cidrContainsCidr(cidr('10.1.0.0/16'), cidr('10.0.0.0/8'))).toBe(false);
  });
});
