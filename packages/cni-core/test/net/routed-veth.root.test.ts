// plumbRoutedVeth, checkRoutedVeth and unplumbRoutedVeth on real namespaces: a scratch
// "node" with an uplink stands in for the host, so the machine's own links are left
// alone. What the pod gets is read back with `ip`, and TCP crosses the veth both ways.
import { afterEach, describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import {
  InterfaceExistsError,
  NetError,
  type RoutedVethOptions,
  checkRoutedVeth,
  deleteNetns,
  hostInterfaceName,
  plumbRoutedVeth,
  unplumbRoutedVeth,
} from '../../src/net/index.js';
import { NetworkScratch, type ScratchNetns, rootSkipReason, testName } from '@twill/sys/testing';

import { type IpRoute, ipAddresses, ipJson, ipLinks, tcpRoundTrip } from './helpers.js';

const reason = rootSkipReason();

describe.skipIf(reason)(`routed veth plumbing as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => scratch.cleanup());

  /**
   * A node: an uplink with 192.0.2.1/24 and 2001:db8:1::1/64 and default routes out of
   * it (proxy ARP answers only for a target routed out of another link, net/ipv4/arp.c).
   */
  function node(): { host: ScratchNetns; uplink: string } {
    const host = scratch.netns();
    const world = scratch.netns();
    const uplink = scratch.veth(host, world).a;
    scratch.ip(host, 'addr', 'add', '192.0.2.1/24', 'dev', uplink);
    scratch.ip(host, 'addr', 'add', '2001:db8:1::1/64', 'dev', uplink, 'nodad');
    scratch.ip(host, 'route', 'add', 'default', 'via', '192.0.2.2');
    scratch.ip(host, '-6', 'route', 'add', 'default', 'via', '2001:db8:1::2');
    return { host, uplink };
  }

  const sysctl = (ns: ScratchNetns, key: string): string => scratch.exec(ns, 'cat', [`/proc/sys/net/${key}`]).trim();
  const linkNames = (ns: ScratchNetns): string[] => [...ipLinks(scratch, ns).keys()].sort();

  it('IPv4: a /32 and an on-link default route in the pod, proxy ARP and a route on the host; TCP both ways; DEL leaves nothing, twice', async () => {
    const { host, uplink } = node();
    const pod = scratch.netns();
    const hostInterface = hostInterfaceName('v4-1', 'eth0');
    const options: RoutedVethOptions = { netns: pod.path, ifName: 'eth0', hostInterface, addresses: ['10.244.1.5'], mtu: 1450, hostNetns: host.handle };

    const result = await plumbRoutedVeth(options);
    const hostLink = ipLinks(scratch, host).get(hostInterface);
    const podLink = ipLinks(scratch, pod).get('eth0');
    expect(result).toEqual({
      interfaces: [
        { name: hostInterface, mac: hostLink?.address },
        { name: 'eth0', mac: podLink?.address, sandbox: pod.path },
      ],
      ips: [{ address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
    });
    expect([hostLink?.mtu, podLink?.mtu, hostLink?.linkinfo?.info_kind]).toEqual([1450, 1450, 'veth']);
    expect(ipAddresses(scratch, pod, 'eth0').filter((a) => !a.startsWith('fe80'))).toEqual(['10.244.1.5/32']);
    expect(ipJson<IpRoute[]>(scratch, pod, 'route', 'show')).toEqual([
      expect.objectContaining({ dst: 'default', gateway: '169.254.1.1', dev: 'eth0', flags: ['onlink'] }),
    ]);
    expect(ipJson<IpRoute[]>(scratch, host, 'route', 'show', '10.244.1.5')).toEqual([expect.objectContaining({ dst: '10.244.1.5', dev: hostInterface })]);
    expect(sysctl(host, `ipv4/conf/${hostInterface}/proxy_arp`)).toBe('1');
    expect(sysctl(host, `ipv4/neigh/${hostInterface}/proxy_delay`)).toBe('0');
    expect(sysctl(host, 'ipv4/conf/all/forwarding')).toBe('1');

    expect(await tcpRoundTrip(host, pod, '192.0.2.1')).toBe('echo ping');
    expect(await tcpRoundTrip(pod, host, '10.244.1.5')).toBe('echo ping');
    expect(await checkRoutedVeth(options)).toEqual([]);

    await unplumbRoutedVeth({ hostInterface, hostNetns: host.handle });
    expect(linkNames(host)).toEqual(['lo', uplink].sort());
    expect(linkNames(pod)).toEqual(['lo']);
    expect(scratch.ip(host, 'route', 'show', '10.244.1.5')).toBe('');
    await expect(unplumbRoutedVeth({ hostInterface, hostNetns: host.handle })).resolves.toBeUndefined();
    expect(await checkRoutedVeth(options)).toEqual([`host: interface ${hostInterface} is missing`, `pod: interface eth0 is missing in ${pod.path}`]);
  });

  it('IPv4 and IPv6: both addresses, both default routes, fe80::1 on the host end; TCP over IPv6 both ways; DEL leaves nothing', async () => {
    const { host, uplink } = node();
    const pod = scratch.netns();
    const hostInterface = hostInterfaceName('v6-1', 'eth0');
    const options: RoutedVethOptions = { netns: pod.path, ifName: 'eth0', hostInterface, addresses: ['10.244.1.6/32', 'fd00:244:0:0::6'], hostNetns: host.path };

    const result = await plumbRoutedVeth(options);
    expect(result.ips).toEqual([
      { address: '10.244.1.6/32', gateway: '169.254.1.1', interface: 1 },
      { address: 'fd00:244::6/128', gateway: 'fe80::1', interface: 1 },
    ]);
    expect(result.routes).toEqual([
      { dst: '0.0.0.0/0', gw: '169.254.1.1' },
      { dst: '::/0', gw: 'fe80::1' },
    ]);
    expect(ipAddresses(scratch, pod, 'eth0').filter((a) => !a.startsWith('fe80'))).toEqual(['10.244.1.6/32', 'fd00:244::6/128']);
    expect(ipAddresses(scratch, host, hostInterface)).toContain('fe80::1/64');
    expect(ipJson<IpRoute[]>(scratch, pod, '-6', 'route', 'show', 'default')).toEqual([
      expect.objectContaining({ dst: 'default', gateway: 'fe80::1', dev: 'eth0', flags: ['onlink'] }),
    ]);
    expect(ipJson<IpRoute[]>(scratch, host, '-6', 'route', 'show', 'fd00:244::6')).toEqual([expect.objectContaining({ dst: 'fd00:244::6', dev: hostInterface })]);
    expect(sysctl(host, 'ipv6/conf/all/forwarding')).toBe('1');
    // The kernel's default for a new link, 1500: no MTU was asked for.
    expect(ipLinks(scratch, pod).get('eth0')?.mtu).toBe(1500);

    expect(await tcpRoundTrip(host, pod, '2001:db8:1::1', 6)).toBe('echo ping');
    expect(await tcpRoundTrip(pod, host, 'fd00:244::6', 6)).toBe('echo ping');
    expect(await tcpRoundTrip(pod, host, '10.244.1.6')).toBe('echo ping');
    expect(await checkRoutedVeth(options)).toEqual([]);

    await unplumbRoutedVeth({ hostInterface, hostNetns: host.path });
    expect(linkNames(host)).toEqual(['lo', uplink].sort());
    expect(linkNames(pod)).toEqual(['lo']);
    expect(scratch.ip(host, '-6', 'route', 'show', 'fd00:244::6')).toBe('');
  });

  it('CHECK names every difference from what ADD made', async () => {
    const { host } = node();
    const pod = scratch.netns();
    const hostInterface = hostInterfaceName('drift-1', 'eth0');
    const options: RoutedVethOptions = { netns: pod.path, ifName: 'eth0', hostInterface, addresses: ['10.244.1.7/32', 'fd00:244::7/128'], mtu: 1400, hostNetns: host.path };
    await plumbRoutedVeth(options);

    scratch.ip(host, 'link', 'set', hostInterface, 'mtu', '1300');
    scratch.ip(pod, 'addr', 'del', 'fd00:244::7/128', 'dev', 'eth0');
    scratch.ip(pod, '-4', 'route', 'del', 'default');
    scratch.exec(host, 'sh', ['-c', `echo 0 > /proc/sys/net/ipv4/conf/${hostInterface}/proxy_arp`]);
    scratch.ip(host, 'addr', 'del', 'fe80::1/64', 'dev', hostInterface);
    scratch.ip(host, 'route', 'del', '10.244.1.7/32', 'dev', hostInterface);

    expect(await checkRoutedVeth(options)).toEqual([
      `host: ${hostInterface} has MTU 1300, want 1400`,
      'pod: eth0 lacks address fd00:244::7/128',
      'pod: no default route via 169.254.1.1 dev eth0',
      `host: proxy ARP is off on ${hostInterface}`,
      `host: ${hostInterface} lacks the gateway address fe80::1`,
      `host: no route to 10.244.1.7/32 dev ${hostInterface}`,
    ]);
    // Without an MTU in the options, the MTU is not compared.
    const { mtu: _, ...withoutMtu } = options;
    expect(await checkRoutedVeth(withoutMtu)).not.toContain(`host: ${hostInterface} has MTU 1300, want 1400`);
  });

  it('a host end name already taken: InterfaceExistsError (EEXIST) saying how to free it; the other link stays, nothing is made', async () => {
    const { host, uplink } = node();
    const pod = scratch.netns();
    const hostInterface = hostInterfaceName('clash-1', 'eth0');
    scratch.ip(host, 'link', 'add', hostInterface, 'type', 'bridge');

    const error = await plumbRoutedVeth({ netns: pod.path, ifName: 'eth0', hostInterface, addresses: ['10.244.1.8/32'], hostNetns: host.path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterfaceExistsError);
    expect(error).toBeInstanceOf(NetError);
    expect(error).toMatchObject({ code: 'EEXIST', side: 'host', interfaceName: hostInterface, where: host.path });
    expect((error as Error).message).toBe(
      `plumbRoutedVeth ${hostInterface} in ${host.path}: EEXIST: the host end of this attachment is taken: DEL the attachment that made it, or remove the leftover (ip link del ${hostInterface})`,
    );
    expect(ipLinks(scratch, host).get(hostInterface)?.linkinfo?.info_kind).toBe('bridge');
    expect(linkNames(host)).toEqual(['lo', uplink, hostInterface].sort());
    expect(linkNames(pod)).toEqual(['lo']);
  });

  it('a pod interface name already taken: InterfaceExistsError on the pod side; the pod keeps its link, the host gets nothing', async () => {
    const { host, uplink } = node();
    const pod = scratch.netns();
    scratch.ip(pod, 'link', 'add', 'eth0', 'type', 'bridge');
    const hostInterface = hostInterfaceName('clash-2', 'eth0');

    const error = await plumbRoutedVeth({ netns: pod.path, ifName: 'eth0', hostInterface, addresses: ['10.244.1.9/32'], hostNetns: host.path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterfaceExistsError);
    expect(error).toMatchObject({ code: 'EEXIST', side: 'pod', interfaceName: 'eth0', where: pod.path });
    expect((error as Error).message).toContain('the pod already has an interface named eth0: DEL the attachment that made it, or ask for another CNI_IFNAME');
    expect(linkNames(host)).toEqual(['lo', uplink].sort());
    expect(ipLinks(scratch, pod).get('eth0')?.linkinfo?.info_kind).toBe('bridge');
  });

  it('a pod namespace that does not exist: CniError code 3 from ADD and CHECK, nothing made; DEL succeeds', async () => {
    const { host, uplink } = node();
    const missing = `/run/netns/${testName()}`;
    const options: RoutedVethOptions = { netns: missing, ifName: 'eth0', hostInterface: hostInterfaceName('gone-1', 'eth0'), addresses: ['10.244.1.10/32'], hostNetns: host.path };

    for (const call of [plumbRoutedVeth, checkRoutedVeth]) {
      const error = await call(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CniError);
      expect(error).toMatchObject({ code: 3, msg: `the network namespace ${missing} does not exist`, details: 'the container is gone, or CNI_NETNS is wrong' });
    }
    expect(linkNames(host)).toEqual(['lo', uplink].sort());
    await expect(unplumbRoutedVeth({ hostInterface: options.hostInterface, hostNetns: host.path })).resolves.toBeUndefined();
  });

  it('DEL after the pod namespace is gone removes the host end, or finds it gone', async () => {
    const { host, uplink } = node();
    const pod = scratch.netns();
    const hostInterface = hostInterfaceName('gone-2', 'eth0');
    await plumbRoutedVeth({ netns: pod.path, ifName: 'eth0', hostInterface, addresses: ['10.244.1.11/32'], hostNetns: host.path });
    // The namespace goes when its last reference does; the kernel then deletes the pair
    // in the background, so the host end may still be there for a moment.
    pod.handle.close();
    deleteNetns(pod.name);

    await unplumbRoutedVeth({ hostInterface, hostNetns: host.path });
    expect(linkNames(host)).toEqual(['lo', uplink].sort());
    expect(scratch.ip(host, 'route', 'show', '10.244.1.11')).toBe('');
  });

  it('a failure half way (IPv6 disabled in the pod) throws the kernel\'s refusal and leaves nothing behind', async () => {
    const { host, uplink } = node();
    const pod = scratch.netns();
    scratch.exec(pod, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
    const hostInterface = hostInterfaceName('half-1', 'eth0');

    const error = await plumbRoutedVeth({ netns: pod.path, ifName: 'eth0', hostInterface, addresses: ['10.244.1.12/32', 'fd00:244::12/128'], hostNetns: host.path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetError);
    expect((error as Error).message).toMatch(/^addAddress fd00:244::12\/128 dev eth0: E[A-Z]+/);
    expect(linkNames(host)).toEqual(['lo', uplink].sort());
    expect(linkNames(pod)).toEqual(['lo']);
    expect(scratch.ip(host, 'route', 'show', '10.244.1.12')).toBe('');
  });

  it('DEL refuses to delete a link that is not a veth, and leaves it', async () => {
    const { host } = node();
    const hostInterface = hostInterfaceName('other-1', 'eth0');
    scratch.ip(host, 'link', 'add', hostInterface, 'type', 'bridge');
    await expect(unplumbRoutedVeth({ hostInterface, hostNetns: host.path })).rejects.toThrow(
      `unplumbRoutedVeth ${hostInterface}: EINVAL: ${hostInterface} is a bridge link, not a veth: left in place`,
    );
    expect(ipLinks(scratch, host).get(hostInterface)?.linkinfo?.info_kind).toBe('bridge');
  });
});
