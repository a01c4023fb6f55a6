// The result of spec 0.3.0, 0.3.1 and 0.4.0 (SPEC.md v0.4.0 §"Result" and §"Well-known
// Structures"): interfaces, IP configs tagged with their `version`, routes, DNS.
import {
  decodeDns,
  decodeIpConfigBase,
  decodeMac,
  decodeRoute,
  encodeDns,
  encodeRoute,
  type Dns,
  type Route,
} from './common.js';
import {
  compact,
  expectObject,
  fieldError,
  fieldPath,
  type JsonObject,
  optionalArray,
  optionalString,
  quote,
  requiredString,
} from './fields.js';
import { type IpFamily } from './ip.js';

/** The versions whose results have this shape. */
export const RESULT_040_VERSIONS = Object.freeze(['0.3.0', '0.3.1', '0.4.0'] as const);

/** An interface of a 0.3.0-1.0.0 result. */
export interface Interface040 {
  /** The interface name. */
  readonly name: string;
  /** Its hardware address, when L2 addresses are meaningful. */
  readonly mac?: string;
  /** The netns path (or VM id) for sandbox interfaces; absent for host interfaces. */
  readonly sandbox?: string;
}

/** An `ips` element of a 0.3.x/0.4.0 result. */
export interface IpConfig040 {
  /** `"4"` or `"6"`: the family of `address` (required in these versions). */
  readonly version: IpFamily;
  /** The address with its prefix, in CIDR notation. */
  readonly address: string;
  /** The subnet's default gateway, when there is one. */
  readonly gateway?: string;
  /** Index into `interfaces` of the interface this address is on. */
  readonly interface?: number;
}

/** A 0.3.0, 0.3.1 or 0.4.0 result. */
export interface Result040 {
  /** `"0.3.0"`, `"0.3.1"` or `"0.4.0"`. */
  readonly cniVersion: (typeof RESULT_040_VERSIONS)[number];
  /** The interfaces the plugin created or touched; `ips[].interface` indexes this list. */
  readonly interfaces?: readonly Interface040[];
  /** The addresses assigned. */
  readonly ips?: readonly IpConfig040[];
  /** The routes created in the container. */
  readonly routes?: readonly Route[];
  /** DNS settings for the container. */
  readonly dns?: Dns;
}

/** Reads an interface of the 0.3.0-1.0.0 shape. */
export function decodeInterface040(element: unknown, path: string): Interface040 {
  const object = expectObject(element, path);
  return compact({
    name: requiredString(object, 'name', path),
    mac: decodeMac(object, path),
    sandbox: optionalString(object, 'sandbox', path),
  });
}

/** Encodes an interface of the 0.3.0-1.0.0 shape. */
export function encodeInterface040(iface: Interface040): JsonObject {
  return compact({ name: iface.name, mac: iface.mac, sandbox: iface.sandbox });
}

/**
 * Decodes a 0.3.x/0.4.0 result object found at `base`. Throws a CniError with code 6
 * naming the bad field, including an `ips[].version` that disagrees with its address.
 */
export function decodeResult040(object: JsonObject, cniVersion: Result040['cniVersion'], base = ''): Result040 {
  const interfaces = optionalArray(object, 'interfaces', base, decodeInterface040);
  const ips = optionalArray(object, 'ips', base, (element, path): IpConfig040 => {
    const { family, ...ip } = decodeIpConfigBase(element, path, interfaces?.length);
    const version = requiredString(expectObject(element, path), 'version', path);
    if (version !== '4' && version !== '6') {
      throw fieldError(fieldPath(path, 'version'), `expected "4" or "6", got ${quote(version)}`);
    }
    if (version !== family) {
      throw fieldError(fieldPath(path, 'version'), `"${version}" does not match address ${quote(ip.address)}`);
    }
    return { version, ...ip };
  });
  return compact({
    cniVersion,
    interfaces,
    ips,
    routes: optionalArray(object, 'routes', base, decodeRoute),
    dns: decodeDns(object, base),
  });
}

/** The JSON object of a 0.3.x/0.4.0 result, keys in spec order. */
export function encodeResult040(result: Result040): JsonObject {
  return compact({
    cniVersion: result.cniVersion,
    interfaces: result.interfaces?.map(encodeInterface040),
    ips: result.ips?.map((ip) =>
      compact({ version: ip.version, interface: ip.interface, address: ip.address, gateway: ip.gateway }),
    ),
    routes: result.routes?.map(encodeRoute),
    dns: result.dns && encodeDns(result.dns),
  });
}
