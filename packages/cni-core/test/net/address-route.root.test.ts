import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, type ScratchNetns, rootSkipReason, testName } from '@twill/sys/testing';

import { NetError, Netlink } from '../../src/net/index.js';
import { type IpRoute, ipAddresses, ipJson } from './helpers.js';

const reason = rootSkipReason();

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(reason)(`net addresses and routes as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const handles: Netlink[] = [];
  afterEach(() => {
    for (const nl of handles.splice(0)) nl.close();
    scratch.cleanup();
  });

  /** A namespace with a veth pair whose first end is up, and a handle on it. */
  async function setup(): Promise<{ ns: ScratchNetns; nl: Netlink; dev: string; other: string }> {
    const ns = scratch.netns();
    const nl = Netlink.open({ netns: ns.handle });
    handles.push(nl);
    const [dev, other] = [testName(), testName()];
    await nl.createVeth({ name: dev, peer: { name: other } });
    await nl.setLink(dev, { up: true });
    await nl.setLink(other, { up: true });
    return { ns, nl, dev, other };
  }

  it('adds, lists and deletes IPv4 and IPv6 addresses', async () => {
    const { ns, nl, dev } = await setup();
    await nl.addAddress(dev, '10.244.1.5/32');
    await nl.addAddress(dev, '192.0.2.7/24');
    await nl.addAddress(dev, 'fd00::5/64', { noDad: true });
    expect(ipAddresses(scratch, ns, dev).filter((a) => !a.startsWith('fe80'))).toEqual(['10.244.1.5/32', '192.0.2.7/24', 'fd00::5/64']);

    const link = await nl.getLink(dev);
    const listed = await nl.listAddresses({ link: dev });
    expect(listed.filter((a) => a.scope === 'universe').map(({ cidr, family, index, tentative }) => ({ cidr, family, index, tentative }))).toEqual([
      { cidr: '10.244.1.5/32', family: 4, index: link.index, tentative: false },
      { cidr: '192.0.2.7/24', family: 4, index: link.index, tentative: false },
      { cidr: 'fd00::5/64', family: 6, index: link.index, tentative: false }, // no DAD: usable at once
    ]);
    expect((await nl.listAddresses({ family: 4 })).map((a) => a.cidr)).toEqual(['127.0.0.1/8', '10.244.1.5/32', '192.0.2.7/24']);

    await nl.deleteAddress(dev, '192.0.2.7/24');
    await nl.deleteAddress(dev, 'fd00::5/64');
    expect(ipAddresses(scratch, ns, dev).filter((a) => !a.startsWith('fe80'))).toEqual(['10.244.1.5/32']);
  });

  it('refuses a duplicate address with EEXIST and changes nothing', async () => {
    const { ns, nl, dev } = await setup();
    await nl.addAddress(dev, '10.244.1.5/32');
    const before = ipJson(scratch, ns, 'addr', 'show');
    const error = await rejection(nl.addAddress(dev, '10.244.1.5/32'));
    expect(error).toBeInstanceOf(NetError);
    expect(error).toMatchObject({ code: 'EEXIST', errno: 17, message: `addAddress 10.244.1.5/32 dev ${dev}: EEXIST` });
    expect(ipJson(scratch, ns, 'addr', 'show')).toEqual(before);
    await nl.addAddress(dev, 'fd00::5/128', { noDad: true });
    expect(await rejection(nl.addAddress(dev, 'fd00::5/128', { noDad: true }))).toMatchObject({ code: 'EEXIST' });
  });

  it('reports a missing link and a missing address clearly', async () => {
    const { nl, dev } = await setup();
    const missing = testName();
    expect(await rejection(nl.addAddress(missing, '10.0.0.1/32'))).toMatchObject({ code: 'ENODEV', message: `addAddress 10.0.0.1/32 dev ${missing}: ENODEV` });
    expect(await rejection(nl.deleteAddress(dev, '10.9.9.9/32'))).toMatchObject({ code: 'EADDRNOTAVAIL' });
    expect(await rejection(nl.addAddress(dev, '10.0.0.1/40'))).toMatchObject({ code: 'EINVAL' });
  });

  it('adds a scope-link /32 host route and an on-link default route, and lists them', async () => {
    const { ns, nl, dev } = await setup();
    await nl.addRoute({ dst: '10.244.1.5/32', link: dev });
    await nl.addRoute({ dst: 'default', gateway: '169.254.1.1', link: dev, onLink: true });

    const routes = ipJson<IpRoute[]>(scratch, ns, 'route', 'show');
    expect(routes).toContainEqual(expect.objectContaining({ dst: '10.244.1.5', dev, scope: 'link' }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '169.254.1.1', dev, flags: ['onlink'] }));

    const index = (await nl.getLink(dev)).index;
    const listed = await nl.listRoutes({ family: 4 });
    expect(listed).toContainEqual(expect.objectContaining({ dst: '10.244.1.5/32', index, scope: 'link', table: 254, onLink: false, type: 'unicast' }));
    expect(listed).toContainEqual(expect.objectContaining({ dst: '0.0.0.0/0', gateway: '169.254.1.1', index, scope: 'universe', onLink: true }));
    expect(await nl.listRoutes({ link: 'lo' })).toEqual([]);
    expect((await nl.listRoutes({ table: 'all', family: 4 })).some((r) => r.table === 255 && r.type === 'local')).toBe(true);

    await nl.deleteRoute({ dst: 'default', gateway: '169.254.1.1', link: dev });
    await nl.deleteRoute({ dst: '10.244.1.5/32' });
    expect(ipJson<IpRoute[]>(scratch, ns, 'route', 'show')).toEqual([]);
  });

  it('says ENETUNREACH for a gateway no route covers, without onlink', async () => {
    const { ns, nl, dev } = await setup();
    const error = await rejection(nl.addRoute({ dst: 'default', gateway: '169.254.1.1', link: dev }));
    expect(error).toMatchObject({ code: 'ENETUNREACH', message: `addRoute 0.0.0.0/0 via 169.254.1.1 dev ${dev}: ENETUNREACH` });
    expect(ipJson(scratch, ns, 'route', 'show')).toEqual([]);
  });

  it('refuses a duplicate route (EEXIST), replaces one, and says ESRCH for a missing one', async () => {
    const { ns, nl, dev, other } = await setup();
    await nl.addRoute({ dst: '198.51.100.0/24', link: dev, metric: 10 });
    expect(await rejection(nl.addRoute({ dst: '198.51.100.0/24', link: dev, metric: 10 }))).toMatchObject({
      code: 'EEXIST',
      message: `addRoute 198.51.100.0/24 dev ${dev} metric 10: EEXIST`,
    });
    await nl.replaceRoute({ dst: '198.51.100.0/24', link: other, metric: 10, mtu: 1400, advmss: 1360 });
    expect(ipJson<IpRoute[]>(scratch, ns, 'route', 'show')).toEqual([
      expect.objectContaining({ dst: '198.51.100.0/24', dev: other, metric: 10, metrics: [{ mtu: 1400, advmss: 1360 }] }),
    ]);
    expect((await nl.listRoutes())[0]).toMatchObject({ mtu: 1400, advmss: 1360, metric: 10 });
    expect(await rejection(nl.deleteRoute({ dst: '203.0.113.0/24' }))).toMatchObject({ code: 'ESRCH' });
  });

  it('adds IPv6 routes and routes in another table', async () => {
    const { ns, nl, dev } = await setup();
    await nl.addRoute({ dst: 'fd00:1::/64', link: dev });
    await nl.addRoute({ dst: 'default', gateway: 'fe80::1', link: dev, table: 1000 });
    expect(ipJson<IpRoute[]>(scratch, ns, '-6', 'route', 'show', 'dev', dev)).toContainEqual(expect.objectContaining({ dst: 'fd00:1::/64' }));
    expect(ipJson<IpRoute[]>(scratch, ns, '-6', 'route', 'show', 'table', '1000')).toEqual([
      expect.objectContaining({ dst: 'default', gateway: 'fe80::1', dev }),
    ]);
    expect(await nl.listRoutes({ family: 6, table: 1000 })).toEqual([expect.objectContaining({ dst: '::/0', gateway: 'fe80::1', table: 1000 })]);
    expect(await rejection(nl.addRoute({ dst: 'fd00:2::/64', link: testName() }))).toMatchObject({ code: 'ENODEV' });
  });
});
