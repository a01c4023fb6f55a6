import { fibBatch, parsePrefix } from '@twill/bgp';
import { describe, expect, it } from 'vitest';

import { KernelFibSink } from '../../../src/agent/controllers/route-fib.js';
import { RTPROT_BGP } from '../../../src/agent/controllers/route-model.js';

import { MemoryRouteTable } from './route-fixtures.js';

const route = (prefix: string, nextHop: string): { prefix: ReturnType<typeof parsePrefix>; nextHops: string[] } => ({ prefix: parsePrefix(prefix), nextHops: [nextHop] });

describe('KernelFibSink', () => {
  it('writes best routes via their next hop with protocol bgp, the last change of a prefix winning', async () => {
    const table = new MemoryRouteTable();
    const sink = new KernelFibSink({ table });
    sink.apply(fibBatch([route('10.1.0.0/26', '10.0.0.2'), route('10.2.0.0/26', '10.0.0.2')]));
    sink.apply(fibBatch([route('10.1.0.0/26', '10.0.0.3')], [parsePrefix('10.2.0.0/26')]));
    sink.apply(fibBatch([route('fd10::/122', 'fd00::2')]));
    await sink.flushed();
    expect(table.show()).toEqual(['10.1.0.0/26 unicast via 10.0.0.3 proto 186', 'fd10::/122 unicast via fd00::2 proto 186']);
    // The first batch may be written before the second arrives; a prefix added and removed
    // before any write is never written at all.
    expect(table.writes.filter((w) => w.startsWith('replace 10.2.0.0/26')).length).toBeLessThanOrEqual(1);
  });

  it('adopts the kernel\'s bgp routes, leaves those given again untouched, and sweeps the rest', async () => {
    const table = new MemoryRouteTable([
      { dst: '10.1.0.0/26', type: 'unicast', gateway: '10.0.0.2', protocol: RTPROT_BGP },
      { dst: '10.2.0.0/26', type: 'unicast', gateway: '10.0.0.2', protocol: RTPROT_BGP },
      { dst: '10.3.0.0/26', type: 'unicast', gateway: '10.0.0.9', protocol: 3 },
    ]);
    const sink = new KernelFibSink({ table });
    expect(await sink.adopt()).toBe(2);
    expect(sink.adoptedCount()).toBe(2);
    sink.apply(fibBatch([route('10.1.0.0/26', '10.0.0.2')]));
    await sink.flushed();
    expect(table.writes).toEqual([]);
    expect(sink.adoptedCount()).toBe(1);
    expect(await sink.sweep()).toBe(1);
    expect(table.show()).toEqual(['10.1.0.0/26 unicast via 10.0.0.2 proto 186', '10.3.0.0/26 unicast via 10.0.0.9 proto 3']);
  });

  it('re-adopts everything for a replaced speaker', async () => {
    const table = new MemoryRouteTable();
    const sink = new KernelFibSink({ table });
    sink.apply(fibBatch([route('10.1.0.0/26', '10.0.0.2'), route('10.2.0.0/26', '10.0.0.2')]));
    sink.readoptAll();
    sink.apply(fibBatch([route('10.2.0.0/26', '10.0.0.2')]));
    await sink.sweep();
    expect(table.show()).toEqual(['10.2.0.0/26 unicast via 10.0.0.2 proto 186']);
  });

  it('reports a route the kernel refuses and retries it when given again', async () => {
    const table = new MemoryRouteTable();
    table.unreachable.add('10.1.0.0/26');
    const sink = new KernelFibSink({ table });
    sink.apply(fibBatch([route('10.1.0.0/26', '192.0.2.1')]));
    await sink.flushed();
    expect(sink.problems()).toEqual([{ dst: '10.1.0.0/26', error: 'replaceRoute 10.1.0.0/26 via 192.0.2.1: ENETUNREACH' }]);
    table.unreachable.clear();
    sink.apply(fibBatch([route('10.1.0.0/26', '192.0.2.1')]));
    await sink.flushed();
    expect(sink.problems()).toEqual([]);
    expect(table.show()).toEqual(['10.1.0.0/26 unicast via 192.0.2.1 proto 186']);
  });
});
