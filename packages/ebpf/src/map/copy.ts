/** Copying a map's entries into another map of the same key and value sizes, as bytes. */
import { BpfError, LayoutError } from '../errors.js';
import { UpdateFlag } from '../internal/sys/commands.js';
import { possibleCpuCount } from '../internal/sys/possible-cpus.js';
import { mapGetNextKey, mapLookup, mapUpdate } from '../internal/sys/syscall.js';
import type { MapHandle } from './handle.js';
import { MapType, isPerCpu, mapTypeName } from './map-type.js';

/** Map types whose entries are plain bytes both ways (not fds, not a stream). */
const COPYABLE = new Set<number>([MapType.Hash, MapType.Array, MapType.PerCpuHash, MapType.PerCpuArray, MapType.LruHash, MapType.LruPerCpuHash, MapType.LpmTrie]);

/** Options of {@link copyMapEntries}. */
export interface CopyMapEntriesOptions {
  /**
   * `upsert` (default) overwrites what `to` holds for a key; `create` keeps it; `merge`
   * (with `since`) writes a key when `to` lacks it, or when `from` changed it since that
   * copy while `to` still holds what that copy wrote (whoever wrote last wins).
   */
  mode?: 'upsert' | 'create' | 'merge';
  /** `merge`: the result of an earlier copy between the same maps. */
  since?: CopyMapEntriesResult;
}

/** What {@link copyMapEntries} did. */
export interface CopyMapEntriesResult {
  /** Entries written to `to`. */
  readonly copied: number;
  /** Entries `to` had no room for (`E2BIG`: a full hash map, an array index past its end). */
  readonly dropped: number;
  /** Entries `to` held already and kept (`create` and `merge` modes). */
  readonly kept: number;
  /** What this copy wrote, by key (hex): what a later `merge` compares against. */
  readonly written: ReadonlyMap<string, Uint8Array>;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/**
 * Copies every entry of `from` into `to`, key and value bytes as they are: for moving
 * a map's state into a new map of another capacity or flags (a new version of an
 * object). The two maps must be of the same type, key size and value size; the
 * copy does not know what the bytes mean. Entries added to `from` while it runs may be
 * missed, entries deleted may still be copied; the walk stops after twice `from`'s
 * capacity of steps, so a map changing under it cannot keep it going for ever.
 * Two passes around a switch of programs from `from` to `to` (an upgrade): an `upsert`
 * copy before, a `merge` copy with `since` the first one after, which brings what the
 * old programs changed in between without undoing what the new ones wrote since.
 * Needs Linux 4.12 (get-next-key from the start).
 * @throws {LayoutError} for maps of different types or sizes, or of a type whose
 *   values are not plain bytes (ring buffers, program arrays, maps of maps).
 * @throws {RangeError} for `merge` without `since`.
 * @throws {BpfError}
 */
export function copyMapEntries(from: MapHandle, to: MapHandle, options: CopyMapEntriesOptions = {}): CopyMapEntriesResult {
  const source = from.info();
  const target = to.info();
  if (!COPYABLE.has(source.type)) throw new LayoutError(`copying entries of a ${mapTypeName(source.type)} map: its values are not plain bytes`);
  const mismatches = (
    [
      ['type', mapTypeName(source.type), mapTypeName(target.type)],
      ['key size', source.keySize, target.keySize],
      ['value size', source.valueSize, target.valueSize],
    ] as const
  ).filter(([, a, b]) => a !== b);
  if (mismatches.length > 0) {
    throw new LayoutError(`copying entries between maps that differ: ${mismatches.map(([field, a, b]) => `${field} ${String(a)} and ${String(b)}`).join(', ')}`);
  }
  // Per-CPU values cross bpf(2) as one 8-byte-aligned slot per possible CPU.
  const valueBytes = isPerCpu(source.type) ? Math.ceil(source.valueSize / 8) * 8 * possibleCpuCount() : source.valueSize;
  const mode = options.mode ?? 'upsert';
  if (mode === 'merge' && options.since === undefined) throw new RangeError('a merge copy needs `since`, the result of the copy before');
  let key: Uint8Array | undefined;
  let next = new Uint8Array(source.keySize);
  let copied = 0;
  let dropped = 0;
  let kept = 0;
  const written = new Map<string, Uint8Array>();
  const current = new Uint8Array(valueBytes);
  for (let steps = 0; steps < 2 * source.maxEntries && mapGetNextKey(from.fd, key, next); steps += 1) {
    const value = new Uint8Array(valueBytes);
    if (mapLookup(from.fd, next, value)) {
      let flags: bigint = mode === 'upsert' ? UpdateFlag.ANY : UpdateFlag.NOEXIST;
      if (mode === 'merge') {
        const before = options.since?.written.get(hex(next));
        // `to` still holds what the first copy wrote, and `from` moved on: the old programs wrote last.
        if (before !== undefined && !same(before, value) && mapLookup(to.fd, next, current) && same(current, before)) flags = UpdateFlag.EXIST;
      }
      try {
        mapUpdate(to.fd, next, value, flags);
        copied += 1;
        written.set(hex(next), value);
      } catch (error) {
        if (!(error instanceof BpfError)) throw error;
        if (error.errno === 'EEXIST') kept += 1;
        else if (error.errno === 'E2BIG') dropped += 1;
        else if (error.errno === 'ENOENT') kept += 1; // gone from `to` since the check: the new programs' call
        else throw error;
      }
    }
    key = next;
    next = new Uint8Array(source.keySize);
  }
  return { copied, dropped, kept, written };
}
