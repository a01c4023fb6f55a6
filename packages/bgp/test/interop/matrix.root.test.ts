// The interop matrix: twill's speaker against BIRD 2, FRR and GoBGP, over eBGP and
// iBGP, one IPv4 session and one IPv6 session (MP-BGP, RFC 4760) each. Both ways:
// the daemon's routes reach twill's FibSink and twill's reach the daemon's table;
// a ROUTE-REFRESH answered; then one withdrawal each way. And what each daemon's
// NOTIFICATION for a wrong AS becomes in twill's diagnosis.
import { afterEach, describe, expect, it } from 'vitest';

import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { type BgpSpeaker, asn } from '@twill/bgp';

import { BIRD } from './bird.js';
import { type DaemonAdapter, type RunningDaemon, until } from './daemon.js';
import { FRR } from './frr.js';
import { GOBGP } from './gobgp.js';
import { installed, linkDaemon, removeDir, tempDir, twillSpeaker } from './topology.js';

const DAEMONS: readonly DaemonAdapter[] = [BIRD, FRR, GOBGP];
const SESSIONS = [
  { kind: 'eBGP', twillAs: 65001, daemonAs: 65002 },
  { kind: 'iBGP', twillAs: 65001, daemonAs: 65001 },
] as const;

const reason = rootSkipReason();
describe.skipIf(reason)(`twill's speaker with BIRD, FRR and GoBGP as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let dir: string | undefined;
  let speaker: BgpSpeaker | undefined;
  let daemon: RunningDaemon | undefined;
  afterEach(async () => {
    await speaker?.stop();
    speaker = undefined;
    await daemon?.stop();
    daemon = undefined;
    removeDir(dir);
    dir = undefined;
    scratch.cleanup();
  });

  for (const adapter of DAEMONS) {
    for (const session of SESSIONS) {
      it(`${adapter.name}, ${session.kind}: IPv4 and IPv6 routes, refresh and withdrawals both ways`, async () => {
        const twillNs = scratch.netns();
        const { ns, link } = linkDaemon(scratch, twillNs, 1);
        dir = tempDir();
        daemon = await adapter.start({
          ns,
          dir,
          routerId: link.daemon.v4,
          asn: session.daemonAs,
          neighbors: [
            { address: link.twill.v4, localAddress: link.daemon.v4, asn: session.twillAs },
            { address: link.twill.v6, localAddress: link.daemon.v6, asn: session.twillAs },
          ],
          announce: ['192.0.2.0/24', '198.51.100.0/24', '2001:db8:2::/48', '2001:db8:3::/48'],
        });
        const made = twillSpeaker(twillNs, { localAs: session.twillAs, routerId: link.twill.v4 });
        speaker = made.speaker;
        const fib = made.fib;
        const peer = { asn: asn(session.daemonAs), holdTime: 9, connectRetryTime: 1, idleHold: { initial: 1, max: 2 } };
        speaker.addPeer({ address: link.daemon.v4, ...peer });
        speaker.addPeer({ address: link.daemon.v6, ...peer });
        speaker.originate('10.244.1.0/26');
        speaker.originate('2001:db8:244:1::/64');
        await speaker.start();
        const d = daemon;
        const s = speaker;

        await until('both sessions Established at twill', () => s.peers().every((p) => p.state === 'Established'));
        await until(`both sessions Established at ${adapter.name}`, () => d.established(link.twill.v4) && d.established(link.twill.v6));

        // Daemon → twill: the four prefixes in the FibSink, next hop the daemon's address of that family.
        await until('the daemon routes in the FibSink', () => installed(fib.batches).size === 4);
        expect(installed(fib.batches)).toEqual(
          new Map([
            ['192.0.2.0/24', link.daemon.v4],
            ['198.51.100.0/24', link.daemon.v4],
            ['2001:db8:2::/48', link.daemon.v6],
            ['2001:db8:3::/48', link.daemon.v6],
          ]),
        );
        // Twill → daemon: each prefix in the daemon's table with twill's address as next hop.
        await until('10.244.1.0/26 at the daemon', () => d.routes(4).has('10.244.1.0/26'));
        await until('2001:db8:244:1::/64 at the daemon', () => d.routes(6).has('2001:db8:244:1::/64'));
        expect(d.routes(4).get('10.244.1.0/26')?.nextHop).toBe(link.twill.v4);
        expect(d.routes(6).get('2001:db8:244:1::/64')?.nextHop).toBe(link.twill.v6);

        // ROUTE-REFRESH on both sessions: the daemon sends its routes again. (A first connect
        // may have been refused while the daemon was starting: that is lastDown already.)
        const before = s.peers().map((p) => p.updatesReceived);
        const downBefore = s.peers().map((p) => p.lastDown);
        s.requestRefresh(link.daemon.v4);
        s.requestRefresh(link.daemon.v6);
        await until('the daemon to answer ROUTE-REFRESH', () => s.peers().every((p, i) => p.updatesReceived > (before[i] ?? 0)));
        expect(installed(fib.batches).size).toBe(4);

        // Withdrawals, each way and each family.
        d.withdraw('198.51.100.0/24');
        d.withdraw('2001:db8:3::/48');
        await until('the daemon withdrawals in the FibSink', () => installed(fib.batches).size === 2);
        expect([...installed(fib.batches).keys()].sort()).toEqual(['192.0.2.0/24', '2001:db8:2::/48']);
        s.withdraw('10.244.1.0/26');
        s.withdraw('2001:db8:244:1::/64');
        await until('twill withdrawals at the daemon', () => !d.routes(4).has('10.244.1.0/26') && !d.routes(6).has('2001:db8:244:1::/64'));
        // Neither session went down on the way.
        // (Advertised 0: the other session's family never counts, RFC 4760 §6.)
        expect(s.peers().map((p) => ({ state: p.state, received: p.receivedPrefixes, advertised: p.advertisedPrefixes, lastDown: p.lastDown }))).toEqual([
          { state: 'Established', received: 1, advertised: 0, lastDown: downBefore[0] },
          { state: 'Established', received: 1, advertised: 0, lastDown: downBefore[1] },
        ]);
      }, 60_000);
    }

    it(`${adapter.name}: keeps a restarting twill's routes until twill's End-of-RIB`, async () => {
      const twillNs = scratch.netns();
      const { ns, link } = linkDaemon(scratch, twillNs, 1);
      dir = tempDir();
      daemon = await adapter.start({
        ns,
        dir,
        routerId: link.daemon.v4,
        asn: 65002,
        neighbors: [{ address: link.twill.v4, localAddress: link.daemon.v4, asn: 65001, gracefulRestart: true }],
        announce: [],
      });
      const d = daemon;
      const twill = (restarting: boolean, prefixes: string[]): BgpSpeaker => {
        const made = twillSpeaker(twillNs, { localAs: 65001, routerId: link.twill.v4, gracefulRestart: { restartTime: 30, restarting } });
        made.speaker.addPeer({ address: link.daemon.v4, asn: asn(65002), holdTime: 9, connectRetryTime: 1, idleHold: { initial: 1, max: 2 } });
        for (const p of prefixes) made.speaker.originate(p);
        return made.speaker;
      };
      const first = twill(false, ['10.244.1.0/26', '10.244.2.0/26']);
      speaker = first;
      await first.start();
      await until('both prefixes at the daemon', () => d.routes(4).size === 2);

      await first.stopForRestart();
      await until('the daemon to see the session gone', () => !d.established(link.twill.v4));
      expect([...d.routes(4).keys()].sort()).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
      expect(d.keepsStaleRoutes(link.twill.v4)).toBe(true);

      const second = twill(true, ['10.244.1.0/26']);
      speaker = second;
      await second.start();
      await until('the session back', () => d.established(link.twill.v4));
      await until('the prefix twill no longer has gone', () => !d.routes(4).has('10.244.2.0/26'));
      expect([...d.routes(4).keys()]).toEqual(['10.244.1.0/26']);
      expect(d.keepsStaleRoutes(link.twill.v4)).toBe(false);
    }, 60_000);

    it(`${adapter.name}: a peer that expects another AS, in words`, async () => {
      const twillNs = scratch.netns();
      const { ns, link } = linkDaemon(scratch, twillNs, 1);
      dir = tempDir();
      daemon = await adapter.start({
        ns,
        dir,
        routerId: link.daemon.v4,
        asn: 65002,
        neighbors: [{ address: link.twill.v4, localAddress: link.daemon.v4, asn: 65009 }],
        announce: [],
      });
      speaker = twillSpeaker(twillNs, { localAs: 65001, routerId: link.twill.v4 }).speaker;
      speaker.addPeer({ address: link.daemon.v4, asn: asn(65002), holdTime: 9, connectRetryTime: 1, idleHold: { initial: 1, max: 2 } });
      await speaker.start();
      const s = speaker;
      // The daemon may still be opening its listening socket when the speaker first
      // connects (a refused connection is a failure too): wait for the OPEN's answer.
      await until('the peer to refuse our AS', () => s.peers()[0]?.lastDown?.includes('NOTIFICATION') === true);
      expect(s.peers()[0]?.lastDown).toBe("peer 10.99.1.2 sent NOTIFICATION OPEN Message Error / Bad Peer AS: it does not expect our AS 65001: check its neighbor's remote AS");
    }, 30_000);
  }
});
