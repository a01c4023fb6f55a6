// Links over rtnetlink: look up, list, create veth pairs, change, move, delete
// (RTM_GETLINK / RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK, include/uapi/linux/rtnetlink.h).
import { type ifla, type rt } from 'netlink';

import { decodeLinkInfo, decodeU32, encodeVethLinkInfo } from './attributes.js';
import { NetError } from './errors.js';
import { formatMac, parseMac } from './ip.js';
import { NLM_F, RTM, type RtConnection } from './rtnl.js';

/** An interface index in one network namespace; the same number means another link elsewhere. */
export type IfIndex = number & {
  /** A type-only brand: an `IfIndex` is a plain number at run time. */
  readonly __brand: 'IfIndex';
};

/**
 * Brands a number as an {@link IfIndex}.
 * @throws {NetError} `EINVAL` unless it is a positive 32-bit integer.
 */
export function ifIndex(value: number): IfIndex {
  if (!Number.isInteger(value) || value <= 0 || value > 0x7fffffff) {
    throw NetError.invalid('ifIndex', `${value} is not an interface index`);
  }
  return value as IfIndex;
}

/** A link given by name (`eth0`), by index, or by a {@link Link} read earlier (its index). */
export type LinkRef = string | IfIndex | { readonly index: IfIndex };

/** RFC 2863 operational states as `IFLA_OPERSTATE` reports them (include/uapi/linux/if.h, `IF_OPER_*`). */
export const OPER_STATE = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;

/** One of {@link OPER_STATE}. */
export type OperState = (typeof OPER_STATE)[number];

/** A network interface as the kernel reports it. */
export interface Link {
  /** The interface index, unique in its namespace. */
  readonly index: IfIndex;
  /** The interface name (`eth0`). */
  readonly name: string;
  /** MTU in bytes. */
  readonly mtu: number;
  /** The hardware address, `aa:bb:cc:dd:ee:ff` for Ethernet-like links. */
  readonly mac?: string;
  /** Administratively up (`IFF_UP`). */
  readonly up: boolean;
  /** Operational state (`IFLA_OPERSTATE`): `up` once the carrier is there. */
  readonly operState: OperState;
  /** The driver kind from `IFLA_LINKINFO` (`veth`, `bridge`, ...); absent for `lo` and physical links. */
  readonly kind?: string;
  /**
   * `IFLA_LINK`: for a veth, the index of its peer, in the namespace given by
   * {@link linkNetnsId} when that is set.
   */
  readonly parentIndex?: number;
  /** `IFLA_LINK_NETNSID`: the id, in this namespace, of the namespace the peer lives in. */
  readonly linkNetnsId?: number;
  /** The index of its master (bridge, bond, VRF), if any. */
  readonly masterIndex?: number;
}

/** Changes to a link; absent fields stay as they are. */
export interface LinkChanges {
  /**
   * New name (at most 15 bytes). Older kernels rename a link only while it is down
   * (`EBUSY` otherwise); the kernel renames before it applies `up`, so
   * `{ name, up: true }` renames a down link and brings it up in one call.
   */
  name?: string;
  /** MTU in bytes, within the link's min and max. */
  mtu?: number;
  /** Hardware address, `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
  /** Bring it up (`true`) or down (`false`). */
  up?: boolean;
}

/** Interface names are at most IFNAMSIZ - 1 = 15 bytes, without `/`, `:` or white space (net/core/dev.c, `dev_valid_name`). */
export function checkLinkName(name: string, operation: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > 15 || name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw NetError.invalid(operation, `${JSON.stringify(name)} is not a valid interface name (1 to 15 bytes, no "/", ":" or spaces)`);
  }
}

/** `eth0`, or `index 7`, for messages. */
export function describeLink(ref: LinkRef): string {
  if (typeof ref === 'string') return ref;
  if (typeof ref === 'number') return `index ${ref}`;
  return 'name' in ref && typeof ref.name === 'string' ? ref.name : `index ${ref.index}`;
}

/** Reads a link message into a {@link Link}. */
export function linkFromMessage(message: rt.LinkMessage): Link {
  const { data, attrs } = message;
  const info = attrs.linkinfo ? decodeLinkInfo(attrs.linkinfo) : {};
  const parentIndex = decodeU32(attrs.link);
  const operState = OPER_STATE[attrs.operstate ?? 0] ?? 'unknown';
  return {
    index: (data.index ?? 0) as IfIndex,
    name: attrs.ifname ?? '',
    mtu: attrs.mtu ?? 0,
    ...(attrs.address && attrs.address.length > 0 ? { mac: formatMac(attrs.address) } : {}),
    up: data.flags?.up === true,
    operState,
    ...(info.kind !== undefined ? { kind: info.kind } : {}),
    // The kernel sends IFLA_LINK only when it differs from the link's own index.
    ...(parentIndex !== undefined ? { parentIndex } : {}),
    ...(attrs.linkNetnsid !== undefined ? { linkNetnsId: attrs.linkNetnsid } : {}),
    ...(attrs.master !== undefined && attrs.master !== 0 ? { masterIndex: attrs.master } : {}),
  };
}

/**
 * The link `ref` names, in one request (RTM_GETLINK by index, or by `IFLA_IFNAME`).
 * @throws {NetError} `ENODEV` when there is none.
 */
export async function getLink(conn: RtConnection, ref: LinkRef, operation = `getLink ${describeLink(ref)}`): Promise<Link> {
  const data: rt.Link = {};
  const attrs: ifla.LinkAttrs = {};
  if (typeof ref === 'string') {
    checkLinkName(ref, operation);
    attrs.ifname = ref;
  } else {
    data.index = typeof ref === 'number' ? ref : ref.index;
  }
  const answers = await conn.request(RTM.GETLINK, { kind: 'link', data, attrs }, NLM_F.NONE, operation);
  const link = answers.find((m): m is rt.LinkMessage => m.kind === 'link');
  if (!link) throw new NetError('ENODEV', 19, operation, 'the kernel sent no link');
  return linkFromMessage(link);
}

/** The index of `ref`, asking the kernel only when it is a name. */
export async function resolveIndex(conn: RtConnection, ref: LinkRef, operation: string): Promise<IfIndex> {
  if (typeof ref === 'number') return ref;
  if (typeof ref === 'object') return ref.index;
  return (await getLink(conn, ref, operation)).index;
}

/** Every link of the namespace, by index. */
export async function listLinks(conn: RtConnection): Promise<Link[]> {
  const answers = await conn.request(RTM.GETLINK, { kind: 'link', data: {}, attrs: {} }, NLM_F.DUMP, 'listLinks');
  return answers
    .filter((m): m is rt.LinkMessage => m.kind === 'link')
    .map(linkFromMessage)
    .sort((a, b) => a.index - b.index);
}

/** What {@link createVethLink} sends. */
export interface VethRequest {
  name: string;
  mtu?: number;
  mac?: string;
  peer: { name: string; netnsFd?: number; mtu?: number; mac?: string };
}

/**
 * `ip link add NAME type veth peer name PEER [netns NS]` as one RTM_NEWLINK with
 * NLM_F_CREATE | NLM_F_EXCL: both ends exist afterwards, or neither.
 */
export async function createVethLink(conn: RtConnection, request: VethRequest, operation: string): Promise<void> {
  checkLinkName(request.name, operation);
  checkLinkName(request.peer.name, operation);
  const attrs: ifla.LinkAttrs = {
    ifname: request.name,
    linkinfo: Buffer.from(
      encodeVethLinkInfo({
        name: request.peer.name,
        ...(request.peer.netnsFd !== undefined ? { netnsFd: request.peer.netnsFd } : {}),
        ...(request.peer.mtu !== undefined ? { mtu: checkMtu(request.peer.mtu, operation) } : {}),
        ...(request.peer.mac !== undefined ? { address: parseMac(request.peer.mac, operation) } : {}),
      }),
    ),
  };
  if (request.mtu !== undefined) attrs.mtu = checkMtu(request.mtu, operation);
  if (request.mac !== undefined) attrs.address = Buffer.from(parseMac(request.mac, operation));
  await conn.request(RTM.NEWLINK, { kind: 'link', data: {}, attrs }, NLM_F.CREATE_EXCL, operation);
}

/**
 * Applies {@link LinkChanges} in one RTM_SETLINK. The kernel applies them in the order
 * of `do_setlink` (net/core/rtnetlink.c): MAC, MTU, name, then the up/down flag, so a
 * down link can be renamed and brought up at once.
 */
export async function setLinkAttributes(conn: RtConnection, index: IfIndex, changes: LinkChanges, operation: string): Promise<void> {
  const data: rt.Link = { index };
  const attrs: ifla.LinkAttrs = {};
  if (changes.name !== undefined) {
    checkLinkName(changes.name, operation);
    attrs.ifname = changes.name;
  }
  if (changes.mtu !== undefined) attrs.mtu = checkMtu(changes.mtu, operation);
  if (changes.mac !== undefined) attrs.address = Buffer.from(parseMac(changes.mac, operation));
  if (changes.up !== undefined) {
    // ifi_change selects the flags to change (include/uapi/linux/rtnetlink.h, struct ifinfomsg).
    data.flags = changes.up ? { up: true } : {};
    data.change = { up: true };
  }
  await conn.request(RTM.SETLINK, { kind: 'link', data, attrs }, NLM_F.NONE, operation);
}

/**
 * Moves a link into the namespace `netnsFd` refers to (`IFLA_NET_NS_FD`), renaming it
 * there when `name` is given, in one RTM_SETLINK. Beware: the kernel moves the link
 * first and renames it after (net/core/rtnetlink.c, `do_setlink`), so when the name is
 * taken in the target the answer is EEXIST but the link has moved under its old name;
 * {@link Netlink.moveLink} checks first and moves it back.
 */
export async function moveLinkToNetns(conn: RtConnection, index: IfIndex, netnsFd: number, name: string | undefined, operation: string): Promise<void> {
  const attrs: ifla.LinkAttrs = { netNsFd: netnsFd };
  if (name !== undefined) {
    checkLinkName(name, operation);
    attrs.ifname = name;
  }
  await conn.request(RTM.SETLINK, { kind: 'link', data: { index }, attrs }, NLM_F.NONE, operation);
}

/** RTM_DELLINK; deleting one end of a veth pair deletes both. */
export async function deleteLinkByIndex(conn: RtConnection, index: IfIndex, operation: string): Promise<void> {
  await conn.request(RTM.DELLINK, { kind: 'link', data: { index }, attrs: {} }, NLM_F.NONE, operation);
}

/** An MTU is a u32; the link driver checks its own range (veth: 68 to 65535). */
function checkMtu(mtu: number, operation: string): number {
  if (!Number.isInteger(mtu) || mtu <= 0 || mtu > 0xffffffff) {
    throw NetError.invalid(operation, `${mtu} is not an MTU`);
  }
  return mtu;
}
