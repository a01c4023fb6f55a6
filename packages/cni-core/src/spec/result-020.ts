// The result of spec 0.1.0 and 0.2.0 (SPEC.md v0.2.0 §"Result"): at most one IPv4 and
// one IPv6 configuration, each with its own routes; no interfaces.
import { decodeDns, decodeRouteBase, encodeDns, encodeRoute, type Dns, type Route } from './common.js';
import {
  checkCidr,
  checkIp,
  compact,
  fieldError,
  fieldPath,
  type JsonObject,
  optionalArray,
  optionalObject,
  optionalString,
  quote,
  requiredString,
} from './fields.js';
import { type IpFamily } from './ip.js';

/** The versions whose results have this shape. */
export const RESULT_020_VERSIONS = Object.freeze(['0.1.0', '0.2.0'] as const);

/** `ip4` or `ip6` of a 0.2.0 result. */
export interface IpConfig020 {
  /** The address with its prefix, in CIDR notation (`10.1.0.5/16`). */
  readonly ip: string;
  /** The default gateway of the subnet, when there is one. */
  readonly gateway?: string;
  /** Routes of this family. */
  readonly routes?: readonly Route[];
}

/** A 0.1.0 or 0.2.0 result. */
export interface Result020 {
  /** `"0.1.0"` or `"0.2.0"`. */
  readonly cniVersion: (typeof RESULT_020_VERSIONS)[number];
  /** The IPv4 configuration. */
  readonly ip4?: IpConfig020;
  /** The IPv6 configuration. */
  readonly ip6?: IpConfig020;
  /** DNS settings for the container. */
  readonly dns?: Dns;
}

function decodeIpConfig(object: JsonObject, key: 'ip4' | 'ip6', base: string): IpConfig020 | undefined {
  const path = fieldPath(base, key);
  const config = optionalObject(object, key, base);
  if (config === undefined) return undefined;
  const family: IpFamily = key === 'ip4' ? '4' : '6';
  const ip = requiredString(config, 'ip', path);
  if (checkCidr(ip, fieldPath(path, 'ip')).family !== family) {
    throw fieldError(fieldPath(path, 'ip'), `${quote(ip)} is not an IPv${family} CIDR`);
  }
  const gateway = optionalString(config, 'gateway', path);
  if (gateway !== undefined && checkIp(gateway, fieldPath(path, 'gateway')).family !== family) {
    throw fieldError(fieldPath(path, 'gateway'), `${quote(gateway)} is not an IPv${family} address`);
  }
  const routes = optionalArray(config, 'routes', path, (element, routePath) => {
    const { dst, gw, family: routeFamily } = decodeRouteBase(element, routePath);
    // A route sits under the configuration of its own family; anything else could not
    // survive a conversion to 0.3.0+ and back, where routes are split by family again.
    if (routeFamily !== family) throw fieldError(fieldPath(routePath, 'dst'), `${quote(dst)} is not an IPv${family} CIDR`);
    return compact({ dst, gw });
  });
  return compact({ ip, gateway, routes });
}

/**
 * Decodes a 0.1.0/0.2.0 result object found at `base` (`''` at the top level). Throws a
 * CniError with code 6 naming the bad field.
 */
export function decodeResult020(object: JsonObject, cniVersion: Result020['cniVersion'], base = ''): Result020 {
  return compact({
    cniVersion,
    ip4: decodeIpConfig(object, 'ip4', base),
    ip6: decodeIpConfig(object, 'ip6', base),
    dns: decodeDns(object, base),
  });
}

function encodeIpConfig(config: IpConfig020): JsonObject {
  return compact({ ip: config.ip, gateway: config.gateway, routes: config.routes?.map(encodeRoute) });
}

/** The JSON object of a 0.1.0/0.2.0 result, keys in spec order. */
export function encodeResult020(result: Result020): JsonObject {
  return compact({
    cniVersion: result.cniVersion,
    ip4: result.ip4 && encodeIpConfig(result.ip4),
    ip6: result.ip6 && encodeIpConfig(result.ip6),
    dns: result.dns && encodeDns(result.dns),
  });
}
