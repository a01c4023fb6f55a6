import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { rootSkipReason } from '@twill/sys/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  LayoutError,
  MapType,
  createMap,
  openPinnedMap,
  openPinnedMapHandle,
  openPinnedPerCpuMap,
  u32,
  u64,
} from '../../src/index.js';
import { possibleCpuCount } from '../../src/internal/sys/possible-cpus.js';
import { ensureBpffs, leftovers, pinPath } from '../bpffs.js';

const reason = rootSkipReason('loads eBPF maps and programs');

/** `bpftool -j ARGS...` parsed. */
function bpftool(...args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }));
}

/** Little-endian bytes of an integer as bpftool's command line takes them. */
function le(value: number | bigint, size: number): string[] {
  return Array.from({ length: size }, (_, i) => String(Number((BigInt(value) >> BigInt(8 * i)) & 0xffn)));
}

/** bpftool's `["0x01", ...]` bytes back to a number. */
function fromHex(bytes: string[]): bigint {
  return bytes.reduceRight((n, b) => (n << 8n) | BigInt(Number.parseInt(b, 16)), 0n);
}

describe.skipIf(reason)(`pinning and bpftool interop as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let unmount: () => void = () => undefined;
  const paths: string[] = [];
  const open: { close(): void }[] = [];

  beforeAll(() => {
    unmount = ensureBpffs();
  });
  afterEach(() => {
    for (const object of open.splice(0)) object.close();
    for (const path of paths.splice(0)) rmSync(path, { force: true });
    expect(leftovers()).toEqual([]);
  });
  afterAll(() => unmount());

  function newPath(): string {
    const path = pinPath();
    paths.push(path);
    return path;
  }
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }

  it('pins a map that outlives its fd and another process reopens with its contents', () => {
    const path = newPath();
    const map = createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 64, name: 'twt_pinned' });
    map.updateBatch([[1, 10n], [2, 20n], [3, 30n]]);
    map.pin(path);
    map.close();

    const script = fileURLToPath(new URL('../fixtures/dump-pinned.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--conditions=@twill/source', script, path], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([[1, '10'], [2, '20'], [3, '30']]);

    const again = track(openPinnedMap(path, { key: u32, value: u64 }));
    expect(again.lookup(1000)).toBe(1000n); // written by the other process
    expect(again.info().name).toBe('twt_pinned');
  });

  it('refuses to pin over an existing path and to open a missing one', () => {
    const path = newPath();
    const map = track(createMap({ type: MapType.Array, key: u32, value: u32, maxEntries: 1 }));
    map.pin(path);
    expect(() => map.pin(path)).toThrowError(expect.objectContaining({ errno: 'EEXIST', operation: `BPF_OBJ_PIN ${path}` }));
    expect(() => openPinnedMapHandle(`${path}-missing`)).toThrowError(expect.objectContaining({ errno: 'ENOENT' }));
  });

  it('refuses layouts that do not match the pinned map, and per-CPU mix-ups', () => {
    const path = newPath();
    track(createMap({ type: MapType.PerCpuHash, key: u32, value: u64, maxEntries: 4 })).pin(path);
    expect(() => openPinnedPerCpuMap(path, { key: u64, value: u64 })).toThrow(new LayoutError(`${path}: keys are 4 bytes, the key layout is 8`));
    expect(() => openPinnedMap(path, { key: u32, value: u64 })).toThrow(/PerCpuHash map: open it with openPinnedPerCpuMap/);
    const perCpu = track(openPinnedPerCpuMap(path, { key: u32, value: u64 }));
    const values = Array.from({ length: possibleCpuCount() }, (_, i) => BigInt(i + 1));
    perCpu.update(9, values);
    expect(perCpu.lookup(9)).toEqual(values);
  });

  it('shows what twill wrote in bpftool map dump', () => {
    const path = newPath();
    const map = track(createMap({ type: MapType.Hash, key: u32, value: u64, maxEntries: 16, name: 'twt_dump' }));
    map.updateBatch([[7, 0x1122334455667788n], [8, 42n]]);
    map.pin(path);
    const dump = bpftool('map', 'dump', 'pinned', path) as { key: string[]; value: string[] }[];
    const entries = dump.map((e) => [fromHex(e.key), fromHex(e.value)]).sort(([a], [b]) => Number((a ?? 0n) - (b ?? 0n)));
    expect(entries).toEqual([[7n, 0x1122334455667788n], [8n, 42n]]);
    const shown = bpftool('map', 'show', 'pinned', path) as { id: number; name: string; type: string };
    expect(shown).toMatchObject({ id: map.info().id, name: 'twt_dump', type: 'hash' });
  });

  it('opens and uses a map that bpftool created and pinned', () => {
    const path = newPath();
    execFileSync('bpftool', ['map', 'create', path, 'type', 'hash', 'key', '4', 'value', '8', 'entries', '16', 'name', 'twt_bt']);
    execFileSync('bpftool', ['map', 'update', 'pinned', path, 'key', ...le(1, 4), 'value', ...le(111n, 8)]);
    const map = track(openPinnedMap(path, { key: u32, value: u64 }));
    expect(map.type).toBe(MapType.Hash);
    expect(map.lookup(1)).toBe(111n);
    map.update(2, 222n);
    const looked = bpftool('map', 'lookup', 'pinned', path, 'key', ...le(2, 4)) as { value: string[] };
    expect(fromHex(looked.value)).toBe(222n);
  });

  it('a map pinned by a process that has exited keeps its contents; a reload reuses it', () => {
    const dir = pinPath();
    open.push({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const script = fileURLToPath(new URL('../fixtures/count-and-exit.ts', import.meta.url));
    const id = Number(execFileSync(process.execPath, ['--import', 'tsx', '--conditions=@twill/source', script, dir, '7'], { encoding: 'utf8' }));
    // The child has exited: only the pin holds the map now.
    expect(bpftool('map', 'show', 'pinned', `${dir}/counts`)).toMatchObject({ id, name: 'counts' });
    const counts = track(openPinnedMap(`${dir}/counts`, { key: u32, value: u64 }));
    expect(counts.lookup(0x0008)).toBe(7n); // IPv4, as the program keys it
    // A second process run loads the object again, reuses the pinned map and adds to it.
    expect(Number(execFileSync(process.execPath, ['--import', 'tsx', '--conditions=@twill/source', script, dir, '3'], { encoding: 'utf8' }))).toBe(id);
    expect(counts.lookup(0x0008)).toBe(10n);
  });
});
