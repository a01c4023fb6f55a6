import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, type ScratchNetns, rootSkipReason, testName } from '@twill/sys/testing';

import { NetError, Netlink, ifIndex, withNetlink } from '../../src/net/index.js';
import { ipLinks } from './helpers.js';

const reason = rootSkipReason();

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(reason)(`net links as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const handles: Netlink[] = [];
  const open = (ns: ScratchNetns): Netlink => {
    const nl = Netlink.open({ netns: ns.handle });
    handles.push(nl);
    return nl;
  };
  afterEach(() => {
    for (const nl of handles.splice(0)) nl.close();
    scratch.cleanup();
  });

  it('creates a veth pair across two namespaces in one call, with the MTU on both ends', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    const hostName = testName();
    const nl = open(host);
    const { link, peer } = await nl.createVeth({ name: hostName, mtu: 1400, peer: { name: 'eth0', netns: pod.handle } });

    expect(link).toMatchObject({ name: hostName, mtu: 1400, up: false, kind: 'veth' });
    expect(peer).toMatchObject({ name: 'eth0', mtu: 1400, up: false, kind: 'veth' });
    const hostLinks = ipLinks(scratch, host);
    const podLinks = ipLinks(scratch, pod);
    expect(hostLinks.get(hostName)).toMatchObject({ ifindex: link.index, mtu: 1400, address: link.mac, linkinfo: { info_kind: 'veth' } });
    expect(podLinks.get('eth0')).toMatchObject({ ifindex: peer.index, mtu: 1400, address: peer.mac });
    // Each end points at the other, across the namespaces.
    expect(link.parentIndex).toBe(peer.index);
    expect(peer.parentIndex).toBe(link.index);
    expect(link.linkNetnsId).toBe(hostLinks.get(hostName)?.link_netnsid);
    expect([...hostLinks.keys()].sort()).toEqual(['lo', hostName].sort());
  });

  it('moves one end into another namespace and renames it eth0 there in one call', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    const [a, b] = [testName(), testName()];
    const nl = open(host);
    const pair = await nl.createVeth({ name: a, peer: { name: b } });
    await nl.moveLink(b, { netns: pod.name, name: 'eth0' });

    expect(ipLinks(scratch, host).has(b)).toBe(false);
    const eth0 = ipLinks(scratch, pod).get('eth0');
    expect(eth0).toMatchObject({ address: pair.peer.mac, linkinfo: { info_kind: 'veth' } });
    const podNl = open(pod);
    expect(await podNl.getLink('eth0')).toMatchObject({ mac: pair.peer.mac, parentIndex: pair.link.index });
  });

  it('sets MTU, MAC and state, and renames a down link while bringing it up', async () => {
    const ns = scratch.netns();
    const [a, b, renamed] = [testName(), testName(), testName()];
    const nl = open(ns);
    await nl.createVeth({ name: a, peer: { name: b } });
    await nl.setLink(a, { mtu: 9000, mac: 'EE:EE:EE:EE:EE:EE', up: true });
    await nl.setLink(b, { name: renamed, up: true });

    const links = ipLinks(scratch, ns);
    expect(links.get(a)).toMatchObject({ mtu: 9000, address: 'ee:ee:ee:ee:ee:ee' });
    expect(links.get(a)?.flags).toContain('UP');
    expect(links.has(b)).toBe(false);
    expect(links.get(renamed)?.flags).toContain('UP');
    expect(await nl.getLink(a)).toMatchObject({ mtu: 9000, mac: 'ee:ee:ee:ee:ee:ee', up: true, operState: 'up' });

    await nl.setLink(a, { up: false });
    expect(ipLinks(scratch, ns).get(a)?.flags).not.toContain('UP');
    expect(await nl.getLink(a)).toMatchObject({ up: false, operState: 'down' });
  });

  it('looks links up by name, by index and by a Link, and lists them', async () => {
    const ns = scratch.netns();
    const [a, b] = [testName(), testName()];
    const nl = open(ns);
    const { link } = await nl.createVeth({ name: a, peer: { name: b } });
    const byIndex = await nl.getLink(ifIndex(link.index));
    expect(byIndex).toEqual(await nl.getLink(a));
    expect(await nl.getLink(link)).toEqual(byIndex);
    expect(await nl.getLink('lo')).toMatchObject({ index: 1, name: 'lo', up: true });
    const listed = await nl.listLinks();
    expect(listed.map((l) => l.name).sort()).toEqual(['lo', a, b].sort());
    expect(listed.map((l) => l.index)).toEqual([...listed.map((l) => l.index)].sort((x, y) => x - y));
    expect(await nl.findLink(testName())).toBeUndefined();
  });

  it('reports a missing link with ENODEV and what was being done', async () => {
    const ns = scratch.netns();
    const nl = open(ns);
    const missing = testName();
    const error = await rejection(nl.getLink(missing));
    expect(error).toBeInstanceOf(NetError);
    expect(error).toMatchObject({ code: 'ENODEV', errno: 19, message: `getLink ${missing}: ENODEV` });
    expect(await rejection(nl.getLink(ifIndex(9999)))).toMatchObject({ code: 'ENODEV', message: 'getLink index 9999: ENODEV' });
    expect(await rejection(nl.setLink(missing, { up: true }))).toMatchObject({ code: 'ENODEV', message: `setLink ${missing} up: ENODEV` });
    expect(await rejection(nl.deleteLink(missing))).toMatchObject({ code: 'ENODEV' });
  });

  it('refuses a veth whose peer name is taken in the other namespace, leaving no half behind', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    const taken = testName();
    const podNl = open(pod);
    await podNl.createVeth({ name: taken, peer: { name: testName() } });
    const before = [...ipLinks(scratch, pod).keys()].sort();

    const hostName = testName();
    const error = await rejection(open(host).createVeth({ name: hostName, peer: { name: taken, netns: pod.name } }));
    expect(error).toMatchObject({ code: 'EEXIST', message: `createVeth ${hostName} peer ${taken} netns ${pod.name}: EEXIST` });
    expect([...ipLinks(scratch, host).keys()]).toEqual(['lo']);
    expect([...ipLinks(scratch, pod).keys()].sort()).toEqual(before);
  });

  it('leaves a link where it was when the name is taken in the target namespace', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    const [a, b, c] = [testName(), testName(), testName()];
    await open(pod).createVeth({ name: 'eth0', peer: { name: c } });
    const nl = open(host);
    await nl.createVeth({ name: a, peer: { name: b } });
    expect(await rejection(nl.moveLink(b, { netns: pod.handle, name: 'eth0' }))).toMatchObject({
      code: 'EEXIST',
      message: `moveLink ${b} netns ${pod.path} name eth0: EEXIST: eth0 exists there`,
    });
    expect(ipLinks(scratch, host).has(b)).toBe(true);
    expect([...ipLinks(scratch, pod).keys()].sort()).toEqual(['eth0', 'lo', c].sort());
    // The same without a rename: its own name is taken there.
    await open(pod).createVeth({ name: b.replace(/.$/, 'z'), peer: { name: testName() } });
    await nl.setLink(b, { name: b.replace(/.$/, 'z') });
    expect(await rejection(nl.moveLink(b.replace(/.$/, 'z'), { netns: pod.name }))).toMatchObject({ code: 'EEXIST' });
    expect(ipLinks(scratch, host).has(b.replace(/.$/, 'z'))).toBe(true);
  });

  it('refuses bad names before sending anything, and an MTU out of the driver range', async () => {
    const ns = scratch.netns();
    const [a, b] = [testName(), testName()];
    const nl = open(ns);
    await nl.createVeth({ name: a, peer: { name: b } });
    expect(await rejection(nl.createVeth({ name: 'a-name-longer-than-15', peer: { name: 'x' } }))).toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('not a valid interface name'),
    });
    expect(await rejection(nl.setLink(a, { mtu: 10 }))).toMatchObject({ code: 'EINVAL' }); // below veth's minimum of 68
    expect(ipLinks(scratch, ns).get(a)?.mtu).toBe(1500);
  });

  it('deletes both ends of a veth by deleting one', async () => {
    const host = scratch.netns();
    const pod = scratch.netns();
    const name = testName();
    const nl = open(host);
    await nl.createVeth({ name, peer: { name: 'eth0', netns: pod.handle } });
    await nl.deleteLink(name);
    expect([...ipLinks(scratch, host).keys()]).toEqual(['lo']);
    expect([...ipLinks(scratch, pod).keys()]).toEqual(['lo']);
  });

  it('refuses calls after close, and closes twice without harm', async () => {
    const ns = scratch.netns();
    const nl = Netlink.open({ netns: ns.path });
    nl.close();
    nl.close();
    expect(await rejection(nl.listLinks())).toMatchObject({ code: 'EBADF' });
  });

  it('opens by a handle the caller may close first', async () => {
    const ns = scratch.netns();
    const nl = open(ns);
    ns.handle.close();
    expect((await nl.listLinks()).map((l) => l.name)).toEqual(['lo']);
  });

  it('withNetlink gives a handle for the callback and closes it after', async () => {
    const ns = scratch.netns();
    let kept: Netlink | undefined;
    const names = await withNetlink(ns.name, async (nl) => {
      kept = nl;
      return (await nl.listLinks()).map((l) => l.name);
    });
    expect(names).toEqual(['lo']);
    expect(await rejection(kept?.listLinks() ?? Promise.resolve())).toMatchObject({ code: 'EBADF' });
    await expect(withNetlink(testName(), () => 1)).rejects.toMatchObject({ name: 'SysError', code: 'ENOENT' });
  });
});
