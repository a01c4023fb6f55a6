/** Decoders for the `struct bpf_*_info` records `BPF_OBJ_GET_INFO_BY_FD` fills. */

/** What the kernel reports about a map (`struct bpf_map_info`, 4.13). */
export interface MapInfo {
  /** `enum bpf_map_type`. */
  readonly type: number;
  /** The map's id, system-wide, as `bpftool map show` lists it. */
  readonly id: number;
  /** Bytes per key. */
  readonly keySize: number;
  /** Bytes per value. */
  readonly valueSize: number;
  /** The capacity in entries. */
  readonly maxEntries: number;
  /** The `BPF_F_*` flags it was created with. */
  readonly flags: number;
  /** The name given at creation (4.15), `''` if none. */
  readonly name: string;
  /** The BTF object's id, 0 without BTF (4.18). */
  readonly btfId: number;
  /** The key's type id in that BTF, 0 without. */
  readonly btfKeyTypeId: number;
  /** The value's type id in that BTF, 0 without. */
  readonly btfValueTypeId: number;
}

/** `sizeof(struct bpf_map_info)` as of 5.16 (up to `map_extra`). */
export const MAP_INFO_SIZE = 88;

/**
 * `struct bpf_map_info`:
 * ```
 * 0 type  4 id  8 key_size  12 value_size  16 max_entries  20 map_flags  24 name[16]
 * 40 ifindex  44 btf_vmlinux_value_type_id  48 netns_dev  56 netns_ino  64 btf_id
 * 68 btf_key_type_id  72 btf_value_type_id  76 btf_vmlinux_id  80 map_extra   = 88 bytes
 * ```
 */
export function decodeMapInfo(info: Uint8Array): MapInfo {
  const v = new DataView(info.buffer, info.byteOffset, info.byteLength);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    keySize: v.getUint32(8, true),
    valueSize: v.getUint32(12, true),
    maxEntries: v.getUint32(16, true),
    flags: v.getUint32(20, true),
    name: readChars(info, 24, 16),
    btfId: info.byteLength >= 68 ? v.getUint32(64, true) : 0,
    btfKeyTypeId: info.byteLength >= 72 ? v.getUint32(68, true) : 0,
    btfValueTypeId: info.byteLength >= 76 ? v.getUint32(72, true) : 0,
  };
}

/** What the kernel reports about a program (`struct bpf_prog_info`, 4.13). */
export interface ProgramInfo {
  /** `enum bpf_prog_type`. */
  readonly type: number;
  /** The program's id, system-wide, as `bpftool prog show` lists it. */
  readonly id: number;
  /** The program's tag: a hash of its instructions, 16 hex digits as bpftool prints it. */
  readonly tag: string;
  /** The name given at load (4.15), `''` if none. */
  readonly name: string;
  /** Bytes of the instructions after the verifier's rewrites. */
  readonly xlatedLength: number;
  /** Bytes of JIT-compiled code, 0 when not JIT-compiled. */
  readonly jitedLength: number;
  /** Nanoseconds since boot when it was loaded (4.15). */
  readonly loadTime: bigint;
  /** How many maps the program uses (4.15). */
  readonly mapCount: number;
  /** The id of its BTF object, 0 without BTF (5.0). */
  readonly btfId: number;
  /** Instructions the verifier processed (5.16). */
  readonly verifiedInstructions: number;
}

/** `sizeof(struct bpf_prog_info)` as of 6.0 (up to `attach_btf_id`, padded). */
export const PROG_INFO_SIZE = 232;

/**
 * `struct bpf_prog_info` (the fields decoded):
 * ```
 * 0 type  4 id  8 tag[8]  16 jited_prog_len  20 xlated_prog_len  40 load_time (u64)
 * 48 created_by_uid  52 nr_map_ids  64 name[16]  128 btf_id  216 verified_insns
 * ```
 */
export function decodeProgInfo(info: Uint8Array): ProgramInfo {
  const v = new DataView(info.buffer, info.byteOffset, info.byteLength);
  const tag = [...info.subarray(8, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    tag,
    name: readChars(info, 64, 16),
    jitedLength: v.getUint32(16, true),
    xlatedLength: v.getUint32(20, true),
    loadTime: v.getBigUint64(40, true),
    mapCount: v.getUint32(52, true),
    btfId: info.byteLength >= 132 ? v.getUint32(128, true) : 0,
    verifiedInstructions: info.byteLength >= 220 ? v.getUint32(216, true) : 0,
  };
}

function readChars(bytes: Uint8Array, offset: number, length: number): string {
  const field = bytes.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}
