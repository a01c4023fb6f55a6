// How fast does @twill/ebpf load a clang-built object and attach it? A: readCollectionSpec
// + loadCollection of syn-counter.o, its program and map pinned into fresh bpffs folders
// (what `bpftool prog loadall ... pinmaps` leaves), the program attached with tcx to
// ingress of a veth in a throwaway network namespace; then detached, closed and removed.
// B: `bpftool prog loadall OBJ DIR pinmaps DIR2` of the same object, the folders removed:
// Debian's bpftool 7.1 cannot attach tc or tcx programs, so B loads only, and A does more
// work than B. B': B, then the program attached as bpftool's users do it without tcx,
// `tc qdisc add ... clsact` and `tc filter add ... bpf da pinned` in one `tc -batch`, and
// the qdisc deleted. Every side cleans up inside the timed call. The target: a
// median ratio A/B of at most 1.0. Needs root, bpftool, tc (iproute2).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { attachTcx, loadCollection, readCollectionSpec } from '@twill/ebpf';
import { NetworkScratch } from '@twill/sys/testing';

import { compareAlternately, comparisonTable } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const FIXTURES = join(import.meta.dirname, '..', 'packages', 'ebpf', 'test', 'fixtures');
const OBJECT = 'syn-counter';
const PROGRAM = 'count_syns';

/** Runs a command; throws with its standard error when it fails. */
function execOrThrow(file: string, args: string[], input?: string): void {
  const result = spawnSync(file, args, { input: input ?? '', stdio: ['pipe', 'ignore', 'pipe'] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.status}: ${result.stderr.toString().trim()}`);
}

export async function run(command: string): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('ebpf-load needs root (it loads programs, pins them in bpffs and attaches them)');
  // A bpffs instance of its own, so that other users of /sys/fs/bpf (tests mounting and
  // unmounting it) cannot pull it away mid-run.
  const root = mkdtempSync(join(tmpdir(), 'twill-bench-bpffs-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', root]);
  const scratch = new NetworkScratch();
  let n = 0;
  const fresh = (): string => join(root, String((n += 1)));
  try {
    const ns = scratch.netns();
    const peer = scratch.netns();
    const { a: dev } = scratch.veth(ns, peer);
    const path = join(FIXTURES, `${OBJECT}.o`);

    const twill = (): void => {
      const progs = fresh();
      const maps = fresh();
      mkdirSync(progs);
      mkdirSync(maps);
      const collection = loadCollection(readCollectionSpec(path), { pinPath: maps });
      for (const [name, program] of Object.entries(collection.programs)) program.pin(join(progs, name));
      for (const [name, map] of Object.entries(collection.maps)) if (!collection.pins[name]) map.pin(join(maps, name));
      const link = attachTcx({ program: collection.program(PROGRAM), interface: dev, direction: 'ingress', netns: ns.handle });
      link.close();
      collection.close();
      rmSync(progs, { recursive: true });
      rmSync(maps, { recursive: true });
    };
    const bpftoolLoad = (attach: boolean) => (): void => {
      const progs = fresh();
      const maps = fresh();
      execOrThrow('bpftool', ['prog', 'loadall', path, progs, 'pinmaps', maps]);
      if (attach) {
        execOrThrow('tc', ['-n', ns.name, '-batch', '-'], `qdisc add dev ${dev} clsact\nfilter add dev ${dev} ingress bpf direct-action pinned ${join(progs, PROGRAM)}\n`);
        execOrThrow('tc', ['-n', ns.name, 'qdisc', 'del', 'dev', dev, 'clsact']);
      }
      rmSync(progs, { recursive: true });
      rmSync(maps, { recursive: true });
    };

    const loadOnly = await compareAlternately({
      a: { name: `A: twill readCollectionSpec + loadCollection + pin + attachTcx (\`${OBJECT}.o\`)`, fn: twill },
      b: { name: `B: \`bpftool prog loadall ${OBJECT}.o DIR pinmaps DIR2\` (no attach)`, fn: bpftoolLoad(false) },
      runs: 40,
      warmup: 3,
    });
    const withTc = await compareAlternately({
      a: { name: `A: twill load + pin + attachTcx (\`${OBJECT}.o\`)`, fn: twill },
      b: { name: `B': bpftool prog loadall + \`tc -batch\` (clsact qdisc, bpf da filter) + \`tc qdisc del\``, fn: bpftoolLoad(true) },
      runs: 40,
      warmup: 3,
    });

    writeSection({
      id: 'ebpf-load',
      title: 'ELF object load and attach: @twill/ebpf versus bpftool prog loadall',
      command,
      body: `${comparisonTable([loadOnly])}

${comparisonTable([withTc])}

A runs in the benchmark's process (the way the agent loads objects: no process start):
it reads and parses \`${OBJECT}.o\`, creates the map, loads the BTF and the program with
func/line info, pins both into fresh bpffs folders, attaches the program with tcx to
ingress of a veth inside a throwaway network namespace, then detaches, closes and
removes the pins. B execs \`bpftool prog loadall\`, which does the same loading and
pinning but cannot attach (Debian's bpftool 7.1 has no tc or tcx attach): the issue's
comparison, where the target is a median ratio A/B of at most 1.0 although A also
attaches. B' adds the attach an operator does without tcx (\`tc -n NS -batch\` with a
clsact qdisc and a direct-action bpf filter on the pinned program, then the qdisc
deleted).`,
    });
  } finally {
    scratch.cleanup();
    execFileSync('umount', [root]);
    rmSync(root, { recursive: true, force: true });
  }
}
