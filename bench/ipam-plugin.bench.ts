// twill-ipam versus Debian's host-local, each exec'd as a CNI IPAM plugin the way a
// runtime does it (environment + stdin, one process per call): ADD then DEL with unique
// container IDs on a temporary data directory, with 1 and with 32 concurrent callers.
// The calls are exec'd by ipam-plugin-exec/main.go through libcni's invoke.RawExec (Go's
// os/exec, as containerd and CRI-O do); the same calls exec'd from this Node process
// (child_process.spawn, a fork of Node per call) are shown beside them for the
// forwarded sides, as earlier runs measured them.
// The headline is twill-ipam as installed for production: the native forwarder
// (@twill/sys's twill-forward) exec'd per call, handing the call to a warm
// `twill-ipam serve` process; the same forwarder with no server running execs the
// standalone plugin (plain node on the build), shown for reference. The goal:
// at least 1.0x host-local's allocations per second at 1 caller, 2x at 32.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { forwarderPath } from '@twill/cni-core';
import { installForwardedIpam } from '@twill/ipam';

import { median } from './lib/compare.js';
import { processCpuMs as cpuOf } from './lib/cpu.js';
import { writeSection } from './lib/report.js';

const ROOT = join(import.meta.dirname, '..');
const HOST_LOCAL = '/usr/lib/cni/host-local';
const TWILL_BIN = join(ROOT, 'packages', 'ipam', 'bin', 'twill-ipam.js');
const ROUNDS = 3;
const EXEC_SOURCE = join(import.meta.dirname, 'ipam-plugin-exec');
const EXEC_BIN = join(ROOT, 'node_modules', '.cache', 'twill', 'ipam-plugin-exec');

let ids = 0;

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

// Builds the libcni exec driver from Debian's libcni sources in GOPATH mode (no module
// download), as scripts/setup.sh builds cnitool; rebuilt when its source is newer.
function buildExecDriver(): void {
  const source = join(EXEC_SOURCE, 'main.go');
  if (existsSync(EXEC_BIN) && statSync(EXEC_BIN).mtimeMs >= statSync(source).mtimeMs) return;
  mkdirSync(dirname(EXEC_BIN), { recursive: true });
  const built = spawnSync('go', ['build', '-o', EXEC_BIN, '.'], {
    cwd: EXEC_SOURCE,
    env: { ...process.env, GOPATH: '/usr/share/gocode', GO111MODULE: 'off', GOFLAGS: '', GOPROXY: 'off', GOCACHE: join(dirname(EXEC_BIN), 'go-build') },
    encoding: 'utf8',
  });
  if (built.status !== 0) {
    throw new Error(`cannot build ${EXEC_SOURCE} (needs Debian's golang-go and golang-github-appc-cni-dev, see scripts/setup.sh): ${built.error?.message ?? built.stderr}`);
  }
}

// CPU time (user + system) of a process so far (or of its ended children), in milliseconds, from /proc.
const processCpuMs = (pid: number | 'self', children = false): number => cpuOf(pid, { children });

/** One measured run: allocations per second, and CPU milliseconds per call (ADD or DEL). */
interface Measured {
  readonly perSecond: number;
  /** The exec'ing process's own CPU (the runtime's share). */
  readonly runtimeCpuMs: number;
  /** The plugin processes' CPU (the forwarder's, or host-local's). */
  readonly pluginCpuMs: number;
}

/** The libcni driver's run of `total` ADD+DEL pairs from `callers` goroutines. */
function throughputLibcni(side: Side, dataDir: string, callers: number, total: number): Promise<Measured> {
  const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'bridge', ipam: { ...side.ipam, dataDir } });
  return new Promise((resolve, reject) => {
    const child = execFile(EXEC_BIN, [side.file, String(callers), String(total), `bench-${(ids += 1)}-`], { env: { PATH: process.env['PATH'], ...side.env } }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`${side.name}: ${stderr || error.message}`));
      const out = JSON.parse(stdout) as { perSecond: number; runtimeCpuMsPerCall: number; pluginCpuMsPerCall: number };
      resolve({ perSecond: out.perSecond, runtimeCpuMs: out.runtimeCpuMsPerCall, pluginCpuMs: out.pluginCpuMsPerCall });
    });
    child.stdin?.end(config);
  });
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


/** From this Node process: `callers` loops doing ADD then DEL until `total` ADDs are done. */
async function throughputNode(side: Side, dataDir: string, callers: number, total: number): Promise<Measured> {
  const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'bridge', ipam: { ...side.ipam, dataDir } });
  let left = total;
  const selfBefore = processCpuMs('self');
  const childrenBefore = processCpuMs('self', true);
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
  const perSecond = total / (Number(process.hrtime.bigint() - start) / 1e9);
  return { perSecond, runtimeCpuMs: (processCpuMs('self') - selfBefore) / (2 * total), pluginCpuMs: (processCpuMs('self', true) - childrenBefore) / (2 * total) };
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
  buildExecDriver();
  const work = mkdtempSync(join(tmpdir(), 'twill-bench-ipam-plugin-'));
  const socket = join(work, 'agent.sock');
  const { plugin } = await installForwardedIpam(join(work, 'bin'), { standalone: `#!/bin/sh\nexec '${process.execPath}' '${TWILL_BIN}' "$@"\n` });
  const server = await startServer(socket);
  try {
    const ranges = { ranges: [[{ subnet: '10.200.0.0/16' }]] };
    const served = { TWILL_AGENT_SOCKET: socket };
    const noServer = { TWILL_AGENT_SOCKET: join(work, 'nobody.sock') };
    const hostLocal: Side = { name: 'host-local (Go)', file: HOST_LOCAL, ipam: { type: 'host-local', ...ranges }, env: {} };
    const forwardedRanges: Side = { name: 'twill-ipam, forwarder + server, ranges, sqlite', file: plugin, ipam: { type: 'twill-ipam', store: 'sqlite', ...ranges }, env: served };
    const forwardedPools: Side = { name: 'twill-ipam, forwarder + server, pools (sqlite)', file: plugin, ipam: { type: 'twill-ipam', nodeName: 'bench', pools: [{ cidr: '10.96.0.0/12', blockSize: 26 }] }, env: served };
    const standalone: Side = { name: 'twill-ipam standalone, ranges, sqlite (no server: the forwarder execs node)', file: plugin, ipam: { type: 'twill-ipam', store: 'sqlite', ...ranges }, env: noServer };
    // What execs the plugins: libcni's RawExec (the headline), or this Node process
    // (the earlier harness). The standalone path (a node process per call) runs under
    // the Node harness only, as before: from libcni, 32 node processes start at once and
    // on a loaded machine some outwait SQLite's busy timeout opening the database.
    const harnesses = [
      { name: 'libcni', measure: throughputLibcni, sides: [hostLocal, forwardedRanges, forwardedPools] },
      { name: 'node spawn', measure: throughputNode, sides: [hostLocal, forwardedRanges, forwardedPools, standalone] },
    ];
    const rows: string[] = [];
    for (const [callers, total] of [
      [1, 12],
      [32, 64],
    ] as const) {
      for (const harness of harnesses) {
        const runs = harness.sides.map(() => [] as (Measured & { serverCpuMs: number })[]);
        // Sides alternate within each round, so drift on this shared machine hits all alike.
        for (let round = 0; round < ROUNDS; round++) {
          for (const [i, side] of harness.sides.entries()) {
            const dataDir = mkdtempSync(join(work, 'data-'));
            try {
              await harness.measure(side, dataDir, Math.min(callers, 4), Math.min(callers, 4)); // warm-up
              const serverBefore = processCpuMs(server.pid ?? 0);
              const measured = await harness.measure(side, dataDir, callers, total);
              runs[i]!.push({ ...measured, serverCpuMs: (processCpuMs(server.pid ?? 0) - serverBefore) / (2 * total) });
            } finally {
              rmSync(dataDir, { recursive: true, force: true });
            }
          }
          process.stdout.write(`  ${callers} caller(s), ${harness.name}, round ${round + 1}/${ROUNDS}\n`);
        }
        const base = median(runs[0]!.map((r) => r.perSecond));
        for (const [i, side] of harness.sides.entries()) {
          const r = runs[i]!;
          const rates = r.map((m) => m.perSecond);
          const m = median(rates);
          const cpu = (pick: (x: Measured & { serverCpuMs: number }) => number): string => median(r.map(pick)).toFixed(1);
          rows.push(
            `| ${callers} | ${harness.name} | ${side.name} | ${Math.min(...rates).toFixed(1)} | ${m.toFixed(1)} | ${Math.max(...rates).toFixed(1)} | ${(m / base).toFixed(2)} | ${cpu((x) => x.runtimeCpuMs)} | ${cpu((x) => x.pluginCpuMs)} | ${side.env === served ? cpu((x) => x.serverCpuMs) : '–'} |`,
          );
        }
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
against host-local's under the same harness (higher is better; the goal is 1.0 at 1
caller, 2.0 at 32). twill-ipam is installed with \`installForwardedIpam\`: \`twill-ipam\`
is the native forwarder, which hands each call to one warm \`twill-ipam serve\` process
(the built package on plain node) over a unix socket, or, with no server, execs
\`twill-ipam.standalone\` (node on the build).

Harnesses: **libcni** execs each call through libcni's \`invoke.RawExec\` (Go's
\`os/exec\`, which containerd and CRI-O use) from \`bench/ipam-plugin-exec\`, one
goroutine per caller; **node spawn** execs them from the bench's Node process with
\`child_process.spawn\`, as runs before 2026-11-28 10:30 UTC did. Node forks itself per
exec, which costs its own CPU and the child's before the exec (the "runtime" column and
part of the "plugin processes" one), the same for every side: on 2 CPUs that shared cost
caps every side and pulls the ratios toward 1. CPU columns are medians per call (ADD or
DEL) in milliseconds: the exec'ing process's own, the plugin processes' (host-local, or
the forwarder; from \`getrusage(RUSAGE_CHILDREN)\` or \`/proc/self/stat\`), and the
twill-ipam server's (from \`/proc/PID/stat\`; it also answers the warm-up calls of no
other side, so its column is its cost per call).

| callers | harness | side | min alloc/s | median alloc/s | max alloc/s | ratio vs host-local | runtime CPU ms/call | plugin processes CPU ms/call | server CPU ms/call |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Process start, median of 10 execs (VERSION) from Node: \`/bin/true\` ${trueStart.toFixed(1)} ms; the
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
