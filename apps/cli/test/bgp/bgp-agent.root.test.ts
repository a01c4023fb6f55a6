// twill bgp peers and routes end to end, as root: a real twill-agent with routing "bgp"
// runs inside a scratch node namespace, BIRD 2 as its top-of-rack peer in another, a
// veth between them. Everything the agent and BIRD put in a kernel (the node's block
// blackhole, BIRD's route) is in those namespaces; both processes are stopped by the
// PIDs this test started, and the namespaces removed.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { parsePoolIpamConfig, PoolAllocator, SqliteStore } from '@twill/ipam';
import { NetworkScratch, rootSkipReason, type ScratchNetns } from '@twill/sys/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AgentApiError, AgentUnreachableError, createAgentClient, unixHttpTransport, type AgentClient, type BgpStatus, type PeerStatus } from '@twill/cli';

import { AGENT_BIN } from '../agent-harness.js';
import { twill } from '../helpers.js';

function birdMissing(): string | undefined {
  try {
    execFileSync('bird', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'BIRD 2 (bird, birdc) is not installed';
  }
}

const reason = rootSkipReason() ?? birdMissing();
const NODE_IP = '192.0.2.10';
const TOR_IP = '192.0.2.20';
const NETWORK = 'twt-net';
const POOLS = [{ name: 'twt-v4', cidr: '198.51.100.0/24', blockSize: 26 }];

/** Polls `read` until `done` holds; fails after `ms` saying what it waited for and what it last saw. */
async function until<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`waited for ${what}; last saw ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(reason)(`twill bgp against an agent peering with BIRD, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const scratch = new NetworkScratch();
  let dir = '';
  let apiSocket = '';
  let agent: ChildProcess | undefined;
  let agentOutput = '';
  let birdPid = 0;
  let birdc: (...args: string[]) => string;
  let client: AgentClient;
  let torNs: ScratchNetns;
  /** The node's block (the allocator picks which of the pool's). */
  let block = '';
  const run = (...args: string[]) => twill([...args, '--agent-socket', apiSocket]);
  const peers = async (): Promise<readonly PeerStatus[]> => {
    try {
      return (await client.bgpPeers()).peers;
    } catch (error) {
      if (error instanceof AgentApiError || error instanceof AgentUnreachableError) return [];
      throw error;
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twt-cli-bgp-'));
    apiSocket = join(dir, 'api.sock');
    const nodeNs = scratch.netns();
    torNs = scratch.netns();
    const veth = scratch.veth(nodeNs, torNs);
    scratch.ip(nodeNs, 'addr', 'add', `${NODE_IP}/24`, 'dev', veth.a);
    scratch.ip(torNs, 'addr', 'add', `${TOR_IP}/24`, 'dev', veth.b);

    // BIRD: eBGP from AS 65001, announcing a TEST-NET-3 prefix.
    const conf = join(dir, 'bird.conf');
    const pidFile = join(dir, 'bird.pid');
    const birdSocket = join(dir, 'bird.ctl');
    writeFileSync(conf, `router id ${TOR_IP};
protocol device {}
protocol static s4 { ipv4; route 203.0.113.0/24 blackhole; }
protocol bgp node {
  local ${TOR_IP} as 65001;
  neighbor ${NODE_IP} as 64512;
  hold time 9;
  error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`);
    execFileSync('ip', ['netns', 'exec', torNs.name, 'bird', '-c', conf, '-s', birdSocket, '-P', pidFile], { stdio: 'ignore' });
    birdPid = await until('BIRD\'s PID file', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0), (p) => p > 0);
    birdc = (...args) => execFileSync('birdc', ['-s', birdSocket, ...args], { encoding: 'utf8', timeout: 10_000 });

    // The agent, inside the node namespace (`ip netns exec` execs it: the PID is the agent's).
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'agent.json');
    writeFileSync(configFile, JSON.stringify({
      nodeName: 'twt-bgp-node', dataDir, network: NETWORK, agentSocket: join(dir, 'agent.sock'), api: { socket: apiSocket },
      dataplane: 'none', routing: 'bgp', nodeAddresses: { ipv4: `${NODE_IP}/24` }, http: { listen: '127.0.0.1:0' }, logLevel: 'warn',
      cni: { pools: POOLS },
    }));
    agent = spawn('ip', ['netns', 'exec', nodeNs.name, process.execPath, '--conditions=@twill/source', '--import', 'tsx', AGENT_BIN, 'run', '--config', configFile], {
      cwd: resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    agent.stdout?.on('data', (chunk: Buffer) => void (agentOutput += chunk.toString('utf8')));
    agent.stderr?.on('data', (chunk: Buffer) => void (agentOutput += chunk.toString('utf8')));
    client = createAgentClient({ transport: unixHttpTransport(apiSocket, { timeoutMs: 10_000 }), socketPath: apiSocket, command: 'test' });
    await until('the agent ready', async () => {
      if (agent?.exitCode !== null) throw new Error(`twill-agent exited: ${agentOutput}`);
      try {
        return (await client.status()).ready;
      } catch (error) {
        if (error instanceof AgentApiError || error instanceof AgentUnreachableError) return false;
        throw error;
      }
    }, (ready) => ready);

    // A pod of this node: its block is the node's to originate.
    const store = SqliteStore.open({ path: join(dataDir, 'twill.db') });
    try {
      const allocation = await new PoolAllocator({ config: parsePoolIpamConfig({ pools: POOLS }, { network: NETWORK }), store }).allocate({ containerId: 'c1', ifName: 'eth0', node: 'twt-bgp-node' });
      const octet = Number(allocation.addresses[0]?.address.split('/')[0]?.split('.')[3]);
      block = `198.51.100.${octet - (octet % 64)}/26`;
    } finally {
      store.close();
    }
    await client.apply([{ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: TOR_IP, asNumber: 65001 } }]);
  }, 180_000);

  afterAll(async () => {
    const pid = agent?.pid;
    if (pid !== undefined && agent?.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((done) => agent?.once('exit', done));
      process.kill(pid, 'SIGTERM');
      await exited;
    }
    if (birdPid > 0 && alive(birdPid)) {
      process.kill(birdPid, 'SIGTERM');
      await until(`BIRD (pid ${birdPid}) to exit`, () => alive(birdPid), (up) => !up);
    }
    scratch.cleanup();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('bgp peers: the session Established, its uptime in words, a prefix each way', async () => {
    await until('the session up with a prefix each way', peers, (p) => p[0]?.state === 'Established' && p[0].receivedPrefixes === 1 && p[0].advertisedPrefixes === 1);
    const shown = await run('bgp', 'peers');
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split('\n');
    expect(lines[0]).toBe(`local AS 64512, router id ${NODE_IP}`);
    expect(lines[1]).toMatch(/^PEER +AS {2}STATE {8}UPTIME +RECEIVED {2}ADVERTISED {2}LAST ERROR$/);
    expect(lines[2]).toMatch(new RegExp(`^${TOR_IP.replaceAll('.', '\\.')}  65001  Established  \\d+ seconds? +1 +1  -$`));
    const json = JSON.parse((await run('bgp', 'peers', '-o', 'json')).stdout) as BgpStatus;
    expect(json).toMatchObject({ localAs: 64512, routerId: NODE_IP, peers: [{ address: TOR_IP, asn: 65001, state: 'Established', receivedPrefixes: 1, advertisedPrefixes: 1 }], originated: [block] });
    expect(shown.stdout).toContain(`\noriginated: ${block}\n`);
  });

  it('bgp routes: BIRD\'s prefix and the node\'s block, best marked *, filtered by peer and prefix', async () => {
    const all = await run('bgp', 'routes');
    expect(all.code).toBe(0);
    const lines = all.stdout.split('\n');
    expect(lines[0]).toMatch(/^ {3}PREFIX +NEXT HOP +FROM +AS PATH +ORIGIN$/);
    expect(lines.slice(1, 3).map((l) => l.replace(/ +/g, ' '))).toEqual(expect.arrayContaining([
      `* ${block} 0.0.0.0 local - IGP`,
      `* 203.0.113.0/24 ${TOR_IP} ${TOR_IP} 65001 IGP`,
    ]));
    expect(lines[3]).toBe('2 paths to 2 prefixes, 2 best (*)');

    const fromTor = await run('bgp', 'routes', '--peer', TOR_IP, '-o', 'json');
    expect(JSON.parse(fromTor.stdout)).toEqual({ routes: [expect.objectContaining({ prefix: '203.0.113.0/24', best: true, from: TOR_IP, nextHop: TOR_IP, asPath: [65001], origin: 'igp' })] });
    const local = JSON.parse((await run('bgp', 'routes', '--peer', 'local', '-o', 'json')).stdout) as { routes: { prefix: string }[] };
    expect(local.routes.map((r) => r.prefix)).toEqual([block]);
    const inside = JSON.parse((await run('bgp', 'routes', '--prefix', '198.51.100.0/24', '-o', 'json')).stdout) as { routes: { prefix: string }[] };
    expect(inside.routes.map((r) => r.prefix)).toEqual([block]);
    expect((await run('bgp', 'routes', '--prefix', '10.99.0.0/16')).stdout).toBe('no routes\n');
    // BIRD has the node's block, with the node as next hop.
    const bird = birdc('show', 'route', 'protocol', 'node', 'all');
    expect(bird).toContain(block);
    expect(bird).toMatch(/BGP\.next_hop: 192\.0\.2\.10/);
  });

  it('bgp peers after BIRD stops: the session is down and the last error says why in words', async () => {
    process.kill(birdPid, 'SIGTERM');
    await until(`BIRD (pid ${birdPid}) to exit`, () => alive(birdPid), (up) => !up);
    const [down] = await until('the session down with an error', peers, (p) => p[0] !== undefined && p[0].state !== 'Established' && typeof p[0].lastError === 'string');
    const shown = await run('bgp', 'peers');
    expect(shown.code).toBe(0);
    const row = shown.stdout.split('\n')[2] ?? '';
    expect(row).toMatch(new RegExp(`^${TOR_IP.replaceAll('.', '\\.')}  65001  (Idle|Connect|Active|OpenSent)\\s+-\\s+0\\s+0  \\S.*$`));
    expect(row.endsWith(down!.lastError as string)).toBe(true);
  });
});
