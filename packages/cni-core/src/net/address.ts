// Interface addresses over rtnetlink (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR,
// include/uapi/linux/if_addr.h).
import { type rt } from 'netlink';

import { NetError } from './errors.js';
import { type IpFamily, addressFamily, formatIp, ipFamilyOf, parseIp, parsePrefix } from './ip.js';
import { type IfIndex } from './link.js';
import { NLM_F, RTM, type RtConnection } from './rtnl.js';
import { type ScopeName, scopeName, scopeNumber } from './scope.js';

/** Options for {@link Netlink.addAddress}. */
export interface AddAddressOptions {
  /**
   * Skip duplicate address detection for an IPv6 address (`IFA_F_NODAD`), so it is usable
   * at once instead of `tentative` for about a second (RFC 4862 §5.4). Ignored for IPv4.
   */
  noDad?: boolean;
  /**
   * Do not add the prefix route the kernel adds for the address's subnet
   * (`IFA_F_NOPREFIXROUTE`, Linux 3.14 for IPv6, 4.4 for IPv4).
   */
  noPrefixRoute?: boolean;
  /** Address scope (default `universe`; `link` for an fe80::/10 address the kernel picks itself). */
  scope?: ScopeName | number;
  /** The address of the other end of a point-to-point link (`IFA_ADDRESS` when it differs from `IFA_LOCAL`). */
  peer?: string;
}

/** An address of an interface. */
export interface InterfaceAddress {
  /** `ADDRESS/LENGTH`, such as `10.244.1.5/32` or `fd00::5/128`. */
  readonly cidr: string;
  /** The address alone. */
  readonly ip: string;
  /** The prefix length in bits. */
  readonly prefixLength: number;
  /** 4 or 6. */
  readonly family: IpFamily;
  /** The link it is on. */
  readonly index: IfIndex;
  /** The address scope (`universe`, `link`, `host`, or the number of another). */
  readonly scope: ScopeName | number;
  /** IPv6 duplicate address detection has not finished (`IFA_F_TENTATIVE`). */
  readonly tentative: boolean;
  /** Duplicate address detection found the address in use (`IFA_F_DADFAILED`). */
  readonly dadFailed: boolean;
  /** The other end of a point-to-point link, when configured. */
  readonly peer?: string;
}

/** Options for {@link listAddresses}. */
export interface ListAddressesOptions {
  /** Only this IP version. */
  family?: IpFamily;
  /** Only addresses of this link. */
  index?: IfIndex;
}

/** RTM_NEWADDR with NLM_F_CREATE | NLM_F_EXCL: EEXIST when the link already has it. */
export async function addAddress(
  conn: RtConnection,
  index: IfIndex,
  cidr: string,
  options: AddAddressOptions,
  operation: string,
): Promise<void> {
  const prefix = parsePrefix(cidr, operation);
  const local = Buffer.from(prefix.bytes);
  let remote = local;
  if (options.peer !== undefined) {
    const peer = parseIp(options.peer, operation);
    if (peer.family !== prefix.family) throw NetError.invalid(operation, `peer ${options.peer} is not IPv${prefix.family}`);
    remote = Buffer.from(peer.bytes);
  }
  const flags: rt.AddressFlags = {};
  if (options.noDad && prefix.family === 6) flags.nodad = true;
  if (options.noPrefixRoute) flags.noprefixroute = true;
  const data: rt.Address = {
    family: addressFamily(prefix.family),
    prefixlen: prefix.prefixLength,
    index,
    scope: scopeNumber(options.scope ?? 'universe', operation),
    flags,
  };
  // IFA_LOCAL is the interface's own address and IFA_ADDRESS the peer's (the same on a
  // broadcast link); IFA_FLAGS carries the flags that do not fit ifa_flags' 8 bits.
  const attrs: rt.AddressAttrs = { local, address: remote, flags };
  await conn.request(RTM.NEWADDR, { kind: 'address', data, attrs }, NLM_F.CREATE_EXCL, operation);
}

/** RTM_DELADDR: EADDRNOTAVAIL when the link does not have it. */
export async function deleteAddress(conn: RtConnection, index: IfIndex, cidr: string, operation: string): Promise<void> {
  const prefix = parsePrefix(cidr, operation);
  const data: rt.Address = { family: addressFamily(prefix.family), prefixlen: prefix.prefixLength, index };
  const attrs: rt.AddressAttrs = { local: Buffer.from(prefix.bytes) };
  await conn.request(RTM.DELADDR, { kind: 'address', data, attrs }, NLM_F.NONE, operation);
}

/** The addresses of the namespace (RTM_GETADDR dump), filtered by `options`. */
export async function listAddresses(conn: RtConnection, options: ListAddressesOptions, operation: string): Promise<InterfaceAddress[]> {
  const data: rt.Address = options.family !== undefined ? { family: addressFamily(options.family) } : {};
  const answers = await conn.request(RTM.GETADDR, { kind: 'address', data, attrs: {} }, NLM_F.DUMP, operation);
  const addresses: InterfaceAddress[] = [];
  for (const message of answers) {
    if (message.kind !== 'address') continue;
    const address = addressFromMessage(message);
    if (!address) continue;
    if (options.family !== undefined && address.family !== options.family) continue;
    if (options.index !== undefined && address.index !== options.index) continue;
    addresses.push(address);
  }
  return addresses;
}

function addressFromMessage(message: rt.AddressMessage): InterfaceAddress | undefined {
  const { data, attrs } = message;
  const family = ipFamilyOf(data.family ?? 0);
  const localBytes = attrs.local ?? attrs.address;
  if (family === undefined || !localBytes) return undefined;
  const ip = formatIp(localBytes);
  const prefixLength = data.prefixlen ?? 0;
  // IFA_FLAGS, when present, supersedes the 8-bit ifa_flags (include/uapi/linux/if_addr.h).
  const flags = attrs.flags ?? data.flags ?? {};
  const peer = attrs.local && attrs.address && !attrs.local.equals(attrs.address) ? formatIp(attrs.address) : undefined;
  return {
    cidr: `${ip}/${prefixLength}`,
    ip,
    prefixLength,
    family,
    index: (data.index ?? 0) as IfIndex,
    scope: scopeName(data.scope ?? 0),
    tentative: flags.tentative === true,
    dadFailed: flags.dadfailed === true,
    ...(peer !== undefined ? { peer } : {}),
  };
}
