// The kernel side of the plugin (ARCHITECTURE.md, "Plumbing"): a veth pair, the pod end
// `eth0` with full-length addresses and default routes to link-local gateways, the host
// end `tw<hash>` answering for them (proxy ARP; fe80::1 on the link for IPv6) with a
// route per pod address. All over cni-core's Netlink, inside the namespaces given.
import { Netlink, NetError, type NetnsRef, SysError } from '@twill/cni-core/net';

import { LinkExistsError, NetnsMissingError } from '../errors.js';
import { POD_GATEWAY_V4, POD_GATEWAY_V6 } from '../names.js';
import { type PlumbedPod, type Plumbing, type PodPlumbingRequest, type PodUnplumbRequest } from '../ports.js';

/** Options of {@link createVethPlumbing}. */
export interface VethPlumbingOptions {
  /** The node's namespace, where host ends and routes go (default: this process's). */
  readonly hostNetns?: NetnsRef;
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

function openPod(netns: string): Netlink {
  try {
    return Netlink.open({ netns });
  } catch (error) {
    if (error instanceof SysError && (error.code === 'ENOENT' || error.code === 'EINVAL')) throw new NetnsMissingError(netns, { cause: error });
    throw error;
  }
}

async function withBoth<T>(options: VethPlumbingOptions, netns: string, fn: (host: Netlink, pod: Netlink) => Promise<T>): Promise<T> {
  const pod = openPod(netns);
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

function hostClash(name: string): LinkExistsError {
  return new LinkExistsError(
    name,
    'the node',
    `the host side of this container ID and interface name is taken: DEL the attachment that made it, or remove the leftover with \`ip link del ${name}\``,
  );
}

function podClash(name: string, netns: string): LinkExistsError {
  return new LinkExistsError(name, netns, `the pod already has an interface named ${name}: DEL the attachment that made it, or ask for another CNI_IFNAME`);
}

// Writing `conf.all.forwarding` makes the kernel walk every device under the rtnl lock
// (which every other netlink call on the machine waits for): read it first, so only the
// first pod of a node writes it.
async function enableForwarding(host: Netlink, family: 4 | 6): Promise<void> {
  if (host.getSysctl(`net/ipv${family}/conf/all/forwarding`) !== '1') await host.setForwarding({ family });
}

async function configureHost(host: Netlink, request: PodPlumbingRequest): Promise<void> {
  const name = request.hostInterface;
  const v4 = request.addresses.filter((a) => !isV6(a));
  const v6 = request.addresses.filter(isV6);
  if (v4.length > 0) {
    await enableForwarding(host, 4);
    await host.setProxyArp(name);
    // The default proxy_delay (0.8 s) would delay the pod's first packet (ARP for the gateway).
    host.setSysctl(`net/ipv4/neigh/${name}/proxy_delay`, 0);
  }
  if (v6.length > 0) {
    await enableForwarding(host, 6);
    await host.setAcceptDad(name, false);
  }
  await host.setLink(name, { up: true });
  // The pod's IPv6 gateway is an address of its own link on the host side: neighbour
  // discovery for fe80::1 is answered by the host end itself, no proxy entry needed.
  if (v6.length > 0) await host.addAddress(name, `${POD_GATEWAY_V6}/64`, { noDad: true, scope: 'link' });
  for (const cidr of request.addresses) await host.replaceRoute({ dst: cidr, link: name });
}

async function configurePod(pod: Netlink, request: PodPlumbingRequest): Promise<void> {
  const name = request.ifName;
  if (request.addresses.some(isV6)) await pod.setAcceptDad(name, false);
  for (const cidr of request.addresses) await pod.addAddress(name, cidr, { noDad: true });
  await pod.setLink(name, { up: true });
  if (request.addresses.some((a) => !isV6(a))) await pod.addRoute({ dst: '0.0.0.0/0', gateway: POD_GATEWAY_V4, link: name, onLink: true });
  if (request.addresses.some(isV6)) await pod.addRoute({ dst: '::/0', gateway: POD_GATEWAY_V6, link: name, onLink: true });
}

async function add(options: VethPlumbingOptions, request: PodPlumbingRequest): Promise<PlumbedPod> {
  return withBoth(options, request.netns, async (host, pod) => {
    if ((await host.findLink(request.hostInterface)) !== undefined) throw hostClash(request.hostInterface);
    if ((await pod.findLink(request.ifName)) !== undefined) throw podClash(request.ifName, request.netns);
    try {
      await host.createVeth({ name: request.hostInterface, mtu: request.mtu, peer: { name: request.ifName, netns: request.netns } });
    } catch (error) {
      // A race with another call between the look-up and the create.
      if (error instanceof NetError && error.code === 'EEXIST') throw hostClash(request.hostInterface);
      throw error;
    }
    try {
      await configurePod(pod, request);
      await configureHost(host, request);
      const [hostLink, podLink] = await Promise.all([host.getLink(request.hostInterface), pod.getLink(request.ifName)]);
      return { ...(hostLink.mac === undefined ? {} : { hostMac: hostLink.mac }), ...(podLink.mac === undefined ? {} : { podMac: podLink.mac }) };
    } catch (error) {
      // Ours: made just above. Deleting one end deletes both, and the routes on it.
      await host.deleteLink(request.hostInterface).catch(() => undefined);
      throw error;
    }
  });
}

async function remove(options: VethPlumbingOptions, request: PodUnplumbRequest): Promise<void> {
  const host = Netlink.open(options.hostNetns === undefined ? {} : { netns: options.hostNetns });
  try {
    // Without the host end the pair is gone (the kernel deletes both ends together), so
    // the pod's namespace, present or not, holds nothing of ours.
    if ((await host.findLink(request.hostInterface)) === undefined) return;
    try {
      await host.deleteLink(request.hostInterface);
    } catch (error) {
      if (!(error instanceof NetError && error.code === 'ENODEV')) throw error;
    }
  } finally {
    host.close();
  }
}

async function check(options: VethPlumbingOptions, request: PodPlumbingRequest): Promise<string[]> {
  return withBoth(options, request.netns, async (host, pod) => {
    const drift: string[] = [];
    const hostLink = await host.findLink(request.hostInterface);
    const podLink = await pod.findLink(request.ifName);
    if (hostLink === undefined) drift.push(`host: interface ${request.hostInterface} is missing`);
    if (podLink === undefined) drift.push(`pod: interface ${request.ifName} is missing in ${request.netns}`);
    for (const [side, link] of [['host', hostLink], ['pod', podLink]] as const) {
      if (link === undefined) continue;
      if (link.kind !== 'veth') drift.push(`${side}: ${link.name} is a ${link.kind ?? 'device'} link, not a veth`);
      if (!link.up) drift.push(`${side}: ${link.name} is down`);
      if (link.mtu !== request.mtu) drift.push(`${side}: ${link.name} has MTU ${link.mtu}, want ${request.mtu}`);
    }
    if (hostLink !== undefined && podLink !== undefined && podLink.parentIndex !== hostLink.index) {
      drift.push(`pod: ${request.ifName} is not the peer of ${request.hostInterface}`);
    }
    if (podLink !== undefined) {
      const have = new Set((await pod.listAddresses({ link: podLink })).map((a) => a.cidr));
      for (const cidr of request.addresses) if (!have.has(cidr)) drift.push(`pod: ${request.ifName} lacks address ${cidr}`);
      const routes = await pod.listRoutes({ link: podLink });
      for (const [family, dst, gateway] of [[4, '0.0.0.0/0', POD_GATEWAY_V4], [6, '::/0', POD_GATEWAY_V6]] as const) {
        if (!request.addresses.some((a) => isV6(a) === (family === 6))) continue;
        if (!routes.some((r) => r.dst === dst && r.gateway === gateway)) drift.push(`pod: no default route via ${gateway} dev ${request.ifName}`);
      }
    }
    if (hostLink !== undefined) {
      if (request.addresses.some((a) => !isV6(a)) && host.getSysctl(`net/ipv4/conf/${hostLink.name}/proxy_arp`) !== '1') {
        drift.push(`host: proxy ARP is off on ${hostLink.name}`);
      }
      const routes = await host.listRoutes({ link: hostLink });
      for (const cidr of request.addresses) {
        if (!routes.some((r) => r.dst === cidr)) drift.push(`host: no route to ${cidr} dev ${hostLink.name}`);
      }
    }
    return drift;
  });
}

/**
 * The real {@link Plumbing}: veth pairs over rtnetlink. Needs CAP_NET_ADMIN and
 * CAP_SYS_ADMIN (to enter the pod's namespace); IPv6 needs the kernel's IPv6 support.
 */
export function createVethPlumbing(options: VethPlumbingOptions = {}): Plumbing {
  return {
    add: (request) => add(options, request),
    remove: (request) => remove(options, request),
    check: (request) => check(options, request),
  };
}
