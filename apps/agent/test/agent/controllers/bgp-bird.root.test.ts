// A node's BgpController peering, through a BGPPeer resource with a TCP MD5 password, with
// BIRD 2 as the top-of-rack router: BIRD runs in its own scratch namespace (started by the
// test, killed by its PID), the node's blocks reach BIRD's table, BIRD's routes reach the
// node's kernel with protocol bgp, and deleting the BGPPeer ends the session.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MemoryStore } from '@twill/ipam';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { BgpController } from '../../../src/agent/controllers/bgp.js';
import { KernelFibSink } from '../../../src/agent/controllers/route-fib.js';
import { createBgpTransport } from '../../../src/agent/sys/bgp-transport.js';
import { openKernelRouteTable } from '../../../src/agent/sys/kernel-routes.js';

import { memoryDatastore, node, setAffinity, until } from './route-fixtures.js';

function birdMissing(): string | undefined {
  try {
    execFileSync('bird', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'BIRD 2 (bird, birdc) is not installed';
  }
}

const reason = rootSkipReason() ?? birdMissing();

interface IpRoute {
  dst: string;
  gateway?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killAndWait(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  await until(`BIRD (pid ${pid}) to exit`, () => alive(pid), (up) => !up);
}

describe.skipIf(reason)(`BGP controller with BIRD as a BGPPeer as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    scratch.cleanup();
  });

  async function startBird(ns: ScratchNetns): Promise<(...args: string[]) => string> {
    const dir = mkdtempSync(join(tmpdir(), 'twt-bird-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, 'bird.conf');
    const socket = join(dir, 'bird.ctl');
    const pidFile = join(dir, 'bird.pid');
    writeFileSync(
      conf,
      `router id 10.0.1.2;
protocol device {}
protocol static s4 { ipv4; route 172.20.0.0/16 blackhole; }
protocol bgp node_a {
  local 10.0.1.2 as 65100;
  neighbor 10.0.1.1 as 64512;
  passive on;
  password "tor-secret";
  hold time 9;
  error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`,
    );
    execFileSync('ip', ['netns', 'exec', ns.name, 'bird', '-c', conf, '-s', socket, '-P', pidFile], { stdio: 'ignore' });
    const pid = await until('BIRD\'s PID file', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0), (p) => p > 0);
    cleanups.push(() => killAndWait(pid));
    return (...args) => execFileSync('birdc', ['-s', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
  }

  it('peers with the BGPPeer over TCP MD5: blocks to BIRD, BIRD\'s routes to the kernel; deleting the BGPPeer ends it', async () => {
    const nodeNs = scratch.netns();
    const torNs = scratch.netns();
    const veth = scratch.veth(nodeNs, torNs);
    scratch.ip(nodeNs, 'addr', 'add', '10.0.1.1/24', 'dev', veth.a);
    scratch.ip(torNs, 'addr', 'add', '10.0.1.2/24', 'dev', veth.b);
    const birdc = await startBird(torNs);

    const store = new MemoryStore();
    const datastore = memoryDatastore(store);
    const table = openKernelRouteTable({ netns: nodeNs.name });
    cleanups.push(
      () => table.close(),
      () => datastore.close(),
    );
    await datastore.apply(node('node-a', { ipv4Address: '10.0.1.1/24' }));
    await datastore.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '10.0.1.2', asNumber: 65100, password: 'tor-secret' } });
    await setAffinity(store, 'node-a', ['192.168.0.0/26']);
    const controller = new BgpController({
      datastore,
      nodeName: 'node-a',
      fib: new KernelFibSink({ table }),
      transport: (listen) => createBgpTransport({ listenPort: listen.port, netns: nodeNs.name }),
      flushDelayMs: 5,
    });
    cleanups.push(() => controller.stop());
    await controller.start();

    const bgpRoutes = (): string[] =>
      (JSON.parse(scratch.ip(nodeNs, '-j', 'route', 'show', 'proto', 'bgp')) as IpRoute[]).map((r) => `${r.dst} via ${r.gateway ?? '?'}`).sort();
    await until('BIRD\'s route in the node\'s kernel', bgpRoutes, (r) => r.length === 1);
    expect(bgpRoutes()).toEqual(['172.20.0.0/16 via 10.0.1.2']);
    await until('the node\'s block in BIRD', () => birdc('show', 'route', 'protocol', 'node_a'), (text) => text.includes('192.168.0.0/26'));
    expect(birdc('show', 'route', 'protocol', 'node_a', 'all')).toMatch(/BGP\.next_hop: 10\.0\.1\.1/);
    expect(controller.peers()).toMatchObject([{ address: '10.0.1.2', asn: 65100, state: 'Established' }]);

    await datastore.delete('bgppeers.projectcalico.org', 'tor');
    await until('BIRD\'s route gone from the kernel', bgpRoutes, (r) => r.length === 0);
    expect(controller.peers()).toEqual([]);
    await until('the session down in BIRD', () => birdc('show', 'protocols', 'all', 'node_a'), (text) => !/BGP state:\s+Established/.test(text));
  });
});
