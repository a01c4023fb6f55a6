// Routed veth plumbing, the Calico layout, as one call for plugin authors: a veth pair
// per attachment, no bridge. The pod's end carries its addresses at full length and
// default routes to link-local gateways that are not on any subnet; the host's end
// answers for them (proxy ARP for 169.254.1.1, its own fe80::1 for IPv6) and the host
// routes each pod address to it. Everything over Netlink, inside the namespaces given.
import { createHash } from 'node:crypto';

import { type NetnsRef, SysError } from '@twill/sys';

import { CNI_ERROR, CniError } from '../errors.js';
import { type Interface110, type IpConfig110, type Route110 } from '../spec/index.js';
import { netnsLabel } from './cross-netns.js';
import { NetError } from './errors.js';
import { type IpFamily, formatPrefix, parsePrefix } from './ip.js';
import { checkLinkName } from './link.js';
import { Netlink } from './netlink.js';

/**
 * The pod's default gateways: addresses on no subnet, answered by the host's end of the
 * veth (proxy ARP for IPv4; for IPv6 the host's end carries `fe80::1` itself).
 */
export const ROUTED_VETH_GATEWAY = Object.freeze({
  /** The IPv4 gateway, link-local (RFC 3927). */
  ipv4: '169.254.1.1',
  /** The IPv6 gateway, link-local. */
  ipv6: 'fe80::1',
} as const);

/** What {@link plumbRoutedVeth} makes and {@link checkRoutedVeth} looks for. */
export interface RoutedVethOptions {
  /** The pod's network namespace: `CNI_NETNS` (a path), a name under /run/netns, or a handle. */
  readonly netns: NetnsRef;
  /** The pod's end: `CNI_IFNAME`. */
  readonly ifName: string;
  /** The host's end, unique per attachment: see {@link hostInterfaceName}. */
  readonly hostInterface: string;
  /**
   * The pod's addresses at full length: `10.244.0.5/32` or `10.244.0.5`, `fd00::5/128`
   * or `fd00::5`; IPv4, IPv6 or both, at least one.
   */
  readonly addresses: readonly string[];
  /** MTU of both ends, in bytes (default the kernel's, 1500). {@link checkRoutedVeth} checks it only when given. */
  readonly mtu?: number;
  /** The node's namespace, where the host's end and the routes go (default: the caller's). */
  readonly hostNetns?: NetnsRef;
}

/** Which attachment {@link unplumbRoutedVeth} removes: the pod's namespace is not needed, and may be gone. */
export interface UnplumbRoutedVethOptions {
  /** The host's end, as given to {@link plumbRoutedVeth}. */
  readonly hostInterface: string;
  /** The node's namespace (default: the caller's). */
  readonly hostNetns?: NetnsRef;
}

/**
 * What {@link plumbRoutedVeth} made, in the words of a CNI 1.1.0 result: spread it into
 * the ADD result (`{ cniVersion, ...plumbed }`).
 */
export interface RoutedVethResult {
  /** The host's end (`name`, `mac`), then the pod's (`name`, `mac`, `sandbox`). */
  readonly interfaces: readonly [Interface110, Interface110];
  /** Each address at full length on the pod's end (`interface: 1`), with its family's gateway. */
  readonly ips: readonly IpConfig110[];
  /** The pod's default routes: `0.0.0.0/0` via 169.254.1.1 and/or `::/0` via fe80::1. */
  readonly routes: readonly Route110[];
}

/**
 * An interface name {@link plumbRoutedVeth} needs is taken. `code` is `EEXIST`; the
 * message says where and how to free it. A plugin that lets it reach `runPluginMain`
 * answers code 999 with that message, as the reference plugins do for a clash.
 */
export class InterfaceExistsError extends NetError {
  constructor(
    /** The name that is taken. */
    readonly interfaceName: string,
    /** Which end: `host` (the node's namespace) or `pod` (the pod's). */
    readonly side: 'host' | 'pod',
    /** The namespace, as given (`the host namespace` when the caller's). */
    readonly where: string,
    hint: string,
  ) {
    super('EEXIST', 17, `plumbRoutedVeth ${interfaceName} in ${where}`, hint);
  }
}

/**
 * The host end's name for an attachment: `prefix` and the first hex digits of
 * SHA-256(`<containerId>\n<ifName>`), 15 characters (IFNAMSIZ - 1). The same attachment
 * always gives the same name, so DEL and GC find it from `CNI_CONTAINERID` and
 * `CNI_IFNAME` alone (DEL may come without `CNI_NETNS` or a `prevResult`).
 * @param options.prefix 1 to 11 characters (default `tw`): leaves at least 4 hex digits.
 * @throws {NetError} `EINVAL` for an empty `containerId` or `ifName`, or a bad prefix.
 */
export function hostInterfaceName(containerId: string, ifName: string, options: { prefix?: string } = {}): string {
  const prefix = options.prefix ?? 'tw';
  const operation = 'hostInterfaceName';
  if (containerId === '') throw NetError.invalid(operation, 'containerId is empty');
  if (ifName === '') throw NetError.invalid(operation, 'ifName is empty');
  if (prefix.length < 1 || prefix.length > 11 || !/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    throw NetError.invalid(operation, `prefix ${JSON.stringify(prefix)}: 1 to 11 letters, digits, "_", "." or "-"`);
  }
  const digest = createHash('sha256').update(`${containerId}\n${ifName}`).digest('hex');
  return `${prefix}${digest.slice(0, 15 - prefix.length)}`;
}

/** A pod address at full length, normalized. */
interface PodAddress {
  readonly cidr: string;
  readonly family: IpFamily;
}

/** Checks the options before any kernel call: names, and addresses at full length. */
function parseOptions(options: RoutedVethOptions, operation: string): PodAddress[] {
  checkLinkName(options.ifName, `${operation}: ifName`);
  checkLinkName(options.hostInterface, `${operation}: hostInterface`);
  if (options.addresses.length === 0) throw NetError.invalid(operation, 'addresses: at least one address is needed');
  return options.addresses.map((text, i) => {
    const prefix = parsePrefix(text, `${operation}: addresses[${i}]`);
    const full = prefix.family === 4 ? 32 : 128;
    if (prefix.prefixLength !== full) {
      throw NetError.invalid(`${operation}: addresses[${i}]`, `${JSON.stringify(text)} is not a full-length address (/${full}): the pod gets its address alone, the rest is routed`);
    }
    return { cidr: formatPrefix(prefix.bytes, full), family: prefix.family };
  });
}

const hostLabel = (hostNetns: NetnsRef | undefined): string => (hostNetns === undefined ? 'the host namespace' : netnsLabel(hostNetns));

/** Opens the pod's namespace; a missing one is the spec's "container unknown". */
function openPod(netns: NetnsRef): Netlink {
  try {
    return Netlink.open({ netns });
  } catch (error) {
    if (error instanceof SysError && (error.code === 'ENOENT' || error.code === 'EINVAL')) {
      throw new CniError(CNI_ERROR.UNKNOWN_CONTAINER, `the network namespace ${netnsLabel(netns)} does not exist`, 'the container is gone, or CNI_NETNS is wrong', { cause: error });
    }
    throw error;
  }
}

async function withBoth<T>(options: RoutedVethOptions, fn: (host: Netlink, pod: Netlink) => Promise<T>): Promise<T> {
  const pod = openPod(options.netns);
  try {
    const host = Netlink.open(options.hostNetns === undefined ? {} : { netns: options.hostNetns });
    try {
      return await fn(host, pod);
    } finally {
      host.close();
    }
  } finally {
    pod.close();
  }
}

function hostClash(options: RoutedVethOptions): InterfaceExistsError {
  const name = options.hostInterface;
  const hint = `the host end of this attachment is taken: DEL the attachment that made it, or remove the leftover (ip link del ${name})`;
  return new InterfaceExistsError(name, 'host', hostLabel(options.hostNetns), hint);
}

function podClash(options: RoutedVethOptions): InterfaceExistsError {
  const name = options.ifName;
  const hint = `the pod already has an interface named ${name}: DEL the attachment that made it, or ask for another CNI_IFNAME`;
  return new InterfaceExistsError(name, 'pod', netnsLabel(options.netns), hint);
}

// Writing `conf.all.forwarding` makes the kernel walk every device under the rtnl lock
// (which every other netlink call on the machine waits for): read it first, so only the
// first pod of a node writes it.
async function enableForwarding(host: Netlink, family: IpFamily): Promise<void> {
  if (host.getSysctl(`net/ipv${family}/conf/all/forwarding`) !== '1') await host.setForwarding({ family });
}

async function configurePod(pod: Netlink, options: RoutedVethOptions, addresses: readonly PodAddress[]): Promise<void> {
  const name = options.ifName;
  const families = new Set(addresses.map((a) => a.family));
  if (families.has(6)) await pod.setAcceptDad(name, false);
  for (const { cidr } of addresses) await pod.addAddress(name, cidr, { noDad: true });
  await pod.setLink(name, { up: true });
  // On-link: the gateways are on no subnet of the pod's; the kernel sends to them anyway.
  if (families.has(4)) await pod.addRoute({ dst: '0.0.0.0/0', gateway: ROUTED_VETH_GATEWAY.ipv4, link: name, onLink: true });
  if (families.has(6)) await pod.addRoute({ dst: '::/0', gateway: ROUTED_VETH_GATEWAY.ipv6, link: name, onLink: true });
}

async function configureHost(host: Netlink, options: RoutedVethOptions, addresses: readonly PodAddress[]): Promise<void> {
  const name = options.hostInterface;
  const families = new Set(addresses.map((a) => a.family));
  if (families.has(4)) {
    await enableForwarding(host, 4);
    await host.setProxyArp(name);
    // The default proxy_delay (0.8 s) would hold the pod's first packet (its ARP for the gateway).
    host.setSysctl(`net/ipv4/neigh/${name}/proxy_delay`, 0);
  }
  if (families.has(6)) {
    await enableForwarding(host, 6);
    await host.setAcceptDad(name, false);
  }
  await host.setLink(name, { up: true });
  // Neighbour discovery for fe80::1 is answered by the host end itself: no proxy entry.
  if (families.has(6)) await host.addAddress(name, `${ROUTED_VETH_GATEWAY.ipv6}/64`, { noDad: true, scope: 'link' });
  for (const { cidr } of addresses) await host.replaceRoute({ dst: cidr, link: name });
}

function resultOf(options: RoutedVethOptions, addresses: readonly PodAddress[], macs: { host?: string; pod?: string }): RoutedVethResult {
  const families = new Set(addresses.map((a) => a.family));
  const gateway = (family: IpFamily): string => (family === 4 ? ROUTED_VETH_GATEWAY.ipv4 : ROUTED_VETH_GATEWAY.ipv6);
  return {
    interfaces: [
      { name: options.hostInterface, ...(macs.host === undefined ? {} : { mac: macs.host }) },
      { name: options.ifName, ...(macs.pod === undefined ? {} : { mac: macs.pod }), sandbox: netnsLabel(options.netns) },
    ],
    ips: addresses.map(({ cidr, family }) => ({ address: cidr, gateway: gateway(family), interface: 1 })),
    routes: [
      ...(families.has(4) ? [{ dst: '0.0.0.0/0', gw: ROUTED_VETH_GATEWAY.ipv4 }] : []),
      ...(families.has(6) ? [{ dst: '::/0', gw: ROUTED_VETH_GATEWAY.ipv6 }] : []),
    ],
  };
}

/**
 * Plumbs a pod the routed way (ADD): a veth pair, `ifName` in the pod with `addresses`
 * and default routes via {@link ROUTED_VETH_GATEWAY} on its link; `hostInterface` in the
 * node's namespace, up, with proxy ARP (and `proxy_delay` 0) for IPv4, `fe80::1/64` for
 * IPv6 and a route to each pod address. Turns on `net.ipv4/ipv6.conf.all.forwarding` in
 * the node's namespace when off (read first: the write is costly). Duplicate address
 * detection is off on both ends, so the addresses are usable at once.
 *
 * All or nothing: on failure the pair it made is deleted (never a link it did not make)
 * and the error thrown. Needs CAP_NET_ADMIN and CAP_SYS_ADMIN (to enter the namespaces);
 * IPv6 needs the kernel's IPv6 support.
 *
 * @returns the interfaces, ips and routes of the CNI result.
 * @throws {NetError} `EINVAL` for a bad name or address (before any change);
 *   {@link InterfaceExistsError} (`EEXIST`) when `hostInterface` is taken in the node's
 *   namespace or `ifName` in the pod's; other codes as the kernel refuses.
 * @throws {CniError} code 3 ({@link CNI_ERROR}.UNKNOWN_CONTAINER) when `netns` does not exist.
 */
export async function plumbRoutedVeth(options: RoutedVethOptions): Promise<RoutedVethResult> {
  const addresses = parseOptions(options, 'plumbRoutedVeth');
  return withBoth(options, async (host, pod) => {
    if ((await host.findLink(options.hostInterface)) !== undefined) throw hostClash(options);
    if ((await pod.findLink(options.ifName)) !== undefined) throw podClash(options);
    try {
      await host.createVeth({ name: options.hostInterface, ...(options.mtu === undefined ? {} : { mtu: options.mtu }), peer: { name: options.ifName, netns: options.netns } });
    } catch (error) {
      // Another call made one of the names between the look-ups and the create.
      if (error instanceof NetError && error.code === 'EEXIST') {
        throw (await host.findLink(options.hostInterface)) === undefined && (await pod.findLink(options.ifName)) !== undefined ? podClash(options) : hostClash(options);
      }
      throw error;
    }
    try {
      await configurePod(pod, options, addresses);
      await configureHost(host, options, addresses);
      const [hostLink, podLink] = await Promise.all([host.getLink(options.hostInterface), pod.getLink(options.ifName)]);
      return resultOf(options, addresses, { ...(hostLink.mac === undefined ? {} : { host: hostLink.mac }), ...(podLink.mac === undefined ? {} : { pod: podLink.mac }) });
    } catch (error) {
      // Made just above, so ours. Deleting one end deletes both, and the routes on them.
      await host.deleteLink(options.hostInterface).catch(() => undefined);
      throw error;
    }
  });
}

/**
 * Removes what {@link plumbRoutedVeth} made (DEL): deletes the host's end, which takes
 * the pod's end and the routes with it. Idempotent: nothing to do when it is gone
 * already, the pod's namespace present or not.
 * @throws {NetError} `EINVAL` when `hostInterface` names a link that is not a veth (it is
 *   left in place: not one this made); other codes as the kernel refuses.
 */
export async function unplumbRoutedVeth(options: UnplumbRoutedVethOptions): Promise<void> {
  const operation = `unplumbRoutedVeth ${options.hostInterface}`;
  checkLinkName(options.hostInterface, operation);
  const host = Netlink.open(options.hostNetns === undefined ? {} : { netns: options.hostNetns });
  try {
    const link = await host.findLink(options.hostInterface);
    if (link === undefined) return;
    if (link.kind !== 'veth') throw NetError.invalid(operation, `${link.name} is a ${link.kind ?? 'device'} link, not a veth: left in place`);
    try {
      await host.deleteLink(link);
    } catch (error) {
      // Gone in between (its pod's namespace was deleted, or another DEL ran): done.
      if (!(error instanceof NetError && error.code === 'ENODEV')) throw error;
    }
  } finally {
    host.close();
  }
}

/**
 * Compares the attachment with what {@link plumbRoutedVeth} makes (CHECK): both ends,
 * veth peers, up, the MTU (when `options.mtu` is given), the pod's addresses and default
 * routes, the host's proxy ARP, `fe80::1` and routes. Changes nothing.
 * @returns each difference in words (`host: tw1234 has MTU 1300, want 1400`), host's
 *   first; empty when all is as made.
 * @throws {NetError} `EINVAL` for bad options.
 * @throws {CniError} code 3 when `netns` does not exist.
 */
export async function checkRoutedVeth(options: RoutedVethOptions): Promise<string[]> {
  const addresses = parseOptions(options, 'checkRoutedVeth');
  return withBoth(options, async (host, pod) => {
    const drift: string[] = [];
    const hostLink = await host.findLink(options.hostInterface);
    const podLink = await pod.findLink(options.ifName);
    if (hostLink === undefined) drift.push(`host: interface ${options.hostInterface} is missing`);
    if (podLink === undefined) drift.push(`pod: interface ${options.ifName} is missing in ${netnsLabel(options.netns)}`);
    for (const [side, link] of [['host', hostLink], ['pod', podLink]] as const) {
      if (link === undefined) continue;
      if (link.kind !== 'veth') drift.push(`${side}: ${link.name} is a ${link.kind ?? 'device'} link, not a veth`);
      if (!link.up) drift.push(`${side}: ${link.name} is down`);
      if (options.mtu !== undefined && link.mtu !== options.mtu) drift.push(`${side}: ${link.name} has MTU ${link.mtu}, want ${options.mtu}`);
    }
    if (hostLink !== undefined && podLink !== undefined && podLink.parentIndex !== hostLink.index) {
      drift.push(`pod: ${options.ifName} is not the peer of ${options.hostInterface}`);
    }
    const families = new Set(addresses.map((a) => a.family));
    if (podLink !== undefined) {
      const have = new Set((await pod.listAddresses({ link: podLink })).map((a) => a.cidr));
      for (const { cidr } of addresses) if (!have.has(cidr)) drift.push(`pod: ${options.ifName} lacks address ${cidr}`);
      const routes = await pod.listRoutes({ link: podLink });
      for (const [family, dst, gateway] of [[4, '0.0.0.0/0', ROUTED_VETH_GATEWAY.ipv4], [6, '::/0', ROUTED_VETH_GATEWAY.ipv6]] as const) {
        if (families.has(family) && !routes.some((r) => r.dst === dst && r.gateway === gateway)) drift.push(`pod: no default route via ${gateway} dev ${options.ifName}`);
      }
    }
    if (hostLink !== undefined) {
      if (families.has(4) && host.getSysctl(`net/ipv4/conf/${hostLink.name}/proxy_arp`) !== '1') drift.push(`host: proxy ARP is off on ${hostLink.name}`);
      if (families.has(6)) {
        const have = await host.listAddresses({ link: hostLink, family: 6 });
        if (!have.some((a) => a.ip === ROUTED_VETH_GATEWAY.ipv6)) drift.push(`host: ${hostLink.name} lacks the gateway address ${ROUTED_VETH_GATEWAY.ipv6}`);
      }
      const routes = await host.listRoutes({ link: hostLink });
      for (const { cidr } of addresses) if (!routes.some((r) => r.dst === cidr)) drift.push(`host: no route to ${cidr} dev ${hostLink.name}`);
    }
    return drift;
  });
}
