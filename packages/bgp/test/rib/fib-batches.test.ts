// What the FibSink is given when several changes to one prefix fall between two flushes:
// only the difference between the FIB state before the first change and after the
// last one, whatever order the paths came and went in.
import { type FibBatch, prefixToText } from '@twill/bgp';
import { describe, expect, it } from 'vitest';

import { announce, makeRib, path, peer, withdraw } from './helpers.js';

function summary(batches: readonly FibBatch[]): string[] {
  return batches.flatMap((b) => [...b.remove.map((p) => `-${prefixToText(p)}`), ...b.add.map((r) => `+${prefixToText(r.prefix)} via ${r.nextHops.join(',')}`)]);
}

describe('Rib.flush FIB batches', () => {
  const a = peer('192.0.2.1', 65001);
  const b = peer('192.0.2.2', 65002);

  function twoPeers(): ReturnType<typeof makeRib> {
    const made = makeRib();
    made.rib.peerUp(a);
    made.rib.peerUp(b);
    return made;
  }

  it('pushes nothing for a prefix announced and withdrawn within one batch', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    expect(rib.flush()).toMatchObject({ fibAdded: 0, fibRemoved: 0 });
    expect(fib.batches).toEqual([]);
  });

  it('pushes nothing for a route withdrawn and announced again unchanged within one batch', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.flush();
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    expect(rib.flush()).toMatchObject({ fibAdded: 0, fibRemoved: 0 });
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.1']);
  });

  it('replaces the route once when the best path goes and another takes over', () => {
    const { rib, fib } = twoPeers();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(b.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002, 65009) }));
    rib.flush();
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    rib.receive(b.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002) }));
    rib.flush();
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.1', '+10.1.0.0/24 via 192.0.2.2']);
  });

  it('removes the route when the last path goes after a better one arrived in the same batch', () => {
    const { rib, fib } = twoPeers();
    rib.receive(b.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.2', asPath: path(65002, 65009) }));
    rib.flush();
    rib.receive(a.id, announce(['10.1.0.0/24'], { nextHop: '192.0.2.1', asPath: path(65001) }));
    rib.receive(b.id, withdraw(['10.1.0.0/24']));
    rib.receive(a.id, withdraw(['10.1.0.0/24']));
    rib.flush();
    expect(summary(fib.batches)).toEqual(['+10.1.0.0/24 via 192.0.2.2', '-10.1.0.0/24']);
    expect(rib.size).toBe(0);
  });

  it('splits a large change into batches of fibBatchSize routes', () => {
    const { rib, fib } = makeRib({});
    rib.peerUp(a);
    const prefixes = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 8}.${i & 0xff}.0/24`);
    rib.receive(a.id, announce(prefixes, { nextHop: '192.0.2.1', asPath: path(65001) }));
    expect(rib.flush().fibAdded).toBe(20_000);
    expect(fib.batches.map((x) => x.add.length)).toEqual([8192, 8192, 3616]);
  });
});
