// A peer's password and TTL settings reach the transport when the peer is configured,
// not only when this speaker connects: a peer that connects to us must find its TCP MD5
// key on the listener. And an unanswered peer with TTL security is explained as such.
import { type Server } from 'node:net';

import { describe, expect, it } from 'vitest';

import { type PeerSocketOptions, type SpeakerTransport, BgpInvalidArgument, BgpSpeaker, CollectingFibSink, asn, createTcpTransport, routerId } from '@twill/bgp';

import { ManualClock } from './helpers.js';

/** Records what the speaker tells its transport about peers; connections never answer. */
function recordingTransport(calls: string[]): SpeakerTransport {
  return {
    connect: () => ({ localAddress: undefined, write: () => undefined, close: () => undefined }),
    listen: () => Promise.resolve(),
    close: () => Promise.resolve(),
    addPeer: (peer) => void calls.push(`add ${JSON.stringify(peer)}`),
    removePeer: (address) => void calls.push(`remove ${address}`),
  };
}

function speaker(transport: SpeakerTransport, clock = new ManualClock()): BgpSpeaker {
  return new BgpSpeaker({ localAs: asn(65001), routerId: routerId('10.0.0.1'), fib: new CollectingFibSink(), transport, clock });
}

describe('peer socket options', () => {
  it('gives the transport each peer\'s password and TTL settings when it is added, and its address when removed', async () => {
    const calls: string[] = [];
    const s = speaker(recordingTransport(calls));
    s.addPeer({ address: '10.0.0.2', asn: asn(65002), md5Password: 'secret', ttlSecurity: { hops: 1 } });
    s.addPeer({ address: '10.0.0.3', asn: asn(65003), multihop: 3 });
    s.addPeer({ address: '10.0.0.4', asn: asn(65004) });
    await s.removePeer('10.0.0.2');
    expect(calls).toEqual([
      'add {"address":"10.0.0.2","md5Password":"secret","ttl":255,"minTtl":255}',
      'add {"address":"10.0.0.3","ttl":3}',
      'add {"address":"10.0.0.4"}',
      'remove 10.0.0.2',
    ]);
  });

  it('leaves no peer behind when the transport refuses its options', () => {
    const s = speaker({
      ...recordingTransport([]),
      addPeer: () => {
        throw new BgpInvalidArgument('no TTL here');
      },
    });
    expect(() => s.addPeer({ address: '10.0.0.2', asn: asn(65002), ttlSecurity: { hops: 1 } })).toThrow('no TTL here');
    expect(s.peers()).toEqual([]);
  });

  it('explains an unanswered peer with TTL security', async () => {
    const clock = new ManualClock();
    const s = speaker(recordingTransport([]), clock);
    s.addPeer({ address: '10.0.0.2', asn: asn(65002), connectRetryTime: 2, ttlSecurity: { hops: 2 } });
    await s.start();
    await clock.advance(4100);
    expect(s.peers()[0]).toMatchObject({
      state: 'Connect',
      lastError:
        'no answer from peer 10.0.0.2 port 179 within 2 s (2 attempts): TTL security is configured, so this node drops the peer\'s packets unless they arrive with TTL 254 or more; a peer without TTL security (BIRD: `ttl security on`) sends less and looks exactly like this',
    });
  });
});

/** Connections that open at once and swallow what is written: the peer never sends anything. */
function deafTransport(): SpeakerTransport {
  return {
    connect: (_target, events) => {
      queueMicrotask(() => events.onConnect());
      return { localAddress: '10.0.0.1', write: () => undefined, close: () => undefined };
    },
    close: () => Promise.resolve(),
  };
}

describe('a session waiting for the peer\'s OPEN', () => {
  it.each([
    [
      'with TTL security',
      { ttlSecurity: { hops: 1 } },
      "connected to peer 10.0.0.2 10 s ago and sent our OPEN, but no OPEN came back: TTL security is configured, so this node drops the peer's packets unless they arrive with TTL 255 or more; a peer without TTL security (BIRD: `ttl security on`) sends less",
    ],
    ['without', {}, 'connected to peer 10.0.0.2 10 s ago and sent our OPEN, but no OPEN came back: the peer may not want this session (its neighbor address or AS for this node), or its packets are lost on the way back'],
  ])('is explained after 10 s, %s', async (_what, extra, text) => {
    const clock = new ManualClock();
    const s = speaker(deafTransport(), clock);
    s.addPeer({ address: '10.0.0.2', asn: asn(65002), ...extra });
    await s.start();
    await clock.advance(9_000);
    expect(s.peers()[0]).toMatchObject({ state: 'OpenSent', lastError: undefined });
    await clock.advance(1_000);
    expect(s.peers()[0]).toMatchObject({ state: 'OpenSent', lastError: text });
  });
});

describe('the TCP transport\'s listener port', () => {
  it('refuses a peer with a password or TTL settings when it listens without a configureListener', () => {
    const transport = createTcpTransport({ listen: { host: '127.0.0.1', port: 0 } });
    expect(() => transport.addPeer?.({ address: '10.0.0.2', md5Password: 'secret' })).toThrow(
      new BgpInvalidArgument('peer 10.0.0.2 has a TCP MD5 password or TTL settings, but the transport has no configureListener to set them on the listener'),
    );
    // A plain peer needs nothing from the listener.
    expect(() => transport.addPeer?.({ address: '10.0.0.3' })).not.toThrow();
  });

  it('sets up the listener for the peers added before it listens, then for each added or removed', async () => {
    const seen: string[] = [];
    let listener: Server | undefined;
    const transport = createTcpTransport({
      listen: { host: '127.0.0.1', port: 0 },
      configureListener: (server, peer: PeerSocketOptions, removed) => {
        listener ??= server;
        expect(server).toBe(listener);
        expect(server.listening).toBe(true);
        seen.push(`${removed ? 'remove' : 'add'} ${peer.address} ${peer.md5Password ?? '-'}`);
      },
    });
    transport.addPeer?.({ address: '10.0.0.2', md5Password: 'a' });
    expect(seen).toEqual([]);
    await transport.listen?.(() => undefined);
    transport.addPeer?.({ address: '10.0.0.3', md5Password: 'b', ttl: 255, minTtl: 255 });
    transport.removePeer?.('10.0.0.2');
    transport.removePeer?.('10.0.0.9');
    await transport.close();
    // After close, nothing reaches a listener that is gone.
    transport.removePeer?.('10.0.0.3');
    expect(seen).toEqual(['add 10.0.0.2 a', 'add 10.0.0.3 b', 'remove 10.0.0.2 a']);
  });
});
