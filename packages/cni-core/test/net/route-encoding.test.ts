import { describe, expect, it } from 'vitest';

import { RTNH_F_ONLINK } from '../../src/net/attributes.js';
import { decodeRoute, describeRoute, encodeRoute } from '../../src/net/route.js';
import { type IfIndex } from '../../src/net/link.js';
import { sysctlPath, interfaceSysctlKey } from '../../src/net/sysctl.js';
import { scopeName, routeTypeName } from '../../src/net/scope.js';

const eth0 = 2 as IfIndex;

describe('encodeRoute', () => {
  it('builds the pod default route via an on-link gateway as `ip route add` does', () => {
    const message = encodeRoute({ dst: 'default', gateway: '169.254.1.1', index: eth0, onLink: true }, false, 'op');
    expect(message.data).toEqual({
      family: 2,
      dstLen: 0,
      table: 254,
      protocol: 3, // RTPROT_BOOT
      scope: 0, // universe: there is a gateway
      type: 1, // RTN_UNICAST
      flags: { __unknown: RTNH_F_ONLINK },
    });
    expect(message.attrs).toEqual({ table: 254, gateway: Buffer.from([169, 254, 1, 1]), oif: 2 });
  });

  it('makes a route without a gateway scope link (a /32 to a pod through its veth)', () => {
    const message = encodeRoute({ dst: '10.244.1.5/32', index: eth0 }, false, 'op');
    expect(message.data.scope).toBe(253);
    expect(message.attrs.dst).toEqual(Buffer.from([10, 244, 1, 5]));
  });

  it('matches any scope, protocol and type when deleting, as `ip route del` does', () => {
    const { data } = encodeRoute({ dst: '10.244.1.5/32', index: eth0 }, true, 'op');
    expect(data).toMatchObject({ scope: 255, protocol: 0, type: 0 });
  });

  it('puts tables above 255 in RTA_TABLE only, and metrics in RTA_METRICS', () => {
    const message = encodeRoute({ dst: 'fd00::/64', table: 1000, metric: 10, mtu: 1400, advmss: 1360, src: 'fd00::1' }, false, 'op');
    expect(message.data).toMatchObject({ family: 10, dstLen: 64, table: 0 });
    expect(message.attrs).toMatchObject({ table: 1000, priority: 10 });
    expect(message.attrs.metrics?.mtu?.readUInt32LE(0)).toBe(1400);
    expect(message.attrs.metrics?.advmss?.readUInt32LE(0)).toBe(1360);
  });

  it('takes the family of a default route from its gateway', () => {
    expect(encodeRoute({ dst: 'default', gateway: 'fe80::1', index: eth0 }, false, 'op').data.family).toBe(10);
    expect(encodeRoute({ dst: 'default', family: 6, type: 'unreachable' }, false, 'op').data).toMatchObject({ family: 10, type: 7 });
  });

  it.each([
    [{ dst: '10.0.0.1/8' }, /10.0.0.1\/8 has host bits set/],
    [{ dst: '10.0.0.0/8', gateway: 'fd00::1' }, /gateway fd00::1 is not IPv4 like 10.0.0.0\/8/],
    [{ dst: 'default', gateway: '169.254.1.1', onLink: true }, /onlink needs a link/],
    [{ dst: '10.0.0.0/8', table: 0 }, /table 0 is not within/],
    [{ dst: '10.0.0.0/8', scope: 'galaxy' as never }, /unknown scope "galaxy"/],
    [{ dst: '10.0.0.0/8', metric: -1 }, /metric -1 is not/],
    [{ dst: '10.0.0.0/8', family: 6 as const }, /10.0.0.0\/8 is not IPv6/],
  ])('refuses %j before sending anything', (spec, message) => {
    expect(() => encodeRoute(spec, false, 'addRoute x')).toThrowError(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(message) }));
  });
});

describe('decodeRoute', () => {
  it('reads back what encodeRoute wrote, with the names the netlink package parses to', () => {
    const { data, attrs } = encodeRoute({ dst: 'default', gateway: '169.254.1.1', index: eth0, onLink: true, metric: 5 }, false, 'op');
    const route = decodeRoute({ kind: 'route', data: { ...data, scope: 'UNIVERSE', type: 'UNICAST', protocol: 'BOOT' }, attrs });
    expect(route).toEqual({
      dst: '0.0.0.0/0',
      family: 4,
      gateway: '169.254.1.1',
      index: 2,
      onLink: true,
      scope: 'universe',
      table: 254,
      metric: 5,
      type: 'unicast',
      protocol: 'BOOT',
    });
  });

  it('ignores families other than IPv4 and IPv6', () => {
    expect(decodeRoute({ kind: 'route', data: { family: 128 }, attrs: {} })).toBeUndefined();
  });
});

describe('describeRoute', () => {
  it('writes a route the way ip does, for error messages', () => {
    expect(describeRoute({ dst: 'default', gateway: '169.254.1.1', onLink: true }, 'eth0')).toBe('0.0.0.0/0 via 169.254.1.1 dev eth0 onlink');
    expect(describeRoute({ dst: 'default', gateway: 'fe80::1', table: 100, metric: 3 }, undefined)).toBe('::/0 via fe80::1 table 100 metric 3');
  });
});

describe('scope and type names', () => {
  it('maps numbers and the netlink package names to lower-case names', () => {
    expect(scopeName(253)).toBe('link');
    expect(scopeName('HOST')).toBe('host');
    expect(scopeName(42)).toBe(42);
    expect(routeTypeName('BLACKHOLE')).toBe('blackhole');
  });
});

describe('sysctlPath', () => {
  it('maps dotted and slashed net keys under /proc/sys', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath(interfaceSysctlKey('ipv4', 'eth0.100', 'proxy_arp'))).toBe('/proc/sys/net/ipv4/conf/eth0.100/proxy_arp');
  });

  it.each(['kernel.hostname', 'vm/swappiness', 'net', 'net/../kernel/x', 'net..ipv4', ''])('refuses %j: not per network namespace', (key) => {
    expect(() => sysctlPath(key)).toThrowError(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('only keys under net') }));
  });
});
