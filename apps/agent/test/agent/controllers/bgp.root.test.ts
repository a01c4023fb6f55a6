// Two nodes, each a scratch namespace joined by a veth, each with its own BgpController
// (both in this process, sharing one MemoryStore as nodes of one cluster share their
// datastore): the node-to-node mesh comes up from the Node resources, each node's blocks
// reach the other's kernel with protocol bgp, and the datastore's changes move them.
import net from 'node:net';

import { MemoryStore } from '@twill/ipam';
import { AF, SOCK, openSocket, runInNetns } from '@twill/sys';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { BgpController } from '../../../src/agent/controllers/bgp.js';
import { KernelFibSink } from '../../../src/agent/controllers/route-fib.js';
import { RouteController } from '../../../src/agent/controllers/routes.js';
import { type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type AgentMetrics } from '../../../src/agent/ports.js';
import { createBgpTransport } from '../../../src/agent/sys/bgp-transport.js';
import { openKernelRouteTable } from '../../../src/agent/sys/kernel-routes.js';

import { memoryDatastore, node, setAffinity, until } from './route-fixtures.js';

const reason = rootSkipReason();

interface IpRoute {
  dst: string;
  gateway?: string;
}

/** Peer states as the metrics were told them, latest last. */
class RecordingMetrics implements AgentMetrics {
  readonly states = new Map<string, string>();
  observeCniRequest(): void {}
  observePolicyProgramming(): void {}
  setEndpoints(): void {}
  setBgpPeerState(peer: string, state: string | undefined): void {
    if (state === undefined) this.states.delete(peer);
    else this.states.set(peer, state);
  }
}

/** A TCP server inside `ns` that answers `hello from <name>` to every connection; resolves once it listens. */
async function helloServer(ns: ScratchNetns, port: number): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end(`hello from ${ns.name}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // No host: Node creates the socket synchronously in listen(), inside the namespace.
    runInNetns(ns.handle, () => server.listen({ port }, () => resolve()));
  });
  return server;
}

/** Connects from `ns`, from `localAddress`, and gives what the server said. */
function fetchHello(ns: ScratchNetns, localAddress: string, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new net.Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: ns.handle }) });
    let text = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer from ${host}:${port} within 5 s`)));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.connect({ host, port, localAddress });
  });
}

describe.skipIf(reason)(`BGP controllers of two nodes as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    scratch.cleanup();
  });

  /** `dst via gw` of the namespace's routes with protocol bgp. */
  const bgpRoutes = (ns: ScratchNetns, family: '-4' | '-6' = '-4'): string[] =>
    (JSON.parse(scratch.ip(ns, '-j', family, 'route', 'show', 'proto', 'bgp')) as IpRoute[]).map((r) => `${r.dst} via ${r.gateway ?? '?'}`).sort();

  interface TestNode {
    readonly ns: ScratchNetns;
    readonly datastore: ClosableResourceDatastore;
    readonly metrics: RecordingMetrics;
    start(): Promise<BgpController>;
    /** A route controller with BGP routing on the same kernel table. */
    startRoutes(): Promise<RouteController>;
  }

  function twoNodes(): { store: MemoryStore; a: TestNode; b: TestNode } {
    const store = new MemoryStore();
    const nsA = scratch.netns();
    const nsB = scratch.netns();
    const veth = scratch.veth(nsA, nsB);
    scratch.ip(nsA, 'addr', 'add', '10.0.0.1/24', 'dev', veth.a);
    scratch.ip(nsB, 'addr', 'add', '10.0.0.2/24', 'dev', veth.b);
    scratch.ip(nsA, 'addr', 'add', 'fd00::1/64', 'dev', veth.a, 'nodad');
    scratch.ip(nsB, 'addr', 'add', 'fd00::2/64', 'dev', veth.b, 'nodad');
    const make = (ns: ScratchNetns, name: string, ipv4: string, ipv6: string): TestNode => {
      const datastore = memoryDatastore(store);
      const table = openKernelRouteTable({ netns: ns.name });
      const metrics = new RecordingMetrics();
      cleanups.push(
        () => table.close(),
        () => datastore.close(),
      );
      return {
        ns,
        datastore,
        metrics,
        async start() {
          const controller = new BgpController({
            datastore,
            nodeName: name,
            nodeAddresses: { ipv4, ipv6 },
            fib: new KernelFibSink({ table }),
            transport: (listen) => createBgpTransport({ listenPort: listen.port, netns: ns.name }),
            settleMs: 300,
            flushDelayMs: 5,
            metrics,
          });
          cleanups.push(() => controller.stop());
          await controller.start();
          return controller;
        },
        async startRoutes() {
          const controller = new RouteController({ datastore, nodeName: name, routing: 'bgp', table, resyncMs: 0 });
          cleanups.push(() => controller.stop());
          await controller.start();
          return controller;
        },
      };
    };
    return { store, a: make(nsA, 'node-a', '10.0.0.1/24', 'fd00::1/64'), b: make(nsB, 'node-b', '10.0.0.2/24', 'fd00::2/64') };
  }

  it('meshes the nodes of the datastore: each kernel gets the other node\'s blocks with protocol bgp, per family; a removed node is withdrawn', async () => {
    const { store, a, b } = twoNodes();
    await a.datastore.apply(node('node-a', { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64' }));
    await a.datastore.apply(node('node-b', { ipv4Address: '10.0.0.2/24', ipv6Address: 'fd00::2/64' }));
    await setAffinity(store, 'node-a', ['192.168.0.0/26', 'fd10::/122']);
    await setAffinity(store, 'node-b', ['192.168.0.64/26', 'fd10::40/122']);
    const controllerA = await a.start();
    const controllerB = await b.start();

    await until('b\'s block in a\'s kernel', () => bgpRoutes(a.ns), (r) => r.length === 1);
    expect(bgpRoutes(a.ns)).toEqual(['192.168.0.64/26 via 10.0.0.2']);
    await until('a\'s block in b\'s kernel', () => bgpRoutes(b.ns), (r) => r.length === 1);
    expect(bgpRoutes(b.ns)).toEqual(['192.168.0.0/26 via 10.0.0.1']);
    // IPv6 blocks over the IPv6 session, via the node's IPv6 address.
    await until('b\'s IPv6 block in a\'s kernel', () => bgpRoutes(a.ns, '-6'), (r) => r.length === 1);
    expect(bgpRoutes(a.ns, '-6')).toEqual(['fd10::40/122 via fd00::2']);
    await until('a\'s IPv6 block in b\'s kernel', () => bgpRoutes(b.ns, '-6'), (r) => r.length === 1);
    expect(bgpRoutes(b.ns, '-6')).toEqual(['fd10::/122 via fd00::1']);
    expect(controllerA.status()).toMatchObject({ localAs: 64512, routerId: '10.0.0.1', originated: ['192.168.0.0/26', 'fd10::/122'], problems: [], fibProblems: [] });
    expect(controllerA.peers().map((p) => [p.address, p.state])).toEqual([
      ['10.0.0.2', 'Established'],
      ['fd00::2', 'Established'],
    ]);
    await until('the peer states in the metrics', () => Object.fromEntries(a.metrics.states), (s) => s['10.0.0.2'] === 'Established' && s['fd00::2'] === 'Established');

    // A block claimed later is announced; one released is withdrawn.
    await setAffinity(store, 'node-b', ['192.168.0.64/26', '192.168.1.0/26']);
    await until('b\'s new block in a\'s kernel', () => bgpRoutes(a.ns), (r) => r.length === 2);
    expect(bgpRoutes(a.ns)).toEqual(['192.168.0.64/26 via 10.0.0.2', '192.168.1.0/26 via 10.0.0.2']);
    await setAffinity(store, 'node-b', ['192.168.1.0/26']);
    await until('b\'s released block gone from a\'s kernel', () => bgpRoutes(a.ns), (r) => r.length === 1);
    expect(bgpRoutes(a.ns)).toEqual(['192.168.1.0/26 via 10.0.0.2']);

    // node-b leaves the cluster: a drops the sessions and b's routes.
    await a.datastore.delete('nodes.projectcalico.org', 'node-b');
    await until('b\'s routes withdrawn from a\'s kernel', () => [...bgpRoutes(a.ns), ...bgpRoutes(a.ns, '-6')], (r) => r.length === 0);
    await until('a\'s routes withdrawn from b\'s kernel', () => [...bgpRoutes(b.ns), ...bgpRoutes(b.ns, '-6')], (r) => r.length === 0);
    expect(controllerA.peers()).toEqual([]);
    await until('the peers gone from the metrics', () => a.metrics.states.size, (n) => n === 0);
    expect(controllerB.peers().map((p) => p.address)).toEqual(['10.0.0.1', 'fd00::1']);
  });

  it('a restarted agent keeps the learned routes while it relearns them, and sweeps the ones no peer gives again; the peer keeps its routes meanwhile', async () => {
    const { store, a, b } = twoNodes();
    await a.datastore.apply(node('node-a', { ipv4Address: '10.0.0.1/24' }));
    await a.datastore.apply(node('node-b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'node-a', ['192.168.0.0/26']);
    await setAffinity(store, 'node-b', ['192.168.0.64/26']);
    const first = await a.start();
    await b.start();
    await until('b\'s block in a\'s kernel', () => bgpRoutes(a.ns), (r) => r.length === 1);
    await until('a\'s block in b\'s kernel', () => bgpRoutes(b.ns), (r) => r.length === 1);

    await first.stop();
    // As after a crash: a route to a block nobody announces any more.
    scratch.ip(a.ns, 'route', 'add', '192.168.9.0/26', 'via', '10.0.0.2', 'proto', 'bgp');
    // b keeps a's routes while a restarts (RFC 4724 helper: a announced graceful restart).
    expect(bgpRoutes(b.ns)).toEqual(['192.168.0.0/26 via 10.0.0.1']);

    const second = await a.start();
    // Adopted, not removed, at start.
    expect(bgpRoutes(a.ns)).toEqual(['192.168.0.64/26 via 10.0.0.2', '192.168.9.0/26 via 10.0.0.2']);
    await until('the stale route swept', () => bgpRoutes(a.ns), (r) => r.length === 1);
    expect(bgpRoutes(a.ns)).toEqual(['192.168.0.64/26 via 10.0.0.2']);
    expect(second.peers().map((p) => p.state)).toEqual(['Established']);
    expect(bgpRoutes(b.ns)).toEqual(['192.168.0.0/26 via 10.0.0.1']);
  });

  it('with the route controller beside it, a pod address on each node reaches the other\'s over the learned routes', async () => {
    const { store, a, b } = twoNodes();
    await a.datastore.apply(node('node-a', { ipv4Address: '10.0.0.1/24' }));
    await a.datastore.apply(node('node-b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'node-a', ['192.168.0.0/26']);
    await setAffinity(store, 'node-b', ['192.168.0.64/26']);
    // A "pod" address of each node's block, on its loopback.
    scratch.ip(a.ns, 'addr', 'add', '192.168.0.5/32', 'dev', 'lo');
    scratch.ip(b.ns, 'addr', 'add', '192.168.0.70/32', 'dev', 'lo');
    for (const n of [a, b]) {
      await n.startRoutes();
      await n.start();
    }
    await until('both blocks learned', () => [...bgpRoutes(a.ns), ...bgpRoutes(b.ns)], (r) => r.length === 2);
    expect(scratch.ip(a.ns, 'route', 'show', 'proto', '116').trim()).toBe('blackhole 192.168.0.0/26');
    const server = await helloServer(b.ns, 8080);
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    expect(await fetchHello(a.ns, '192.168.0.5', '192.168.0.70', 8080)).toBe(`hello from ${b.ns.name}`);
  });
});
