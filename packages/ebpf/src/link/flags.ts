/** Flags of `BPF_LINK_CREATE` (include/uapi/linux/bpf.h, include/uapi/linux/if_link.h). */

/** `BPF_F_*` placement flags of multi-program attachments (tcx, netkit: 6.6). */
export const AttachFlag = {
  /** `BPF_F_REPLACE`. */
  REPLACE: 1 << 2,
  /** `BPF_F_BEFORE`: before the relative program, or first when there is none. */
  BEFORE: 1 << 3,
  /** `BPF_F_AFTER`: after the relative program, or last when there is none. */
  AFTER: 1 << 4,
  /** `BPF_F_ID`: `relative_id` is an id, not an fd. */
  ID: 1 << 5,
  /** `BPF_F_LINK`: the relative object is a link, not a program. */
  LINK: 1 << 13,
} as const;

/** `XDP_FLAGS_*` (if_link.h): how an XDP program is attached. */
export const XdpFlag = {
  /** `XDP_FLAGS_UPDATE_IF_NOEXIST`. */
  UPDATE_IF_NOEXIST: 1 << 0,
  /** `XDP_FLAGS_SKB_MODE`: generic XDP, on the skb path; any interface (4.12). */
  SKB_MODE: 1 << 1,
  /** `XDP_FLAGS_DRV_MODE`: in the driver, before any skb exists; drivers with XDP support. */
  DRV_MODE: 1 << 2,
  /** `XDP_FLAGS_HW_MODE`: offloaded to the NIC. */
  HW_MODE: 1 << 3,
} as const;

/** The XDP modes of {@link attachXdp}: `auto` lets the kernel pick driver mode when it can. */
export type XdpMode = 'auto' | 'generic' | 'driver' | 'offload';

/** The `XDP_FLAGS_*` value of a mode. */
export function xdpModeFlags(mode: XdpMode): number {
  switch (mode) {
    case 'auto':
      return 0;
    case 'generic':
      return XdpFlag.SKB_MODE;
    case 'driver':
      return XdpFlag.DRV_MODE;
    case 'offload':
      return XdpFlag.HW_MODE;
  }
}
