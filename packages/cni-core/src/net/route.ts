// Routes over rtnetlink (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE,
// include/uapi/linux/rtnetlink.h, `struct rtmsg` and `RTA_*`).
import { getU32, putU32, type rt } from 'netlink';

import { RTM_F_CLONED, RTNH_F_ONLINK } from './attributes.js';
import { NetError } from './errors.js';
import { type IpFamily, type IpPrefix, addressFamily, formatIp, formatPrefix, ipFamilyOf, isNetworkPrefix, parseIp, parsePrefix, unspecified } from './ip.js';
import { type IfIndex } from './link.js';
import { NLM_F, RTM, type RtConnection } from './rtnl.js';
import { type RouteTypeName, type ScopeName, routeTypeName, routeTypeNumber, scopeName, scopeNumber, SCOPE } from './scope.js';

/** Routing tables by name (`RT_TABLE_*`). */
export const ROUTE_TABLE = { main: 254, local: 255, default: 253 } as const;

/** `RTPROT_BOOT`: what `ip route add` marks routes with, and the default here. */
export const RTPROT_BOOT = 3;

/** A route to add or delete. Only `dst` is required. */
export interface RouteSpec {
  /** `ADDRESS/LENGTH`, a bare address (a host route), or `default` (0.0.0.0/0, ::/0). */
  dst: string;
  /** IP version, needed only for `default` without a gateway or source to tell. */
  family?: IpFamily;
  /** The next hop. */
  gateway?: string;
  /** The link to send on (`dev`). The caller resolves it to an index. */
  index?: IfIndex;
  /**
   * Use the gateway even though no route of the link covers it (`RTNH_F_ONLINK`), as a
   * pod's `default via 169.254.1.1 dev eth0 onlink` does. Needs `index`.
   */
  onLink?: boolean;
  /**
   * Scope; default `link` without a gateway (a directly connected route, such as a /32
   * to a pod through its veth) and `universe` with one, as `ip route` does.
   */
  scope?: ScopeName | number;
  /** Preferred source address (`RTA_PREFSRC`). */
  src?: string;
  /** Routing table id, 1 to 2^32-1 (default {@link ROUTE_TABLE}.main). */
  table?: number;
  /** Metric (`RTA_PRIORITY`); lower is preferred. */
  metric?: number;
  /** Path MTU in bytes (`RTAX_MTU`). */
  mtu?: number;
  /** TCP advertised MSS in bytes (`RTAX_ADVMSS`). */
  advmss?: number;
  /** Route type (default `unicast`). */
  type?: RouteTypeName | number;
  /** Origin marker (`rtm_protocol`); default {@link RTPROT_BOOT}. */
  protocol?: number;
}

/** A route as the kernel reports it. */
export interface Route {
  /** `ADDRESS/LENGTH`; a default route is `0.0.0.0/0` or `::/0`. */
  readonly dst: string;
  /** 4 or 6. */
  readonly family: IpFamily;
  /** The next hop (`RTA_GATEWAY`), when the route has one. */
  readonly gateway?: string;
  /** The output link. */
  readonly index?: IfIndex;
  /** Whether the gateway is taken as directly reachable on the link (`RTNH_F_ONLINK`). */
  readonly onLink: boolean;
  /** The route scope (`universe`, `link`, `host`, or the number of another). */
  readonly scope: ScopeName | number;
  /** The preferred source address (`RTA_PREFSRC`). */
  readonly src?: string;
  /** The routing table (254 is main). */
  readonly table: number;
  /** The priority (`RTA_PRIORITY`): lower wins. */
  readonly metric?: number;
  /** The path MTU in bytes (`RTAX_MTU`), when set. */
  readonly mtu?: number;
  /** The TCP MSS to advertise in bytes (`RTAX_ADVMSS`), when set. */
  readonly advmss?: number;
  /** The route type (`unicast`, `local`, `blackhole`, ...). */
  readonly type: RouteTypeName | number;
  /** Who installed it (`RTA_PROTOCOL`: `kernel`, `boot`, `static`, or a number). */
  readonly protocol: number | string;
}

/** Options for {@link listRoutes}. */
export interface ListRoutesOptions {
  family?: IpFamily;
  /** Only this table (default {@link ROUTE_TABLE}.main); `all` for every table. */
  table?: number | 'all';
  /** Only routes out of this link. */
  index?: IfIndex;
}

/** `0.0.0.0/0 via 169.254.1.1 dev eth0 onlink`, for messages; `dev` is the caller's text. */
export function describeRoute(spec: RouteSpec, dev: string | undefined): string {
  const parts = [spec.dst === 'default' ? defaultText(spec) : spec.dst];
  if (spec.gateway !== undefined) parts.push(`via ${spec.gateway}`);
  if (dev !== undefined) parts.push(`dev ${dev}`);
  if (spec.table !== undefined && spec.table !== ROUTE_TABLE.main) parts.push(`table ${spec.table}`);
  if (spec.metric !== undefined) parts.push(`metric ${spec.metric}`);
  if (spec.onLink) parts.push('onlink');
  return parts.join(' ');
}

function defaultText(spec: RouteSpec): string {
  const family = spec.family ?? (spec.gateway?.includes(':') || spec.src?.includes(':') ? 6 : 4);
  return family === 4 ? '0.0.0.0/0' : '::/0';
}

/** Turns a {@link RouteSpec} into the message `ip route add|del` would send. */
export function encodeRoute(spec: RouteSpec, forDelete: boolean, operation: string): rt.RouteMessage {
  const gateway = spec.gateway !== undefined ? parseIp(spec.gateway, operation) : undefined;
  const src = spec.src !== undefined ? parseIp(spec.src, operation) : undefined;
  let dst: IpPrefix;
  if (spec.dst === 'default') {
    const family = spec.family ?? gateway?.family ?? src?.family ?? 4;
    dst = { family, bytes: unspecified(family), prefixLength: 0 };
  } else {
    dst = parsePrefix(spec.dst, operation);
    // The kernel refuses host bits with a bare EINVAL; say which.
    if (!isNetworkPrefix(dst)) throw NetError.invalid(operation, `${spec.dst} has host bits set; a route's destination is a network`);
  }
  if (spec.family !== undefined && spec.family !== dst.family) throw NetError.invalid(operation, `${spec.dst} is not IPv${spec.family}`);
  for (const [what, ip] of [['gateway', gateway], ['src', src]] as const) {
    if (ip && ip.family !== dst.family) throw NetError.invalid(operation, `${what} ${what === 'gateway' ? spec.gateway : spec.src} is not IPv${dst.family} like ${spec.dst}`);
  }
  if (spec.onLink && spec.index === undefined) throw NetError.invalid(operation, 'onlink needs a link (dev)');
  const table = spec.table ?? ROUTE_TABLE.main;
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff) throw NetError.invalid(operation, `table ${table} is not within 1..2^32-1`);

  const type = routeTypeNumber(spec.type ?? 'unicast', operation);
  // Defaults of iproute2's iproute_modify(): a delete matches any scope (RT_SCOPE_NOWHERE)
  // and any protocol; an add without a gateway is scope link, local routes scope host.
  const defaultScope = forDelete
    ? SCOPE.nowhere
    : type === 2
      ? SCOPE.host
      : gateway === undefined && spec.index !== undefined
        ? SCOPE.link
        : SCOPE.universe;
  const data: rt.Route = {
    family: addressFamily(dst.family),
    dstLen: dst.prefixLength,
    // Tables above 255 only fit RTA_TABLE; rtm_table is then RT_TABLE_UNSPEC.
    table: table < 256 ? table : 0,
    protocol: forDelete ? (spec.protocol ?? 0) : (spec.protocol ?? RTPROT_BOOT),
    scope: spec.scope !== undefined ? scopeNumber(spec.scope, operation) : defaultScope,
    type: forDelete && spec.type === undefined ? 0 : type,
    flags: spec.onLink ? { __unknown: RTNH_F_ONLINK } : {},
  };
  const attrs: rt.RouteAttrs = { table };
  if (dst.prefixLength > 0) attrs.dst = Buffer.from(dst.bytes);
  if (gateway) attrs.gateway = Buffer.from(gateway.bytes);
  if (src) attrs.prefsrc = Buffer.from(src.bytes);
  if (spec.index !== undefined) attrs.oif = spec.index;
  if (spec.metric !== undefined) attrs.priority = checkU32(spec.metric, 'metric', operation);
  if (spec.mtu !== undefined || spec.advmss !== undefined) {
    attrs.metrics = {
      ...(spec.mtu !== undefined ? { mtu: putU32(checkU32(spec.mtu, 'mtu', operation)) } : {}),
      ...(spec.advmss !== undefined ? { advmss: putU32(checkU32(spec.advmss, 'advmss', operation)) } : {}),
    };
  }
  return { kind: 'route', data, attrs };
}

/** Reads a route message; `undefined` for families other than IPv4 and IPv6. */
export function decodeRoute(message: rt.RouteMessage): Route | undefined {
  const { data, attrs } = message;
  const family = ipFamilyOf(data.family ?? 0);
  if (family === undefined) return undefined;
  const dstLen = data.dstLen ?? 0;
  const dstBytes = attrs.dst ?? unspecified(family);
  const rawFlags = Number(data.flags?.__unknown ?? 0);
  const mtu = attrs.metrics?.mtu ? getU32(attrs.metrics.mtu) : undefined;
  const advmss = attrs.metrics?.advmss ? getU32(attrs.metrics.advmss) : undefined;
  return {
    dst: formatPrefix(dstBytes, dstLen),
    family,
    ...(attrs.gateway ? { gateway: formatIp(attrs.gateway) } : {}),
    ...(attrs.oif !== undefined ? { index: attrs.oif as IfIndex } : {}),
    onLink: (rawFlags & RTNH_F_ONLINK) !== 0,
    scope: scopeName(data.scope ?? 0),
    ...(attrs.prefsrc ? { src: formatIp(attrs.prefsrc) } : {}),
    table: attrs.table ?? data.table ?? 0,
    ...(attrs.priority !== undefined ? { metric: attrs.priority } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(advmss !== undefined ? { advmss } : {}),
    type: routeTypeName(data.type ?? 0),
    protocol: data.protocol ?? 0,
  };
}

/** RTM_NEWROUTE: with `replace`, NLM_F_REPLACE (`ip route replace`), else NLM_F_EXCL (EEXIST when it exists). */
export async function addRoute(conn: RtConnection, spec: RouteSpec, replace: boolean, operation: string): Promise<void> {
  const message = encodeRoute(spec, false, operation);
  await conn.request(RTM.NEWROUTE, message, replace ? NLM_F.CREATE_REPLACE : NLM_F.CREATE_EXCL, operation);
}

/** RTM_DELROUTE: ESRCH when no route matches. */
export async function deleteRoute(conn: RtConnection, spec: RouteSpec, operation: string): Promise<void> {
  await conn.request(RTM.DELROUTE, encodeRoute(spec, true, operation), NLM_F.NONE, operation);
}

/** The routes of the namespace (RTM_GETROUTE dump), without cached clones. */
export async function listRoutes(conn: RtConnection, options: ListRoutesOptions, operation: string): Promise<Route[]> {
  const data: rt.Route = options.family !== undefined ? { family: addressFamily(options.family) } : {};
  const answers = await conn.request(RTM.GETROUTE, { kind: 'route', data, attrs: {} }, NLM_F.DUMP, operation);
  const table = options.table ?? ROUTE_TABLE.main;
  const routes: Route[] = [];
  for (const message of answers) {
    if (message.kind !== 'route') continue;
    if ((Number(message.data.flags?.__unknown ?? 0) & RTM_F_CLONED) !== 0 || message.data.flags?.cloned) continue;
    const route = decodeRoute(message);
    if (!route) continue;
    if (options.family !== undefined && route.family !== options.family) continue;
    if (table !== 'all' && route.table !== table) continue;
    if (options.index !== undefined && route.index !== options.index) continue;
    routes.push(route);
  }
  return routes;
}

function checkU32(value: number, what: string, operation: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw NetError.invalid(operation, `${what} ${value} is not a 32-bit unsigned integer`);
  return value;
}
