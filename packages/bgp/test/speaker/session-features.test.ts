// ROUTE-REFRESH requests (RFC 2918), the diagnosis of connection attempts that get no
// answer (as with a wrong TCP MD5 password), TTL options (multihop, RFC 5082), and the
// socket port's refusal to connect without a way to set the key or the TTL.
import { describe, expect, it } from 'vitest';

import { type SpeakerTransport, BgpInvalidArgument, BgpSpeaker, CollectingFibSink, asn, createTcpTransport, routerId, ttlOptions } from '@twill/bgp';

import { ManualClock, MemoryNetwork } from './helpers.js';

async function pair(options: { bRouteRefresh?: boolean } = {}): Promise<{ clock: ManualClock; a: BgpSpeaker; b: BgpSpeaker }> {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: net.transport('10.0.0.1'), clock });
  const b = new BgpSpeaker({
    localAs: asn(65002),
    routerId: routerId('10.0.0.2'),
    fib: new CollectingFibSink(),
    transport: net.transport('10.0.0.2'),
    clock,
    ...(options.bRouteRefresh === false ? { capabilities: [{ kind: 'multiprotocol' as const, afi: 1, safi: 1 }] } : {}),
  });
  a.addPeer({ address: '10.0.0.2', asn: asn(65002) });
  b.addPeer({ address: '10.0.0.1', asn: asn(65001), passive: true });
  b.originate('10.244.2.0/26');
  b.originate('10.244.3.0/26');
  await b.start();
  await a.start();
  await clock.advance(100);
  return { clock, a, b };
}

/** A transport whose connections are never answered, like SYNs dropped by the peer's kernel. */
function unansweredTransport(): SpeakerTransport {
  return {
    connect: () => ({ localAddress: undefined, write: () => undefined, close: () => undefined }),
    close: async () => undefined,
  };
}

describe('route refresh', () => {
  it("asks the peer for its routes again and the peer re-sends its Adj-RIB-Out", async () => {
    const { clock, a } = await pair();
    const before = a.peers()[0];
    expect(before?.receivedPrefixes).toBe(2);
    a.requestRefresh('10.0.0.2');
    await clock.advance(100);
    // Both routes share their attributes: one UPDATE, nothing else changes.
    expect(a.peers()[0]?.updatesReceived).toBe((before?.updatesReceived ?? 0) + 1);
    expect(a.peers()[0]).toMatchObject({ state: 'Established', receivedPrefixes: 2, lastDown: undefined });
  });

  it.each([
    ['an unknown peer', '10.0.0.9', {}, 'peer 10.0.0.9 is not configured'],
    ['a peer without the capability', '10.0.0.2', { bRouteRefresh: false }, 'peer 10.0.0.2 did not announce the route refresh capability (RFC 2918)'],
  ])('refuses %s', async (_what, address, options, message) => {
    const { a } = await pair(options);
    expect(() => a.requestRefresh(address)).toThrow(new BgpInvalidArgument(message));
  });

  it('refuses a peer that is not Established', async () => {
    const clock = new ManualClock();
    const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: unansweredTransport(), clock });
    a.addPeer({ address: '10.0.0.2', asn: asn(65002) });
    await a.start();
    expect(() => a.requestRefresh('10.0.0.2')).toThrow(new BgpInvalidArgument('peer 10.0.0.2 is Connect, not Established: nothing to refresh'));
  });
});

describe('connection attempts without an answer', () => {
  it.each([
    [
      'with TCP MD5',
      { md5Password: 'secret' },
      "no answer from peer 10.0.0.2 port 179 within 2 s (2 attempts): TCP MD5 is configured, and a wrong password (or none on the peer) looks exactly like this: the peer's kernel drops the segments without a reply",
    ],
    ['without', {}, 'no answer from peer 10.0.0.2 port 179 within 2 s (2 attempts): the peer is down, unreachable, filtered, or expects a TCP MD5 password or TTL security'],
  ])('are explained, %s', async (_what, extra, text) => {
    const clock = new ManualClock();
    const a = new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport: unansweredTransport(), clock });
    a.addPeer({ address: '10.0.0.2', asn: asn(65002), connectRetryTime: 2, ...extra });
    await a.start();
    await clock.advance(1900);
    expect(a.peers()[0]?.lastError).toBeUndefined();
    await clock.advance(2200);
    expect(a.peers()[0]).toMatchObject({ state: 'Connect', lastError: text, lastDown: undefined });
  });
});

describe('TTL options', () => {
  it.each([
    ['nothing', {}, {}],
    ['multihop 3', { multihop: 3 }, { ttl: 3 }],
    ['TTL security, directly connected', { ttlSecurity: { hops: 1 } }, { ttl: 255, minTtl: 255 }],
    ['TTL security, 2 hops', { ttlSecurity: { hops: 2 } }, { ttl: 255, minTtl: 254 }],
  ])('%s', (_what, config, expected) => {
    expect(ttlOptions({ address: '10.0.0.2', ...config })).toEqual(expected);
  });

  it.each([
    [{ multihop: 0 }, 'peer 10.0.0.2: a hop count of 0 is not within 1..255'],
    [{ multihop: 256 }, 'peer 10.0.0.2: a hop count of 256 is not within 1..255'],
    [{ ttlSecurity: { hops: 1.5 } }, 'peer 10.0.0.2: a hop count of 1.5 is not within 1..255'],
    [{ multihop: 2, ttlSecurity: { hops: 1 } }, 'peer 10.0.0.2: multihop and ttlSecurity exclude each other (TTL security sends 255)'],
  ])('refuses %j', (config, message) => {
    expect(() => ttlOptions({ address: '10.0.0.2', ...config })).toThrow(new BgpInvalidArgument(message));
  });
});

describe('the TCP transport', () => {
  it('refuses to connect with a TCP MD5 password but no socketFactory to set it', () => {
    const events = { onConnect: () => undefined, onData: () => undefined, onClose: () => undefined };
    expect(() => createTcpTransport().connect({ address: '192.0.2.1', port: 179, md5Password: 'secret' }, events)).toThrow(
      new BgpInvalidArgument('peer 192.0.2.1 has a TCP MD5 password, but the transport has no socketFactory to set it (use setTcpMd5 from @twill/sys)'),
    );
    expect(() => createTcpTransport().connect({ address: '192.0.2.1', port: 179, ttl: 255, minTtl: 255 }, events)).toThrow(
      new BgpInvalidArgument("peer 192.0.2.1 has multihop or TTL security, but the transport has no socketFactory to set the socket's TTL"),
    );
  });
});
