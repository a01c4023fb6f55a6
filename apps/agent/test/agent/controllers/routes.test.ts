import { MemoryStore } from '@twill/ipam';
import { afterEach, describe, expect, it } from 'vitest';

import { desiredRoutes, parseNode, planRoutes, RTPROT_TWILL } from '../../../src/agent/controllers/route-model.js';
import { RouteController } from '../../../src/agent/controllers/routes.js';
import { type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';

import { deletingAsWatchStarts, MemoryRouteTable, memoryDatastore, node, setAffinity, until } from './route-fixtures.js';

describe('desiredRoutes', () => {
  const nodes = new Map([
    ['a', parseNode(node('a', { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64' }))],
    ['b', parseNode(node('b', { ipv4Address: '10.0.0.2/24' }))],
  ]);
  const blocks = new Map<string, readonly string[]>([
    ['a', ['192.168.0.0/26', 'fd10::/122']],
    ['b', ['192.168.0.64/26', 'fd10::40/122']],
    ['gone', ['192.168.1.0/26']],
  ]);

  it('gives this node a blackhole per block and, with direct routing, routes to the other nodes\' blocks of a family they have an address in', () => {
    expect([...desiredRoutes({ nodeName: 'a', routing: 'direct', nodes, blocks }).values()]).toEqual([
      { dst: '192.168.0.64/26', type: 'unicast', gateway: '10.0.0.2' },
      { dst: '192.168.0.0/26', type: 'blackhole' },
      { dst: 'fd10::/122', type: 'blackhole' },
    ]);
  });

  it('gives only blackholes with BGP routing', () => {
    expect([...desiredRoutes({ nodeName: 'b', routing: 'bgp', nodes, blocks }).keys()]).toEqual(['192.168.0.64/26', 'fd10::40/122']);
  });

  it('keeps a blackhole for a block this node and another both list', () => {
    const both = new Map(blocks).set('b', ['192.168.0.0/26']);
    expect(desiredRoutes({ nodeName: 'a', routing: 'direct', nodes, blocks: both }).get('192.168.0.0/26')).toEqual({ dst: '192.168.0.0/26', type: 'blackhole' });
  });
});

describe('planRoutes', () => {
  it('leaves routes already right alone, replaces changed ones, removes unwanted ones', () => {
    const current = new Map([
      ['10.1.0.0/26', { dst: '10.1.0.0/26', type: 'blackhole' as const }],
      ['10.2.0.0/26', { dst: '10.2.0.0/26', type: 'unicast' as const, gateway: '10.0.0.2' }],
      ['10.3.0.0/26', { dst: '10.3.0.0/26', type: 'blackhole' as const }],
    ]);
    const wanted = new Map([
      ['10.1.0.0/26', { dst: '10.1.0.0/26', type: 'blackhole' as const }],
      ['10.2.0.0/26', { dst: '10.2.0.0/26', type: 'unicast' as const, gateway: '10.0.0.3' }],
      ['10.4.0.0/26', { dst: '10.4.0.0/26', type: 'blackhole' as const }],
    ]);
    const plan = planRoutes(current, wanted);
    expect(plan.remove.map((r) => r.dst)).toEqual(['10.3.0.0/26']);
    expect(plan.replace.map((r) => `${r.dst} ${r.gateway ?? r.type}`)).toEqual(['10.2.0.0/26 10.0.0.3', '10.4.0.0/26 blackhole']);
  });
});

describe('RouteController', () => {
  let datastore: ClosableResourceDatastore | undefined;
  let controller: RouteController | undefined;

  afterEach(async () => {
    await controller?.stop();
    await datastore?.close();
    controller = undefined;
    datastore = undefined;
  });

  it('adopts its routes after a restart: keeps the wanted ones without rewriting them, removes stale ones, leaves other protocols alone', async () => {
    const store = new MemoryStore();
    datastore = memoryDatastore(store);
    await datastore.apply(node('a', { ipv4Address: '10.0.0.1/24' }));
    await datastore.apply(node('b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'a', ['192.168.0.0/26']);
    await setAffinity(store, 'b', ['192.168.0.64/26']);
    const table = new MemoryRouteTable([
      { dst: '192.168.0.0/26', type: 'blackhole', protocol: RTPROT_TWILL },
      { dst: '192.168.0.64/26', type: 'unicast', gateway: '10.0.0.2', protocol: RTPROT_TWILL },
      { dst: '192.168.9.0/26', type: 'blackhole', protocol: RTPROT_TWILL },
      { dst: '172.16.0.0/16', type: 'unicast', gateway: '10.0.0.254', protocol: 3 },
    ]);
    controller = new RouteController({ datastore, nodeName: 'a', routing: 'direct', table, resyncMs: 0 });
    await controller.start();
    expect(controller.ready()).toBe(true);
    expect(table.writes).toEqual([`remove 192.168.9.0/26 proto ${RTPROT_TWILL}`]);
    expect(table.show()).toEqual(['172.16.0.0/16 unicast via 10.0.0.254 proto 3', '192.168.0.0/26 blackhole proto 116', '192.168.0.64/26 unicast via 10.0.0.2 proto 116']);
  });

  it('follows affinity and node changes', async () => {
    const store = new MemoryStore();
    datastore = memoryDatastore(store);
    await datastore.apply(node('a', { ipv4Address: '10.0.0.1/24' }));
    const table = new MemoryRouteTable();
    controller = new RouteController({ datastore, nodeName: 'a', routing: 'direct', table, resyncMs: 0 });
    await controller.start();
    expect(table.show()).toEqual([]);

    await setAffinity(store, 'a', ['192.168.0.0/26', '192.168.0.128/26']);
    await until('own blocks blackholed', () => table.show(), (s) => s.length === 2);
    await datastore.apply(node('b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'b', ['192.168.0.64/26']);
    await until('a route to b', () => table.show(), (s) => s.includes('192.168.0.64/26 unicast via 10.0.0.2 proto 116'));

    // b moves to another address; then it is removed.
    await datastore.apply(node('b', { ipv4Address: '10.0.0.3/24' }));
    await until('the route follows b', () => table.show(), (s) => s.includes('192.168.0.64/26 unicast via 10.0.0.3 proto 116'));
    await datastore.delete('nodes.projectcalico.org', 'b');
    await until('the route to b gone', () => table.show(), (s) => !s.some((l) => l.startsWith('192.168.0.64/26')));

    // A block this node gives up.
    await setAffinity(store, 'a', ['192.168.0.128/26']);
    await until('the released block gone', () => table.show(), (s) => s.length === 1);
    expect(table.show()).toEqual(['192.168.0.128/26 blackhole proto 116']);
  });

  it('holds no route to a node deleted while the controller starts (the state comes from the watches, not an earlier read)', async () => {
    const store = new MemoryStore();
    const real = memoryDatastore(store);
    datastore = real;
    await real.apply(node('a', { ipv4Address: '10.0.0.1/24' }));
    await real.apply(node('b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'a', ['192.168.0.0/26']);
    await setAffinity(store, 'b', ['192.168.0.64/26']);
    // Node b is deleted just as the controller starts watching nodes.
    const racing = deletingAsWatchStarts(real, 'nodes.projectcalico.org', 'b');
    const table = new MemoryRouteTable();
    controller = new RouteController({ datastore: racing, nodeName: 'a', routing: 'direct', table, resyncMs: 0 });
    await controller.start();
    // b's block is still affine to it, but b has no address any more: no route to it.
    expect(table.show()).toEqual(['192.168.0.0/26 blackhole proto 116']);
  });

  it('reports a route the kernel refuses and writes it once a later change makes it possible', async () => {
    const store = new MemoryStore();
    datastore = memoryDatastore(store);
    await datastore.apply(node('b', { ipv4Address: '10.9.0.2/24' }));
    await setAffinity(store, 'b', ['192.168.0.64/26']);
    const table = new MemoryRouteTable();
    table.unreachable.add('192.168.0.64/26');
    controller = new RouteController({ datastore, nodeName: 'a', routing: 'direct', table, resyncMs: 0 });
    await controller.start();
    expect(controller.status().problems).toEqual([{ dst: '192.168.0.64/26', error: 'replaceRoute 192.168.0.64/26 via 10.9.0.2: ENETUNREACH' }]);
    table.unreachable.clear();
    await controller.resync();
    expect(controller.status()).toEqual({ routes: [{ dst: '192.168.0.64/26', type: 'unicast', gateway: '10.9.0.2' }], problems: [] });
  });

  it('with BGP routing writes no routes to other nodes, and a stopped controller leaves its routes', async () => {
    const store = new MemoryStore();
    datastore = memoryDatastore(store);
    await datastore.apply(node('b', { ipv4Address: '10.0.0.2/24' }));
    await setAffinity(store, 'a', ['192.168.0.0/26']);
    await setAffinity(store, 'b', ['192.168.0.64/26']);
    const table = new MemoryRouteTable();
    controller = new RouteController({ datastore, nodeName: 'a', routing: 'bgp', table, resyncMs: 0 });
    await controller.start();
    await controller.stop();
    expect(controller.ready()).toBe(false);
    expect(table.show()).toEqual(['192.168.0.0/26 blackhole proto 116']);
  });
});
