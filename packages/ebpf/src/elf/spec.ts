/**
 * What the ELF reader produces: a {@link CollectionSpec}, plain data that depends only
 * on the object file's bytes (the same file gives the same spec on every host). Loading
 * it is a separate step ({@link loadCollection}).
 */
import type { Instruction } from '../asm/instruction.js';
import type { ProgramType } from '../program/program-type.js';

/** How a map is pinned (`enum libbpf_pin_type`): `by-name` is `LIBBPF_PIN_BY_NAME`. */
export type MapPinning = 'none' | 'by-name';

/** A variable of a data section (`.rodata`, `.data`, `.bss`), from the symbol table. */
export interface VariableSpec {
  /** Bytes from the start of the section (the map's value). */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
}

/** A map the object defines: BTF-defined (`.maps`), legacy (`maps`) or a data section. */
export interface MapSpec {
  /** The symbol's name; for data sections, the section's name (`.rodata`). */
  readonly name: string;
  /** The ELF section it came from: `.maps`, `maps`, `.rodata`, `.data`, `.bss`, ... */
  readonly section: string;
  /** `enum bpf_map_type`; see {@link MapType}. */
  readonly type: number;
  /** Bytes per key. */
  readonly keySize: number;
  /** Bytes per value. */
  readonly valueSize: number;
  /** The capacity in entries. */
  readonly maxEntries: number;
  /** `BPF_F_*` map flags. */
  readonly flags: number;
  /** Whether the loader pins it by name (`LIBBPF_PIN_BY_NAME`). */
  readonly pinning: MapPinning;
  /** Type ids in the object's BTF (`keyTypeId` 0 for data sections, whose value is the `DATASEC`). */
  readonly btf?: {
    /** The key's type id. */
    readonly keyTypeId: number;
    /** The value's type id. */
    readonly valueTypeId: number;
  };
  /** The value of element 0 at load (data sections; `.bss` is zeros). */
  readonly contents?: Uint8Array;
  /** The variables in `contents`, by symbol name (data sections). */
  readonly variables?: Readonly<Record<string, VariableSpec>>;
  /**
   * Frozen after `contents` is written (`.rodata`): read-only from user space from then
   * on, and constant for the verifier, which prunes the branches its values rule out.
   */
  readonly freeze?: boolean;
}

/** `struct bpf_func_info` with the offset in instructions of the linked program. */
export interface FuncInfo {
  /** The instruction (slot) where the function starts. */
  readonly insnOffset: number;
  /** Its `FUNC` type id in the object's BTF. */
  readonly typeId: number;
}

/** `struct bpf_line_info` with the offset in instructions of the linked program. */
export interface LineInfo {
  /** The instruction (slot) the line starts at. */
  readonly insnOffset: number;
  /** The file name's offset in the BTF string section. */
  readonly fileNameOffset: number;
  /** The source line's offset in the BTF string section. */
  readonly lineOffset: number;
  /** The line number (upper 22 bits) and column (lower 10 bits). */
  readonly lineColumn: number;
}

/** A program, linked: its instructions with the `.text` subprograms it calls appended. */
export interface ProgramSpec {
  /** The function's symbol name. */
  readonly name: string;
  /** The ELF section, such as `xdp` or `kprobe/tcp_connect`. */
  readonly section: string;
  /** The program type, from the section name. */
  readonly type: ProgramType;
  /** `enum bpf_attach_type` from the section name, passed as `expected_attach_type`. */
  readonly attachType?: number;
  /** What the section name says to attach to: `tcp_connect` of `kprobe/tcp_connect`. */
  readonly attachTo?: string;
  /** `BPF_F_*` program flags. */
  readonly flags: number;
  /** The object's `license` section. */
  readonly license: string;
  /**
   * The instructions. Map references are by name (`map`, resolved at load); calls to
   * subprograms have their final relative offsets.
   */
  readonly instructions: readonly Instruction[];
  /** The maps the instructions refer to, sorted. */
  readonly maps: readonly string[];
  /** BTF function info (one record per function), when the object has `.BTF.ext`. */
  readonly funcInfo?: readonly FuncInfo[];
  /** BTF line info, when the object has `.BTF.ext`. */
  readonly lineInfo?: readonly LineInfo[];
}

/** Everything an object file defines, ready to load. */
export interface CollectionSpec {
  /** The `license` section's string. */
  readonly license: string;
  /** Programs by name. */
  readonly programs: Readonly<Record<string, ProgramSpec>>;
  /** Maps by name. */
  readonly maps: Readonly<Record<string, MapSpec>>;
  /** The object's raw BTF with `DATASEC` sizes and offsets filled in, ready for `BPF_BTF_LOAD`. */
  readonly btf?: Uint8Array;
}
