// twill-ipam versus Debian's host-local, each exec'd as a CNI IPAM plugin the way a
// runtime does it (environment + stdin, one process per call): ADD then DEL with unique
// container IDs on a temporary data directory, with 1 and with 32 concurrent callers.
// twill-ipam runs built (bin/twill-ipam.js on plain node, no tsx), with its default
// `files` store (host-local's format and lock) and with `sqlite`. The goal:
// at least 1.0x host-local's allocations per second at 1 caller, 2x at 32.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { median } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const ROOT = join(import.meta.dirname, '..');
const HOST_LOCAL = '/usr/lib/cni/host-local';
const TWILL = join(ROOT, 'packages', 'ipam', 'bin', 'twill-ipam.js');
const ROUNDS = 3;

interface Side {
  readonly name: string;
  readonly file: string;
  readonly ipam: Record<string, unknown>;
}

// Builds cni-core and ipam into their (gitignored) dist folders, so that twill-ipam
// starts on plain node as it would when installed. Type errors elsewhere in the tree
// (work in progress) do not stop the emit; a missing entry point does.
function build(): void {
  for (const pkg of ['cni-core', 'ipam']) {
    spawnSync('npx', ['tsc', '-p', join(ROOT, 'packages', pkg, 'tsconfig.lib.json')], { cwd: ROOT, stdio: 'ignore' });
  }
  if (!existsSync(join(ROOT, 'packages', 'ipam', 'dist', 'plugin', 'sys', 'main.js'))) throw new Error('packages/ipam did not build');
}

function execPlugin(file: string, command: 'ADD' | 'DEL', containerId: string, config: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], {
      env: { PATH: process.env['PATH'], CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${command} exited ${code}: ${out}`))));
    child.stdin.end(config);
  });
}

let ids = 0;

/** Allocations per second: `callers` loops doing ADD then DEL until `total` ADDs are done. */
async function throughput(side: Side, dataDir: string, callers: number, total: number): Promise<number> {
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'bench',
    type: 'bridge',
    ipam: { ...side.ipam, dataDir, ranges: [[{ subnet: '10.200.0.0/16' }]] },
  });
  let left = total;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left > 0) {
        left -= 1;
        const id = `bench-${(ids += 1)}`;
        await execPlugin(side.file, 'ADD', id, config);
        await execPlugin(side.file, 'DEL', id, config);
      }
    }),
  );
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
}

function startMs(command: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = process.hrtime.bigint();
    spawnSync(command[0]!, command.slice(1), { stdio: 'ignore', env: { ...process.env, CNI_COMMAND: 'VERSION' }, input: '' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

/** Runs the benchmark and writes its section of BENCHMARKS.md. */
export async function run(command: string): Promise<void> {
  if (!existsSync(HOST_LOCAL)) throw new Error(`${HOST_LOCAL} is missing (Debian's containernetworking-plugins)`);
  build();
  const sides: Side[] = [
    { name: 'host-local (Go)', file: HOST_LOCAL, ipam: { type: 'host-local' } },
    { name: 'twill-ipam, files store', file: TWILL, ipam: { type: 'twill-ipam', store: 'files' } },
    { name: 'twill-ipam, sqlite store', file: TWILL, ipam: { type: 'twill-ipam', store: 'sqlite' } },
  ];
  const rows: string[] = [];
  for (const [callers, total] of [
    [1, 10],
    [32, 64],
  ] as const) {
    const rates = sides.map(() => [] as number[]);
    // Sides alternate within each round, so drift on this shared machine hits all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, side] of sides.entries()) {
        const dataDir = mkdtempSync(join(tmpdir(), 'twill-bench-ipam-'));
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
  const nodeStart = startMs([process.execPath, '-e', '0']);
  const twillVersion = startMs([TWILL]);
  const hostLocalVersion = startMs([HOST_LOCAL]);
  writeSection({
    id: 'ipam-plugin',
    title: 'twill-ipam versus host-local, exec\'d as CNI IPAM plugins',
    command,
    body: `Allocations per second (one ADD then one DEL each, unique container IDs, a fresh
data directory per run), ${ROUNDS} alternating rounds per side; the ratio is the median's
against host-local's (higher is better; the goal is 1.0 at 1 caller, 2.0 at 32).

| callers | side | min alloc/s | median alloc/s | max alloc/s | ratio vs host-local |
|---|---|---|---|---|---|
${rows.join('\n')}

Process start, median of 10 (VERSION): plain \`node -e 0\` ${nodeStart.toFixed(1)} ms,
\`twill-ipam\` (built, plain node) ${twillVersion.toFixed(1)} ms, \`host-local\` ${hostLocalVersion.toFixed(1)} ms.

What dominates: each call is a new process, and twill-ipam's is Node: its start and
module loading cost several times host-local's whole call, before any IPAM work. With 32
callers on 2 CPUs the CPU time of those starts is the bottleneck, so concurrency cannot
hide it; host-local's single file lock is not the limit at this scale. Reaching the goal
needs the call to avoid starting Node: the agent-socket forwarder of ARCHITECTURE.md
(a tiny native executable handing the request to a warm process), not a faster allocator.`,
  });
}
