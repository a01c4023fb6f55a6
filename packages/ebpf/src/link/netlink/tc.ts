/**
 * The rtnetlink requests of the tc fallback: a `clsact` qdisc, a direct-action `bpf`
 * filter on its ingress or egress hook, removing that filter, and an interface look-up
 * by name. What `tc qdisc add dev X clsact` and `tc filter add dev X ingress bpf da fd N`
 * send (include/uapi/linux/rtnetlink.h, pkt_sched.h, pkt_cls.h). Pure encoders.
 */
import { type Attribute, NlFlag, NlMsgType, decodeAttributes, encodeAttributes, nestedAttr, stringAttr, u32Attr } from './message.js';
import { NetlinkError } from '../errors.js';

/** A request before framing: the socket adds the header's length, sequence and pid. */
export interface NetlinkRequest {
  readonly type: number;
  readonly flags: number;
  readonly payload: Uint8Array;
  /** For error messages: `RTM_NEWTFILTER ifindex 3 ingress`. */
  readonly describe: string;
}

/** The tc hook of a `clsact` qdisc: packets received or sent by the interface. */
export type TcDirection = 'ingress' | 'egress';

/** tc handles and attributes (pkt_sched.h, pkt_cls.h, rtnetlink.h). */
export const Tc = {
  /** `TC_H_CLSACT` (= `TC_H_INGRESS`): the parent of a clsact qdisc. */
  H_CLSACT: 0xfffffff1,
  /** The clsact qdisc's own handle, `ffff:`. */
  CLSACT_HANDLE: 0xffff0000,
  /** `TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)`: `ffff:fff2`. */
  PARENT_INGRESS: 0xfffffff2,
  /** `TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)`: `ffff:fff3`. */
  PARENT_EGRESS: 0xfffffff3,
  TCA_KIND: 1,
  TCA_OPTIONS: 2,
  TCA_BPF_FD: 6,
  TCA_BPF_NAME: 7,
  TCA_BPF_FLAGS: 8,
  /** `TCA_BPF_FLAG_ACT_DIRECT`: the program's return value is the tc action (4.4). */
  BPF_FLAG_ACT_DIRECT: 1,
  /** `ETH_P_ALL`: the filter sees every protocol. */
  ETH_P_ALL: 0x0003,
  IFLA_IFNAME: 3,
} as const;

/**
 * `struct tcmsg { u8 tcm_family; u8 pad1; u16 pad2; int tcm_ifindex; u32 tcm_handle;
 * u32 tcm_parent; u32 tcm_info; }` (20 bytes) then attributes.
 */
export function encodeTcMessage(t: { ifindex: number; handle: number; parent: number; info: number }, attributes: readonly Attribute[]): Uint8Array {
  const attrs = encodeAttributes(attributes);
  const out = new Uint8Array(20 + attrs.byteLength);
  const view = new DataView(out.buffer);
  view.setInt32(4, t.ifindex, true);
  view.setUint32(8, t.handle >>> 0, true);
  view.setUint32(12, t.parent >>> 0, true);
  view.setUint32(16, t.info >>> 0, true);
  out.set(attrs, 20);
  return out;
}

/** `tcm_parent` of a clsact hook. */
export function clsactParent(direction: TcDirection): number {
  return direction === 'ingress' ? Tc.PARENT_INGRESS : Tc.PARENT_EGRESS;
}

/**
 * A filter's `tcm_info`: `TC_H_MAKE(priority << 16, htons(protocol))`. The protocol is
 * in network order inside a host-order u32, so `ETH_P_ALL` (3) becomes `0x0300`.
 */
export function filterInfo(priority: number, protocol: number = Tc.ETH_P_ALL): number {
  const swapped = ((protocol & 0xff) << 8) | ((protocol >> 8) & 0xff);
  return ((priority << 16) | swapped) >>> 0;
}

/**
 * `RTM_NEWQDISC` of a `clsact` qdisc on `ifindex`, with `NLM_F_CREATE | NLM_F_EXCL`: the
 * kernel answers `EEXIST` when one is already there, which callers treat as success.
 */
export function newClsactQdisc(ifindex: number): NetlinkRequest {
  return {
    type: NlMsgType.RTM_NEWQDISC,
    flags: NlFlag.REQUEST | NlFlag.ACK | NlFlag.CREATE | NlFlag.EXCL,
    payload: encodeTcMessage({ ifindex, handle: Tc.CLSACT_HANDLE, parent: Tc.H_CLSACT, info: 0 }, [stringAttr(Tc.TCA_KIND, 'clsact')]),
    describe: `RTM_NEWQDISC clsact ifindex ${ifindex}`,
  };
}

/** `RTM_DELQDISC` of the `clsact` qdisc on `ifindex` (removes every filter on it). */
export function deleteClsactQdisc(ifindex: number): NetlinkRequest {
  return {
    type: NlMsgType.RTM_DELQDISC,
    flags: NlFlag.REQUEST | NlFlag.ACK,
    payload: encodeTcMessage({ ifindex, handle: Tc.CLSACT_HANDLE, parent: Tc.H_CLSACT, info: 0 }, [stringAttr(Tc.TCA_KIND, 'clsact')]),
    describe: `RTM_DELQDISC clsact ifindex ${ifindex}`,
  };
}

/** Where a tc filter sits: interface, hook, priority and handle. */
export interface TcFilterAddress {
  ifindex: number;
  direction: TcDirection;
  /** 1 to 0xffff; lower runs first. */
  priority: number;
  /** The filter's handle within its priority, non-zero. */
  handle: number;
}

function checkAddress(a: TcFilterAddress): void {
  if (!Number.isInteger(a.priority) || a.priority < 1 || a.priority > 0xffff) {
    throw new RangeError(`tc filter priority ${a.priority} is not within 1..65535`);
  }
  if (!Number.isInteger(a.handle) || a.handle < 1 || a.handle > 0xffffffff) {
    throw new RangeError(`tc filter handle ${a.handle} is not within 1..0xffffffff`);
  }
}

/**
 * `RTM_NEWTFILTER` of a `bpf` filter in direct-action mode running `progFd`, named
 * `name` (shown by `tc filter show`). With `replace`, an existing filter at the same
 * address is replaced; without, the kernel answers `EEXIST`.
 * @throws {RangeError} for a priority or handle out of range.
 */
export function newBpfFilter(a: TcFilterAddress & { progFd: number; name: string; replace?: boolean }): NetlinkRequest {
  checkAddress(a);
  const options = nestedAttr(Tc.TCA_OPTIONS, [
    u32Attr(Tc.TCA_BPF_FD, a.progFd),
    stringAttr(Tc.TCA_BPF_NAME, a.name),
    u32Attr(Tc.TCA_BPF_FLAGS, Tc.BPF_FLAG_ACT_DIRECT),
  ]);
  return {
    type: NlMsgType.RTM_NEWTFILTER,
    flags: NlFlag.REQUEST | NlFlag.ACK | NlFlag.CREATE | (a.replace ? NlFlag.REPLACE : NlFlag.EXCL),
    payload: encodeTcMessage(
      { ifindex: a.ifindex, handle: a.handle, parent: clsactParent(a.direction), info: filterInfo(a.priority) },
      [stringAttr(Tc.TCA_KIND, 'bpf'), options],
    ),
    describe: `RTM_NEWTFILTER bpf ifindex ${a.ifindex} ${a.direction} pref ${a.priority} handle ${a.handle}`,
  };
}

/** `RTM_DELTFILTER` of the `bpf` filter at an address. @throws {RangeError} */
export function deleteBpfFilter(a: TcFilterAddress): NetlinkRequest {
  checkAddress(a);
  return {
    type: NlMsgType.RTM_DELTFILTER,
    flags: NlFlag.REQUEST | NlFlag.ACK,
    payload: encodeTcMessage(
      { ifindex: a.ifindex, handle: a.handle, parent: clsactParent(a.direction), info: filterInfo(a.priority) },
      [stringAttr(Tc.TCA_KIND, 'bpf')],
    ),
    describe: `RTM_DELTFILTER bpf ifindex ${a.ifindex} ${a.direction} pref ${a.priority} handle ${a.handle}`,
  };
}

/**
 * `RTM_GETLINK` by name: `struct ifinfomsg { u8 family; u8 pad; u16 type; int index;
 * u32 flags; u32 change; }` (16 bytes, all zero) and `IFLA_IFNAME`. The kernel answers
 * with one `RTM_NEWLINK`, or `ENODEV`.
 * @throws {RangeError} for a name longer than 15 bytes (IFNAMSIZ) or empty.
 */
export function getLinkByName(name: string): NetlinkRequest {
  const length = new TextEncoder().encode(name).length;
  if (length === 0 || length > 15) throw new RangeError(`interface name ${JSON.stringify(name)} is not 1 to 15 bytes`);
  const attrs = encodeAttributes([stringAttr(Tc.IFLA_IFNAME, name)]);
  const payload = new Uint8Array(16 + attrs.byteLength);
  payload.set(attrs, 16);
  return { type: NlMsgType.RTM_GETLINK, flags: NlFlag.REQUEST, payload, describe: `RTM_GETLINK ${name}` };
}

/**
 * The interface index of an `RTM_NEWLINK` payload (`ifi_index`, offset 4).
 * @throws {NetlinkError} `EBADMSG` when shorter than `struct ifinfomsg`.
 */
export function decodeLinkIndex(payload: Uint8Array): number {
  if (payload.byteLength < 16) throw new NetlinkError('EBADMSG', 'decode RTM_NEWLINK', `payload of ${payload.byteLength} bytes`);
  decodeAttributes(payload.subarray(16)); // validates the attributes that follow
  return new DataView(payload.buffer, payload.byteOffset, 16).getInt32(4, true);
}
