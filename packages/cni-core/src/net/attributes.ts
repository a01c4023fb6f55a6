// The rtnetlink attributes the `netlink` package leaves as raw bytes, built with its own
// lower layers (AttrStream, formatLink, formatLinkAttrs). Pure: no I/O.
//
// Netlink is host-endian (include/uapi/linux/netlink.h); the package writes lengths and
// integers in the host's order, so the byte fixtures of the tests are little-endian.
import { AttrStream, getString, ifla, parseAttributes, putString, rt } from 'netlink';

/** `IFLA_INFO_*`, the attributes nested in `IFLA_LINKINFO` (include/uapi/linux/if_link.h). */
export const IFLA_INFO = { KIND: 1, DATA: 2, XSTATS: 3, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;

/** `VETH_INFO_PEER` (include/uapi/linux/veth.h): a `struct ifinfomsg` then the peer's IFLA attributes. */
export const VETH_INFO = { PEER: 1 } as const;

/**
 * `RTNH_F_ONLINK` (include/uapi/linux/rtnetlink.h): in `rtm_flags`, "gateway is forced on
 * link", so the kernel accepts a gateway no route of the link covers (Calico's 169.254.1.1).
 */
export const RTNH_F_ONLINK = 4;

/** `RTM_F_CLONED` (include/uapi/linux/rtnetlink.h): a cached clone, not a configured route. */
export const RTM_F_CLONED = 0x200;

/** The end of a veth pair that the kernel creates alongside the first one. */
export interface VethPeerAttributes {
  /** Its interface name (at most 15 bytes). */
  name: string;
  /**
   * A descriptor of the network namespace to create it in (`IFLA_NET_NS_FD`); when
   * absent it is created next to the first end.
   */
  netnsFd?: number;
  /** Its MTU in bytes (`IFLA_MTU`). */
  mtu?: number;
  /** Its MAC address, 6 bytes (`IFLA_ADDRESS`). */
  address?: Uint8Array;
}

/** Concatenates the buffers an AttrStream produced. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The payload of `IFLA_LINKINFO` for `ip link add NAME type veth peer name PEER [netns
 * NS]`: `IFLA_INFO_KIND "veth"`, then `IFLA_INFO_DATA` holding `VETH_INFO_PEER`, whose
 * payload is a zeroed `struct ifinfomsg` followed by the peer's own IFLA attributes
 * (drivers/net/veth.c, `veth_newlink`).
 */
export function encodeVethLinkInfo(peer: VethPeerAttributes): Uint8Array {
  const peerAttrs: ifla.LinkAttrs = { ifname: peer.name };
  if (peer.mtu !== undefined) peerAttrs.mtu = peer.mtu;
  if (peer.address !== undefined) peerAttrs.address = Buffer.from(peer.address);
  if (peer.netnsFd !== undefined) peerAttrs.netNsFd = peer.netnsFd;
  const peerStream = new AttrStream();
  peerStream.emit(rt.formatLink({}));
  peerStream.emit(ifla.formatLinkAttrs(peerAttrs));

  const data = new AttrStream();
  data.push(VETH_INFO.PEER, peerStream.bufs);

  const info = new AttrStream();
  info.push(IFLA_INFO.KIND, putString('veth'));
  info.push(IFLA_INFO.DATA, data.bufs);
  return concat(info.bufs);
}

/** What `IFLA_LINKINFO` says about a link: its kind (`veth`, `bridge`, ...) if any. */
export interface LinkInfoSummary {
  /** The link's kind (`IFLA_INFO_KIND`). */
  kind?: string;
  /** The kind of its master's port (`bridge`, `bond`), from `IFLA_INFO_SLAVE_KIND`. */
  portKind?: string;
}

/**
 * Reads the kind out of an `IFLA_LINKINFO` payload. Unknown attributes are skipped.
 * @throws {Error} from the netlink package when the attribute stream is malformed.
 */
export function decodeLinkInfo(payload: Uint8Array): LinkInfoSummary {
  const summary: LinkInfoSummary = {};
  const buffer = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  parseAttributes(buffer, (attr) => {
    if (attr.type === IFLA_INFO.KIND) summary.kind = getString(attr.data);
    else if (attr.type === IFLA_INFO.SLAVE_KIND) summary.portKind = getString(attr.data);
  });
  return summary;
}

/** The u32 of a 4-byte host-endian attribute such as `IFLA_LINK`, or `undefined`. */
export function decodeU32(payload: Uint8Array | undefined): number | undefined {
  if (payload?.byteLength !== 4) return undefined;
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, isLittleEndian());
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
