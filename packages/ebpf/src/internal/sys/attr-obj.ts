/** Attributes of the object commands: pin and get, info by fd, link create and detach. */
import { type AddressOf, AttrWriter, type EncodedAttr, cString } from './attr.js';

/**
 * `BPF_OBJ_PIN` and `BPF_OBJ_GET` (4.4):
 * ```
 * 0 pathname (ptr)  8 bpf_fd  12 file_flags (4.15)   = 16 bytes
 * ```
 * `bpfFd` is the object to pin (0 for get); `fileFlags` are `BPF_F_RDONLY`/`BPF_F_WRONLY` for get.
 */
export function encodeObj(a: { path: string; bpfFd?: number; fileFlags?: number }, addressOf: AddressOf): EncodedAttr {
  return new AttrWriter(16, addressOf)
    .pointer(0, cString(a.path))
    .u32(8, a.bpfFd ?? 0)
    .u32(12, a.fileFlags ?? 0)
    .done();
}

/**
 * `BPF_OBJ_GET_INFO_BY_FD` (4.13):
 * ```
 * 0 bpf_fd  4 info_len  8 info (ptr)   = 16 bytes
 * ```
 * The kernel fills `info` (a `struct bpf_map_info`, `bpf_prog_info`, ...) up to
 * `info_len` bytes and writes back how many it knows.
 */
export function encodeObjInfo(a: { bpfFd: number; info: Uint8Array }, addressOf: AddressOf): EncodedAttr {
  return new AttrWriter(16, addressOf).u32(0, a.bpfFd).u32(4, a.info.byteLength).pointer(8, a.info).done();
}

/** Fields of `BPF_LINK_CREATE`. */
export interface LinkCreateAttr {
  progFd: number;
  /** A cgroup fd, or an ifindex for XDP and tcx. */
  target: number;
  /** `enum bpf_attach_type`. */
  attachType: number;
  /** `BPF_F_*` flags (`BPF_F_BEFORE`, `BPF_F_AFTER`, `BPF_F_REPLACE`, ... for tcx). */
  flags?: number;
  /** tcx (6.6): the link or program fd (or id, with `BPF_F_ID`) to place this one relative to. */
  relativeFdOrId?: number;
  /** tcx (6.6): fail with `ESTALE` unless the attachment list is at this revision. */
  expectedRevision?: bigint;
  /** Tracing and LSM programs: the BTF id of the target (5.7). */
  targetBtfId?: number;
}

/**
 * `BPF_LINK_CREATE` (5.7):
 * ```
 * 0 prog_fd  4 target_fd / target_ifindex  8 attach_type  12 flags
 * 16 (union) target_btf_id | tcx.relative_fd/relative_id (6.6)
 * 24 tcx.expected_revision (u64, 6.6)   ... union up to 64 bytes
 * ```
 */
export function encodeLinkCreate(a: LinkCreateAttr, addressOf: AddressOf): EncodedAttr {
  const w = new AttrWriter(64, addressOf).u32(0, a.progFd).u32(4, a.target).u32(8, a.attachType).u32(12, a.flags ?? 0);
  if (a.targetBtfId !== undefined) w.u32(16, a.targetBtfId);
  else if (a.relativeFdOrId !== undefined || a.expectedRevision !== undefined) {
    w.u32(16, a.relativeFdOrId ?? 0).u64(24, a.expectedRevision ?? 0n);
  }
  return w.done();
}

/** Fields of `BPF_LINK_UPDATE`. */
export interface LinkUpdateAttr {
  linkFd: number;
  newProgFd: number;
  /** With `BPF_F_REPLACE`: the program the link must still run, else `EPERM`. */
  oldProgFd?: number;
}

/**
 * `BPF_LINK_UPDATE` (5.7):
 * ```
 * 0 link_fd  4 new_prog_fd  8 flags  12 old_prog_fd   = 16 bytes
 * ```
 * `flags` is `BPF_F_REPLACE` (1 << 2) exactly when `oldProgFd` is given.
 */
export function encodeLinkUpdate(a: LinkUpdateAttr, addressOf: AddressOf): EncodedAttr {
  const w = new AttrWriter(16, addressOf).u32(0, a.linkFd).u32(4, a.newProgFd);
  if (a.oldProgFd !== undefined) w.u32(8, BPF_F_REPLACE).u32(12, a.oldProgFd);
  return w.done();
}

/** `BPF_F_REPLACE` of `BPF_LINK_UPDATE` (and of tcx placement). */
const BPF_F_REPLACE = 1 << 2;

/**
 * `BPF_*_GET_FD_BY_ID` (4.13; BTF 4.18):
 * ```
 * 0 id  4 next_id  8 open_flags   = 12 bytes (padded to 16)
 * ```
 */
export function encodeGetFdById(a: { id: number }, addressOf: AddressOf): EncodedAttr {
  return new AttrWriter(16, addressOf).u32(0, a.id).done();
}

/**
 * `BPF_OBJ_GET_INFO_BY_FD` of a BTF object, with `struct bpf_btf_info` (4.18):
 * ```
 * attr: 0 bpf_fd  4 info_len  8 info (ptr)
 * info: 0 btf (ptr)  8 btf_size  12 id   = 16 bytes
 * ```
 * With `raw` empty the kernel only writes `btf_size`; with room for it, the raw BTF.
 */
export function encodeBtfInfo(a: { btfFd: number; raw: Uint8Array }, addressOf: AddressOf): EncodedAttr & { info: DataView } {
  const info = new AttrWriter(16, addressOf).pointer(0, a.raw).u32(8, a.raw.byteLength).done();
  const bytes = new Uint8Array(info.attr.buffer);
  const outer = new AttrWriter(16, addressOf).u32(0, a.btfFd).u32(4, bytes.byteLength).pointer(8, bytes).done();
  return { attr: outer.attr, keep: [...outer.keep, ...info.keep], info: info.attr };
}

/** `BPF_LINK_DETACH` (5.9): `0 link_fd` = 4 bytes (padded to 8). */
export function encodeLinkDetach(a: { linkFd: number }, addressOf: AddressOf): EncodedAttr {
  return new AttrWriter(8, addressOf).u32(0, a.linkFd).done();
}

/** `BPF_MAP_FREEZE` (5.2): `0 map_fd` = 4 bytes (padded to 8). */
export function encodeMapFreeze(a: { mapFd: number }, addressOf: AddressOf): EncodedAttr {
  return new AttrWriter(8, addressOf).u32(0, a.mapFd).done();
}
