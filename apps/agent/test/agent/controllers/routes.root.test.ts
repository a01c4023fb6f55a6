import { type ChildProcess, spawn } from 'node:child_process';

import { MemoryStore } from '@twill/ipam';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { RouteController } from '../../../src/agent/controllers/routes.js';
import { type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type KernelRouteTable, openKernelRouteTable } from '../../../src/agent/sys/kernel-routes.js';

import { memoryDatastore, node, setAffinity, until } from './route-fixtures.js';

const reason = rootSkipReason();

interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
}

describe.skipIf(reason)(`route controller on a scratch node as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    scratch.cleanup();
  });

  const routes = (ns: ScratchNetns, family: '-4' | '-6', ...filter: string[]): string[] =>
    (JSON.parse(scratch.ip(ns, '-j', family, 'route', 'show', ...filter)) as IpRoute[])
      .map((r) => [r.type === 'blackhole' ? 'blackhole' : '', r.dst, r.gateway ? `via ${r.gateway}` : '', r.protocol ? `proto ${r.protocol}` : '', r.metric ? `metric ${r.metric}` : ''].filter(Boolean).join(' '))
      .sort();

  function setup(): { ns: ScratchNetns; dev: string; store: MemoryStore; datastore: ClosableResourceDatastore; table: KernelRouteTable } {
    const ns = scratch.netns();
    const peer = scratch.netns();
    const veth = scratch.veth(ns, peer);
    scratch.ip(ns, 'addr', 'add', '10.0.0.1/24', 'dev', veth.a);
    const store = new MemoryStore();
    const datastore = memoryDatastore(store);
    const table = openKernelRouteTable({ netns: ns.name });
    cleanups.push(
      () => datastore.close(),
      () => table.close(),
    );
    return { ns, dev: veth.a, store, datastore, table };
  }

  it('blackholes this node\'s blocks (pod /32s still win), routes other nodes\' blocks via their address, all with protocol 116', async () => {
    const { ns, dev, store, datastore, table } = setup();
    await datastore.apply(node('a', { ipv4Address: '10.0.0.1/24' }));
    await datastore.apply(node('b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'a', ['192.168.0.0/26', 'fd10::/122']);
    await setAffinity(store, 'b', ['192.168.0.64/26']);
    const controller = new RouteController({ datastore, nodeName: 'a', routing: 'direct', table, resyncMs: 0 });
    cleanups.push(() => controller.stop());
    await controller.start();

    expect(routes(ns, '-4', 'proto', '116')).toEqual(['192.168.0.64/26 via 10.0.0.2', 'blackhole 192.168.0.0/26']);
    expect(routes(ns, '-6', 'proto', '116')).toEqual(['blackhole fd10::/122 metric 1024']);
    // The plugin's /32 for a pod is more specific than the block's blackhole.
    scratch.ip(ns, 'route', 'add', '192.168.0.5/32', 'dev', dev);
    expect(scratch.ip(ns, 'route', 'get', '192.168.0.5')).toContain(`dev ${dev}`);

    await setAffinity(store, 'b', []);
    await until('the route to b\'s block removed', () => routes(ns, '-4', 'proto', '116'), (r) => r.length === 1);
    expect(routes(ns, '-4', 'proto', '116')).toEqual(['blackhole 192.168.0.0/26']);

    // Deleted by hand: the periodic resync puts it back.
    scratch.ip(ns, 'route', 'del', 'blackhole', '192.168.0.0/26');
    expect(routes(ns, '-4', 'proto', '116')).toEqual([]);
    await controller.resync();
    expect(routes(ns, '-4', 'proto', '116')).toEqual(['blackhole 192.168.0.0/26']);
  });

  it('after a restart keeps its routes without touching them, removes stale ones and leaves other protocols alone', async () => {
    const { ns, store, datastore, table } = setup();
    await datastore.apply(node('b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'a', ['192.168.0.0/26']);
    await setAffinity(store, 'b', ['192.168.0.64/26']);
    const first = new RouteController({ datastore, nodeName: 'a', routing: 'direct', table, resyncMs: 0 });
    await first.start();
    await first.stop();
    // While the agent is down: a block released, a route of someone else's.
    await setAffinity(store, 'a', []);
    await setAffinity(store, 'a', ['192.168.0.128/26']);
    scratch.ip(ns, 'route', 'add', 'blackhole', '192.168.0.0/26', 'metric', '10');
    scratch.ip(ns, 'route', 'add', 'blackhole', '172.16.0.0/16');

    // Every route change in the namespace while the new controller starts.
    const monitor: ChildProcess = spawn('ip', ['-n', ns.name, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanups.push(() => {
      monitor.kill();
    });
    let events = '';
    monitor.stdout?.on('data', (chunk: Buffer) => (events += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 200));

    const second = new RouteController({ datastore, nodeName: 'a', routing: 'direct', table, resyncMs: 0 });
    cleanups.push(() => second.stop());
    await second.start();
    scratch.ip(ns, 'route', 'add', 'blackhole', '203.0.113.0/24');
    await until('the monitor saw the marker route', () => events, (e) => e.includes('203.0.113.0/24'));

    expect(routes(ns, '-4')).toEqual([
      '192.168.0.64/26 via 10.0.0.2 proto 116',
      // `ip route add` marks its routes proto boot, which `ip -j` leaves out.
      'blackhole 172.16.0.0/16',
      'blackhole 192.168.0.0/26 metric 10',
      'blackhole 192.168.0.128/26 proto 116',
      'blackhole 203.0.113.0/24',
      '10.0.0.0/24 proto kernel',
    ].sort());
    const changes = events
      .trim()
      .split('\n')
      .filter((l) => !l.includes('203.0.113.0/24'))
      // The kernel's own routes (an IPv6 link-local address whose duplicate detection ends late, on a loaded machine) are not the controller's.
      .filter((l) => !l.includes(' proto kernel '));
    // The route to b's block was right and was left alone: only the stale one went and the new one came.
    expect(changes).toEqual(['Deleted blackhole 192.168.0.0/26 proto 116 ', 'blackhole 192.168.0.128/26 proto 116 ']);
  });
});
