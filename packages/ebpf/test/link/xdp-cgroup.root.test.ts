import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { NetworkScratch, rootSkipReason, testName } from '@twill/sys/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { AttachType, BpfError } from '../../src/index.js';
import { attachCgroup } from '../../src/link/cgroup.js';
import { Link, openPinnedLink, unpinLink } from '../../src/link/link.js';
import { LinkType } from '../../src/link/link-info.js';
import { attachTcx } from '../../src/link/tcx.js';
import { attachXdp } from '../../src/link/xdp.js';
import { ensureBpffs, leftovers, pinPath } from '../bpffs.js';
import { ProgramType, TC_ACT_OK, XDP_DROP, XDP_PASS, countingProgram, sendUdp, tcpConnects, vethPair } from './traffic.js';

const reason = rootSkipReason('attaches eBPF programs');

/** Where cgroup v2 is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts. */
function cgroup2Root(): string | undefined {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[2] === 'cgroup2')?.[1];
}

describe.skipIf(reason)(`XDP, cgroup and pinned links as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const open: { close(): void }[] = [];
  const cleanups: (() => void)[] = [];
  let unmount: () => void = () => undefined;
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }
  beforeAll(() => {
    unmount = ensureBpffs();
  });
  afterEach(() => {
    for (const object of open.splice(0).reverse()) object.close();
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    scratch.cleanup();
    expect(leftovers()).toEqual([]);
  });
  afterAll(() => unmount());

  it('drops with XDP_DROP in generic mode on a veth, and passes with XDP_PASS', async () => {
    const pair = vethPair(scratch);
    const drop = countingProgram(ProgramType.Xdp, XDP_DROP);
    track(drop.counts);
    track(drop.program);
    const link = track(attachXdp({ program: drop.program, interface: pair.serverDev, netns: pair.server.handle, mode: 'generic' }));
    expect(link.info()).toMatchObject({ type: LinkType.Xdp, programId: drop.program.info().id });
    expect(scratch.ip(pair.server, 'link', 'show', pair.serverDev)).toMatch(/xdpgeneric/);
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress, 800)).toBe(false);
    expect(drop.count()).toBeGreaterThan(0n);

    // One XDP program per interface and mode: a second link is refused while the first holds it.
    const pass = countingProgram(ProgramType.Xdp, XDP_PASS);
    track(pass.counts);
    track(pass.program);
    expect(() => attachXdp({ program: pass.program, interface: pair.serverDev, netns: pair.server.handle, mode: 'generic' })).toThrowError(
      expect.objectContaining({ errno: 'EBUSY' }),
    );
    link.close();
    expect(scratch.ip(pair.server, 'link', 'show', pair.serverDev)).not.toMatch(/xdp/);

    track(attachXdp({ program: pass.program, interface: pair.serverDev, netns: pair.server.handle, mode: 'generic' }));
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    expect(pass.count()).toBeGreaterThan(0n);
  });

  it.skipIf(!cgroup2Root())('counts the egress packets of a process in a scratch cgroup with a cgroup_skb link', async () => {
    const pair = vethPair(scratch);
    const cgroup = join(cgroup2Root() ?? '', testName());
    mkdirSync(cgroup);
    cleanups.push(() => rmdirSync(cgroup));
    const { counts, program, count } = countingProgram(ProgramType.CgroupSkb, 1); // 1: allow
    track(counts);
    track(program);
    const link = track(attachCgroup({ program, cgroup, attachType: AttachType.CgroupInetEgress }));
    expect(link.info()).toMatchObject({ type: LinkType.Cgroup, attachType: AttachType.CgroupInetEgress });

    // Traffic from outside the cgroup is not counted.
    await sendUdp(pair.client, pair.serverAddress, 3);
    expect(count()).toBe(0n);

    // A short child moves itself into the cgroup, then sends 5 datagrams from the client namespace.
    const send = `for i in 1 2 3 4 5; do echo x > /dev/udp/${pair.serverAddress}/9999; done`;
    execFileSync('bash', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${pair.client.name} bash -c '${send}'`]);
    expect(count()).toBeGreaterThanOrEqual(5n);

    link.close();
    const after = count();
    execFileSync('bash', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${pair.client.name} bash -c '${send}'`]);
    expect(count()).toBe(after);
  });

  it('refuses a cgroup link for a program of the wrong type', () => {
    const root = cgroup2Root();
    if (!root) return;
    const cgroup = join(root, testName());
    mkdirSync(cgroup);
    cleanups.push(() => rmdirSync(cgroup));
    const { counts, program } = countingProgram(ProgramType.SchedCls, 0);
    track(counts);
    track(program);
    expect(() => attachCgroup({ program, cgroup, attachType: AttachType.CgroupInetEgress })).toThrow(BpfError);
  });

  it('pins a tcx link: it stays attached after close, reopens from the pin, and detaches when unpinned', async () => {
    const pair = vethPair(scratch);
    const { counts, program, count } = countingProgram(ProgramType.SchedCls, TC_ACT_OK, AttachType.TcxIngress);
    track(counts);
    track(program);
    const path = pinPath();
    cleanups.push(() => rmSync(path, { force: true }));
    const link = attachTcx({ program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle });
    const { id } = link.info();
    link.pin(path);
    link.close();

    await sendUdp(pair.client, pair.serverAddress, 4);
    expect(count()).toBeGreaterThanOrEqual(4n); // still attached through the pin

    const reopened = track(openPinnedLink(path));
    expect(reopened).toBeInstanceOf(Link);
    expect(reopened.info()).toMatchObject({ id, type: LinkType.Tcx });
    expect(JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'pinned', path], { encoding: 'utf8' }))).toMatchObject({ id });

    unpinLink(path);
    reopened.close();
    const after = count();
    await sendUdp(pair.client, pair.serverAddress, 4);
    expect(count()).toBe(after);
    expect(() => openPinnedLink(path)).toThrowError(expect.objectContaining({ errno: 'ENOENT' }));
  });

  it('detach() takes a pinned link off its hook at once', async () => {
    const pair = vethPair(scratch);
    const { counts, program, count } = countingProgram(ProgramType.SchedCls, TC_ACT_OK, AttachType.TcxIngress);
    track(counts);
    track(program);
    const path = pinPath();
    cleanups.push(() => rmSync(path, { force: true }));
    const link = track(attachTcx({ program, interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle }));
    link.pin(path);
    link.detach();
    await sendUdp(pair.client, pair.serverAddress, 4);
    expect(count()).toBe(0n);
    unpinLink(path);
  });
});
