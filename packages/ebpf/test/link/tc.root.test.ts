import { execFileSync } from 'node:child_process';

import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { AttachType, haveTcx } from '../../src/index.js';
import { NetlinkError } from '../../src/link/errors.js';
import { interfaceIndex } from '../../src/link/interface.js';
import { Link } from '../../src/link/link.js';
import { LinkType } from '../../src/link/link-info.js';
import { TcFilter, attachTcFilter } from '../../src/link/tc-filter.js';
import { attachTc, attachTcx } from '../../src/link/tcx.js';
import { ProgramType, TC_ACT_OK, TC_ACT_SHOT, countingProgram, sendUdp, tcpConnects, vethPair } from './traffic.js';

const reason = rootSkipReason('attaches eBPF programs');

/** Whether the installed bpftool is at least `major.minor` (`bpftool v7.1.0` on Debian 12). */
function bpftoolAtLeast(major: number, minor: number): boolean {
  const match = /v(\d+)\.(\d+)/.exec(execFileSync('bpftool', ['version'], { encoding: 'utf8' }));
  const [have, haveMinor] = [Number(match?.[1] ?? 0), Number(match?.[2] ?? 0)];
  return have > major || (have === major && haveMinor >= minor);
}

describe.skipIf(reason)(`tc programs on a veth as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const open: { close(): void }[] = [];
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }
  afterEach(() => {
    for (const object of open.splice(0).reverse()) object.close();
    scratch.cleanup();
  });

  function counter(verdict: number) {
    const { counts, program, count } = countingProgram(ProgramType.SchedCls, verdict, AttachType.TcxIngress);
    track(counts);
    track(program);
    return { program, count };
  }

  it('looks interfaces up by name inside the namespace', () => {
    const pair = vethPair(scratch);
    const shown = JSON.parse(scratch.ip(pair.server, '-j', 'link', 'show', pair.serverDev)) as { ifindex: number }[];
    expect(interfaceIndex(pair.serverDev, pair.server.handle)).toBe(shown[0]?.ifindex);
    expect(() => interfaceIndex('twt-missing', pair.server.handle)).toThrowError(expect.objectContaining({ name: 'NetlinkError', errno: 'ENODEV' }));
    expect(() => interfaceIndex(pair.serverDev)).toThrow(NetlinkError); // not in the caller's namespace
  });

  it('counts packets with tcx ingress, sees the link in bpftool, detaches on close', async () => {
    expect(haveTcx()).toBe(true);
    const pair = vethPair(scratch);
    const { program, count } = counter(TC_ACT_OK);
    const link = track(attachTcx({ program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle }));
    expect(link).toBeInstanceOf(Link);

    await sendUdp(pair.client, pair.serverAddress, 10);
    expect(count()).toBeGreaterThanOrEqual(10n); // the datagrams, and ARP
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);

    const info = link.info();
    expect(info).toMatchObject({ type: LinkType.Tcx, programId: program.info().id, attachType: AttachType.TcxIngress });
    // bpftool lists tcx links in `net show` from v7.3 on; Debian's 7.1 shows only `link show`.
    const net = (): { devname: string; kind: string; id: number }[] | undefined =>
      (JSON.parse(scratch.exec(pair.server, 'bpftool', ['-j', 'net', 'show', 'dev', pair.serverDev])) as { tc?: { devname: string; kind: string; id: number }[] }[])[0]?.tc;
    if (bpftoolAtLeast(7, 3)) {
      expect(net()).toEqual([expect.objectContaining({ devname: pair.serverDev, kind: 'tcx/ingress', id: program.info().id })]);
    }
    const shown = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(info.id)], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(shown).toMatchObject({ id: info.id, prog_id: program.info().id });
    expect([11, 'tcx']).toContain(shown.type);

    link.close();
    const after = count();
    await sendUdp(pair.client, pair.serverAddress, 5);
    expect(count()).toBe(after);
    expect(net() ?? []).toEqual([]);
    expect(() => execFileSync('bpftool', ['link', 'show', 'id', String(info.id)], { stdio: 'pipe' })).toThrow();
  });

  it('drops traffic with a tcx egress drop program, and restores it on close', async () => {
    const pair = vethPair(scratch);
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    const { program, count } = counter(TC_ACT_SHOT);
    const link = track(attachTcx({ program, interface: pair.clientDev, direction: 'egress', netns: pair.client.handle }));
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress, 800)).toBe(false);
    expect(count()).toBeGreaterThan(0n);
    link.close();
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
  });

  it('orders tcx programs: a program placed before a drop program decides first', async () => {
    const pair = vethPair(scratch);
    const drop = counter(TC_ACT_SHOT);
    const pass = counter(TC_ACT_OK);
    track(attachTcx({ program: drop.program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle }));
    // TCX_PASS (0) ends the list: the drop program after it never runs.
    track(attachTcx({ program: pass.program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle, before: 'all' }));
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    expect(pass.count()).toBeGreaterThan(0n);
    expect(drop.count()).toBe(0n);
    expect(() =>
      attachTcx({ program: pass.program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle, before: 'all', after: 'all' }),
    ).toThrow(RangeError);
  });

  it('attaches with the clsact fallback when asked: traffic counted, drop drops, filter shown by tc and gone after close', async () => {
    const pair = vethPair(scratch);
    const { program, count } = counter(TC_ACT_OK);
    const filter = track(attachTc({ program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle, mechanism: 'clsact', name: 'twt_count' }));
    expect(filter).toBeInstanceOf(TcFilter);
    expect((filter as TcFilter).createdQdisc).toBe(true);

    await sendUdp(pair.client, pair.serverAddress, 10);
    expect(count()).toBeGreaterThanOrEqual(10n);

    const shown = execFileSync('tc', ['-n', pair.server.name, 'filter', 'show', 'dev', pair.serverDev, 'ingress'], { encoding: 'utf8' });
    expect(shown).toMatch(/bpf .*twt_count.* direct-action/);
    expect(shown).toMatch(/pref 1 bpf/);
    expect(execFileSync('tc', ['-n', pair.server.name, 'qdisc', 'show', 'dev', pair.serverDev], { encoding: 'utf8' })).toMatch(/qdisc clsact ffff:/);

    // A second filter at the same place is refused, unless replacing.
    expect(() => attachTcFilter({ program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle })).toThrowError(
      expect.objectContaining({ errno: 'EEXIST' }),
    );

    filter.close();
    expect(execFileSync('tc', ['-n', pair.server.name, 'filter', 'show', 'dev', pair.serverDev, 'ingress'], { encoding: 'utf8' })).toBe('');
    const after = count();
    await sendUdp(pair.client, pair.serverAddress, 5);
    expect(count()).toBe(after);
    filter.close(); // twice does nothing
  });

  it('drops with a clsact egress filter and restores traffic when it is removed', async () => {
    const pair = vethPair(scratch);
    const { program } = counter(TC_ACT_SHOT);
    const filter = track(attachTcFilter({ program, interface: pair.clientDev, direction: 'egress', netns: pair.client.handle, priority: 7, handle: 3 }));
    expect(filter.createdQdisc).toBe(true);
    expect(execFileSync('tc', ['-n', pair.client.name, 'filter', 'show', 'dev', pair.clientDev, 'egress'], { encoding: 'utf8' })).toMatch(
      /pref 7 bpf .*handle 0x3/,
    );
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress, 800)).toBe(false);
    filter.close();
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
  });

  it('picks tcx on this kernel when the mechanism is auto', async () => {
    const pair = vethPair(scratch);
    const { program, count } = counter(TC_ACT_OK);
    const attached = track(attachTc({ program, interface: pair.serverDev, direction: 'egress', netns: pair.server.handle }));
    expect(attached).toBeInstanceOf(Link);
    expect(attached.description).toMatch(/^tcx egress ifindex \d+$/);
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true); // the SYN-ACK leaves through it
    expect(count()).toBeGreaterThan(0n);
  });

  it('closing a filter whose namespace is gone is not an error', () => {
    const pair = vethPair(scratch);
    const { program } = counter(TC_ACT_OK);
    const filter = attachTcFilter({ program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.path });
    scratch.cleanup();
    expect(() => filter.close()).not.toThrow();
  });
});
