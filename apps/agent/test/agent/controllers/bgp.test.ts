// The BGP controller's configuration from the datastore, without sessions: a transport
// whose connections never answer keeps every peer short of Established (the sessions
// themselves are the root tests').
import { type SpeakerTransport } from '@twill/bgp';
import { MemoryStore } from '@twill/ipam';
import { afterEach, describe, expect, it } from 'vitest';

import { type BgpRouteView, BgpController, BgpConfigurationError } from '../../../src/agent/controllers/bgp.js';
import { KernelFibSink } from '../../../src/agent/controllers/route-fib.js';
import { type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type AgentResource } from '../../../src/agent/ports.js';

import { deletingAsWatchStarts, MemoryRouteTable, memoryDatastore, node, setAffinity, until } from './route-fixtures.js';

/** Connections that never answer; records the ports it was asked to listen on. */
function silentTransport(listened: number[]): (listen: { port: number }) => SpeakerTransport {
  return (listen) => {
    listened.push(listen.port);
    return {
      connect: () => ({ localAddress: undefined, write: () => undefined, close: () => undefined }),
      listen: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  };
}

const bgpConfiguration = (spec: Record<string, unknown>): AgentResource => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec });

describe('BgpController', () => {
  let datastore: ClosableResourceDatastore | undefined;
  let controller: BgpController | undefined;

  afterEach(async () => {
    await controller?.stop();
    await datastore?.close();
    controller = undefined;
    datastore = undefined;
  });

  function make(store: MemoryStore, listened: number[], extra: { asNumber?: number; ipv4?: string } = {}): BgpController {
    datastore = memoryDatastore(store);
    return new BgpController({
      datastore,
      nodeName: 'n1',
      ...(extra.ipv4 === undefined ? {} : { nodeAddresses: { ipv4: extra.ipv4 } }),
      ...(extra.asNumber === undefined ? {} : { asNumber: extra.asNumber }),
      fib: new KernelFibSink({ table: new MemoryRouteTable() }),
      transport: silentTransport(listened),
    });
  }

  it('refuses to start without an IPv4 address for the router id, saying where to set one', async () => {
    controller = make(new MemoryStore(), []);
    const error = await controller.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BgpConfigurationError);
    expect((error as Error).message).toBe(
      "node n1 has no IPv4 address for its BGP router id: set nodeAddresses.ipv4 in the agent's configuration or spec.bgp.ipv4Address of its Node resource",
    );
    expect(controller.ready()).toBe(false);
  });

  it('takes its AS from BGPConfiguration, restarts the speaker when it or the listen port changes, and re-adds the peers', async () => {
    const store = new MemoryStore();
    const listened: number[] = [];
    controller = make(store, listened);
    const ds = datastore;
    if (!ds) throw new Error('no datastore');
    await ds.apply(node('n1', { ipv4Address: '10.0.0.1/24' }));
    await ds.apply(node('n2', { ipv4Address: '10.0.0.2/24' }));
    await controller.start();
    expect(controller.ready()).toBe(true);
    expect(controller.status()).toMatchObject({ localAs: 64512, routerId: '10.0.0.1' });
    expect(listened).toEqual([179]);
    expect(controller.peers().map((p) => `${p.address} as ${p.asn}`)).toEqual(['10.0.0.2 as 64512']);

    await ds.apply(bgpConfiguration({ asNumber: 65000, listenPort: 1790 }));
    const c = controller;
    await until('the new AS', () => c.status().localAs, (as) => as === 65000);
    expect(listened).toEqual([179, 1790]);
    expect(controller.peers().map((p) => `${p.address} as ${p.asn}`)).toEqual(['10.0.0.2 as 65000']);

    // The node's own AS beats the cluster's.
    await ds.apply(node('n1', { ipv4Address: '10.0.0.1/24', asNumber: 65001 }));
    await until('the node\'s own AS', () => c.status().localAs, (as) => as === 65001);
    expect(controller.peers().map((p) => `${p.address} as ${p.asn}`)).toEqual(['10.0.0.2 as 65000']);

    // Mesh off: no peers.
    await ds.apply(bgpConfiguration({ asNumber: 65000, listenPort: 1790, nodeToNodeMeshEnabled: false }));
    await until('the mesh gone', () => c.peers().length, (n) => n === 0);
  });

  it('refuses a route reflector cluster id that is no BGP identifier, saying where to fix it', async () => {
    controller = make(new MemoryStore(), []);
    await datastore?.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n1' }, spec: { bgp: { ipv4Address: '10.0.0.1/24', routeReflectorClusterID: '0.0.0.0' } } });
    const error = await controller.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BgpConfigurationError);
    expect((error as Error).message).toBe(
      'node n1\'s route reflector cluster id "0.0.0.0" is not a non-zero dotted quad such as "224.0.0.1": fix spec.bgp.routeReflectorClusterID (the projectcalico.org/RouteReflectorClusterID annotation)',
    );
  });

  it('keeps the running speaker when a change leaves the node without an IPv4 address, and logs why', async () => {
    const store = new MemoryStore();
    const errors: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_: object, msg: string) => void errors.push(msg) };
    datastore = memoryDatastore(store);
    controller = new BgpController({ datastore, nodeName: 'n1', fib: new KernelFibSink({ table: new MemoryRouteTable() }), transport: silentTransport([]), logger });
    await datastore.apply(node('n1', { ipv4Address: '10.0.0.1/24' }));
    await controller.start();
    await datastore.apply(node('n1', { ipv6Address: 'fd00::1/64' }));
    await until('the error logged', () => errors, (e) => e.length > 0);
    expect(errors[0]).toMatch(/^node n1 has no IPv4 address for its BGP router id/);
    expect(controller.status()).toMatchObject({ routerId: '10.0.0.1' });
    expect(controller.ready()).toBe(true);
  });

  it('the agent configuration\'s AS and address beat the datastore\'s', async () => {
    const store = new MemoryStore();
    controller = make(store, [], { asNumber: 65555, ipv4: '10.0.0.9/24' });
    await datastore?.apply(node('n1', { ipv4Address: '10.0.0.1/24', asNumber: 65001 }));
    await controller.start();
    expect(controller.status()).toMatchObject({ localAs: 65555, routerId: '10.0.0.9' });
  });

  it('originates the blocks of this node\'s affinity as they change, and adds a BGPPeer once it is applied', async () => {
    const store = new MemoryStore();
    controller = make(store, [], { ipv4: '10.0.0.1/24' });
    await setAffinity(store, 'n1', ['192.168.0.0/26']);
    await setAffinity(store, 'n2', ['192.168.0.64/26']);
    await controller.start();
    expect(controller.status().originated).toEqual(['192.168.0.0/26']);
    await setAffinity(store, 'n1', ['192.168.0.128/26', 'fd10::/122']);
    const c = controller;
    await until('the new blocks', () => c.status().originated, (o) => o.length === 2);
    expect(controller.status().originated).toEqual(['192.168.0.128/26', 'fd10::/122']);
    expect([...controller.peers()]).toEqual([]);

    await datastore?.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '10.0.0.254', asNumber: 65100 } });
    await until('the BGPPeer', () => c.peers().length, (n) => n === 1);
    expect(controller.peers()[0]).toMatchObject({ address: '10.0.0.254', asn: 65100 });
    expect(controller.status().problems).toEqual([]);
  });

  it('has no session to a BGPPeer deleted while it starts (its state comes from the watches, not an earlier read)', async () => {
    const store = new MemoryStore();
    controller = make(store, [], { ipv4: '10.0.0.1/24' });
    const real = datastore;
    if (!real) throw new Error('no datastore');
    await real.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '10.0.0.254', asNumber: 65100 } });
    await real.apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'gone' }, spec: { peerIP: '10.0.0.253', asNumber: 65100 } });
    // The peer 'gone' is deleted just as the controller starts watching resources.
    const racing = deletingAsWatchStarts(real, 'bgppeers.projectcalico.org', 'gone');
    controller = new BgpController({ datastore: racing, nodeName: 'n1', nodeAddresses: { ipv4: '10.0.0.1/24' }, fib: new KernelFibSink({ table: new MemoryRouteTable() }), transport: silentTransport([]) });
    await controller.start();
    expect(controller.peers().map((p) => p.address)).toEqual(['10.0.0.254']);
  });

  it('lists the routes its speaker holds, filtered by peer and prefix, and none before it runs', async () => {
    const store = new MemoryStore();
    controller = make(store, [], { ipv4: '10.0.0.1/24' });
    expect(controller.routes()).toEqual([]);
    await setAffinity(store, 'n1', ['192.168.0.64/26', '192.168.0.0/26', 'fd10::/122']);
    await controller.start();
    const local = (prefix: string, nextHop: string): BgpRouteView => ({ prefix, best: true, from: 'local', nextHop, asPath: [], origin: 'igp', communities: [], largeCommunities: [], stale: false });
    expect(controller.routes()).toEqual([local('192.168.0.0/26', '0.0.0.0'), local('192.168.0.64/26', '0.0.0.0'), local('fd10::/122', '::')]);
    expect(controller.routes({ prefix: '192.168.0.64/26' })).toEqual([local('192.168.0.64/26', '0.0.0.0')]);
    expect(controller.routes({ prefix: 'fd10::/64', peer: 'local' })).toEqual([local('fd10::/122', '::')]);
    expect(controller.routes({ peer: '10.0.0.254' })).toEqual([]);
    expect(() => controller?.routes({ prefix: '192.168.0.1/24' })).toThrow('prefix filter: "192.168.0.1/24" has host bits set after /24');
  });
});
