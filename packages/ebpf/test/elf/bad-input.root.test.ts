// Bad input, loaded for real: every failure is a clear error, and nothing is left in the
// kernel (`bpftool prog show` and `bpftool map show` before and after, and this process's
// open BPF fds) or in bpffs (its listing before and after).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { rootSkipReason } from '@twill/sys/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { BpfError, CollectionError, ElfError, type CollectionSpec, loadBtf, loadCollection, readCollectionSpec } from '../../src/index.js';
import { bpffsRoot, ensureBpffs, leftovers, pinPath } from '../bpffs.js';

const reason = rootSkipReason('loads eBPF programs');

function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}.o`, import.meta.url));
}

/** The names the fixtures below give their programs and maps in the kernel. */
const OUR_NAMES = new Set(['xdp_printk', 'license_hits', 'count_ingress', 'count_egress', 'drop_all', 'counts', 'bytes']);

interface KernelState {
  programs: Set<number>;
  maps: Set<number>;
  /** BPF objects this process holds fds of, as `prog:ID` / `map:ID`. */
  ownFds: Set<string>;
  /** Everything in the private bpffs, recursively. */
  pins: string[];
}

function ids(kind: 'prog' | 'map'): { id: number; name?: string }[] {
  return JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as { id: number; name?: string }[];
}

function ownBpfFds(): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the fd of readdir itself)
    }
    const kind = /^anon_inode:bpf-(map|prog|link)$/.exec(target)?.[1];
    if (!kind) continue;
    const id = /^(?:map|prog|link)_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    out.add(`${kind}:${id ?? '?'}`);
  }
  return out;
}

function listPins(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

function snapshot(): KernelState {
  return {
    programs: new Set(ids('prog').map((p) => p.id)),
    maps: new Set(ids('map').map((m) => m.id)),
    ownFds: ownBpfFds(),
    pins: listPins(bpffsRoot()),
  };
}

/**
 * Checks that nothing the failed load made is left. Program ids go when the last fd
 * closes; a map a program used goes after an RCU grace period, so maps are awaited.
 */
async function expectNothingLeft(before: KernelState): Promise<void> {
  expect(ownBpfFds()).toEqual(before.ownFds);
  expect(listPins(bpffsRoot())).toEqual(before.pins);
  const newOfOurs = (kind: 'prog' | 'map', known: Set<number>) => ids(kind).filter((o) => !known.has(o.id) && OUR_NAMES.has(o.name ?? ''));
  expect(newOfOurs('prog', before.programs)).toEqual([]);
  for (let i = 0; i < 100 && newOfOurs('map', before.maps).length > 0; i += 1) await sleep(50);
  expect(newOfOurs('map', before.maps)).toEqual([]);
}

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.skipIf(reason)(`bad input leaves nothing behind, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let unmount: () => void = () => undefined;
  const cleanups: (() => void)[] = [];
  beforeAll(() => {
    unmount = ensureBpffs();
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    expect(leftovers()).toEqual([]);
  });
  afterAll(() => unmount());

  function newDir(): string {
    const dir = pinPath();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('truncated, corrupt and misnamed object files: an ElfError naming what and where', async () => {
    const before = snapshot();
    const good = readFileSync(fixture('counter'));
    const dir = join(tmpdir(), `twt-bad-elf-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const corpus: [string, Uint8Array, RegExp][] = [
      ['truncated.o', good.subarray(0, good.length >> 1), /run past the end of the file/],
      ['header-only.o', good.subarray(0, 64), /section headers .* run past the end/],
      ['not-bpf.o', Uint8Array.from(good, (b, i) => (i === 18 ? 62 : b)), /not EM_BPF/],
      ['unknown-section.o', Buffer.from(good.toString('latin1').replaceAll('tcx/ingress\0', 'tcx/ingrezz\0'), 'latin1'), /tcx\/ingrezz: unknown program section name/],
    ];
    for (const [name, bytes, message] of corpus) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const error = thrown(() => loadCollection(readCollectionSpec(path), { pinPath: newDir() }));
      expect(error).toBeInstanceOf(ElfError);
      expect((error as Error).message).toMatch(message);
    }
    const mismatched = thrown(() => readCollectionSpec(fixture('bad-key-size')));
    expect(mismatched).toMatchObject({ name: 'ElfError', section: '.maps', message: expect.stringMatching(/key_size 8 does not match the key type's size 4/) });
    await expectNothingLeft(before);
  });

  it('the wrong license: the kernel refuses the GPL-only helper, and the map pinned for it is removed', async () => {
    const before = snapshot();
    const dir = newDir();
    const spec = readCollectionSpec(fixture('wrong-license'));
    expect(spec.license).toBe('Proprietary');
    const error = thrown(() => loadCollection(spec, { pinPath: dir }));
    expect(error).toBeInstanceOf(BpfError);
    expect(error).toMatchObject({ operation: 'BPF_PROG_LOAD xdp_printk' });
    expect((error as BpfError).log).toMatch(/GPL/);
    expect(readdirSync(bpffsRoot())).not.toContain(dir.split('/').at(-1)); // the pin folder it made, gone
    await expectNothingLeft(before);

    // With a GPL license the same object loads.
    const gpl: CollectionSpec = { ...spec, programs: { xdp_printk: { ...spec.programs.xdp_printk!, license: 'GPL' } } };
    loadCollection(gpl, { pinPath: dir }).close();
    expect(readdirSync(dir)).toEqual(['license_hits']);
  });

  it('a pinned map with another key size: a CollectionError naming the fields, the other pin untouched', async () => {
    const dir = newDir();
    mkdirSync(dir);
    // bpftool pins a `counts` map with 8-byte keys where counter.o declares 4.
    execFileSync('bpftool', ['map', 'create', `${dir}/counts`, 'type', 'hash', 'key', '8', 'value', '8', 'entries', '64', 'name', 'counts']);
    const before = snapshot();
    const error = thrown(() => loadCollection(readCollectionSpec(fixture('counter')), { pinPath: dir }));
    expect(error).toBeInstanceOf(CollectionError);
    expect((error as Error).message).toMatch(/map counts pinned at .* does not match: key size 8 \(the spec says 4\)/);
    await expectNothingLeft(before);
  });

  it('a program the verifier refuses after other programs loaded: all of them closed', async () => {
    const before = snapshot();
    const spec = readCollectionSpec(fixture('counter'));
    const broken: CollectionSpec = {
      ...spec,
      programs: { ...spec.programs, drop_all: { ...spec.programs.drop_all!, instructions: spec.programs.drop_all!.instructions.slice(0, 1), funcInfo: [], lineInfo: [] } },
    };
    expect(Object.keys(broken.programs).indexOf('drop_all')).toBeGreaterThan(0); // not the first to load
    expect(thrown(() => loadCollection(broken, { pinPath: newDir() }))).toMatchObject({ name: 'BpfError', errno: 'EINVAL', operation: 'BPF_PROG_LOAD drop_all' });
    await expectNothingLeft(before);
  });

  it('BTF the kernel refuses: a BpfError with the BTF log', async () => {
    const before = snapshot();
    const btf = new Uint8Array(64);
    new DataView(btf.buffer).setUint16(0, 0xeb9f, true); // the magic, then nonsense
    btf[2] = 1;
    const error = thrown(() => loadBtf(btf));
    expect(error).toMatchObject({ name: 'BpfError', operation: 'BPF_BTF_LOAD' });
    expect((error as BpfError).log).toMatch(/\S/);
    await expectNothingLeft(before);
  });
});
