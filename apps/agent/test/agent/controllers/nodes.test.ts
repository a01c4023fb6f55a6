import { afterEach, describe, expect, it } from 'vitest';

import { NodeController } from '../../../src/agent/controllers/nodes.js';
import { type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';

import { memoryDatastore, node, until } from './route-fixtures.js';

const KIND = 'nodes.projectcalico.org';

describe('NodeController', () => {
  let datastore: ClosableResourceDatastore | undefined;
  let controller: NodeController | undefined;

  afterEach(async () => {
    await controller?.stop();
    await datastore?.close();
    controller = undefined;
    datastore = undefined;
  });

  it('registers this node with its BGP addresses and AS', async () => {
    datastore = memoryDatastore();
    controller = new NodeController({ datastore, nodeName: 'node-1', addresses: { ipv4: '10.0.0.1/24', ipv6: 'fd00::1/64' }, asNumber: 65001 });
    await controller.start();
    expect(controller.ready()).toBe(true);
    const stored = await datastore.get(KIND, 'node-1');
    expect(stored?.kind).toBe('Node');
    expect(stored?.['spec']).toEqual({ bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64', asNumber: 65001 } });
  });

  it('keeps labels and fields the configuration does not set, and writes nothing when all is already right', async () => {
    datastore = memoryDatastore();
    await datastore.apply(node('node-1', { ipv4Address: '10.0.0.9/24', asNumber: 65009 }, { rack: 'r1' }));
    controller = new NodeController({ datastore, nodeName: 'node-1', addresses: { ipv4: '10.0.0.1/24' } });
    await controller.start();
    const stored = await datastore.get(KIND, 'node-1');
    expect(stored?.metadata.labels).toEqual({ rack: 'r1' });
    expect(stored?.['spec']).toEqual({ bgp: { ipv4Address: '10.0.0.1/24', asNumber: 65009 } });
    await controller.stop();

    const version = stored?.metadata.resourceVersion;
    controller = new NodeController({ datastore, nodeName: 'node-1', addresses: { ipv4: '10.0.0.1/24' } });
    await controller.start();
    expect((await datastore.get(KIND, 'node-1'))?.metadata.resourceVersion).toBe(version);
  });

  it('restores the resource when it is deleted or its address changed, and leaves other nodes alone', async () => {
    datastore = memoryDatastore();
    controller = new NodeController({ datastore, nodeName: 'node-1', addresses: { ipv4: '10.0.0.1/24' } });
    await controller.start();
    await datastore.apply(node('node-2', { ipv4Address: '10.0.0.2/24' }));
    await datastore.delete(KIND, 'node-1');
    const ds = datastore;
    await until('node-1 back', () => ds.get(KIND, 'node-1'), (r) => r !== undefined);
    await ds.apply(node('node-1', { ipv4Address: '10.0.0.7/24' }, { zone: 'a' }));
    const restored = await until(
      'node-1 address restored',
      () => ds.get(KIND, 'node-1'),
      (r) => (r?.['spec'] as { bgp: { ipv4Address: string } } | undefined)?.bgp.ipv4Address === '10.0.0.1/24',
    );
    expect(restored?.metadata.labels).toEqual({ zone: 'a' });
    expect((await ds.get(KIND, 'node-2'))?.['spec']).toEqual({ bgp: { ipv4Address: '10.0.0.2/24' } });
  });

  it('refuses an address the datastore does not accept, naming the field', async () => {
    datastore = memoryDatastore();
    controller = new NodeController({ datastore, nodeName: 'node-1', addresses: { ipv4: 'fd00::1/64' } });
    await expect(controller.start()).rejects.toThrow(/spec\.bgp\.ipv4Address/);
    expect(controller.ready()).toBe(false);
  });
});
