// Structures shared by several result versions: DNS, the basic route, the interface
// reference of an IP config. SPEC.md §"Result Types" (1.x) and §"Well-known Structures"
// (0.3.x/0.4.0) define them the same way in every version that has them.
import {
  checkCidr,
  checkIp,
  expectObject,
  fieldError,
  fieldPath,
  type JsonObject,
  optionalArray,
  optionalString,
  optionalUint,
  quote,
  requiredString,
  stringElement,
  compact,
} from './fields.js';
import { type IpFamily } from './ip.js';

/** DNS settings (SPEC.md §"DNS"): every key optional. */
export interface Dns {
  /** Priority-ordered nameserver addresses (IPv4 or IPv6). */
  readonly nameservers?: readonly string[];
  /** The local domain used for short hostname lookups. */
  readonly domain?: string;
  /** Priority-ordered search domains. */
  readonly search?: readonly string[];
  /** Resolver options. */
  readonly options?: readonly string[];
}

/** A route in 0.1.0-1.0.0 results: destination CIDR and optional next hop. */
export interface Route {
  /** Destination in CIDR notation. */
  readonly dst: string;
  /** Next-hop address; when absent the IP config's gateway may be used. */
  readonly gw?: string;
}

/** Reads `dns` (optional); nameservers stay strings, as libcni keeps them. */
export function decodeDns(object: JsonObject, base: string): Dns | undefined {
  const value = object['dns'];
  if (value === undefined || value === null) return undefined;
  const path = fieldPath(base, 'dns');
  const dns = expectObject(value, path);
  return compact({
    nameservers: optionalArray(dns, 'nameservers', path, stringElement),
    domain: optionalString(dns, 'domain', path),
    search: optionalArray(dns, 'search', path, stringElement),
    options: optionalArray(dns, 'options', path, stringElement),
  });
}

/** Reads the `dst` and `gw` of one route element, with its family. */
export function decodeRouteBase(element: unknown, path: string): Route & { readonly family: IpFamily } {
  const route = expectObject(element, path);
  const dst = requiredString(route, 'dst', path);
  const family = checkCidr(dst, fieldPath(path, 'dst')).family;
  const gw = optionalString(route, 'gw', path);
  if (gw !== undefined) checkIp(gw, fieldPath(path, 'gw'));
  return { dst, ...(gw !== undefined ? { gw } : {}), family };
}

/** Reads a 0.1.0-1.0.0 route (unknown keys are not part of the result and are dropped). */
export function decodeRoute(element: unknown, path: string): Route {
  const { dst, gw } = decodeRouteBase(element, path);
  return compact({ dst, gw });
}

/** The address, gateway and interface index of an `ips` element (0.3.0 and later). */
export interface IpConfigBase {
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
}

/**
 * Reads an `ips` element's common keys. The gateway must be of the address's family,
 * and `interface` must index into `interfaces` (SPEC.md: "the index into the
 * interfaces list"); `interfaceCount` is undefined when the result has no list, as
 * IPAM results do, and then any index is out of range.
 */
export function decodeIpConfigBase(
  element: unknown,
  path: string,
  interfaceCount: number | undefined,
): IpConfigBase & { readonly family: IpFamily } {
  const ip = expectObject(element, path);
  const address = requiredString(ip, 'address', path);
  const family = checkCidr(address, fieldPath(path, 'address')).family;
  const gateway = optionalString(ip, 'gateway', path);
  if (gateway !== undefined) {
    const gatewayPath = fieldPath(path, 'gateway');
    if (checkIp(gateway, gatewayPath).family !== family) {
      throw fieldError(gatewayPath, `gateway ${quote(gateway)} is not an IPv${family} address like ${quote(address)}`);
    }
  }
  const index = optionalUint(ip, 'interface', path);
  if (index !== undefined && index >= (interfaceCount ?? 0)) {
    throw fieldError(
      fieldPath(path, 'interface'),
      `index ${index} is out of range (the result has ${interfaceCount ?? 0} interfaces)`,
    );
  }
  return { address, ...(gateway !== undefined ? { gateway } : {}), ...(index !== undefined ? { interface: index } : {}), family };
}

// Hardware addresses as Go's net.ParseMAC reads them: 6, 8 or 20 octets, separated by
// ':' or '-', or as dot-separated groups of four hex digits.
const MAC_PATTERNS = [
  /^[0-9a-f]{2}(?:([:-])[0-9a-f]{2})(?:\1[0-9a-f]{2}){4}(?:(?:\1[0-9a-f]{2}){2}|(?:\1[0-9a-f]{2}){14})?$/i,
  /^[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}(?:\.[0-9a-f]{4}|(?:\.[0-9a-f]{4}){7})?$/i,
];

/** Reads an optional `mac`; the empty string is kept (some plugins print it for L3 links). */
export function decodeMac(object: JsonObject, base: string): string | undefined {
  const mac = optionalString(object, 'mac', base);
  if (mac === undefined || mac === '') return mac;
  if (!MAC_PATTERNS.some((pattern) => pattern.test(mac))) {
    throw fieldError(fieldPath(base, 'mac'), `invalid hardware address ${quote(mac)}`);
  }
  return mac;
}

/** Encodes DNS with its keys in spec order, leaving out absent ones. */
export function encodeDns(dns: Dns): JsonObject {
  return compact({
    nameservers: dns.nameservers ? [...dns.nameservers] : undefined,
    domain: dns.domain,
    search: dns.search ? [...dns.search] : undefined,
    options: dns.options ? [...dns.options] : undefined,
  });
}

/** Encodes a basic route. */
export function encodeRoute(route: Route): JsonObject {
  return compact({ dst: route.dst, gw: route.gw });
}
