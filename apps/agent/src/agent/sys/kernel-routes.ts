// The kernel side of the route and BGP controllers: the main routing table of one
// network namespace (the node's) over cni-core's Netlink. Routes are told apart by their
// `rtm_protocol`: RTPROT_TWILL for the route controller's, RTPROT_BGP for learned ones.
import { NetError, type NetnsRef, Netlink, ROUTE_TABLE, type Route } from '@twill/cni-core/net';

import { type KernelRoute, type RouteTable } from '../controllers/route-model.js';

// The `netlink` package reports the protocols it knows by name (RTPROT_* of rtnetlink.h).
const PROTOCOL_NAMES: Readonly<Record<string, number>> = {
  REDIRECT: 1,
  KERNEL: 2,
  BOOT: 3,
  STATIC: 4,
  GATED: 8,
  RA: 9,
  MRT: 10,
  ZEBRA: 11,
  BIRD: 12,
  DNROUTED: 13,
  XORP: 14,
  NTK: 15,
  DHCP: 16,
  MROUTED: 17,
  BABEL: 42,
  BGP: 186,
  ISIS: 187,
  OSPF: 188,
  RIP: 189,
  EIGRP: 192,
};

/** A route's protocol as a number, whether the netlink layer named it or not. */
export function protocolNumber(protocol: number | string): number {
  return typeof protocol === 'number' ? protocol : (PROTOCOL_NAMES[protocol.toUpperCase()] ?? Number.NaN);
}

function toKernelRoute(route: Route): KernelRoute | undefined {
  if (route.type === 'blackhole') return { dst: route.dst, type: 'blackhole' };
  if (route.type === 'unicast' && route.gateway !== undefined) return { dst: route.dst, type: 'unicast', gateway: route.gateway };
  return undefined;
}

/** Options of {@link openKernelRouteTable}. */
export interface KernelRouteTableOptions {
  /** The node's namespace (default: this process's). */
  readonly netns?: NetnsRef;
}

/** A {@link RouteTable} that also closes its netlink socket. */
export interface KernelRouteTable extends RouteTable {
  close(): void;
}

/**
 * The main routing table of a namespace. Needs CAP_NET_ADMIN to change it; opening a
 * handle on another namespace needs CAP_SYS_ADMIN.
 * @throws {SysError} `ENOENT` when the namespace does not exist.
 */
export function openKernelRouteTable(options: KernelRouteTableOptions = {}): KernelRouteTable {
  const nl = Netlink.open(options.netns === undefined ? {} : { netns: options.netns });
  return {
    async list(protocol) {
      const routes = await nl.listRoutes({ table: ROUTE_TABLE.main });
      const out: KernelRoute[] = [];
      for (const route of routes) {
        if (protocolNumber(route.protocol) !== protocol) continue;
        const mine = toKernelRoute(route);
        if (mine) out.push(mine);
      }
      return out;
    },
    async replace(route, protocol) {
      await nl.replaceRoute(
        route.type === 'blackhole' ? { dst: route.dst, type: 'blackhole', protocol } : { dst: route.dst, type: 'unicast', ...(route.gateway === undefined ? {} : { gateway: route.gateway }), protocol },
      );
    },
    async remove(route, protocol) {
      try {
        await nl.deleteRoute({ dst: route.dst, type: route.type, protocol });
      } catch (error) {
        // Already gone (someone deleted it, or its link went down): what was wanted.
        if (error instanceof NetError && error.code === 'ESRCH') return;
        throw error;
      }
    },
    close() {
      nl.close();
    },
  };
}
