// The result of spec 1.0.0 (SPEC.md v1.0.0 §"Section 5: Result Types"): the 0.4.0 shape
// without `ips[].version` (removed in 1.0.0: the family follows from the address).
import { decodeDns, decodeIpConfigBase, decodeRoute, encodeDns, encodeRoute, type Dns, type Route } from './common.js';
import { compact, type JsonObject, optionalArray } from './fields.js';
import { decodeInterface040, encodeInterface040, type Interface040 } from './result-040.js';

/** The versions whose results have this shape. */
export const RESULT_100_VERSIONS = Object.freeze(['1.0.0'] as const);

/** An interface of a 1.0.0 result (the same as 0.3.0-0.4.0). */
export type Interface100 = Interface040;

/** An `ips` element of a 1.0.0 result. */
export interface IpConfig100 {
  /** The address with its prefix, in CIDR notation. */
  readonly address: string;
  /** The subnet's default gateway, when there is one. */
  readonly gateway?: string;
  /** Index into `interfaces` of the interface this address is on. */
  readonly interface?: number;
}

/** A 1.0.0 result. */
export interface Result100 {
  /** `"1.0.0"`. */
  readonly cniVersion: (typeof RESULT_100_VERSIONS)[number];
  /** The interfaces the plugin created or touched; `ips[].interface` indexes this list. */
  readonly interfaces?: readonly Interface100[];
  /** The addresses assigned. */
  readonly ips?: readonly IpConfig100[];
  /** The routes created in the container. */
  readonly routes?: readonly Route[];
  /** DNS settings for the container. */
  readonly dns?: Dns;
}

/**
 * Decodes a 1.0.0 result object found at `base`. Throws a CniError with code 6 naming
 * the bad field. A `version` key in `ips` (a 0.4.0 leftover) is ignored, as libcni does.
 */
export function decodeResult100(object: JsonObject, cniVersion: Result100['cniVersion'], base = ''): Result100 {
  const interfaces = optionalArray(object, 'interfaces', base, decodeInterface040);
  const ips = optionalArray(object, 'ips', base, (element, path) => {
    const { family: _family, ...ip } = decodeIpConfigBase(element, path, interfaces?.length);
    return ip;
  });
  return compact({
    cniVersion,
    interfaces,
    ips,
    routes: optionalArray(object, 'routes', base, decodeRoute),
    dns: decodeDns(object, base),
  });
}

/** The JSON object of a 1.0.0 result, keys in spec order. */
export function encodeResult100(result: Result100): JsonObject {
  return compact({
    cniVersion: result.cniVersion,
    interfaces: result.interfaces?.map(encodeInterface040),
    ips: result.ips?.map((ip) => compact({ interface: ip.interface, address: ip.address, gateway: ip.gateway })),
    routes: result.routes?.map(encodeRoute),
    dns: result.dns && encodeDns(result.dns),
  });
}
