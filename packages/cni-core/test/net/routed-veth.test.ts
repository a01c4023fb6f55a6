// The parts of the routed veth helpers that need no kernel: host end names, and the
// options refused before any namespace is opened (the netns given does not exist, so
// an answer other than EINVAL would show the check came too late).
import { describe, expect, it } from 'vitest';

import { NetError, checkRoutedVeth, hostInterfaceName, plumbRoutedVeth } from '../../src/net/index.js';

describe('hostInterfaceName', () => {
  it('is tw and 13 hex digits of the attachment, the same every time', () => {
    const name = hostInterfaceName('c1', 'eth0');
    // SHA-256 of "c1\neth0" starts with 9bb0edf9ca535 (sha256sum of printf 'c1\neth0').
    expect(name).toBe('tw9bb0edf9ca535');
    expect(hostInterfaceName('c1', 'eth0')).toBe(name);
    expect(hostInterfaceName('c2', 'eth0')).not.toBe(name);
    expect(hostInterfaceName('c1', 'eth1')).not.toBe(name);
  });

  it('takes a prefix and fills the rest of the 15 characters with the hash', () => {
    expect(hostInterfaceName('c1', 'eth0', { prefix: 'cali' })).toBe('cali9bb0edf9ca5');
    expect(hostInterfaceName('c1', 'eth0', { prefix: 'abcdefghijk' })).toBe('abcdefghijk9bb0');
  });

  it('refuses what cannot make an interface name, saying why', () => {
    expect(() => hostInterfaceName('', 'eth0')).toThrow('hostInterfaceName: EINVAL: containerId is empty');
    expect(() => hostInterfaceName('c1', '')).toThrow('hostInterfaceName: EINVAL: ifName is empty');
    expect(() => hostInterfaceName('c1', 'eth0', { prefix: 'abcdefghijkl' })).toThrow('prefix "abcdefghijkl": 1 to 11 letters');
    expect(() => hostInterfaceName('c1', 'eth0', { prefix: 'a/b' })).toThrow(NetError);
  });
});

describe('plumbRoutedVeth and checkRoutedVeth options', () => {
  const base = { netns: '/run/netns/twt-no-such-namespace', ifName: 'eth0', hostInterface: 'tw0123456789abc', addresses: ['10.244.0.5/32'] };

  it.each([
    [{ addresses: [] }, 'plumbRoutedVeth: EINVAL: addresses: at least one address is needed'],
    [{ addresses: ['10.244.0.5/32', '10.244.0.6/24'] }, 'plumbRoutedVeth: addresses[1]: EINVAL: "10.244.0.6/24" is not a full-length address (/32)'],
    [{ addresses: ['fd00::5/64'] }, 'plumbRoutedVeth: addresses[0]: EINVAL: "fd00::5/64" is not a full-length address (/128)'],
    [{ addresses: ['pod-a'] }, 'plumbRoutedVeth: addresses[0]: EINVAL: "pod-a" is not an IP address'],
    [{ ifName: 'eth0/1' }, 'plumbRoutedVeth: ifName: EINVAL: "eth0/1" is not a valid interface name'],
    [{ hostInterface: 'tw0123456789abcdef' }, 'plumbRoutedVeth: hostInterface: EINVAL: "tw0123456789abcdef" is not a valid interface name'],
  ])('refuses %j before touching a namespace', async (change, message) => {
    const error = await plumbRoutedVeth({ ...base, ...change }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetError);
    expect(error).toMatchObject({ code: 'EINVAL' });
    expect((error as Error).message).toContain(message);
  });

  it('checks the same way, naming checkRoutedVeth', async () => {
    await expect(checkRoutedVeth({ ...base, addresses: ['10.244.0.5/31'] })).rejects.toThrow('checkRoutedVeth: addresses[0]: EINVAL');
  });
});
