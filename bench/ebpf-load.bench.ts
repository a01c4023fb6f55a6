// How fast does @twill/ebpf load a clang-built object? A: readCollectionSpec +
// loadCollection of a fixture object, its programs and maps pinned into a fresh bpffs
// folder (what `bpftool prog loadall ... pinmaps` leaves), then closed and removed.
// B: `bpftool prog loadall OBJ DIR pinmaps DIR2` of the same object, then the folders
// removed. Both sides clean up inside the timed call, alike. The target: a
// median ratio A/B of at most 1.0. Needs root and bpftool (Debian).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { decodeCollectionSpec, loadCollection, readCollectionSpec } from '@twill/ebpf';

import { compareAlternately, comparisonTable } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const FIXTURES = join(import.meta.dirname, '..', 'packages', 'ebpf', 'test', 'fixtures');

export async function run(command: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('ebpf-load needs root (it loads programs and pins them in bpffs)');
  // A bpffs instance of its own, so that other users of /sys/fs/bpf (tests mounting and
  // unmounting it) cannot pull it away mid-run.
  const root = mkdtempSync(join(tmpdir(), 'twill-bench-bpffs-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', root]);
  let n = 0;
  const fresh = (): string => join(root, String((n += 1)));
  try {
    const rows: string[] = [];
    for (const object of ['xdp', 'calls'] as const) {
      const path = join(FIXTURES, `${object}.o`);
      // bpftool (libbpf 1.x) refuses the legacy `maps` section of calls.o: only twill runs it.
      const bpftoolLoads = object === 'xdp';
      const twill = (): void => {
        const progs = fresh();
        const maps = fresh();
        mkdirSync(progs);
        mkdirSync(maps);
        const collection = loadCollection(readCollectionSpec(path), { pinPath: maps });
        for (const [name, program] of Object.entries(collection.programs)) program.pin(join(progs, name));
        for (const [name, map] of Object.entries(collection.maps)) if (!collection.pins[name]) map.pin(join(maps, name));
        collection.close();
        rmSync(progs, { recursive: true });
        rmSync(maps, { recursive: true });
      };
      if (!bpftoolLoads) {
        const parse = readFileSync(path);
        const start = process.hrtime.bigint();
        for (let i = 0; i < 200; i += 1) decodeCollectionSpec(parse);
        const parseMs = Number(process.hrtime.bigint() - start) / 1e6 / 200;
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < 50; i += 1) twill();
        const loadMs = Number(process.hrtime.bigint() - t0) / 1e6 / 50;
        rows.push(`\`${object}.o\` (legacy maps, BPF-to-BPF calls; bpftool cannot load it): twill load+pin+clean ${loadMs.toFixed(2)} ms mean of 50; parse alone ${parseMs.toFixed(3)} ms mean of 200.`);
        continue;
      }
      const comparison = await compareAlternately({
        a: { name: `A: twill readCollectionSpec + loadCollection, pin all (\`${object}.o\`)`, fn: twill },
        b: {
          name: `B: \`bpftool prog loadall ${object}.o DIR pinmaps DIR2\``,
          fn: () => {
            const progs = fresh();
            const maps = fresh();
            const result = spawnSync('bpftool', ['prog', 'loadall', path, progs, 'pinmaps', maps], { stdio: ['ignore', 'ignore', 'pipe'] });
            if (result.status !== 0) throw new Error(`bpftool exited ${result.status}: ${result.stderr.toString()}`);
            rmSync(progs, { recursive: true });
            rmSync(maps, { recursive: true });
          },
        },
        runs: 40,
        warmup: 3,
      });
      rows.push(comparisonTable([comparison]));
    }
    writeSection({
      id: 'ebpf-load',
      title: 'ELF object load: @twill/ebpf loadCollection versus bpftool prog loadall',
      command,
      body: `${rows.join('\n\n')}

A runs in the benchmark's process (the way the agent loads objects: no process start);
B execs bpftool, which is how an operator or a script loads an object without a
library. Both read and parse the object, create the maps, load BTF and the programs
with func/line info, pin the programs and maps into fresh bpffs folders and remove them
again. The target is a median ratio A/B of at most 1.0.`,
    });
  } finally {
    execFileSync('umount', [root]);
    rmSync(root, { recursive: true, force: true });
  }
}
