// BGP sessions protected by TCP MD5 (RFC 2385, BGPPeer `password`) and TTL security
// (RFC 5082, BGPPeer `ttlSecurity`), with BIRD 2 as the router in its own scratch
// namespace (started by the test, killed by its PID): the sockets get their options from
// @twill/sys through the agent's transport, both when the node connects and when BIRD
// does (the key on the listener, TTL 255 on its SYN-ACKs, the minimum TTL on the accepted
// connection). A wrong password or a one-sided TTL security never establishes, and the
// peer's status says why.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type AgentResource } from '../../../src/agent/ports.js';
import { BgpSpeaker, CollectingFibSink, asn, routerId, systemClock } from '@twill/bgp';
import { MemoryStore } from '@twill/ipam';
import { NetworkScratch, type ScratchNetns, rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { BgpController } from '../../../src/agent/controllers/bgp.js';
import { KernelFibSink } from '../../../src/agent/controllers/route-fib.js';
import { createBgpTransport } from '../../../src/agent/sys/bgp-transport.js';
import { openKernelRouteTable } from '../../../src/agent/sys/kernel-routes.js';

import { memoryDatastore, node, setAffinity, until } from './route-fixtures.js';

function birdMissing(): string | undefined {
  try {
    execFileSync('bird', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'BIRD 2 (bird, birdc) is not installed';
  }
}

const reason = rootSkipReason() ?? birdMissing();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** BIRD's `protocol bgp` options beyond the addresses and ASes. */
interface BirdPeer {
  readonly password?: string;
  readonly ttlSecurity?: boolean;
  /** Wait for the node to connect (default); false: BIRD connects too, within a second. */
  readonly passive?: boolean;
}

const bgpPeer = (spec: Record<string, unknown>): AgentResource => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '10.0.1.2', asNumber: 65100, ...spec } });

describe.skipIf(reason)(`BGP with TCP MD5 and TTL security against BIRD as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    scratch.cleanup();
  });

  /** The node's namespace (10.0.1.1) and BIRD's (10.0.1.2, AS 65100, a static 172.20.0.0/16), over a veth. */
  async function setUp(peer: BirdPeer): Promise<{ nodeNs: ScratchNetns; birdc: (...args: string[]) => string }> {
    const nodeNs = scratch.netns();
    const torNs = scratch.netns();
    const veth = scratch.veth(nodeNs, torNs);
    scratch.ip(nodeNs, 'addr', 'add', '10.0.1.1/24', 'dev', veth.a);
    scratch.ip(torNs, 'addr', 'add', '10.0.1.2/24', 'dev', veth.b);
    const dir = mkdtempSync(join(tmpdir(), 'twt-bird-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, 'bird.conf');
    const socket = join(dir, 'bird.ctl');
    const pidFile = join(dir, 'bird.pid');
    const options = [
      peer.passive === false ? 'connect delay time 1;\n  connect retry time 1;' : 'passive on;',
      peer.password === undefined ? '' : `password "${peer.password}";`,
      peer.ttlSecurity ? 'ttl security on;' : '',
    ].filter((line) => line !== '');
    writeFileSync(
      conf,
      `router id 10.0.1.2;
protocol device {}
protocol static s4 { ipv4; route 172.20.0.0/16 blackhole; }
protocol bgp node_a {
  local 10.0.1.2 as 65100;
  neighbor 10.0.1.1 as 64512;
  ${options.join('\n  ')}
  hold time 9;
  error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`,
    );
    execFileSync('ip', ['netns', 'exec', torNs.name, 'bird', '-c', conf, '-s', socket, '-P', pidFile], { stdio: 'ignore' });
    const pid = await until('BIRD\'s PID file', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0), (p) => p > 0);
    cleanups.push(async () => {
      if (!alive(pid)) return;
      process.kill(pid, 'SIGTERM');
      await until(`BIRD (pid ${pid}) to exit`, () => alive(pid), (up) => !up);
    });
    return { nodeNs, birdc: (...args) => execFileSync('birdc', ['-s', socket, ...args], { encoding: 'utf8', timeout: 10_000 }) };
  }

  /** A BgpController for node-a (10.0.1.1, AS 64512, block 192.168.0.0/26) with `tor` as its BGPPeer. */
  async function startController(nodeNs: ScratchNetns, tor: AgentResource): Promise<BgpController> {
    const store = new MemoryStore();
    const datastore = memoryDatastore(store);
    const table = openKernelRouteTable({ netns: nodeNs.name });
    cleanups.push(
      () => table.close(),
      () => datastore.close(),
    );
    await datastore.apply(node('node-a', { ipv4Address: '10.0.1.1/24' }));
    await datastore.apply(tor);
    await setAffinity(store, 'node-a', ['192.168.0.0/26']);
    const controller = new BgpController({
      datastore,
      nodeName: 'node-a',
      fib: new KernelFibSink({ table }),
      transport: (listen) => createBgpTransport({ listenPort: listen.port, netns: nodeNs.name }),
      flushDelayMs: 5,
    });
    cleanups.push(() => controller.stop());
    await controller.start();
    return controller;
  }

  const established = (birdc: (...args: string[]) => string): boolean => /BGP state:\s+Established/.test(birdc('show', 'protocols', 'all', 'node_a'));

  it('establishes with BIRD\'s `ttl security on` through a BGPPeer with ttlSecurity, and shows the routes it holds', async () => {
    const { nodeNs, birdc } = await setUp({ ttlSecurity: true, password: 'tor-secret' });
    const controller = await startController(nodeNs, bgpPeer({ ttlSecurity: 1, password: 'tor-secret' }));
    await until('the session', () => controller.peers()[0]?.state, (state) => state === 'Established');
    await until('BIRD\'s route', () => controller.routes({ peer: '10.0.1.2' }), (routes) => routes.length === 1);
    expect(controller.routes({ peer: '10.0.1.2' })).toEqual([
      { prefix: '172.20.0.0/16', best: true, from: '10.0.1.2', nextHop: '10.0.1.2', asPath: [65100], origin: 'igp', communities: [], largeCommunities: [], stale: false },
    ]);
    expect(controller.routes({ prefix: '192.168.0.0/16' }).map((r) => `${r.prefix} ${r.from}`)).toEqual(['192.168.0.0/26 local']);
    await until('the node\'s block in BIRD', () => birdc('show', 'route', 'protocol', 'node_a'), (text) => text.includes('192.168.0.0/26'));
  }, 40_000);

  it('never establishes with a wrong password, and the peer\'s status says why', async () => {
    const { nodeNs, birdc } = await setUp({ password: 'tor-secret' });
    const controller = await startController(nodeNs, bgpPeer({ password: 'not-the-secret' }));
    await until('two unanswered attempts', () => controller.peers()[0]?.lastError ?? '', (text) => text.includes('(2 attempts)'), 20_000);
    expect(controller.peers()[0]).toMatchObject({
      state: 'Connect',
      lastError:
        "no answer from peer 10.0.1.2 port 179 within 2 s (2 attempts): TCP MD5 is configured, and a wrong password (or none on the peer) looks exactly like this: the peer's kernel drops the segments without a reply",
    });
    expect(established(birdc)).toBe(false);
    expect(controller.routes({ peer: '10.0.1.2' })).toEqual([]);
  }, 40_000);

  it('never establishes when only the node has TTL security, and says so', async () => {
    // BIRD's listener answers the handshake, then its socket sends TTL 1 to a directly
    // connected eBGP peer: the node's socket drops BIRD's OPEN and waits in OpenSent.
    const { nodeNs, birdc } = await setUp({});
    const controller = await startController(nodeNs, bgpPeer({ ttlSecurity: 1 }));
    const text = await until('the wait explained', () => controller.peers()[0]?.lastError ?? '', (t) => t !== '', 30_000);
    expect(text).toMatch(
      /^connected to peer 10\.0\.1\.2 1\d s ago and sent our OPEN, but no OPEN came back: TTL security is configured, so this node drops the peer's packets unless they arrive with TTL 255 or more; a peer without TTL security \(BIRD: `ttl security on`\) sends less$/,
    );
    expect(controller.peers()[0]?.state).toBe('OpenSent');
    expect(established(birdc)).toBe(false);
  }, 40_000);

  it('accepts BIRD\'s connection to a passive peer with a password and TTL security: the key on the listener, TTL 255 both ways', async () => {
    const { nodeNs, birdc } = await setUp({ passive: false, password: 'tor-secret', ttlSecurity: true });
    const fib = new CollectingFibSink();
    const speaker = new BgpSpeaker({ localAs: asn(64512), routerId: routerId('10.0.1.1'), fib, transport: createBgpTransport({ listenPort: 179, netns: nodeNs.name }), clock: systemClock, flushDelayMs: 5 });
    cleanups.push(() => speaker.stop());
    speaker.addPeer({ address: '10.0.1.2', asn: asn(65100), passive: true, md5Password: 'tor-secret', ttlSecurity: { hops: 1 }, holdTime: 9 });
    speaker.originate('192.168.0.0/26');
    await speaker.start();
    await until('the session BIRD opened', () => speaker.peers()[0]?.state, (state) => state === 'Established', 20_000);
    expect(speaker.peers()[0]?.messagesSent).toBeGreaterThan(0);
    await until('BIRD\'s route', () => speaker.routes({ peer: '10.0.1.2' }).map((r) => r.prefix), (p) => p.includes('172.20.0.0/16'));
    await until('the node\'s block in BIRD', () => birdc('show', 'route', 'protocol', 'node_a'), (text) => text.includes('192.168.0.0/26'));
    expect(established(birdc)).toBe(true);
  }, 40_000);
});
