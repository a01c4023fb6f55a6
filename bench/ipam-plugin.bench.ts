// twill-ipam versus Debian's host-local, each exec'd as a CNI IPAM plugin the way a
// runtime does it (environment + stdin, one process per call): ADD then DEL with unique
// container IDs on a temporary data directory, with 1 and with 32 concurrent callers.
// The headline is twill-ipam as installed for production: the native forwarder
// (@twill/sys's twill-forward) exec'd per call, handing the call to a warm
// `twill-ipam serve` process; the same forwarder with no server running execs the
// standalone plugin (plain node on the build), shown for reference. The goal:
// at least 1.0x host-local's allocations per second at 1 caller, 2x at 32.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { forwarderPath } from '@twill/cni-core';
import { installForwardedIpam } from '@twill/ipam';

import { median } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const ROOT = join(import.meta.dirname, '..');
const HOST_LOCAL = '/usr/lib/cni/host-local';
const TWILL_BIN = join(ROOT, 'packages', 'ipam', 'bin', 'twill-ipam.js');
const ROUNDS = 3;

interface Side {
  readonly name: string;
  readonly file: string;
  readonly ipam: Record<string, unknown>;
  readonly env: Record<string, string>;
}

// Builds cni-core and ipam into their (gitignored) dist folders, so that twill-ipam
// starts on plain node as it would when installed. Type errors elsewhere in the tree
// (work in progress) do not stop the emit; a missing entry point does.
function build(): void {
  for (const pkg of ['cni-core', 'ipam']) {
    spawnSync('npx', ['tsc', '-p', join(ROOT, 'packages', pkg, 'tsconfig.lib.json')], { cwd: ROOT, stdio: 'ignore' });
  }
  if (!existsSync(join(ROOT, 'packages', 'ipam', 'dist', 'plugin', 'sys', 'cli.js'))) throw new Error('packages/ipam did not build');
}

function execPlugin(side: Side, command: 'ADD' | 'DEL', containerId: string, config: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(side.file, [], {
      env: { PATH: process.env['PATH'], CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', ...side.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${side.name} ${command} exited ${code}: ${out}`))));
    child.stdin.end(config);
  });
}

let ids = 0;

/** Allocations per second: `callers` loops doing ADD then DEL until `total` ADDs are done. */
async function throughput(side: Side, dataDir: string, callers: number, total: number): Promise<number> {
  const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'bridge', ipam: { ...side.ipam, dataDir } });
  let left = total;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left > 0) {
        left -= 1;
        const id = `bench-${(ids += 1)}`;
        await execPlugin(side, 'ADD', id, config);
        await execPlugin(side, 'DEL', id, config);
      }
    }),
  );
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Median wall time of 10 execs of `command` (VERSION), in milliseconds. */
function startMs(command: string[], env: Record<string, string> = {}): number {
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = process.hrtime.bigint();
    spawnSync(command[0]!, command.slice(1), { stdio: 'ignore', env: { ...process.env, CNI_COMMAND: 'VERSION', ...env }, input: '{"cniVersion":"1.0.0"}' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

// `twill-ipam serve` from the build, in its own process; resolves once it listens.
async function startServer(socket: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [TWILL_BIN, 'serve', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let said = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('serving on')) resolve();
    });
    child.on('close', () => reject(new Error(`twill-ipam serve exited: ${said}`)));
  });
  return child;
}

/** Runs the benchmark and writes its section of BENCHMARKS.md. */
export async function run(command: string): Promise<void> {
  if (!existsSync(HOST_LOCAL)) throw new Error(`${HOST_LOCAL} is missing (Debian's containernetworking-plugins)`);
  const forwarder = forwarderPath();
  build();
  const work = mkdtempSync(join(tmpdir(), 'twill-bench-ipam-plugin-'));
  const socket = join(work, 'agent.sock');
  const { plugin } = await installForwardedIpam(join(work, 'bin'), { standalone: `#!/bin/sh\nexec '${process.execPath}' '${TWILL_BIN}' "$@"\n` });
  const server = await startServer(socket);
  try {
    const ranges = { ranges: [[{ subnet: '10.200.0.0/16' }]] };
    const served = { TWILL_AGENT_SOCKET: socket };
    const noServer = { TWILL_AGENT_SOCKET: join(work, 'nobody.sock') };
    const sides: Side[] = [
      { name: 'host-local (Go)', file: HOST_LOCAL, ipam: { type: 'host-local', ...ranges }, env: {} },
      { name: 'twill-ipam, forwarder + server, ranges, sqlite', file: plugin, ipam: { type: 'twill-ipam', store: 'sqlite', ...ranges }, env: served },
      { name: 'twill-ipam, forwarder + server, pools (sqlite)', file: plugin, ipam: { type: 'twill-ipam', nodeName: 'bench', pools: [{ cidr: '10.96.0.0/12', blockSize: 26 }] }, env: served },
      { name: 'twill-ipam standalone, ranges, sqlite (no server: the forwarder execs node)', file: plugin, ipam: { type: 'twill-ipam', store: 'sqlite', ...ranges }, env: noServer },
    ];
    const rows: string[] = [];
    for (const [callers, total] of [
      [1, 12],
      [32, 64],
    ] as const) {
      const rates = sides.map(() => [] as number[]);
      // Sides alternate within each round, so drift on this shared machine hits all alike.
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, side] of sides.entries()) {
          const dataDir = mkdtempSync(join(work, 'data-'));
          try {
            await throughput(side, dataDir, Math.min(callers, 4), Math.min(callers, 4)); // warm-up
            rates[i]!.push(await throughput(side, dataDir, callers, total));
          } finally {
            rmSync(dataDir, { recursive: true, force: true });
          }
        }
        process.stdout.write(`  ${callers} caller(s), round ${round + 1}/${ROUNDS}\n`);
      }
      const base = median(rates[0]!);
      for (const [i, side] of sides.entries()) {
        const r = rates[i]!;
        const m = median(r);
        rows.push(`| ${callers} | ${side.name} | ${Math.min(...r).toFixed(1)} | ${m.toFixed(1)} | ${Math.max(...r).toFixed(1)} | ${(m / base).toFixed(2)} |`);
      }
    }
    const bare = startMs([forwarder], { TWILL_AGENT_SOCKET: join(work, 'nobody.sock'), TWILL_STANDALONE: '/bin/true' });
    const trueStart = startMs(['/bin/true']);
    const forwardedVersion = startMs([plugin], served);
    const nodeStart = startMs([process.execPath, '-e', '0']);
    const standaloneVersion = startMs([plugin], noServer);
    const hostLocalVersion = startMs([HOST_LOCAL]);
    writeSection({
      id: 'ipam-plugin',
      title: "twill-ipam versus host-local, exec'd as CNI IPAM plugins",
      command,
      body: `Allocations per second (one ADD then one DEL each, unique container IDs, a fresh
data directory per run), ${ROUNDS} alternating rounds per side; the ratio is the median's
against host-local's (higher is better; the goal is 1.0 at 1 caller, 2.0 at 32).
twill-ipam is installed with \`installForwardedIpam\`: \`twill-ipam\` is the native
forwarder, which hands each call to one warm \`twill-ipam serve\` process (the built
package on plain node) over a unix socket, or, with no server, execs
\`twill-ipam.standalone\` (node on the build).

| callers | side | min alloc/s | median alloc/s | max alloc/s | ratio vs host-local |
|---|---|---|---|---|---|
${rows.join('\n')}

Process start, median of 10 execs (VERSION): \`/bin/true\` ${trueStart.toFixed(1)} ms; the
forwarder alone (no server, falling back to \`/bin/true\`) ${bare.toFixed(1)} ms; the forwarder
with the server answering ${forwardedVersion.toFixed(1)} ms; \`host-local\` ${hostLocalVersion.toFixed(1)} ms;
plain \`node -e 0\` ${nodeStart.toFixed(1)} ms; the standalone path (forwarder, sh, node on the
build) ${standaloneVersion.toFixed(1)} ms.

With the server, a call costs one small C process (a few hundred kilobytes of
mappings, libc only) plus the warm server's work; the server is one Node process, so
at 32 callers its event loop and the store, not process starts, are what is shared.
Without it, Node's start dominates every call, as before the forwarder.

Not measured here: the \`files\` store (host-local's data directory) behind the server.
It serves correctly (tests), but each commit takes host-local's lock through a flock(1)
process, and the server runs calls on one network's store in turn, so 32 callers queue
behind about 0.2 s per call on this machine: the store, not the plugin's start, is its
cost.`,
    });
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('close', resolve));
    rmSync(work, { recursive: true, force: true });
  }
}
