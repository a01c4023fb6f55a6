/** Opening maps pinned in bpffs, by this package or by anyone else (bpftool, libbpf, cilium). */
import { LayoutError } from '../errors.js';
import type { Layout } from '../codec/layout.js';
import type { MapFd } from '../fd.js';
import { ObjFlag } from '../internal/sys/commands.js';
import { possibleCpuCount } from '../internal/sys/possible-cpus.js';
import { closeFd, objGet } from '../internal/sys/syscall.js';
import { MapHandle } from './handle.js';
import { BpfMap, checkLayouts } from './map.js';
import { isPerCpu, mapTypeName } from './map-type.js';
import { perCpuLayout } from './per-cpu.js';

/** Options of {@link openPinnedMap}. */
export interface OpenPinnedMapOptions<K, V> {
  /** The key layout: its size must be the pinned map's key size. */
  key: Layout<K>;
  /** The value layout (for per-CPU maps: of one CPU's value). */
  value: Layout<V>;
  /** Open read-only (`BPF_F_RDONLY`, 4.15) or write-only. */
  access?: 'read-write' | 'read-only' | 'write-only';
}

const accessFlags = { 'read-write': 0, 'read-only': ObjFlag.RDONLY, 'write-only': ObjFlag.WRONLY } as const;

function openFd(path: string, access: keyof typeof accessFlags): MapFd {
  return objGet(path, accessFlags[access]) as MapFd;
}

/**
 * Opens a map pinned at `path` and checks that the layouts match its key and value
 * sizes. The map's type comes from the kernel. For a per-CPU map use
 * {@link openPinnedPerCpuMap}. Needs Linux 4.4 (4.13 for the size check).
 * @throws {BpfError} `ENOENT` when nothing is pinned there.
 * @throws {LayoutError} when the sizes differ or the map is per-CPU.
 */
export function openPinnedMap<K, V>(path: string, options: OpenPinnedMapOptions<K, V>): BpfMap<K, V> {
  return open(path, options, false) as BpfMap<K, V>;
}

/** {@link openPinnedMap} for per-CPU maps: values come one per possible CPU. */
export function openPinnedPerCpuMap<K, V>(path: string, options: OpenPinnedMapOptions<K, V>): BpfMap<K, V[]> {
  return open(path, options, true) as BpfMap<K, V[]>;
}

function open<K, V>(path: string, options: OpenPinnedMapOptions<K, V>, perCpu: boolean): BpfMap<K, V | V[]> {
  const fd = openFd(path, options.access ?? 'read-write');
  try {
    const info = new MapHandle(fd).info();
    if (isPerCpu(info.type) !== perCpu) {
      const hint = perCpu ? 'openPinnedMap' : 'openPinnedPerCpuMap';
      throw new LayoutError(`${path} is a ${mapTypeName(info.type)} map: open it with ${hint}`);
    }
    checkLayouts(path, info, options.key, options.value);
    const value = perCpu ? perCpuLayout(options.value, possibleCpuCount()) : options.value;
    return new BpfMap<K, V | V[]>(fd, info, options.key, value as Layout<V | V[]>);
  } catch (error) {
    closeFd(fd);
    throw error;
  }
}

/**
 * Opens any pinned map without layouts: for pinning elsewhere, `info()`, or passing its
 * fd to a program. Needs Linux 4.4.
 * @throws {BpfError} `ENOENT` when nothing is pinned there.
 */
export function openPinnedMapHandle(path: string, access: OpenPinnedMapOptions<unknown, unknown>['access'] = 'read-write'): MapHandle {
  return new MapHandle(openFd(path, access));
}
