// Map updates per second: the same N updates of a pinned BPF hash map (u32 key, u64
// value) made three ways, side by side in one run. Single: twill's `map.update` once per
// entry (one BPF_MAP_UPDATE_ELEM each). Batched: twill's `map.updateBatch` with all N
// entries (one BPF_MAP_UPDATE_BATCH). bpftool: `bpftool batch file F` whose N lines are
// `map update pinned P key ... value ...` (one process, one update syscall per line). The
// issue's target: batched at least 1.0x bpftool's updates per second. Needs root, bpftool.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MapType, createMap, u32, u64 } from '@twill/ebpf';

import { type Comparison, compareAlternately, comparisonTable } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const N = 10_000;

/** Little-endian bytes as bpftool takes them: `0x01 0x00 ...`. */
function hexBytes(value: bigint, size: number): string {
  const out: string[] = [];
  for (let i = 0; i < size; i += 1) out.push(`0x${((value >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0')}`);
  return out.join(' ');
}

export async function run(command: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('ebpf-map-update needs root (it creates and pins BPF maps)');
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-maps-'));
  const root = join(dir, 'bpffs');
  execFileSync('mkdir', [root]);
  execFileSync('mount', ['-t', 'bpf', 'bpf', root]);
  const map = createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 2 * N, name: 'twt_bench' });
  try {
    const pin = join(root, 'twt_bench');
    map.pin(pin);
    // Values change from run to run so that every side really writes.
    let round = 0n;
    const entries = (): [number, bigint][] => {
      round += 1n;
      return Array.from({ length: N }, (_, k) => [k, round * 1_000_000n + BigInt(k)]);
    };
    const batchFile = join(dir, 'updates.txt');
    writeFileSync(batchFile, Array.from({ length: N }, (_, k) => `map update pinned ${pin} key ${hexBytes(BigInt(k), 4)} value ${hexBytes(BigInt(k) * 7n, 8)}`).join('\n') + '\n');
    const bpftool = {
      name: `bpftool: \`bpftool batch file F\`, ${N} \`map update\` lines`,
      fn: (): void => {
        const result = spawnSync('bpftool', ['batch', 'file', batchFile], { stdio: ['ignore', 'ignore', 'pipe'] });
        if (result.status !== 0) throw new Error(`bpftool exited ${result.status}: ${result.stderr.toString()}`);
      },
    };
    const batched = await compareAlternately({
      a: { name: `A: twill \`updateBatch\` of ${N} entries (one BPF_MAP_UPDATE_BATCH)`, fn: () => map.updateBatch(entries()) },
      b: bpftool,
      runs: 15,
      warmup: 2,
    });
    const single = await compareAlternately({
      a: {
        name: `A: twill \`update\` ${N} times (one BPF_MAP_UPDATE_ELEM each)`,
        fn: () => {
          for (const [k, v] of entries()) map.update(k, v);
        },
      },
      b: bpftool,
      runs: 15,
      warmup: 2,
    });
    // Check that every side wrote: the last twill round and bpftool's values are there.
    if (map.lookup(N - 1) === undefined) throw new Error('the map lost its entries');

    const perSecond = (c: Comparison, side: 'a' | 'b'): string => Math.round(N / (c[side].median / 1000)).toLocaleString('en-US');
    writeSection({
      id: 'ebpf-map-update',
      title: 'BPF map updates per second: @twill/ebpf single and batched versus bpftool batch',
      command,
      body: `${comparisonTable([batched])}

${comparisonTable([single])}

| way | updates/s (from the median) | versus bpftool |
|---|---|---|
| twill batched (\`updateBatch\`, one syscall) | ${perSecond(batched, 'a')} | ${(1 / batched.ratio).toFixed(1)}x |
| twill single (\`update\` per entry) | ${perSecond(single, 'a')} | ${(1 / single.ratio).toFixed(1)}x |
| \`bpftool batch file\` | ${perSecond(batched, 'b')} (second run: ${perSecond(single, 'b')}) | 1x |

Each run writes ${N.toLocaleString('en-US')} entries (u32 key, u64 value) into one pinned hash
map of ${(2 * N).toLocaleString('en-US')} entries; timings include building the entries (twill) and
the process start and parsing of the batch file (bpftool). "versus bpftool" is updates per
second relative to bpftool's (the inverse of the time ratio); the target is batched at
least 1.0x.`,
    });
  } finally {
    map.close();
    execFileSync('umount', [root]);
    rmSync(dir, { recursive: true, force: true });
  }
}
