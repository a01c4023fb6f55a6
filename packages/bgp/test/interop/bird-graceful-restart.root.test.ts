// Graceful restart (RFC 4724) with twill as helper: BIRD 2 restarts (`birdc graceful
// restart`, then `bird -R`) and twill keeps BIRD's routes, marked stale, until BIRD's
// End-of-RIB, or drops them when BIRD's restart time runs out. (Twill restarting, with
// every daemon keeping its routes, is a row of the interop matrix.)
import { afterEach, describe, expect, it } from 'vitest';

import { type ScratchNetns, NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { type BgpSpeaker, type GracefulRestartConfig, asn } from '@twill/bgp';

import { type Bird, startBird } from './bird.js';
import { until } from './daemon.js';
import { type Link, installed, linkDaemon, removeDir, tempDir, twillSpeaker } from './topology.js';

const reason = rootSkipReason();
describe.skipIf(reason)(`graceful restart with BIRD 2 as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let dir: string | undefined;
  const speakers: BgpSpeaker[] = [];
  let bird: Bird | undefined;
  afterEach(async () => {
    for (const s of speakers.splice(0)) await s.stop();
    await bird?.stop();
    bird = undefined;
    removeDir(dir);
    dir = undefined;
    scratch.cleanup();
  });

  async function setUp(announce: string[], restartTime = 30): Promise<{ twillNs: ScratchNetns; link: Link; bird: Bird }> {
    const twillNs = scratch.netns();
    const { ns, link } = linkDaemon(scratch, twillNs, 1);
    dir = tempDir();
    bird = await startBird({
      ns,
      dir,
      routerId: link.daemon.v4,
      asn: 65002,
      neighbors: [{ address: link.twill.v4, localAddress: link.daemon.v4, asn: 65001, gracefulRestart: true, restartTime }],
      announce,
    });
    return { twillNs, link, bird };
  }

  function speakerIn(twillNs: ScratchNetns, link: Link, gracefulRestart: GracefulRestartConfig): ReturnType<typeof twillSpeaker> {
    const made = twillSpeaker(twillNs, { localAs: 65001, routerId: link.twill.v4, gracefulRestart });
    made.speaker.addPeer({ address: link.daemon.v4, asn: asn(65002), holdTime: 9, connectRetryTime: 1, idleHold: { initial: 1, max: 2 } });
    speakers.push(made.speaker);
    return made;
  }

  it("twill keeps a restarting BIRD's routes, marked stale, until BIRD's End-of-RIB", async () => {
    const { twillNs, link, bird: b } = await setUp(['192.0.2.0/24', '198.51.100.0/24']);
    const { speaker, fib } = speakerIn(twillNs, link, { restartTime: 30 });
    await speaker.start();
    await until("BIRD's routes in the FibSink", () => installed(fib.batches).size === 2);

    b.forget('198.51.100.0/24');
    await b.gracefulRestartShutdown();
    await until('twill to see the session gone', () => speaker.peers()[0]?.state !== 'Established');
    expect(speaker.peers()[0]).toMatchObject({ receivedPrefixes: 2, stalePrefixes: 2 });
    expect([...installed(fib.batches).keys()].sort()).toEqual(['192.0.2.0/24', '198.51.100.0/24']);

    await b.start({ recover: true });
    await until('the session back', () => speaker.peers()[0]?.state === 'Established');
    await until('the prefix BIRD no longer has gone from the FibSink', () => !installed(fib.batches).has('198.51.100.0/24'));
    expect([...installed(fib.batches).keys()]).toEqual(['192.0.2.0/24']);
    expect(speaker.peers()[0]).toMatchObject({ receivedPrefixes: 1, stalePrefixes: 0 });
  }, 60_000);

  it("twill drops a restarting BIRD's routes when BIRD's restart time runs out", async () => {
    const { twillNs, link, bird: b } = await setUp(['192.0.2.0/24'], 3);
    const { speaker, fib } = speakerIn(twillNs, link, { restartTime: 30 });
    await speaker.start();
    await until("BIRD's route in the FibSink", () => installed(fib.batches).size === 1);

    await b.gracefulRestartShutdown();
    await until('twill to see the session gone', () => speaker.peers()[0]?.state !== 'Established');
    expect(speaker.peers()[0]?.stalePrefixes).toBe(1);
    // BIRD does not come back: after its 3 s the route goes.
    await until('the stale route removed', () => installed(fib.batches).size === 0);
    expect(speaker.peers()[0]).toMatchObject({ receivedPrefixes: 0, stalePrefixes: 0 });
  }, 60_000);
});
