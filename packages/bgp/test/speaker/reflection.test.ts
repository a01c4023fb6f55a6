// A speaker as route reflector (RFC 4456) of two clients in one AS, back to back in
// memory: the CLUSTER_ID it puts in CLUSTER_LIST is the configured one (reflectors of one
// cluster share it), else its router id; a route carrying its CLUSTER_ID is a loop.
import { describe, expect, it } from 'vitest';

import { BgpSpeaker, CollectingFibSink, asn, parsePrefix, routerId } from '@twill/bgp';

import { ManualClock, MemoryNetwork } from './helpers.js';

/** Reflector 10.0.0.1 with clients 10.0.0.2 and 10.0.0.3, all AS 65000; the clients do not peer with each other. */
async function triangle(clusterId?: string): Promise<{ clock: ManualClock; reflector: BgpSpeaker; two: BgpSpeaker; three: BgpSpeaker }> {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const speaker = (address: string, extra: { clusterId?: string } = {}): BgpSpeaker =>
    new BgpSpeaker({
      localAs: asn(65000),
      routerId: routerId(address),
      ...(extra.clusterId === undefined ? {} : { clusterId: routerId(extra.clusterId) }),
      fib: new CollectingFibSink(),
      transport: net.transport(address),
      clock,
    });
  const reflector = speaker('10.0.0.1', clusterId === undefined ? {} : { clusterId });
  const two = speaker('10.0.0.2');
  const three = speaker('10.0.0.3');
  for (const client of ['10.0.0.2', '10.0.0.3']) reflector.addPeer({ address: client, asn: asn(65000), routeReflectorClient: true, passive: true });
  two.addPeer({ address: '10.0.0.1', asn: asn(65000) });
  three.addPeer({ address: '10.0.0.1', asn: asn(65000) });
  await reflector.start();
  await two.start();
  await three.start();
  await clock.advance(100);
  return { clock, reflector, two, three };
}

describe('BgpSpeaker as route reflector', () => {
  it('reflects a client\'s route to the other client with the configured CLUSTER_ID and the client as ORIGINATOR_ID', async () => {
    const { clock, reflector, two, three } = await triangle('10.255.0.1');
    expect(reflector.peers().map((p) => p.state)).toEqual(['Established', 'Established']);
    two.originate('10.244.2.0/26');
    await clock.advance(100);
    const best = three.rib.best(parsePrefix('10.244.2.0/26'));
    expect(best?.attributes.clusterList).toEqual(['10.255.0.1']);
    expect(best?.attributes.originatorId).toBe('10.0.0.2');
    // Reflected, not re-originated: the next hop stays the client's (RFC 4456 §10).
    expect(best?.attributes.nextHop).toBe('10.0.0.2');
  });

  it('uses its router id as CLUSTER_ID when none is configured', async () => {
    const { clock, two, three } = await triangle();
    two.originate('10.244.2.0/26');
    await clock.advance(100);
    expect(three.rib.best(parsePrefix('10.244.2.0/26'))?.attributes.clusterList).toEqual(['10.0.0.1']);
  });
});
