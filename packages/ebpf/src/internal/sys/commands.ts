/**
 * `enum bpf_cmd` from include/uapi/linux/bpf.h, and the flags the commands take.
 * The kernel version that added each command is noted beside it.
 */
export const BpfCommand = {
  MAP_CREATE: 0, // 3.18
  MAP_LOOKUP_ELEM: 1, // 3.18
  MAP_UPDATE_ELEM: 2, // 3.18
  MAP_DELETE_ELEM: 3, // 3.18
  MAP_GET_NEXT_KEY: 4, // 3.18; a NULL key gives the first key since 4.12
  PROG_LOAD: 5, // 3.18
  OBJ_PIN: 6, // 4.4
  OBJ_GET: 7, // 4.4
  PROG_TEST_RUN: 10, // 4.12
  OBJ_GET_INFO_BY_FD: 15, // 4.13
  BTF_LOAD: 18, // 4.18
  BTF_GET_FD_BY_ID: 19, // 4.18
  MAP_FREEZE: 22, // 5.2
  MAP_LOOKUP_BATCH: 24, // 5.6
  MAP_LOOKUP_AND_DELETE_BATCH: 25, // 5.6
  MAP_UPDATE_BATCH: 26, // 5.6
  MAP_DELETE_BATCH: 27, // 5.6
  LINK_CREATE: 28, // 5.7
  LINK_UPDATE: 29, // 5.7
  LINK_DETACH: 34, // 5.9
} as const;

/** One of the {@link BpfCommand} numbers. */
export type BpfCommand = (typeof BpfCommand)[keyof typeof BpfCommand];

const commandNames = new Map<number, string>(Object.entries(BpfCommand).map(([name, cmd]) => [cmd, `BPF_${name}`]));

/** `BPF_MAP_CREATE` for 0, and so on; for error messages. */
export function commandName(cmd: number): string {
  return commandNames.get(cmd) ?? `bpf command ${cmd}`;
}

/** Flags of `BPF_MAP_UPDATE_ELEM` (and `elem_flags` of the batch commands). */
export const UpdateFlag = {
  /** Create or replace. */
  ANY: 0n,
  /** Create only: `EEXIST` if the key exists. */
  NOEXIST: 1n,
  /** Replace only: `ENOENT` if the key is missing. */
  EXIST: 2n,
  /** Take the map's spin lock (5.1). */
  F_LOCK: 4n,
} as const;

/** `map_flags` of `BPF_MAP_CREATE`. */
export const MapFlag = {
  /** Allocate hash elements on demand; required for LPM tries (4.6). */
  NO_PREALLOC: 1 << 0,
  /** Per-CPU LRU lists instead of one (4.10). */
  NO_COMMON_LRU: 1 << 1,
  /** The map is read-only from the syscall side (4.15). */
  RDONLY: 1 << 3,
  /** The map is write-only from the syscall side (4.15). */
  WRONLY: 1 << 4,
  /** Read-only from programs (5.2). */
  RDONLY_PROG: 1 << 7,
  /** Write-only from programs (5.2). */
  WRONLY_PROG: 1 << 8,
  /** Array maps that can be mmap-ed (5.5). */
  MMAPABLE: 1 << 10,
} as const;

/** `file_flags` of `BPF_OBJ_GET` (4.15). */
export const ObjFlag = {
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
} as const;

/** `src_reg` values of pseudo instructions (include/uapi/linux/bpf.h). */
export const PseudoSource = {
  /** `ld_imm64` with `imm` a map file descriptor. */
  MAP_FD: 1,
  /** `ld_imm64` with `imm` a map fd and the second `imm` an offset into its value (5.2). */
  MAP_VALUE: 2,
  /** `call` of a BPF-to-BPF function at `imm` instructions after the next (4.16). */
  CALL: 1,
} as const;

/** `ENOTSUPP`, the kernel-internal errno 524 that libuv has no name for. */
export const ENOTSUPP = 524;
