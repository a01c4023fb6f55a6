/** What the kernel reports about a link: `struct bpf_link_info` (include/uapi/linux/bpf.h, 5.8). */

/** `enum bpf_link_type`, with the Linux version that added each. */
export const LinkType = {
  Unspec: 0,
  /** `BPF_LINK_TYPE_RAW_TRACEPOINT` (5.8). */
  RawTracepoint: 1,
  /** `BPF_LINK_TYPE_TRACING` (5.8). */
  Tracing: 2,
  /** `BPF_LINK_TYPE_CGROUP` (5.8). */
  Cgroup: 3,
  /** `BPF_LINK_TYPE_ITER` (5.8). */
  Iter: 4,
  /** `BPF_LINK_TYPE_NETNS` (5.8). */
  Netns: 5,
  /** `BPF_LINK_TYPE_XDP` (5.9). */
  Xdp: 6,
  /** `BPF_LINK_TYPE_PERF_EVENT` (5.15). */
  PerfEvent: 7,
  /** `BPF_LINK_TYPE_KPROBE_MULTI` (5.18). */
  KprobeMulti: 8,
  /** `BPF_LINK_TYPE_STRUCT_OPS` (6.4). */
  StructOps: 9,
  /** `BPF_LINK_TYPE_NETFILTER` (6.4). */
  Netfilter: 10,
  /** `BPF_LINK_TYPE_TCX` (6.6). */
  Tcx: 11,
  /** `BPF_LINK_TYPE_UPROBE_MULTI` (6.6). */
  UprobeMulti: 12,
  /** `BPF_LINK_TYPE_NETKIT` (6.7). */
  Netkit: 13,
} as const;

/** One of the {@link LinkType} numbers. */
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

/** The kernel's view of a link, as `bpftool link show` prints it. */
export interface LinkInfo {
  /** `enum bpf_link_type`; see {@link LinkType}. */
  readonly type: number;
  /** The link's id, system-wide. */
  readonly id: number;
  /** The id of the program it runs. */
  readonly programId: number;
  /** tcx, netkit and XDP links: the interface index (in the link's namespace). */
  readonly ifindex?: number;
  /** tcx, netkit and cgroup links: `enum bpf_attach_type`. */
  readonly attachType?: number;
  /** Cgroup links: the cgroup's id (its inode number in cgroupfs). */
  readonly cgroupId?: bigint;
}

/** Bytes asked for: the header and the 8-byte-aligned union, with room to spare. */
export const LINK_INFO_SIZE = 96;

/**
 * `struct bpf_link_info`:
 * ```
 * 0 type  4 id  8 prog_id  (4 padding)  16 union (8-byte aligned):
 *   cgroup { 16 cgroup_id (u64)  24 attach_type }   xdp { 16 ifindex }
 *   tcx / netkit { 16 ifindex  20 attach_type }
 * ```
 * `info` is what the kernel wrote (its length is what `BPF_OBJ_GET_INFO_BY_FD` gave back).
 */
export function decodeLinkInfo(info: Uint8Array): LinkInfo {
  if (info.byteLength < 12) throw new RangeError(`link info of ${info.byteLength} bytes is shorter than its 12-byte header`);
  const v = new DataView(info.buffer, info.byteOffset, info.byteLength);
  const base = { type: v.getUint32(0, true), id: v.getUint32(4, true), programId: v.getUint32(8, true) };
  const has = (end: number): boolean => info.byteLength >= end;
  switch (base.type) {
    case LinkType.Tcx:
    case LinkType.Netkit:
      return has(24) ? { ...base, ifindex: v.getUint32(16, true), attachType: v.getUint32(20, true) } : base;
    case LinkType.Xdp:
      return has(20) ? { ...base, ifindex: v.getUint32(16, true) } : base;
    case LinkType.Cgroup:
      return has(28) ? { ...base, cgroupId: v.getBigUint64(16, true), attachType: v.getUint32(24, true) } : base;
    default:
      return base;
  }
}
