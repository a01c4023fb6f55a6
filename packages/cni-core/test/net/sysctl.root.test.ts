import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, type ScratchNetns, rootSkipReason, testName } from '@twill/sys/testing';

import { NetError, Netlink } from '../../src/net/index.js';

const reason = rootSkipReason();

describe.skipIf(reason)(`net sysctls as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const handles: Netlink[] = [];
  afterEach(() => {
    for (const nl of handles.splice(0)) nl.close();
    scratch.cleanup();
  });
  const open = (ns: ScratchNetns): Netlink => {
    const nl = Netlink.open({ netns: ns.handle });
    handles.push(nl);
    return nl;
  };
  // Read only: the host's own value, to prove it is never the one written.
  const hostForwarding = (): string => readFileSync('/proc/sys/net/ipv4/conf/all/forwarding', 'utf8').trim();
  const inNs = (ns: ScratchNetns, key: string): string => scratch.exec(ns, 'sysctl', ['-n', key]).trim();

  it('sets forwarding, proxy_arp and accept_dad inside the namespace only', async () => {
    const ns = scratch.netns();
    const nl = open(ns);
    const [a, b] = [testName(), testName()];
    await nl.createVeth({ name: a, peer: { name: b } });
    const hostBefore = hostForwarding();

    await nl.setForwarding({ family: 4 });
    await nl.setForwarding({ family: 6 });
    await nl.setProxyArp(a);
    await nl.setAcceptDad(await nl.getLink(a), false); // by Link, resolved to its name
    expect(inNs(ns, 'net.ipv4.ip_forward')).toBe('1');
    expect(inNs(ns, 'net.ipv6.conf.all.forwarding')).toBe('1');
    expect(inNs(ns, `net.ipv4.conf.${a}.proxy_arp`)).toBe('1');
    expect(inNs(ns, `net.ipv6.conf.${a}.accept_dad`)).toBe('0');
    expect(nl.getSysctl('net.ipv4.conf.all.forwarding')).toBe('1');
    expect(hostForwarding()).toBe(hostBefore);

    await nl.setForwarding({ family: 4, link: b, enabled: false });
    await nl.setProxyArp(a, false);
    expect(inNs(ns, `net.ipv4.conf.${b}.forwarding`)).toBe('0');
    expect(inNs(ns, `net.ipv4.conf.${a}.proxy_arp`)).toBe('0');
    nl.setSysctl('net.ipv4.conf.default.rp_filter', 2);
    expect(nl.getSysctl('net/ipv4/conf/default/rp_filter')).toBe('2');
  });

  it('reports an unknown interface with ENOENT and a refused value with EINVAL', async () => {
    const ns = scratch.netns();
    const nl = open(ns);
    const missing = testName();
    let caught: unknown;
    try {
      nl.setSysctl(`net/ipv4/conf/${missing}/proxy_arp`, 1);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NetError);
    expect(caught).toMatchObject({ code: 'ENOENT', message: `setSysctl net/ipv4/conf/${missing}/proxy_arp=1: ENOENT` });
    expect(() => nl.setSysctl('net.ipv4.ip_forward', 'yes')).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
    await expect(nl.setProxyArp(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => nl.setSysctl('kernel.hostname', 'x')).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
  });
});
