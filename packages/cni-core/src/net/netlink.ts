// The public handle: one rtnetlink socket and one namespace, with the operations a CNI
// plugin needs. Each method names its operation the way `ip` would write it, and that
// text leads every NetError it throws.
import { type NetnsHandle, type NetnsRef } from '@twill/sys';

import { type AddAddressOptions, type InterfaceAddress, addAddress, deleteAddress, listAddresses } from './address.js';
import { type CreateVethOptions, type MoveLinkOptions, type VethPair, createVethPair, findIn, moveLinkAcross, ownHandle } from './cross-netns.js';
import { type IpFamily } from './ip.js';
import {
  type Link,
  type LinkChanges,
  type LinkRef,
  deleteLinkByIndex,
  describeLink,
  getLink,
  listLinks,
  resolveIndex,
  setLinkAttributes,
} from './link.js';
import { type Route, type RouteSpec, addRoute, deleteRoute, describeRoute, listRoutes } from './route.js';
import { RtConnection } from './rtnl.js';
import { type Rule, type RuleSpec, addRule, deleteRule, describeRule, listRules } from './rule.js';
import { interfaceSysctlKey, readSysctl, writeSysctl } from './sysctl.js';

/** Options for {@link Netlink.open}. */
export interface OpenNetlinkOptions {
  /** The namespace to work in: a handle, a name under /run/netns, or a path such as `CNI_NETNS`. Default: the caller's. */
  netns?: NetnsRef;
}

/** A route for {@link Netlink.addRoute}: a {@link RouteSpec} whose link is given by name or index. */
export type RouteOptions = Omit<RouteSpec, 'index'> & {
  /** The link to send on (`dev`). */
  link?: LinkRef;
};

/** Options for {@link Netlink.listAddresses}. */
export interface ListAddressOptions {
  /** Only this family (4 or 6); default both. */
  family?: IpFamily;
  /** Only addresses of this link. */
  link?: LinkRef;
}

/** Options for {@link Netlink.listRoutes}. */
export interface ListRouteOptions {
  /** Only this family (4 or 6); default both. */
  family?: IpFamily;
  /** Only this table (default main, 254); `all` for every table. */
  table?: number | 'all';
  /** Only routes out of this link. */
  link?: LinkRef;
}

/** Options for {@link Netlink.listRules}. */
export interface ListRuleOptions {
  /** The family whose rules to list: 4 (`ip -4 rule`) or 6 (`ip -6 rule`). */
  family: IpFamily;
}

/** Options for {@link Netlink.setForwarding}. */
export interface ForwardingOptions {
  /** 4 (`net.ipv4`) or 6 (`net.ipv6`). */
  family: IpFamily;
  /** Only this link (`net.ipvX.conf.LINK.forwarding`); default: all links (`conf.all`). */
  link?: LinkRef;
  /** Default true. */
  enabled?: boolean;
}

/**
 * rtnetlink and sysctls in one network namespace: links, veth pairs, addresses, routes,
 * policy routing rules.
 * Open with {@link Netlink.open}; close with {@link Netlink.close} (or `using`).
 *
 * Needs Linux and CAP_NET_ADMIN in the namespace for changes (reads work unprivileged),
 * and CAP_SYS_ADMIN to enter another namespace. Every kernel refusal is a
 * {@link NetError} whose `code` is the errno name and whose message says what was
 * being done: `addRoute 0.0.0.0/0 via 169.254.1.1 dev eth0: ENETUNREACH`.
 *
 * ```ts
 * using nl = Netlink.open({ netns: process.env.CNI_NETNS });
 * await nl.setLink('eth0', { mtu: 1450, up: true });
 * await nl.addRoute({ dst: 'default', gateway: '169.254.1.1', link: 'eth0', onLink: true });
 * ```
 */
export class Netlink {
  readonly #conn: RtConnection;
  readonly #netns: NetnsHandle | undefined;

  private constructor(conn: RtConnection, netns: NetnsHandle | undefined) {
    this.#conn = conn;
    this.#netns = netns;
  }

  /**
   * Opens a handle on `options.netns` (default: the caller's namespace).
   * @throws {SysError} `ENOENT` when the namespace does not exist, `EPERM` without CAP_SYS_ADMIN.
   */
  static open(options: OpenNetlinkOptions = {}): Netlink {
    const netns = options.netns === undefined ? undefined : ownHandle(options.netns);
    try {
      return new Netlink(RtConnection.open(netns), netns);
    } catch (error) {
      netns?.close();
      throw error;
    }
  }

  /**
   * The link `ref` names.
   * @throws {NetError} `ENODEV` when there is no such link.
   */
  getLink(ref: LinkRef): Promise<Link> {
    return getLink(this.#conn, ref);
  }

  /** The link `ref` names, or `undefined` when there is none. */
  findLink(ref: LinkRef): Promise<Link | undefined> {
    return findIn(this.#conn, ref, `findLink ${describeLink(ref)}`);
  }

  /** Every link of the namespace, by index. */
  listLinks(): Promise<Link[]> {
    return listLinks(this.#conn);
  }

  /**
   * Creates a veth pair in one request: `name` here, `peer.name` in `peer.netns` (both
   * down). Both ends exist afterwards, or neither does.
   * @throws {NetError} `EEXIST` when a name is taken (in either namespace), `EINVAL` for a
   *   bad name or MTU, `EOPNOTSUPP` without the veth driver, `EPERM` without CAP_NET_ADMIN.
   */
  createVeth(options: CreateVethOptions): Promise<VethPair> {
    return createVethPair(this.#conn, options);
  }

  /**
   * Changes a link's name, MTU, MAC or state in one request (`ip link set`).
   * @throws {NetError} `ENODEV` for a missing link, `EBUSY` to rename a link that is up (older kernels),
   *   `EEXIST` for a name taken, `EINVAL` for an MTU out of the driver's range.
   */
  async setLink(ref: LinkRef, changes: LinkChanges): Promise<void> {
    const words = [`setLink ${describeLink(ref)}`];
    if (changes.name !== undefined) words.push(`name ${changes.name}`);
    if (changes.mtu !== undefined) words.push(`mtu ${changes.mtu}`);
    if (changes.mac !== undefined) words.push(`address ${changes.mac}`);
    if (changes.up !== undefined) words.push(changes.up ? 'up' : 'down');
    const operation = words.join(' ');
    await setLinkAttributes(this.#conn, await resolveIndex(this.#conn, ref, operation), changes, operation);
  }

  /**
   * Moves a link to another namespace, renamed there when `name` is given; a veth keeps
   * its peer. It arrives down, without addresses. On failure it stays here: the kernel
   * moves first and renames after, so the target is checked for the name first, and a
   * link moved under a name that appeared in between is moved back before the throw.
   * @throws {NetError} `ENODEV` for a missing link, `EEXIST` when its name (or `name`) is
   *   taken there; {@link SysError} `ENOENT` for a missing namespace.
   */
  moveLink(ref: LinkRef, options: MoveLinkOptions): Promise<void> {
    return moveLinkAcross(this.#conn, this.#netns, ref, options);
  }

  /**
   * Deletes a link (both ends, for a veth; the routes and addresses on it go with it).
   * @throws {NetError} `ENODEV` when there is no such link.
   */
  async deleteLink(ref: LinkRef): Promise<void> {
    const operation = `deleteLink ${describeLink(ref)}`;
    await deleteLinkByIndex(this.#conn, await resolveIndex(this.#conn, ref, operation), operation);
  }

  /**
   * Adds an address (`ip addr add CIDR dev LINK`); IPv4 or IPv6.
   * @throws {NetError} `EEXIST` when the link has it already, `ENODEV` for a missing
   *   link, `EINVAL` for a bad CIDR.
   */
  async addAddress(ref: LinkRef, cidr: string, options: AddAddressOptions = {}): Promise<void> {
    const operation = `addAddress ${cidr} dev ${describeLink(ref)}`;
    await addAddress(this.#conn, await resolveIndex(this.#conn, ref, operation), cidr, options, operation);
  }

  /**
   * Removes an address (`ip addr del CIDR dev LINK`).
   * @throws {NetError} `EADDRNOTAVAIL` when the link does not have it, `ENODEV` for a missing link.
   */
  async deleteAddress(ref: LinkRef, cidr: string): Promise<void> {
    const operation = `deleteAddress ${cidr} dev ${describeLink(ref)}`;
    await deleteAddress(this.#conn, await resolveIndex(this.#conn, ref, operation), cidr, operation);
  }

  /** The addresses of the namespace, or of one link. @throws {NetError} `ENODEV` for a missing link. */
  async listAddresses(options: ListAddressOptions = {}): Promise<InterfaceAddress[]> {
    const operation = `listAddresses${options.link !== undefined ? ` dev ${describeLink(options.link)}` : ''}`;
    const index = options.link !== undefined ? await resolveIndex(this.#conn, options.link, operation) : undefined;
    return listAddresses(this.#conn, { ...(options.family ? { family: options.family } : {}), ...(index !== undefined ? { index } : {}) }, operation);
  }

  /**
   * Adds a route (`ip route add`).
   * @throws {NetError} `EEXIST` when it exists, `ENETUNREACH` for a gateway no route
   *   covers (use `onLink`), `ENODEV` for a missing link, `EINVAL` for bad input.
   */
  async addRoute(route: RouteOptions): Promise<void> {
    const { spec, operation } = await this.#routeSpec('addRoute', route);
    await addRoute(this.#conn, spec, false, operation);
  }

  /** Adds a route, or replaces the one with the same destination, table and metric (`ip route replace`). @throws {NetError} as {@link addRoute}. */
  async replaceRoute(route: RouteOptions): Promise<void> {
    const { spec, operation } = await this.#routeSpec('replaceRoute', route);
    await addRoute(this.#conn, spec, true, operation);
  }

  /**
   * Deletes the route that matches (`ip route del`); fields left out match anything.
   * @throws {NetError} `ESRCH` when none matches.
   */
  async deleteRoute(route: RouteOptions): Promise<void> {
    const { spec, operation } = await this.#routeSpec('deleteRoute', route);
    await deleteRoute(this.#conn, spec, operation);
  }

  /** The routes of one table (default main), optionally of one family or link. */
  async listRoutes(options: ListRouteOptions = {}): Promise<Route[]> {
    const operation = `listRoutes${options.link !== undefined ? ` dev ${describeLink(options.link)}` : ''}`;
    const index = options.link !== undefined ? await resolveIndex(this.#conn, options.link, operation) : undefined;
    return listRoutes(
      this.#conn,
      {
        ...(options.family ? { family: options.family } : {}),
        ...(options.table !== undefined ? { table: options.table } : {}),
        ...(index !== undefined ? { index } : {}),
      },
      operation,
    );
  }

  /**
   * Adds a policy routing rule (`ip rule add fwmark MARK/MASK lookup TABLE pref PRIORITY`):
   * packets whose firewall mark matches are routed by `table`.
   * @throws {NetError} `EEXIST` when the same rule exists, `EINVAL` for bad input (named
   *   before anything is sent), `EAFNOSUPPORT` without IPv6.
   */
  async addRule(rule: RuleSpec): Promise<void> {
    await addRule(this.#conn, rule, `addRule ${describeRule(rule)}`);
  }

  /**
   * Deletes the rule with this mark, mask, table and priority (`ip rule del`).
   * @throws {NetError} `ENOENT` when there is none, `EINVAL` for bad input.
   */
  async deleteRule(rule: RuleSpec): Promise<void> {
    await deleteRule(this.#conn, rule, `deleteRule ${describeRule(rule)}`);
  }

  /** The policy routing rules of one family, lowest preference first (`ip rule show`). */
  async listRules(options: ListRuleOptions): Promise<Rule[]> {
    return listRules(this.#conn, options.family, `listRules ipv${options.family}`);
  }

  /**
   * Writes a network sysctl of this namespace: `net.ipv4.ip_forward`, or slashed
   * (`net/ipv4/conf/eth0.100/proxy_arp`). Only `net` keys: they are per namespace.
   * @throws {NetError} `ENOENT` for an unknown key, `EINVAL` for a refused value.
   */
  setSysctl(key: string, value: string | number): void {
    writeSysctl(this.#netns, key, value);
  }

  /** Reads a network sysctl of this namespace. @throws {NetError} `ENOENT` for an unknown key. */
  getSysctl(key: string): string {
    return readSysctl(this.#netns, key);
  }

  /** Turns IP forwarding on (or off) for all links or one (`net.ipv4.conf.*.forwarding`). */
  async setForwarding(options: ForwardingOptions): Promise<void> {
    const family = options.family === 4 ? 'ipv4' : 'ipv6';
    const name = options.link === undefined ? 'all' : await this.#linkName(options.link, 'setForwarding');
    writeSysctl(this.#netns, interfaceSysctlKey(family, name, 'forwarding'), options.enabled === false ? 0 : 1);
  }

  /**
   * Turns proxy ARP on (or off) for a link (`net.ipv4.conf.LINK.proxy_arp`): the host end
   * of a pod's veth answers the pod's ARP for 169.254.1.1 with its own MAC.
   */
  async setProxyArp(ref: LinkRef, enabled = true): Promise<void> {
    const name = await this.#linkName(ref, 'setProxyArp');
    writeSysctl(this.#netns, interfaceSysctlKey('ipv4', name, 'proxy_arp'), enabled ? 1 : 0);
  }

  /**
   * Sets IPv6 duplicate address detection for a link (`net.ipv6.conf.LINK.accept_dad`);
   * `false` makes new addresses usable at once (RFC 4862 §5.4 is skipped).
   */
  async setAcceptDad(ref: LinkRef, enabled: boolean): Promise<void> {
    const name = await this.#linkName(ref, 'setAcceptDad');
    writeSysctl(this.#netns, interfaceSysctlKey('ipv6', name, 'accept_dad'), enabled ? 1 : 0);
  }

  /** Closes the socket and the namespace handle; calling it again does nothing. */
  close(): void {
    this.#conn.close();
    this.#netns?.close();
  }

  /** Closes the socket at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  async #linkName(ref: LinkRef, operation: string): Promise<string> {
    return typeof ref === 'string' ? ref : (await getLink(this.#conn, ref, `${operation} ${describeLink(ref)}`)).name;
  }

  async #routeSpec(verb: string, route: RouteOptions): Promise<{ spec: RouteSpec; operation: string }> {
    const { link, ...rest } = route;
    const operation = `${verb} ${describeRoute(rest, link === undefined ? undefined : describeLink(link))}`;
    const spec: RouteSpec = link === undefined ? rest : { ...rest, index: await resolveIndex(this.#conn, link, operation) };
    return { spec, operation };
  }
}

/**
 * Opens a {@link Netlink} on `netns`, gives it to `fn` and closes it when `fn` settles.
 * @throws what {@link Netlink.open} or `fn` throws.
 */
export async function withNetlink<T>(netns: NetnsRef | undefined, fn: (nl: Netlink) => Promise<T> | T): Promise<T> {
  const nl = Netlink.open(netns === undefined ? {} : { netns });
  try {
    return await fn(nl);
  } finally {
    nl.close();
  }
}
