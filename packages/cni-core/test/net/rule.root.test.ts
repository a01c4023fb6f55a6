// Policy routing rules and `local` routes in a numbered table against the kernel, inside
// scratch namespaces (the host's own rules and routes are never touched), read back with `ip -j`.
import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';

import { NetError, Netlink } from '../../src/net/index.js';
import { ipJson } from './helpers.js';

const reason = rootSkipReason();

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

interface IpRule {
  priority: number;
  src: string;
  fwmark?: string;
  fwmask?: string;
  table: string;
}

interface IpRouteEntry {
  type?: string;
  dst: string;
  dev?: string;
  scope?: string;
}

describe.skipIf(reason)(`net policy routing rules as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const handles: Netlink[] = [];
  afterEach(() => {
    for (const nl of handles.splice(0)) nl.close();
    scratch.cleanup();
  });

  function open(): { ns: ScratchNetns; nl: Netlink } {
    const ns = scratch.netns();
    const nl = Netlink.open({ netns: ns.handle });
    handles.push(nl);
    return { ns, nl };
  }

  it('adds, lists and deletes fwmark rules for IPv4 and IPv6', async () => {
    const { ns, nl } = open();
    await nl.addRule({ family: 4, fwmark: 0x200, fwmask: 0xf00, table: 2004, priority: 9 });
    await nl.addRule({ family: 6, fwmark: 0x200, fwmask: 0xf00, table: 2004, priority: 9 });
    await nl.addRule({ family: 4, fwmark: 7, table: 100, priority: 1000 });

    expect(ipJson<IpRule[]>(scratch, ns, '-4', 'rule', 'show').filter((r) => r.table !== 'local' && r.table !== 'main' && r.table !== 'default')).toEqual([
      expect.objectContaining({ priority: 9, fwmark: '0x200', fwmask: '0xf00', table: '2004' }),
      expect.objectContaining({ priority: 1000, fwmark: '0x7', table: '100' }),
    ]);
    expect(ipJson<IpRule[]>(scratch, ns, '-6', 'rule', 'show')).toContainEqual(expect.objectContaining({ priority: 9, fwmark: '0x200', fwmask: '0xf00', table: '2004' }));

    const rules4 = await nl.listRules({ family: 4 });
    // The kernel's default rules come back too: local (0), main (32766), default (32767).
    expect(rules4.map((r) => [r.priority, r.table, r.action, r.fwmark, r.fwmask])).toEqual([
      [0, 255, 'lookup', undefined, undefined],
      [9, 2004, 'lookup', 0x200, 0xf00],
      [1000, 100, 'lookup', 7, 0xffffffff],
      [32766, 254, 'lookup', undefined, undefined],
      [32767, 253, 'lookup', undefined, undefined],
    ]);
    expect((await nl.listRules({ family: 6 })).filter((r) => r.fwmark !== undefined)).toEqual([
      { family: 6, priority: 9, action: 'lookup', table: 2004, fwmark: 0x200, fwmask: 0xf00, invert: false },
    ]);

    await nl.deleteRule({ family: 4, fwmark: 0x200, fwmask: 0xf00, table: 2004, priority: 9 });
    await nl.deleteRule({ family: 6, fwmark: 0x200, fwmask: 0xf00, table: 2004, priority: 9 });
    await nl.deleteRule({ family: 4, fwmark: 7, table: 100, priority: 1000 });
    expect(ipJson<IpRule[]>(scratch, ns, '-4', 'rule', 'show').map((r) => r.table)).toEqual(['local', 'main', 'default']);
    expect(ipJson<IpRule[]>(scratch, ns, '-6', 'rule', 'show').map((r) => r.table)).toEqual(['local', 'main']);
  });

  it('says EEXIST for a duplicate rule and ENOENT for a missing one, naming the operation', async () => {
    const { ns, nl } = open();
    const rule = { family: 4 as const, fwmark: 0x200, fwmask: 0xf00, table: 2004, priority: 9 };
    await nl.addRule(rule);
    const before = ipJson(scratch, ns, 'rule', 'show');
    const duplicate = await rejection(nl.addRule(rule));
    expect(duplicate).toBeInstanceOf(NetError);
    expect(duplicate).toMatchObject({ code: 'EEXIST', errno: 17, message: 'addRule ipv4 fwmark 0x200/0xf00 lookup 2004 pref 9: EEXIST' });
    expect(ipJson(scratch, ns, 'rule', 'show')).toEqual(before);
    expect(await rejection(nl.deleteRule({ ...rule, table: 2005 }))).toMatchObject({
      code: 'ENOENT',
      message: 'deleteRule ipv4 fwmark 0x200/0xf00 lookup 2005 pref 9: ENOENT',
    });
    expect(await rejection(nl.addRule({ ...rule, fwmark: 2 ** 32 }))).toMatchObject({ code: 'EINVAL', message: 'addRule ipv4 fwmark 0x100000000/0xf00 lookup 2004 pref 9: EINVAL: fwmark 4294967296 is not a 32-bit unsigned integer' });
    expect(ipJson(scratch, ns, 'rule', 'show')).toEqual(before);
  });

  it('adds `local 0.0.0.0/0 dev lo` and `local ::/0 dev lo` in a numbered table, lists and deletes them', async () => {
    const { ns, nl } = open();
    await nl.addRoute({ type: 'local', dst: 'default', family: 4, link: 'lo', table: 2004 });
    await nl.addRoute({ type: 'local', dst: 'default', family: 6, link: 'lo', table: 2004 });
    expect(ipJson<IpRouteEntry[]>(scratch, ns, '-4', 'route', 'show', 'table', '2004')).toEqual([
      expect.objectContaining({ type: 'local', dst: 'default', dev: 'lo', scope: 'host' }),
    ]);
    expect(ipJson<IpRouteEntry[]>(scratch, ns, '-6', 'route', 'show', 'table', '2004')).toEqual([expect.objectContaining({ type: 'local', dst: 'default', dev: 'lo' })]);
    const lo = (await nl.getLink('lo')).index;
    expect(await nl.listRoutes({ table: 2004 })).toEqual([
      expect.objectContaining({ family: 4, dst: '0.0.0.0/0', type: 'local', scope: 'host', index: lo, table: 2004 }),
      expect.objectContaining({ family: 6, dst: '::/0', type: 'local', index: lo, table: 2004 }),
    ]);
    // The main table is untouched: the routes live in 2004 only.
    expect(ipJson(scratch, ns, 'route', 'show')).toEqual([]);

    await nl.deleteRoute({ type: 'local', dst: 'default', family: 4, link: 'lo', table: 2004 });
    await nl.deleteRoute({ type: 'local', dst: 'default', family: 6, link: 'lo', table: 2004 });
    expect(await nl.listRoutes({ table: 2004 })).toEqual([]);
  });
});
