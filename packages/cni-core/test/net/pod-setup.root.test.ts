// The Calico model of ARCHITECTURE.md, built only with @twill/cni-core/net: pod eth0 with
// IP/32 and a default route via 169.254.1.1 on-link; the host end with proxy ARP and a
// /32 route to the pod. Then traffic flows both ways.
import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason, testName } from '@twill/sys/testing';

import { Netlink } from '../../src/net/index.js';
import { type IpRoute, ipAddresses, ipJson, ipLinks, tcpRoundTrip } from './helpers.js';

const reason = rootSkipReason();

describe.skipIf(reason)(`Calico-style pod plumbing as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  afterEach(() => scratch.cleanup());

  it('wires a pod with IP/32 and an on-link default route, and carries TCP both ways', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    // The node's uplink: proxy ARP answers only for a target the host routes out of
    // another link (net/ipv4/arp.c, arp_fwd_proxy), so the scratch host gets a default
    // route through a second veth, as a real node has through its NIC.
    const world = scratch.netns();
    const uplink = scratch.veth(host, world);
    scratch.ip(host, 'addr', 'add', '192.0.2.1/24', 'dev', uplink.a);
    scratch.ip(host, 'route', 'add', 'default', 'via', '192.0.2.2');

    const hostSide = testName();
    const podIp = '10.244.1.5';
    {
      using hostNl = Netlink.open({ netns: host.handle });
      using podNl = Netlink.open({ netns: pod.path });
      await hostNl.createVeth({ name: hostSide, mtu: 1450, mac: 'ee:ee:ee:ee:ee:ee', peer: { name: 'eth0', netns: pod.handle } });

      await podNl.addAddress('eth0', `${podIp}/32`);
      await podNl.setLink('eth0', { up: true });
      await podNl.addRoute({ dst: 'default', gateway: '169.254.1.1', link: 'eth0', onLink: true });

      await hostNl.setForwarding({ family: 4 });
      await hostNl.setProxyArp(hostSide);
      await hostNl.setLink(hostSide, { up: true });
      await hostNl.addRoute({ dst: `${podIp}/32`, link: hostSide });
    }

    // What ip sees.
    expect(ipAddresses(scratch, pod, 'eth0').filter((a) => !a.startsWith('fe80'))).toEqual([`${podIp}/32`]);
    expect(ipJson<IpRoute[]>(scratch, pod, 'route', 'show')).toEqual([
      expect.objectContaining({ dst: 'default', gateway: '169.254.1.1', dev: 'eth0', flags: ['onlink'] }),
    ]);
    expect(ipJson<IpRoute[]>(scratch, host, 'route', 'show')).toContainEqual(expect.objectContaining({ dst: podIp, dev: hostSide, scope: 'link' }));
    expect(ipLinks(scratch, pod).get('eth0')).toMatchObject({ mtu: 1450 });
    expect(ipLinks(scratch, host).get(hostSide)).toMatchObject({ mtu: 1450, address: 'ee:ee:ee:ee:ee:ee' });
    expect(scratch.exec(host, 'cat', [`/proc/sys/net/ipv4/conf/${hostSide}/proxy_arp`]).trim()).toBe('1');

    // Pod to host (through the proxy-ARP'd gateway) and host to pod (through the /32).
    expect(await tcpRoundTrip(host, pod, '192.0.2.1')).toBe('echo ping');
    expect(await tcpRoundTrip(pod, host, podIp)).toBe('echo ping');
    // The pod resolved 169.254.1.1 to the host end's MAC: proxy ARP answered.
    const neighbours = ipJson<{ dst: string; lladdr?: string }[]>(scratch, pod, 'neigh', 'show', 'dev', 'eth0');
    expect(neighbours).toContainEqual(expect.objectContaining({ dst: '169.254.1.1', lladdr: 'ee:ee:ee:ee:ee:ee' }));
  });

  it('carries IPv6 over a veth once DAD is off', async () => {
    const a = scratch.netns();
    const b = scratch.netns();
    const name = testName();
    {
      using nlA = Netlink.open({ netns: a.handle });
      using nlB = Netlink.open({ netns: b.handle });
      await nlA.createVeth({ name, peer: { name: 'eth0', netns: b.handle } });
      // One side with the sysctl, the other with IFA_F_NODAD: both usable at once.
      await nlA.setAcceptDad(name, false);
      expect(nlA.getSysctl(`net/ipv6/conf/${name}/accept_dad`)).toBe('0');
      await nlA.addAddress(name, 'fd00::1/64');
      await nlB.addAddress('eth0', 'fd00::2/64', { noDad: true });
      await nlA.setLink(name, { up: true });
      await nlB.setLink('eth0', { up: true });
      expect((await nlA.listAddresses({ link: name, family: 6 })).find((x) => x.ip === 'fd00::1')).toMatchObject({ tentative: false });
    }
    expect(await tcpRoundTrip(a, b, 'fd00::1', 6)).toBe('echo ping');
  });
});
