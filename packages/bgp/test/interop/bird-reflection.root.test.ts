// Route reflection (RFC 4456) with twill as the reflector of two BIRD 2 clients, all in
// AS 65001: a route from client 1 reaches client 2 with ORIGINATOR_ID and CLUSTER_LIST,
// its next hop unchanged; routes that looped (our ORIGINATOR_ID or CLUSTER_ID) are dropped.
import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { type BgpSpeaker, asn } from '@twill/bgp';

import { type Bird, startBird } from './bird.js';
import { until } from './daemon.js';
import { installed, linkDaemon, removeDir, tempDir, twillSpeaker } from './topology.js';

const reason = rootSkipReason();
describe.skipIf(reason)(`route reflection with BIRD 2 clients as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const dirs: string[] = [];
  let speaker: BgpSpeaker | undefined;
  const birds: Bird[] = [];
  afterEach(async () => {
    await speaker?.stop();
    speaker = undefined;
    for (const b of birds.splice(0)) await b.stop();
    for (const d of dirs.splice(0)) removeDir(d);
    scratch.cleanup();
  });

  it('reflects a route from one client to the other, and drops looped routes', async () => {
    const twillNs = scratch.netns();
    const one = linkDaemon(scratch, twillNs, 1);
    const two = linkDaemon(scratch, twillNs, 2);
    const clusterId = one.link.twill.v4; // twill's router id
    const client = async (ns: typeof one.ns, link: typeof one.link, announce: string[], exportFilter?: string): Promise<Bird> => {
      const dir = tempDir();
      dirs.push(dir);
      const b = await startBird({
        ns,
        dir,
        routerId: link.daemon.v4,
        asn: 65001,
        neighbors: [{ address: link.twill.v4, localAddress: link.daemon.v4, asn: 65001 }],
        announce,
      }, () => (exportFilter === undefined ? {} : { exportFilter }));
      birds.push(b);
      return b;
    };
    const c1 = await client(one.ns, one.link, ['192.0.2.0/24']);
    // Client 2 also sends two routes that claim to have passed through twill already.
    const c2 = await client(two.ns, two.link, ['198.51.100.0/24', '203.0.113.0/24', '203.0.113.128/25'], `
      if net = 203.0.113.0/24 then bgp_originator_id = ${clusterId};
      if net = 203.0.113.128/25 then bgp_cluster_list.add(${clusterId});
      if source = RTS_STATIC then accept; reject;`);

    const made = twillSpeaker(twillNs, { localAs: 65001, routerId: clusterId });
    speaker = made.speaker;
    for (const link of [one.link, two.link]) {
      speaker.addPeer({ address: link.daemon.v4, asn: asn(65001), holdTime: 9, connectRetryTime: 1, idleHold: { initial: 1, max: 2 }, routeReflectorClient: true });
    }
    await speaker.start();
    const s = speaker;

    // Client 1's route at client 2: reflected with ORIGINATOR_ID = client 1, CLUSTER_LIST = twill, next hop client 1.
    await until("client 1's route at client 2", () => c2.routesFrom(two.link.twill.v4, 4).has('192.0.2.0/24'));
    const reflected = c2.routesFrom(two.link.twill.v4, 4).get('192.0.2.0/24');
    expect(reflected?.nextHop).toBe(one.link.daemon.v4);
    expect(reflected?.detail).toMatch(new RegExp(`BGP.originator_id: ${one.link.daemon.v4.replace(/\./g, '\\.')}\\n`));
    expect(reflected?.detail).toMatch(new RegExp(`BGP.cluster_list: ${clusterId.replace(/\./g, '\\.')}\\n`));
    // And the other way; never back to the client it came from.
    await until("client 2's route at client 1", () => c1.routesFrom(one.link.twill.v4, 4).has('198.51.100.0/24'));
    expect(c1.routesFrom(one.link.twill.v4, 4).has('192.0.2.0/24')).toBe(false);

    // Loop prevention (RFC 4456 §8): the two routes carrying twill's ids stay out.
    await until('the looped routes counted as filtered', () => s.peers()[1]?.filteredPrefixes === 2);
    expect([...installed(made.fib.batches).keys()].sort()).toEqual(['192.0.2.0/24', '198.51.100.0/24']);
    expect([...c1.routesFrom(one.link.twill.v4, 4).keys()]).toEqual(['198.51.100.0/24']);
  }, 40_000);
});
