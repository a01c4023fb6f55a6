// The in-process pool allocator's throughput: allocations per second on the memory
// store and on SQLite (a file in a temporary directory, WAL). Each run starts from an
// empty store and allocates from one IPv4 pool (/14, /26 blocks) for many nodes in
// turn, the shape of a cluster where pods start everywhere at once: every node claims
// its blocks, then allocates from them. The issue's goal: at least 200k/s on memory and
// 5k/s on SQLite. Medians of several runs; every allocation is checked for uniqueness
// after the timing so a fast wrong answer cannot pass for a fast one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { MemoryStore, parsePoolIpamConfig, PoolAllocator, SqliteStore, type Store } from '@twill/ipam';

import { median } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const config = parsePoolIpamConfig(
  { pools: [{ name: 'bench', cidr: '10.64.0.0/14', blockSize: 26 }], releaseCooldownSeconds: 0 },
  { network: 'bench' },
);

interface Run {
  /** Allocations per second of wall-clock time. */
  readonly perSecond: number;
  /** Allocations per second of this process's CPU time (user + system). */
  readonly perCpuSecond: number;
}

async function runOnce(store: Store, allocations: number, nodes: number): Promise<Run> {
  const allocator = new PoolAllocator({ config, store });
  const seen = new Set<string>();
  const got: string[] = new Array<string>(allocations);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < allocations; i++) {
    const { addresses } = await allocator.allocate({ containerId: `c${i}`, ifName: 'eth0', node: `node-${i % nodes}`, namespace: 'default', pod: `pod-${i}` });
    got[i] = addresses[0]?.ip ?? '';
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  for (const ip of got) seen.add(ip);
  if (seen.size !== allocations) throw new Error(`duplicate addresses: ${allocations - seen.size}`);
  await store.close();
  return { perSecond: (allocations / ms) * 1000, perCpuSecond: (allocations / cpuMs) * 1000 };
}

function table(rows: readonly { store: string; allocations: number; runs: readonly Run[]; goal: number }[]): string {
  const lines = [
    '| store | allocations per run | runs | min /s | median /s | max /s | median per CPU-second | goal /s | median / goal |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const rates = row.runs.map((r) => r.perSecond);
    const m = median(rates);
    const cpu = median(row.runs.map((r) => r.perCpuSecond));
    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    lines.push(
      `| ${row.store} | ${row.allocations} | ${rates.length} | ${fmt(Math.min(...rates))} | ${fmt(m)} | ${fmt(Math.max(...rates))} | ${fmt(cpu)} | ${fmt(row.goal)} | ${(m / row.goal).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

// The commit measured, and whether the allocator's sources differ from it.
function measuredCommit(): string {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--', '../packages/ipam/src') !== '';
    return `commit \`${git('rev-parse', '--short', 'HEAD')}\`${dirty ? ' with uncommitted changes in packages/ipam/src' : ''}`;
  } catch {
    return 'an unknown commit (git unavailable)';
  }
}

export async function run(command: string): Promise<void> {
  const nodes = 256;
  const memoryAllocations = 50_000;
  const sqliteAllocations = 5_000;
  const runs = 7;
  await runOnce(new MemoryStore(), 5_000, nodes); // warm-up: JIT, caches
  const memory: Run[] = [];
  for (let i = 0; i < runs; i++) memory.push(await runOnce(new MemoryStore(), memoryAllocations, nodes));
  const sqlite: Run[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-pool-'));
  try {
    for (let i = 0; i < runs; i++) sqlite.push(await runOnce(SqliteStore.open({ path: join(dir, `run-${i}.db`) }), sqliteAllocations, nodes));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeSection({
    id: 'ipam-pool',
    title: 'IPAM pool allocator: allocations per second, in process',
    command,
    body: `${table([
      { store: '`MemoryStore`', allocations: memoryAllocations, runs: memory, goal: 200_000 },
      { store: '`SqliteStore` (file, WAL, synchronous=NORMAL)', allocations: sqliteAllocations, runs: sqlite, goal: 5_000 },
    ])}

\`PoolAllocator.allocate\` called one after another (no concurrency) for ${nodes} nodes in turn,
from an empty store each run: one IPv4 pool \`10.64.0.0/14\` with /26 blocks, cooldown 0, so
each node claims a block every 64 of its allocations and otherwise allocates from its
own. Each allocation is one compare-and-swap commit of two documents (the block and the
handle); on SQLite that is one \`BEGIN IMMEDIATE\` transaction. The memory store answers
synchronously (\`Store.sync\`), so there an allocation runs without awaiting; SQLite goes
through the asynchronous port. ${runs} measured runs per store after one warm-up run on
memory. Measured: ${measuredCommit()}. Load average when the run ended: ${loadavg()
      .map((l) => l.toFixed(0))
      .join(', ')} on ${cpus().length} CPUs; "per CPU-second" divides by this process's
user + system time, which other processes' load inflates much less than wall-clock time.`,
  });
}
