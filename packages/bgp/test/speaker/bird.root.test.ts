// Interop with BIRD 2 over eBGP: BIRD in one scratch namespace, twill's speaker in
// another (its socket opened inside the namespace through the socketFactory hook, as
// the agent does), a veth between them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

// The agent opens its BGP sockets inside the node's namespace with @twill/sys and hands
// them over through socketFactory; this test does the same. Test-only: src/ never imports it.
import { AF, SOCK, openSocket } from '@twill/sys';
import { NetworkScratch, rootSkipReason } from '@twill/sys/testing';

import { BgpSpeaker, CollectingFibSink, type FibBatch, asn, createTcpTransport, prefixToText, routerId, systemClock } from '@twill/bgp';

function installed(batches: readonly FibBatch[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const b of batches) {
    for (const p of b.remove) table.delete(prefixToText(p));
    for (const r of b.add) table.set(prefixToText(r.prefix), r.nextHops.join(','));
  }
  return table;
}

async function until(what: string, check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const BIRD_CONF = `
router id 10.99.0.2;
protocol device {}
protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; route 198.51.100.0/24 blackhole; }
protocol static s5 { ipv4; route 203.0.113.0/24 blackhole; }
protocol bgp twill {
  local 10.99.0.2 as 65002;
  neighbor 10.99.0.1 as 65001;
  passive on;
  ipv4 { import all; export all; };
}
`;

const reason = rootSkipReason();
describe.skipIf(reason)(`BgpSpeaker with BIRD 2 as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let dir: string | undefined;
  let speaker: BgpSpeaker | undefined;
  afterEach(async () => {
    await speaker?.stop();
    speaker = undefined;
    if (dir) {
      try {
        process.kill(Number(readFileSync(join(dir, 'bird.pid'), 'utf8').trim()), 'SIGTERM');
      } catch {
        // BIRD never started or already gone.
      }
      rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    }
    scratch.cleanup();
  });

  it('exchanges and withdraws routes in both directions', async () => {
    const twillNs = scratch.netns();
    const birdNs = scratch.netns();
    const veth = scratch.veth(twillNs, birdNs);
    scratch.ip(twillNs, 'addr', 'add', '10.99.0.1/24', 'dev', veth.a);
    scratch.ip(birdNs, 'addr', 'add', '10.99.0.2/24', 'dev', veth.b);
    dir = mkdtempSync(join(tmpdir(), 'twill-bird-'));
    const sock = join(dir, 'bird.ctl');
    writeFileSync(join(dir, 'bird.conf'), BIRD_CONF);
    scratch.exec(birdNs, 'bird', ['-c', join(dir, 'bird.conf'), '-s', sock, '-P', join(dir, 'bird.pid')]);
    const birdc = (...args: string[]): string => execFileSync('birdc', ['-s', sock, ...args], { encoding: 'utf8' });

    const fib = new CollectingFibSink();
    speaker = new BgpSpeaker({
      localAs: asn(65001),
      routerId: routerId('10.99.0.1'),
      fib,
      clock: systemClock,
      transport: createTcpTransport({ socketFactory: () => new net.Socket({ fd: openSocket({ domain: AF.INET, type: SOCK.STREAM, netns: twillNs.name }) }) }),
    });
    speaker.addPeer({ address: '10.99.0.2', asn: asn(65002), holdTime: 9 });
    speaker.originate('10.244.1.0/26');
    await speaker.start();

    await until('Established', () => speaker?.peers()[0]?.state === 'Established');
    expect(birdc('show', 'protocols', 'twill')).toContain('Established');
    // BIRD's three static routes arrive, next hop BIRD's address.
    await until('BIRD routes in the FibSink', () => installed(fib.batches).size === 3);
    expect(installed(fib.batches)).toEqual(
      new Map([
        ['192.0.2.0/24', '10.99.0.2'],
        ['198.51.100.0/24', '10.99.0.2'],
        ['203.0.113.0/24', '10.99.0.2'],
      ]),
    );
    // Twill's prefix in BIRD's table (polling birdc also wakes BIRD, see MEASURED.md).
    await until('10.244.1.0/26 in BIRD', () => birdc('show', 'route', 'protocol', 'twill').includes('10.244.1.0/26'));
    expect(birdc('show', 'route', 'for', '10.244.1.0/26', 'all')).toContain('BGP.as_path: 65001');

    // Withdrawals, each way.
    birdc('disable', 's5');
    await until('203.0.113.0/24 withdrawn', () => !installed(fib.batches).has('203.0.113.0/24'));
    speaker.withdraw('10.244.1.0/26');
    await until('10.244.1.0/26 gone from BIRD', () => !birdc('show', 'route', 'protocol', 'twill').includes('10.244.1.0/26'));
    expect(speaker.peers()[0]).toMatchObject({ state: 'Established', receivedPrefixes: 2, advertisedPrefixes: 0, lastDown: undefined });
  }, 20_000);
});
