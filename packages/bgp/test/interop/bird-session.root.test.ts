// Session features with BIRD 2: TCP MD5 (RFC 2385) with the right and a wrong password,
// TTL security (RFC 5082), ROUTE-REFRESH both ways (RFC 2918), recovery after BIRD
// restarts with a per-peer source address, and the diagnosis strings of what BIRD really causes: a wrong AS in its OPEN
// and a peer that falls silent until the hold timer expires (the matrix covers a daemon
// that expects another AS).
import { afterEach, describe, expect, it } from 'vitest';

import { type ScratchNetns, NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { type BgpSpeaker, type SpeakerPeerConfig, asn } from '@twill/bgp';

import { type Bird, startBird } from './bird.js';
import { type DaemonNeighbor, until } from './daemon.js';
import { type Link, installed, linkDaemon, removeDir, tempDir, twillSpeaker } from './topology.js';

/** BIRD's count of UPDATEs received on a protocol (`Import updates:` row). */
function importUpdates(bird: Bird, protocol: string): number {
  const match = /Import updates:\s+(\d+)/.exec(bird.birdc('show', 'protocols', 'all', protocol));
  return Number(match?.[1] ?? Number.NaN);
}

const reason = rootSkipReason();
describe.skipIf(reason)(`twill's speaker and BIRD 2 sessions as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let dir: string | undefined;
  let speaker: BgpSpeaker | undefined;
  let bird: Bird | undefined;
  afterEach(async () => {
    await speaker?.stop();
    speaker = undefined;
    await bird?.stop();
    bird = undefined;
    removeDir(dir);
    dir = undefined;
    scratch.cleanup();
  });

  /** BIRD (AS 65002) announcing 192.0.2.0/24 to twill (AS 65001), and a twill speaker with one peer. */
  async function setUp(
    options: { neighbor?: Partial<DaemonNeighbor>; peer?: Partial<SpeakerPeerConfig>; twillAddress?: (twillNs: ScratchNetns, link: Link) => string } = {},
  ): Promise<{ link: Link; bird: Bird; speaker: BgpSpeaker; fib: ReturnType<typeof twillSpeaker>['fib']; warnings: string[] }> {
    const twillNs = scratch.netns();
    const { ns, link } = linkDaemon(scratch, twillNs, 1);
    const twillAddress = options.twillAddress?.(twillNs, link) ?? link.twill.v4;
    dir = tempDir();
    bird = await startBird({
      ns,
      dir,
      routerId: link.daemon.v4,
      asn: 65002,
      neighbors: [{ address: twillAddress, localAddress: link.daemon.v4, asn: 65001, ...options.neighbor }],
      announce: ['192.0.2.0/24'],
    });
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (_: object, message: string) => void warnings.push(message) };
    const made = twillSpeaker(twillNs, { localAs: 65001, routerId: link.twill.v4, logger });
    speaker = made.speaker;
    speaker.addPeer({ address: link.daemon.v4, asn: asn(65002), holdTime: 9, connectRetryTime: 1, idleHold: { initial: 1, max: 2 }, ...options.peer });
    speaker.originate('10.244.1.0/26');
    await speaker.start();
    return { link, bird, speaker, fib: made.fib, warnings };
  }

  it('establishes with the right TCP MD5 password', async () => {
    const { link, bird: b, speaker: s, fib } = await setUp({ neighbor: { password: 'twill-md5-secret' }, peer: { md5Password: 'twill-md5-secret' } });
    await until('Established', () => s.peers()[0]?.state === 'Established');
    await until("BIRD's route in the FibSink", () => installed(fib.batches).has('192.0.2.0/24'));
    await until('twill prefix at BIRD', () => b.routesFrom(link.twill.v4, 4).has('10.244.1.0/26'));
  }, 30_000);

  it('never establishes with a wrong TCP MD5 password, and says why', async () => {
    const { link, bird: b, speaker: s } = await setUp({ neighbor: { password: 'twill-md5-secret' }, peer: { md5Password: 'not-the-secret' } });
    // Each unanswered attempt is reported; wait for the second.
    await until('two unanswered attempts', () => /\(2 attempts\)/.test(s.peers()[0]?.lastError ?? ''));
    expect(s.peers()[0]?.state).toBe('Connect');
    expect(s.peers()[0]?.lastError).toBe(
      "no answer from peer 10.99.1.2 port 179 within 1 s (2 attempts): TCP MD5 is configured, and a wrong password (or none on the peer) looks exactly like this: the peer's kernel drops the segments without a reply",
    );
    expect(b.established(link.twill.v4)).toBe(false);
  }, 30_000);

  it('sends ROUTE-REFRESH and BIRD re-advertises; answers BIRD\'s ROUTE-REFRESH', async () => {
    const { link, bird: b, speaker: s, fib } = await setUp();
    await until("BIRD's route in the FibSink", () => installed(fib.batches).has('192.0.2.0/24'));
    await until('twill prefix at BIRD', () => b.routesFrom(link.twill.v4, 4).has('10.244.1.0/26'));

    // Twill asks: BIRD sends its route again (one more UPDATE at least), the session stays up
    // (a first connect may have been refused while BIRD was starting: that is lastDown already).
    const before = s.peers()[0]?.updatesReceived ?? 0;
    const downBefore = s.peers()[0]?.lastDown;
    s.requestRefresh(link.daemon.v4);
    await until('BIRD to re-advertise', () => (s.peers()[0]?.updatesReceived ?? 0) > before);
    expect(installed(fib.batches)).toEqual(new Map([['192.0.2.0/24', link.daemon.v4]]));

    // BIRD asks (`reload in`): twill sends its Adj-RIB-Out again.
    const protocol = 'n_10_99_1_1';
    const birdBefore = importUpdates(b, protocol);
    b.birdc('reload', 'in', protocol);
    await until('twill to re-advertise', () => importUpdates(b, protocol) > birdBefore);
    expect(b.routesFrom(link.twill.v4, 4).get('10.244.1.0/26')?.nextHop).toBe(link.twill.v4);
    expect(s.peers()[0]).toMatchObject({ state: 'Established', lastDown: downBefore });
  }, 30_000);

  it('comes back after BIRD restarts, from its configured source address', async () => {
    const { bird: b, speaker: s, fib, warnings } = await setUp({
      // A second address on twill's side: BIRD accepts the session from it only.
      twillAddress: (twillNs, link) => {
        scratch.ip(twillNs, 'addr', 'add', '10.99.1.11/24', 'dev', link.twillDevice);
        return '10.99.1.11';
      },
      peer: { localAddress: '10.99.1.11' },
    });
    await until("BIRD's route in the FibSink", () => installed(fib.batches).has('192.0.2.0/24'));
    await until('twill prefix at BIRD, next hop the source address', () => b.routesFrom('10.99.1.11', 4).get('10.244.1.0/26')?.nextHop === '10.99.1.11');

    // Warnings before the stop (a connect refused while BIRD was still starting) are not this one's.
    const logged = warnings.length;
    await b.stop();
    await until('the session down and its route gone', () => s.peers()[0]?.state !== 'Established' && installed(fib.batches).size === 0);
    // Why the session ended, as logged (lastDown moves on to the refused reconnections).
    expect(warnings[logged]).toBe('peer 10.99.1.2 sent NOTIFICATION Cease / Administrative Shutdown');

    await b.start();
    await until('Established again', () => s.peers()[0]?.state === 'Established');
    await until("BIRD's route back in the FibSink", () => installed(fib.batches).has('192.0.2.0/24'));
    await until('twill prefix back at BIRD', () => b.routesFrom('10.99.1.11', 4).has('10.244.1.0/26'));
  }, 40_000);

  it('establishes with TTL security (RFC 5082) on both sides', async () => {
    const { link, bird: b, speaker: s } = await setUp({ neighbor: { ttlSecurity: true }, peer: { ttlSecurity: { hops: 1 } } });
    await until('Established', () => s.peers()[0]?.state === 'Established');
    await until('twill prefix at BIRD', () => b.routesFrom(link.twill.v4, 4).has('10.244.1.0/26'));
  }, 30_000);

  it('never establishes with a peer that has TTL security when twill has none, and says why', async () => {
    // The handshake completes, but BIRD's socket drops every segment below TTL 255: it
    // never sees twill's OPEN, twill waits in OpenConfirm until its hold timer (3 s).
    const { link, bird: b, speaker: s } = await setUp({ neighbor: { ttlSecurity: true, holdTime: 3 }, peer: { holdTime: 3 } });
    await until('the hold timer to expire', () => s.peers()[0]?.lastDown !== undefined);
    // On a loaded machine the session came up once anyway (a fresh-clone run: the hold
    // timer then expired in Established): BIRD seems to set the minimum TTL on a connection
    // only after accepting it, so twill's first segments can slip in and only later ones
    // are dropped. Either way the hold timer ends it and says so.
    expect(s.peers()[0]?.lastDown).toMatch(
      /^hold timer expired after 3 s (in OpenConfirm: peer 10\.99\.1\.2 sent its OPEN but never acknowledged ours; it may not receive our packets \(TTL security, a one-way filter\)|with no KEEPALIVE or UPDATE from peer 10\.99\.1\.2)$/,
    );
    expect(b.established(link.twill.v4)).toBe(false);
  }, 30_000);

  it('names a wrong AS in the peer\'s OPEN', async () => {
    const { speaker: s, bird: b, link } = await setUp({ peer: { asn: asn(65003) } });
    await until('the session to fail', () => s.peers()[0]?.lastDown !== undefined);
    expect(s.peers()[0]?.lastDown).toBe('peer 10.99.1.2 sent OPEN with AS 65002, configured 65003');
    // BIRD decoded the NOTIFICATION twill sent.
    expect(b.birdc('show', 'protocols', 'all', 'n_10_99_1_1')).toMatch(/Received: Bad peer AS/);
    expect(b.established(link.twill.v4)).toBe(false);
  }, 30_000);

  it('reports a hold timer expiry when BIRD falls silent', async () => {
    const { bird: b, speaker: s } = await setUp({ neighbor: { holdTime: 3 }, peer: { holdTime: 3 } });
    await until('Established', () => s.peers()[0]?.state === 'Established');
    b.signal('SIGSTOP');
    await until('the hold timer to expire', () => s.peers()[0]?.lastDown !== undefined);
    expect(s.peers()[0]?.lastDown).toBe('hold timer expired after 3 s with no KEEPALIVE or UPDATE from peer 10.99.1.2');
    b.signal('SIGCONT');
  }, 30_000);
});
