// What `twill bgp` prints, from the agent's answers: sessions with uptime and last error
// in words, paths with the best marked `*` (golden), and durations in words.

import { describe, expect, it } from 'vitest';

import { type BgpRouteView, type BgpStatus } from '../../src/client/index.js';
import { peerLine, renderPeers, renderRoutes } from '../../src/bgp/render.js';
import { durationWords, relativeWords } from '../../src/duration.js';

const STATUS: BgpStatus = {
  localAs: 64512,
  routerId: '192.0.2.10',
  peers: [
    { address: '192.0.2.11', asn: 64512, state: 'Established', uptimeSeconds: 7_523, receivedPrefixes: 3, stalePrefixes: 0, advertisedPrefixes: 2, lastError: null, lastDown: null },
    { address: '192.0.2.12', asn: 64512, state: 'Established', uptimeSeconds: 4, receivedPrefixes: 5, stalePrefixes: 2, advertisedPrefixes: 2, lastError: 'peer 192.0.2.12 restarted (graceful restart)' },
    { address: '198.51.100.1', asn: 65001, state: 'Active', receivedPrefixes: 0, advertisedPrefixes: 0, lastError: 'no answer from peer 198.51.100.1 port 179 within 2 s (3 attempts)' },
  ],
  problems: [{ peer: 'tor-2', reason: 'spec.peerIP: "10.0.0.300" is not an IP address' }],
  originated: ['10.244.0.0/26', '10.244.0.64/26'],
  fibProblems: [{ dst: '10.244.1.0/26', error: 'ENETUNREACH: no route to the next hop 198.51.100.7' }],
};

const route = (r: Partial<BgpRouteView> & Pick<BgpRouteView, 'prefix' | 'from' | 'nextHop'>): BgpRouteView => ({
  best: false, asPath: [], origin: 'igp', communities: [], largeCommunities: [], stale: false, ...r,
});

const ROUTES: BgpRouteView[] = [
  route({ prefix: '10.244.0.0/26', best: true, from: 'local', nextHop: '192.0.2.10', origin: 'igp' }),
  route({ prefix: '10.244.1.0/26', best: true, from: '192.0.2.11', nextHop: '192.0.2.11', localPref: 100 }),
  route({ prefix: '10.244.1.0/26', from: '198.51.100.1', nextHop: '198.51.100.1', asPath: [65001, 65002], origin: 'egp', med: 20, communities: ['65001:1', '65001:2'], largeCommunities: ['65001:1:2'] }),
  route({ prefix: '10.244.2.0/26', best: true, from: '192.0.2.12', nextHop: '192.0.2.12', origin: 'incomplete', stale: true }),
];

describe('bgp peers', () => {
  it('identity, one row per session, then unusable BGPPeers, originated prefixes and refused routes', async () => {
    await expect(renderPeers(STATUS)).toMatchFileSnapshot('golden/peers.txt');
  });

  it('a node with no peers and no speaker identity yet says so', () => {
    expect(renderPeers({ localAs: null, routerId: null, peers: [], problems: [], originated: [], fibProblems: [] })).toBe('local AS -, router id -\nno BGP peers\n');
  });
});

describe('one session on a line (describe bgppeer)', () => {
  it('the words of the peers table: uptime in words, stale prefixes, the last error or -', () => {
    expect(STATUS.peers.map(peerLine)).toEqual([
      '192.0.2.11 AS 64512: Established for 2 hours 5 minutes, 3 received, 2 advertised; last error: -',
      '192.0.2.12 AS 64512: Established for 4 seconds, 5 (2 stale) received, 2 advertised; last error: peer 192.0.2.12 restarted (graceful restart)',
      '198.51.100.1 AS 65001: Active, 0 received, 0 advertised; last error: no answer from peer 198.51.100.1 port 179 within 2 s (3 attempts)',
    ]);
  });
});

describe('bgp routes', () => {
  it('the best path per prefix marked *, AS path and origin as BIRD names them, stale paths marked', async () => {
    await expect(renderRoutes(ROUTES, false)).toMatchFileSnapshot('golden/routes.txt');
  });

  it('wide adds local preference, MED and communities', async () => {
    await expect(renderRoutes(ROUTES, true)).toMatchFileSnapshot('golden/routes-wide.txt');
  });

  it('no paths is a line', () => {
    expect(renderRoutes([], false)).toBe('no routes\n');
  });
});

describe('durations in words', () => {
  it('to the two largest units, singular when one', () => {
    expect(durationWords(0)).toBe('0 seconds');
    expect(durationWords(1)).toBe('1 second');
    expect(durationWords(59.9)).toBe('59 seconds');
    expect(durationWords(61)).toBe('1 minute 1 second');
    expect(durationWords(3_600)).toBe('1 hour');
    expect(durationWords(7_523)).toBe('2 hours 5 minutes');
    expect(durationWords(86_400 * 3 + 5)).toBe('3 days');
    expect(durationWords(-5)).toBe('0 seconds');
  });

  it('relative to now, past and future', () => {
    expect(relativeWords(0, 300_000)).toBe('5 minutes ago');
    expect(relativeWords(20_000, 0)).toBe('in 20 seconds');
    expect(relativeWords(1_000, 1_200)).toBe('now');
  });
});
