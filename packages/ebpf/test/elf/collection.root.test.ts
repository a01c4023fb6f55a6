import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { rootSkipReason } from '@twill/sys/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  BpfError,
  CollectionError,
  type Collection,
  type CollectionSpec,
  bytes,
  loadCollection,
  openPinnedMap,
  readCollectionSpec,
  u32,
  u64,
} from '../../src/index.js';
import { ensureBpffs, leftovers, pinPath } from '../bpffs.js';

const reason = rootSkipReason('loads eBPF programs');

function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}.o`, import.meta.url));
}

/** `bpftool -j ARGS...` parsed. */
function bpftool(...args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }));
}

/** bpftool's `["0x01", ...]` bytes back to a number. */
function fromHex(bytes: string[]): bigint {
  return bytes.reduceRight((n, b) => (n << 8n) | BigInt(Number.parseInt(b, 16)), 0n);
}

/** `bpftool map dump pinned PATH` as [key, value] numbers: its BTF-formatted view when there is one. */
function dumpMap(path: string): [number, bigint][] {
  const entries = bpftool('map', 'dump', 'pinned', path) as { key: string[]; value: string[]; formatted?: { key: number; value: number } }[];
  return entries.map((e) => (e.formatted ? [e.formatted.key, BigInt(e.formatted.value)] : [Number(fromHex(e.key)), fromHex(e.value)]));
}

/** An Ethernet frame with the given EtherType, padded to 64 bytes. */
function frame(etherType: number, extra: number[] = []): Uint8Array {
  const out = new Uint8Array(64);
  out[12] = etherType >> 8;
  out[13] = etherType & 0xff;
  out.set(extra, 14);
  return out;
}

/** IPv4 + UDP to `port`, after the Ethernet header. */
function udpTo(port: number): number[] {
  const ip = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
  return [...ip, 0x30, 0x39, port >> 8, port & 0xff, 0, 8, 0, 0];
}

/** skb->protocol as the program reads it: the EtherType in network byte order, as a little-endian u32. */
const IPV4_KEY = 0x0008;

describe.skipIf(reason)(`ELF collections as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let unmount: () => void = () => undefined;
  const collections: Collection[] = [];
  const dirs: string[] = [];

  beforeAll(() => {
    unmount = ensureBpffs();
  });
  afterEach(() => {
    for (const c of collections.splice(0)) c.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    expect(leftovers()).toEqual([]);
  });
  afterAll(() => unmount());

  function load(spec: CollectionSpec, options: Parameters<typeof loadCollection>[1] = {}): Collection {
    const c = loadCollection(spec, options);
    collections.push(c);
    return c;
  }
  function newDir(): string {
    const dir = pinPath();
    dirs.push(dir);
    return dir;
  }

  it.each(['counter', 'xdp', 'globals', 'calls'])('%s.o loads, with BTF', (name) => {
    const spec = readCollectionSpec(fixturePath(name));
    const c = load(spec, { pinPath: newDir() });
    expect(Object.keys(c.programs).sort()).toEqual(Object.keys(spec.programs));
    for (const program of Object.values(c.programs)) {
      const shown = bpftool('prog', 'show', 'id', String(program.info().id)) as { name: string; btf_id?: number };
      expect(shown.name).toBe(program.name);
      expect(shown.btf_id).toBeGreaterThan(0);
    }
  });

  it('the counter counts packets by EtherType and bytes by direction; bpftool shows the same', () => {
    const c = load(readCollectionSpec(fixturePath('counter')), { pinPath: newDir() });
    expect(c.program('count_ingress').testRun({ data: frame(0x0800), repeat: 3 }).retval).toBe(0xffffffff); // TCX_NEXT (-1)
    expect(c.program('count_egress').testRun({ data: frame(0x86dd) }).retval).toBe(0); // TC_ACT_OK
    expect(c.program('drop_all').testRun({ data: frame(0x0800) }).retval).toBe(2); // TC_ACT_SHOT
    const counts = c.map('counts', { key: u32, value: u64 });
    expect(new Map(counts.entries())).toEqual(new Map([[IPV4_KEY, 3n], [0xdd86, 1n]]));
    expect(c.map('bytes', { key: u32, value: u64 }).lookup(0)).toBe(3n * 64n);

    expect(new Map(dumpMap(c.pins.counts!))).toEqual(new Map(counts.entries()));
    const info = bpftool('prog', 'show', 'id', String(c.program('count_ingress').info().id)) as { map_ids: number[] };
    expect(info.map_ids.sort()).toEqual([c.maps.bytes!.info().id, c.maps.counts!.info().id].sort());
  });

  it('the XDP program drops UDP to port 9 and passes the rest', () => {
    const c = load(readCollectionSpec(fixturePath('xdp')));
    const xdp = c.program('xdp_discard');
    expect(xdp.testRun({ data: frame(0x0800, udpTo(9)) }).retval).toBe(1); // XDP_DROP
    expect(xdp.testRun({ data: frame(0x0800, udpTo(53)) }).retval).toBe(2); // XDP_PASS
    expect(xdp.testRun({ data: frame(0x86dd) }).retval).toBe(2);
    const stats = c.map('xdp_stats', { key: u32, value: u64 });
    expect([stats.lookup(0), stats.lookup(1)]).toEqual([2n, 1n]);
  });

  it('rewriting .rodata constants changes what the program does; .bss and .data are maps', () => {
    const spec = readCollectionSpec(fixturePath('globals'));
    const plain = load(spec);
    expect(plain.program('xdp_globals').testRun({ data: frame(0x0800), repeat: 2 }).retval).toBe(2); // XDP_PASS
    const bss = plain.map('.bss', { key: u32, value: bytes(8) });
    expect(new DataView(bss.lookup(0)!.buffer).getBigUint64(0, true)).toBe(2n);
    const data = plain.map('.data', { key: u32, value: u32 });
    expect(data.lookup(0)).toBe(64); // last_len: the packet's length

    const rewritten = load(spec, { constants: { verdict: 1, increment: 10n } });
    expect(rewritten.program('xdp_globals').testRun({ data: frame(0x0800), repeat: 2 }).retval).toBe(1); // XDP_DROP
    const bss2 = rewritten.map('.bss', { key: u32, value: u64 });
    expect(bss2.lookup(0)).toBe(20n);
  });

  it('BPF-to-BPF calls and a legacy map: the subprograms run', () => {
    const c = load(readCollectionSpec(fixturePath('calls')));
    expect(c.program('count_calls').testRun({ data: frame(0x0800), repeat: 4 }).retval).toBe(1);
    // skb->len of these test runs: the frame without its 14-byte Ethernet header.
    expect(c.program('socket_calls').testRun({ data: frame(0x0800) }).retval).toBe(50);
    const legacy = c.map('legacy_counts', { key: u32, value: u64 });
    expect([0, 1, 2, 3].map((k) => legacy.lookup(k))).toEqual([4n, 4n * 50n, 1n, 0n]);
  });

  it('a second load reuses the pinned map with the first load\'s contents', () => {
    const dir = newDir();
    const spec = readCollectionSpec(fixturePath('counter'));
    const first = load(spec, { pinPath: dir });
    first.program('count_egress').testRun({ data: frame(0x0800), repeat: 5 });
    expect(first.reusedMaps).toEqual([]);
    first.close();
    expect(readdirSync(dir)).toEqual(['counts']);

    const second = load(spec, { pinPath: dir });
    expect(second.reusedMaps).toEqual(['counts']);
    expect(second.map('counts', { key: u32, value: u64 }).lookup(IPV4_KEY)).toBe(5n);
    second.program('count_ingress').testRun({ data: frame(0x0800) });
    expect(openPinnedMap(`${dir}/counts`, { key: u32, value: u64 }).lookup(IPV4_KEY)).toBe(6n);
  });

  it('a pinned map that no longer matches is a CollectionError and the load leaves nothing behind', () => {
    const dir = newDir();
    const spec = readCollectionSpec(fixturePath('counter'));
    load(spec, { pinPath: dir }).close();
    const bigger: CollectionSpec = { ...spec, maps: { ...spec.maps, counts: { ...spec.maps.counts!, maxEntries: 128 } } };
    expect(() => load(bigger, { pinPath: dir })).toThrow(CollectionError);
    expect(() => load(bigger, { pinPath: dir })).toThrow(/max entries 64 \(the spec says 128\)/);
    expect(readdirSync(dir)).toEqual(['counts']); // the earlier pin stays, untouched
  });

  it('a program the verifier refuses fails the whole load: no pins, no pin folder', () => {
    const dir = newDir();
    const spec = readCollectionSpec(fixturePath('counter'));
    const broken: CollectionSpec = {
      ...spec,
      programs: {
        ...spec.programs,
        // The last instruction (exit) dropped: the verifier sees a jump out of the program.
        drop_all: { ...spec.programs.drop_all!, instructions: spec.programs.drop_all!.instructions.slice(0, 1), funcInfo: [], lineInfo: [] },
      },
    };
    let error: unknown;
    try {
      load(broken, { pinPath: dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BpfError);
    expect((error as BpfError).log).toMatch(/\S/);
    expect(existsSync(dir)).toBe(false);
  });

  it('what bpftool prog loadall pins, twill opens and uses', () => {
    // Debian's bpftool 7.1 (libbpf 1.1) predates tcx section names, so the XDP object.
    const progs = newDir();
    const maps = newDir();
    execFileSync('bpftool', ['prog', 'loadall', fixturePath('xdp'), progs, 'pinmaps', maps]);
    expect(readdirSync(maps)).toEqual(['xdp_stats']);
    const packet = Buffer.from(frame(0x0800, udpTo(9)));
    execFileSync('bpftool', ['prog', 'run', 'pinned', `${progs}/xdp_discard`, 'data_in', '-', 'repeat', '3'], { input: packet });
    const stats = openPinnedMap(`${maps}/xdp_stats`, { key: u32, value: u64 });
    try {
      expect(stats.lookup(1)).toBe(3n); // dropped three times, counted by bpftool's program in its map
      stats.update(0, 42n);
      expect(new Map(dumpMap(`${maps}/xdp_stats`)).get(0)).toBe(42n);
    } finally {
      stats.close();
    }
  });

  it('a map pinned by bpftool is reused by a twill load of the same definition', () => {
    const dir = newDir();
    const spec = readCollectionSpec(fixturePath('counter'));
    const counts = spec.maps.counts!;
    // bpftool creates and pins a map with the counter's shape, and fills it.
    mkdirSync(dir);
    execFileSync('bpftool', ['map', 'create', `${dir}/counts`, 'type', 'hash', 'key', '4', 'value', '8', 'entries', String(counts.maxEntries), 'name', 'counts']);
    execFileSync('bpftool', ['map', 'update', 'pinned', `${dir}/counts`, 'key', '8', '0', '0', '0', 'value', '9', '0', '0', '0', '0', '0', '0', '0']);
    const c = load(spec, { pinPath: dir });
    expect(c.reusedMaps).toEqual(['counts']);
    c.program('count_egress').testRun({ data: frame(0x0800) });
    expect(new Map(dumpMap(`${dir}/counts`)).get(IPV4_KEY)).toBe(10n);
  });
});
