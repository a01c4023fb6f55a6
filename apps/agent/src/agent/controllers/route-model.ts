// What the route and BGP controllers read from the datastore, and the routes they want in
// the kernel, pure: Calico Node resources (`nodes.projectcalico.org`), the IPAM affinity
// documents (`twill-pools/affinity/<node>`), and the diff between the routes wanted and
// the routes the kernel holds with twill's protocol. The kernel itself is behind the
// {@link RouteTable} port (sys/kernel-routes.ts).
import { type AffinityDocument, decodeAffinity, poolKeys } from '@twill/ipam';

import { type AgentResource, type EntryEvent } from '../ports.js';

/** The kind id of Calico's Node resource. */
export const NODE_KIND = 'nodes.projectcalico.org';

/**
 * The `rtm_protocol` twill marks the routes of the route controller with (blackholes for
 * this node's blocks, routes to other nodes' blocks with `routing: direct`), so that after
 * a restart it finds them, keeps what is still wanted and removes what is stale without
 * touching anyone else's routes. 116 is unused by iproute2's `rt_protos` and the kernel's
 * `RTPROT_*` (which end at 99 below 186); Calico's Felix uses 80. `ip route show proto 116`.
 */
export const RTPROT_TWILL = 116;

/** `RTPROT_BGP` (include/uapi/linux/rtnetlink.h): the routes BGP learned, written by the BGP controller's FibSink. */
export const RTPROT_BGP = 186;

/** The prefix of the IPAM affinity documents: `twill-pools/affinity/`. */
export const AFFINITY_PREFIX = poolKeys().affinityPrefix;

/** What the controllers use of a Node resource. */
export interface NodeInfo {
  readonly name: string;
  /** The IPv4 address without its prefix length (`10.0.0.1`), from `spec.bgp.ipv4Address`. */
  readonly ipv4?: string;
  /** The IPv6 address without its prefix length, from `spec.bgp.ipv6Address`. */
  readonly ipv6?: string;
  /** `spec.bgp.asNumber`, when the node has its own AS. */
  readonly asNumber?: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** `10.0.0.1/24` → `10.0.0.1`; `undefined` and empty text stay undefined. */
export function addressOf(cidr: string | undefined): string | undefined {
  if (cidr === undefined || cidr === '') return undefined;
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * Reads a Node resource. The datastore validated it on write; a field of the wrong type
 * is treated as absent rather than trusted.
 */
export function parseNode(resource: AgentResource): NodeInfo {
  const bgp = record(record(resource['spec'])?.['bgp']);
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const ipv4 = addressOf(text(bgp?.['ipv4Address']));
  const ipv6 = addressOf(text(bgp?.['ipv6Address']));
  const as = bgp?.['asNumber'];
  const asNumber = typeof as === 'number' ? as : typeof as === 'string' && /^\d+$/.test(as) ? Number(as) : undefined;
  return {
    name: resource.metadata.name,
    ...(ipv4 === undefined ? {} : { ipv4 }),
    ...(ipv6 === undefined ? {} : { ipv6 }),
    ...(asNumber === undefined ? {} : { asNumber }),
    labels: resource.metadata.labels ?? {},
  };
}

/**
 * Applies affinity entry events to `blocks` (node → its block CIDRs). A document that does
 * not decode is reported through `onCorrupt` and leaves the node's previous blocks.
 */
export function applyAffinityEvents(blocks: Map<string, readonly string[]>, events: readonly EntryEvent[], onCorrupt: (key: string, error: unknown) => void): void {
  for (const event of events) {
    const node = event.key.slice(AFFINITY_PREFIX.length);
    if (event.type === 'delete') {
      blocks.delete(node);
      continue;
    }
    let doc: AffinityDocument;
    try {
      doc = decodeAffinity(event.value);
    } catch (error) {
      onCorrupt(event.key, error);
      continue;
    }
    blocks.set(node, doc.blocks);
  }
}

/** A route twill wants in the main table, or found there with its protocol. */
export interface KernelRoute {
  /** `ADDRESS/LENGTH`. */
  readonly dst: string;
  /** `blackhole` drops silently; `unicast` goes via `gateway`. */
  readonly type: 'blackhole' | 'unicast';
  readonly gateway?: string;
}

/** The kernel's main routing table, through one namespace's netlink (sys/kernel-routes.ts). */
export interface RouteTable {
  /** The main table's routes carrying `protocol`, of both families. */
  list(protocol: number): Promise<KernelRoute[]>;
  /** `ip route replace DST [via GW | blackhole] proto PROTOCOL`. @throws NetError (ENETUNREACH for a gateway no route covers). */
  replace(route: KernelRoute, protocol: number): Promise<void>;
  /** `ip route del DST proto PROTOCOL`; a route that is already gone is not an error. */
  remove(route: KernelRoute, protocol: number): Promise<void>;
}

/** How routes to other nodes' blocks are made: by the route controller (`direct`), by BGP, or not at all. */
export type RoutingMode = 'direct' | 'bgp' | 'none';

/** Input of {@link desiredRoutes}. */
export interface DesiredRoutesInput {
  readonly nodeName: string;
  readonly routing: RoutingMode;
  /** Nodes by name. */
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  /** Block CIDRs by the node holding their affinity. */
  readonly blocks: ReadonlyMap<string, readonly string[]>;
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

/**
 * The route controller's routes: a blackhole per block of this node (addresses of the
 * block not given to a pod are dropped here instead of following the default route; the
 * pods' own /32 routes win by longest prefix), and with `direct` routing a route to each
 * other node's blocks via that node's address of the block's family (nodes without one
 * get none). A block claimed by this node and another (a claim in flight) stays a blackhole.
 */
export function desiredRoutes(input: DesiredRoutesInput): Map<string, KernelRoute> {
  const routes = new Map<string, KernelRoute>();
  if (input.routing === 'direct') {
    for (const [node, cidrs] of input.blocks) {
      if (node === input.nodeName) continue;
      const info = input.nodes.get(node);
      if (!info) continue;
      for (const dst of cidrs) {
        const gateway = isV6(dst) ? info.ipv6 : info.ipv4;
        if (gateway !== undefined) routes.set(dst, { dst, type: 'unicast', gateway });
      }
    }
  }
  for (const dst of input.blocks.get(input.nodeName) ?? []) routes.set(dst, { dst, type: 'blackhole' });
  return routes;
}

/** Whether two routes are the same for the kernel. */
export function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  return a.dst === b.dst && a.type === b.type && a.gateway === b.gateway;
}

/** What to change to go from `current` to `wanted`. */
export interface RoutePlan {
  /** Routes to write with `replace` (missing, or different). */
  readonly replace: readonly KernelRoute[];
  /** Routes to delete (no longer wanted). */
  readonly remove: readonly KernelRoute[];
}

/** The changes from the routes the kernel holds to the routes wanted; routes already right are left alone. */
export function planRoutes(current: ReadonlyMap<string, KernelRoute>, wanted: ReadonlyMap<string, KernelRoute>): RoutePlan {
  const replace: KernelRoute[] = [];
  const remove: KernelRoute[] = [];
  for (const [dst, route] of current) if (!wanted.has(dst)) remove.push(route);
  for (const [dst, route] of wanted) {
    const have = current.get(dst);
    if (!have || !sameRoute(have, route)) replace.push(route);
  }
  return { replace, remove };
}
