/** Program arrays (4.2): the jump tables of `bpf_tail_call`. */
import { u32 } from '../codec/layout.js';
import type { ProgramFd } from '../fd.js';
import { type BpfMap, createMap } from './map.js';
import { MapType } from './map-type.js';

/**
 * A `BPF_MAP_TYPE_PROG_ARRAY`: slot `index` holds a program that `bpf_tail_call(ctx, map,
 * index)` jumps to. Updates take a program fd; lookups (from user space) give the
 * program's id.
 */
export class ProgramArray {
  /** The underlying map (u32 index to u32 fd on update, u32 id on lookup). */
  readonly map: BpfMap<number, number>;

  constructor(map: BpfMap<number, number>) {
    this.map = map;
  }

  /** Puts `program` in slot `index`. @throws {BpfError} `EINVAL` for a program of another type. */
  set(index: number, program: { readonly fd: ProgramFd }): void {
    this.map.update(index, program.fd);
  }

  /** The id of the program in slot `index`, or `undefined` when empty. */
  programId(index: number): number | undefined {
    return this.map.lookup(index);
  }

  /** Empties slot `index`; false when it was empty. */
  clear(index: number): boolean {
    return this.map.delete(index);
  }

  /** Closes the map's fd. */
  close(): void {
    this.map.close();
  }
}

/**
 * Creates a program array with `maxEntries` slots. Needs Linux 4.2.
 * @throws {BpfError}
 */
export function createProgramArray(options: { maxEntries: number; name?: string }): ProgramArray {
  return new ProgramArray(createMap({ type: MapType.ProgramArray, key: u32, value: u32, ...options }));
}
