// Every C fixture, loaded from its committed object, attached to a veth (or a cgroup) in
// throwaway namespaces, sees the real traffic the test sends.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { NetworkScratch, rootSkipReason, testName } from '@twill/sys/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { AttachType, type Collection, type LoadCollectionOptions, loadCollection, readCollectionSpec, u32, u64 } from '../../src/index.js';
import { attachCgroup } from '../../src/link/cgroup.js';
import { attachTc, attachTcx } from '../../src/link/tcx.js';
import { attachXdp } from '../../src/link/xdp.js';
import { ensureBpffs, leftovers, pinPath } from '../bpffs.js';
import { sendUdp, tcpConnects, vethPair } from './traffic.js';

const reason = rootSkipReason('attaches eBPF programs');

function load(name: string, options?: LoadCollectionOptions): Collection {
  return loadCollection(readCollectionSpec(fileURLToPath(new URL(`../fixtures/${name}.o`, import.meta.url))), options);
}

/** Where cgroup v2 is mounted. */
function cgroup2Root(): string | undefined {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[2] === 'cgroup2')?.[1];
}

/** skb->protocol of IPv4 as the counter keys it: the EtherType in network order, read little-endian. */
const IPV4_KEY = 0x0008;

describe.skipIf(reason)(`fixture objects on a veth as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const open: { close(): void }[] = [];
  const cleanups: (() => void)[] = [];
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }
  let unmount: () => void = () => undefined;
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

  it('syn-counter.o on tcx ingress counts the TCP connects made from the other namespace', async () => {
    const pair = vethPair(scratch);
    const c = track(load('syn-counter'));
    track(attachTcx({ program: c.program('count_syns'), interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle }));
    for (let i = 0; i < 3; i += 1) expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    const stats = c.map('syn_stats', { key: u32, value: u64 });
    expect(stats.lookup(1)).toBe(3n); // one SYN per connect
    expect(stats.lookup(0)).toBeGreaterThan(3n); // and the rest of each handshake, ARP
  });

  it('syn-counter.o through the clsact fallback counts the same', async () => {
    const pair = vethPair(scratch);
    const c = track(load('syn-counter'));
    track(attachTc({ program: c.program('count_syns'), interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle, mechanism: 'clsact' }));
    expect(scratch.exec(pair.server, 'tc', ['filter', 'show', 'dev', pair.serverDev, 'ingress'])).toMatch(/bpf/);
    for (let i = 0; i < 2; i += 1) expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    expect(c.map('syn_stats', { key: u32, value: u64 }).lookup(1)).toBe(2n);
  });

  it('counter.o on tcx ingress and egress counts IPv4 packets and bytes in each direction', async () => {
    const pair = vethPair(scratch);
    const dir = pinPath(); // counts is pinned by name
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const c = track(load('counter', { pinPath: dir }));
    track(attachTcx({ program: c.program('count_ingress'), interface: pair.serverDev, direction: 'ingress', netns: pair.server.handle }));
    track(attachTcx({ program: c.program('count_egress'), interface: pair.serverDev, direction: 'egress', netns: pair.server.handle }));
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    const counts = c.map('counts', { key: u32, value: u64 });
    expect(counts.lookup(IPV4_KEY)).toBeGreaterThanOrEqual(3n); // SYN and ACK in, SYN-ACK out at least
    const bytes = c.map('bytes', { key: u32, value: u64 });
    expect(bytes.lookup(0)).toBeGreaterThan(0n);
    expect(bytes.lookup(1)).toBeGreaterThan(0n);
  });

  it.each(['generic', 'driver'] as const)('xdp.o in %s mode drops UDP to port 9 and passes the rest', async (mode) => {
    const pair = vethPair(scratch);
    const c = track(load('xdp'));
    track(attachXdp({ program: c.program('xdp_discard'), interface: pair.serverDev, netns: pair.server.handle, mode }));
    // IFLA_XDP_ATTACHED as ip shows it: 1 XDP_ATTACHED_DRV, 2 XDP_ATTACHED_SKB.
    const [shown] = JSON.parse(scratch.ip(pair.server, '-j', '-d', 'link', 'show', pair.serverDev)) as { xdp?: { mode: number } }[];
    expect(shown?.xdp?.mode).toBe(mode === 'driver' ? 1 : 2);
    await sendUdp(pair.client, pair.serverAddress, 4, 9);
    const stats = c.map('xdp_stats', { key: u32, value: u64 });
    expect(stats.lookup(1)).toBe(4n); // dropped
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
    expect(stats.lookup(0)).toBeGreaterThan(0n); // passed
  });

  it('globals.o with verdict rewritten to XDP_DROP blocks connects, and counts them in .bss', async () => {
    const pair = vethPair(scratch);
    const c = track(load('globals', { constants: { verdict: 1, increment: 10n } }));
    track(attachXdp({ program: c.program('xdp_globals'), interface: pair.serverDev, netns: pair.server.handle, mode: 'generic' }));
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress, 800)).toBe(false);
    const packets = c.map('.bss', { key: u32, value: u64 }).lookup(0)!;
    expect(packets).toBeGreaterThan(0n);
    expect(packets % 10n).toBe(0n); // increment, a frozen constant, is 10
  });

  it('frozen.o drops frames whose first byte is 0xff: broadcast ARP, so only a static neighbour lets a connect through', async () => {
    const pair = vethPair(scratch);
    const c = track(load('frozen'));
    track(attachXdp({ program: c.program('xdp_first_byte'), interface: pair.serverDev, netns: pair.server.handle, mode: 'generic' }));
    // The first byte is the destination MAC's: ff for the client's ARP requests.
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress, 800)).toBe(false);
    const [link] = JSON.parse(scratch.ip(pair.server, '-j', 'link', 'show', pair.serverDev)) as { address: string }[];
    scratch.ip(pair.client, 'neigh', 'replace', pair.serverAddress, 'lladdr', link!.address, 'dev', pair.clientDev, 'nud', 'permanent');
    expect(await tcpConnects(pair.server, pair.client, pair.serverAddress)).toBe(true);
  });

  it.skipIf(!cgroup2Root())('calls.o on cgroup_skb egress counts the packets a process in the cgroup sends, through its subprograms', () => {
    const pair = vethPair(scratch);
    const cgroup = join(cgroup2Root() ?? '', testName());
    mkdirSync(cgroup);
    cleanups.push(() => rmdirSync(cgroup));
    const c = track(load('calls'));
    track(attachCgroup({ program: c.program('count_calls'), cgroup, attachType: AttachType.CgroupInetEgress }));
    const send = `for i in 1 2 3; do echo x > /dev/udp/${pair.serverAddress}/9999; done`;
    execFileSync('bash', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${pair.client.name} bash -c '${send}'`]);
    const legacy = c.map('legacy_counts', { key: u32, value: u64 });
    expect(legacy.lookup(0)).toBeGreaterThanOrEqual(3n); // bump(0, 1) per packet
    expect(legacy.lookup(1)).toBeGreaterThan(0n); // weigh(): bytes, through a BPF-to-BPF call
  });
});
