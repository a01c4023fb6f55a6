import { describe, expect, it } from 'vitest';

import { FIRST_LABEL_IDENTITY, IdentityAllocator, identityLabels, IpIdentityCache, isReservedIdentity, RESERVED_IDENTITY, reservedIdentityName, type NumericIdentity } from '@twill/policy-engine';

describe('IdentityAllocator', () => {
  it('gives one label set one identity, whatever the key order', () => {
    const allocator = new IdentityAllocator();
    const a = allocator.identify({ app: 'web', tier: 'a' });
    expect(allocator.identify({ tier: 'a', app: 'web' })).toBe(a);
    expect(allocator.identify({ app: 'web' })).not.toBe(a);
    expect(a).toBeGreaterThanOrEqual(FIRST_LABEL_IDENTITY);
    expect(allocator.labelsOf(a)).toEqual({ app: 'web', tier: 'a' });
  });

  it('is stable across allocators that see the same sets in another order', () => {
    const sets = Array.from({ length: 50 }, (_, i) => ({ app: `app-${i}` }));
    const one = new IdentityAllocator();
    const two = new IdentityAllocator();
    const first = sets.map((s) => one.identify(s));
    const second = [...sets].reverse().map((s) => two.identify(s)).reverse();
    expect(second).toEqual(first);
  });

  it('keeps restored identities', () => {
    const restored = new IdentityAllocator([[4242 as NumericIdentity, { app: 'db' }]]);
    expect(restored.identify({ app: 'db' })).toBe(4242);
    expect(restored.entries()).toEqual([[4242, { app: 'db' }]]);
  });

  it('names identity labels as Cilium does, namespace labels included', () => {
    expect(identityLabels(
      { kind: 'workload', name: 'a', namespace: 'x', labels: { app: 'web', 'reserved:health': '' }, serviceAccount: 'sa', ips: [] },
      { name: 'x', labels: { team: 'a' } },
    )).toEqual({
      'k8s:app': 'web',
      'reserved:health': '',
      'k8s:io.kubernetes.pod.namespace': 'x',
      'k8s:io.cilium.k8s.namespace.labels.team': 'a',
      'k8s:io.cilium.k8s.policy.serviceaccount': 'sa',
    });
  });
});

describe('reserved identities', () => {
  it('use Cilium’s numbers', () => {
    expect([RESERVED_IDENTITY.HOST, RESERVED_IDENTITY.WORLD, RESERVED_IDENTITY.REMOTE_NODE, RESERVED_IDENTITY.KUBE_APISERVER]).toEqual([1, 2, 6, 7]);
    expect(reservedIdentityName(RESERVED_IDENTITY.HEALTH)).toBe('health');
    expect(isReservedIdentity(300 as NumericIdentity)).toBe(false);
  });
});

describe('IpIdentityCache', () => {
  it('finds the longest prefix, and world for the rest', () => {
    const cache = new IpIdentityCache();
    cache.set('10.0.0.0/8', 1000 as NumericIdentity);
    cache.set('10.1.0.0/16', 1001 as NumericIdentity);
    cache.set('10.1.2.3', 1002 as NumericIdentity);
    cache.set('fd00::/8', 1003 as NumericIdentity);
    expect(cache.lookup('10.1.2.3')).toBe(1002);
    expect(cache.lookup('10.1.2.4')).toBe(1001);
    expect(cache.lookup('10.9.0.1')).toBe(1000);
    expect(cache.lookup('192.168.0.1')).toBe(RESERVED_IDENTITY.WORLD);
    expect(cache.lookup('fd12::1')).toBe(1003);
    expect(cache.delete('10.1.0.0/16')).toBe(true);
    expect(cache.lookup('10.1.2.4')).toBe(1000);
  });

  it('refuses what is not an address', () => {
    expect(() => new IpIdentityCache().lookup('10.1')).toThrow(/not an IP address/);
  });
});
