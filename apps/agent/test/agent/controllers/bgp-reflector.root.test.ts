// Route reflection between three nodes' BGP controllers, as a Calico cluster configures it:
// node A's Node has spec.bgp.routeReflectorClusterID and the label route-reflector=true,
// one BGPPeer joins every node to the reflectors, and the node-to-node mesh is off. Each
// node is a scratch namespace on one bridge (a fourth namespace), each controller has
// its own real speaker and kernel table, and all three open one SQLite datastore file as
// a lab's agents do. B and C have no session with each other: B's block reaches C's
// kernel through A with B as next hop, and goes when A stops reflecting or stops. A node
// in another AS has eBGP with the reflector.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { BgpController } from '../../../src/agent/controllers/bgp.js';
import { KernelFibSink } from '../../../src/agent/controllers/route-fib.js';
import { type ClosableResourceDatastore, openResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type AgentResource } from '../../../src/agent/ports.js';
import { createBgpTransport } from '../../../src/agent/sys/bgp-transport.js';
import { openKernelRouteTable } from '../../../src/agent/sys/kernel-routes.js';

import { setAffinity, until } from './route-fixtures.js';

const reason = rootSkipReason();

interface IpRoute {
  dst: string;
  gateway?: string;
}

const CLUSTER_ID = '224.0.0.1';

function calicoNode(name: string, bgp: Record<string, unknown>, labels: Record<string, string> = {}): AgentResource {
  return { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name, labels }, spec: { bgp } };
}

describe.skipIf(reason)(`BGP route reflection between three nodes as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    scratch.cleanup();
  });

  /** `dst via gw` of the namespace's IPv4 routes with protocol bgp. */
  const bgpRoutes = (ns: ScratchNetns): string[] =>
    (JSON.parse(scratch.ip(ns, '-j', '-4', 'route', 'show', 'proto', 'bgp')) as IpRoute[]).map((r) => `${r.dst} via ${r.gateway ?? '?'}`).sort();

  interface TestNode {
    readonly ns: ScratchNetns;
    readonly datastore: ClosableResourceDatastore;
    start(options?: { restartTime?: number }): Promise<BgpController>;
  }

  /** Three namespaces on one bridge, 10.0.2.1-3/24, each with a datastore on `file`. */
  async function threeNodes(file: string): Promise<{ a: TestNode; b: TestNode; c: TestNode }> {
    const fabric = scratch.netns();
    scratch.ip(fabric, 'link', 'add', 'br0', 'type', 'bridge');
    scratch.ip(fabric, 'link', 'set', 'br0', 'up');
    const make = async (name: string, address: string): Promise<TestNode> => {
      const ns = scratch.netns();
      const link = scratch.veth(ns, fabric);
      scratch.ip(fabric, 'link', 'set', link.b, 'master', 'br0');
      scratch.ip(ns, 'addr', 'add', address, 'dev', link.a);
      const datastore = await openResourceDatastore({ path: file, pollMs: 20 });
      const table = openKernelRouteTable({ netns: ns.name });
      cleanups.push(
        () => table.close(),
        () => datastore.close(),
      );
      return {
        ns,
        datastore,
        async start(options = {}) {
          const controller = new BgpController({
            datastore,
            nodeName: name,
            fib: new KernelFibSink({ table }),
            transport: (listen) => createBgpTransport({ listenPort: listen.port, netns: ns.name }),
            settleMs: 300,
            flushDelayMs: 5,
            ...(options.restartTime === undefined ? {} : { restartTime: options.restartTime }),
          });
          cleanups.push(() => controller.stop());
          await controller.start();
          return controller;
        },
      };
    };
    return { a: await make('node-a', '10.0.2.1/24'), b: await make('node-b', '10.0.2.2/24'), c: await make('node-c', '10.0.2.3/24') };
  }

  it('B\'s block reaches C\'s kernel through reflector A with B as next hop; A without its cluster id, or stopped, takes it away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twt-bgp-rr-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { a, b, c } = await threeNodes(join(dir, 'twill.db'));
    const reflectorA = calicoNode('node-a', { ipv4Address: '10.0.2.1/24', routeReflectorClusterID: CLUSTER_ID }, { 'route-reflector': 'true' });
    for (const resource of [
      reflectorA,
      calicoNode('node-b', { ipv4Address: '10.0.2.2/24' }),
      calicoNode('node-c', { ipv4Address: '10.0.2.3/24' }),
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } },
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'peer-with-reflectors' }, spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } },
    ]) {
      await a.datastore.apply(resource);
    }
    await setAffinity(a.datastore.store, 'node-a', ['192.168.0.0/26']);
    await setAffinity(a.datastore.store, 'node-b', ['192.168.1.0/26']);
    await setAffinity(a.datastore.store, 'node-c', ['192.168.2.0/26']);
    // A announces a short graceful-restart time, so that its peers drop what it gave them soon after it stops.
    const controllerA = await a.start({ restartTime: 3 });
    const controllerB = await b.start();
    const controllerC = await c.start();

    await until('B\'s and A\'s blocks in C\'s kernel', () => bgpRoutes(c.ns), (r) => r.length === 2, 20_000);
    // Reflected, not relayed: the next hop is B itself, on the shared segment.
    expect(bgpRoutes(c.ns)).toEqual(['192.168.0.0/26 via 10.0.2.1', '192.168.1.0/26 via 10.0.2.2']);
    await until('C\'s and A\'s blocks in B\'s kernel', () => bgpRoutes(b.ns), (r) => r.length === 2, 20_000);
    expect(bgpRoutes(b.ns)).toEqual(['192.168.0.0/26 via 10.0.2.1', '192.168.2.0/26 via 10.0.2.3']);
    expect(bgpRoutes(a.ns)).toEqual(['192.168.1.0/26 via 10.0.2.2', '192.168.2.0/26 via 10.0.2.3']);
    // B and C each have one session, with A; A has both.
    expect(controllerC.peers().map((p) => [p.address, p.state])).toEqual([['10.0.2.1', 'Established']]);
    expect(controllerB.peers().map((p) => [p.address, p.state])).toEqual([['10.0.2.1', 'Established']]);
    expect(controllerA.peers().map((p) => [p.address, p.state])).toEqual([
      ['10.0.2.2', 'Established'],
      ['10.0.2.3', 'Established'],
    ]);
    expect(controllerC.routes({ prefix: '192.168.1.0/26' })).toMatchObject([{ prefix: '192.168.1.0/26', from: '10.0.2.1', nextHop: '10.0.2.2', best: true }]);
    expect(controllerA.status().problems).toEqual([]);

    // A loses its cluster id: its sessions are plain iBGP, which do not pass one peer's routes to another.
    await a.datastore.apply(calicoNode('node-a', { ipv4Address: '10.0.2.1/24' }, { 'route-reflector': 'true' }));
    await until('B\'s block gone from C\'s kernel', () => bgpRoutes(c.ns), (r) => !r.includes('192.168.1.0/26 via 10.0.2.2'), 20_000);
    await until('A\'s block back in C\'s kernel', () => bgpRoutes(c.ns), (r) => r.length === 1, 20_000);
    expect(bgpRoutes(c.ns)).toEqual(['192.168.0.0/26 via 10.0.2.1']);

    // And back: reflecting again.
    await a.datastore.apply(reflectorA);
    await until('B\'s block in C\'s kernel again', () => bgpRoutes(c.ns), (r) => r.length === 2, 20_000);
    expect(bgpRoutes(c.ns)).toEqual(['192.168.0.0/26 via 10.0.2.1', '192.168.1.0/26 via 10.0.2.2']);

    // A stops: C keeps what A gave it for A's restart time (3 s), then withdraws it.
    await controllerA.stop();
    await until('B\'s block withdrawn from C\'s kernel', () => bgpRoutes(c.ns), (r) => r.length === 0, 20_000);
    await until('C\'s block withdrawn from B\'s kernel', () => bgpRoutes(b.ns), (r) => r.length === 0, 20_000);
  }, 120_000);

  it('each node keeps its own AS: C in AS 65003 has eBGP with reflector A, and the routes cross with their AS paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twt-bgp-rr-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { a, b, c } = await threeNodes(join(dir, 'twill.db'));
    for (const resource of [
      calicoNode('node-a', { ipv4Address: '10.0.2.1/24', routeReflectorClusterID: CLUSTER_ID }, { 'route-reflector': 'true' }),
      calicoNode('node-b', { ipv4Address: '10.0.2.2/24' }),
      calicoNode('node-c', { ipv4Address: '10.0.2.3/24', asNumber: 65003 }),
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } },
      { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'peer-with-reflectors' }, spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } },
    ]) {
      await a.datastore.apply(resource);
    }
    await setAffinity(a.datastore.store, 'node-b', ['192.168.1.0/26']);
    await setAffinity(a.datastore.store, 'node-c', ['192.168.2.0/26']);
    const controllerA = await a.start();
    await b.start();
    const controllerC = await c.start();

    expect(controllerC.status()).toMatchObject({ localAs: 65003 });
    await until('B\'s block in C\'s kernel', () => bgpRoutes(c.ns), (r) => r.length === 1, 20_000);
    // Over eBGP A is the next hop, and its AS is on the path.
    expect(bgpRoutes(c.ns)).toEqual(['192.168.1.0/26 via 10.0.2.1']);
    expect(controllerC.routes({ prefix: '192.168.1.0/26' })).toMatchObject([{ from: '10.0.2.1', nextHop: '10.0.2.1', asPath: [64512] }]);
    // Into the AS, A passes C's route on over iBGP with C's next hop and AS.
    await until('C\'s block in B\'s kernel', () => bgpRoutes(b.ns), (r) => r.length === 1, 20_000);
    expect(bgpRoutes(b.ns)).toEqual(['192.168.2.0/26 via 10.0.2.3']);
    expect(controllerA.peers().map((p) => [p.address, p.asn, p.state])).toEqual([
      ['10.0.2.2', 64512, 'Established'],
      ['10.0.2.3', 65003, 'Established'],
    ]);
  }, 120_000);
});
