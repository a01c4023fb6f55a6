// Route and address scopes, `enum rt_scope_t` of include/uapi/linux/rtnetlink.h, and the
// route types of `RTN_*` there. Pure.
import { NetError } from './errors.js';

/** Scope numbers by name (`rt_scope_t`). Smaller is wider. */
export const SCOPE = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;

/** A scope by name: `link` for a directly connected route, `host` for the machine's own addresses. */
export type ScopeName = keyof typeof SCOPE;

/** Route types by name (`RTN_*`). */
export const ROUTE_TYPE = {
  unspec: 0,
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
  nat: 10,
  xresolve: 11,
} as const;

/** A route type by name: `unicast` for a normal route, `blackhole` to drop silently, ... */
export type RouteTypeName = keyof typeof ROUTE_TYPE;

/** The number of a scope given by name or number. */
export function scopeNumber(scope: ScopeName | number, operation: string): number {
  if (typeof scope === 'number') {
    if (!Number.isInteger(scope) || scope < 0 || scope > 255) throw NetError.invalid(operation, `scope ${scope} is not within 0..255`);
    return scope;
  }
  const value = (SCOPE as Record<string, number>)[scope];
  if (value === undefined) throw NetError.invalid(operation, `unknown scope ${JSON.stringify(scope)}`);
  return value;
}

/**
 * The name of a scope number, or the number when it has no name. Accepts the upper-case
 * enum keys the `netlink` package parses scopes into (`'LINK'`).
 */
export function scopeName(scope: number | string): ScopeName | number {
  return nameOf(SCOPE, scope) as ScopeName | number;
}

/** The name of a route type, as {@link scopeName} does for scopes. */
export function routeTypeName(type: number | string): RouteTypeName | number {
  return nameOf(ROUTE_TYPE, type) as RouteTypeName | number;
}

/** The number of a route type given by name or number. */
export function routeTypeNumber(type: RouteTypeName | number, operation: string): number {
  if (typeof type === 'number') return type;
  const value = (ROUTE_TYPE as Record<string, number>)[type];
  if (value === undefined) throw NetError.invalid(operation, `unknown route type ${JSON.stringify(type)}`);
  return value;
}

function nameOf(table: Readonly<Record<string, number>>, value: number | string): string | number {
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    return lower in table ? lower : value;
  }
  for (const [name, number] of Object.entries(table)) if (number === value) return name;
  return value;
}
