// The result of spec 1.1.0 (SPEC.md v1.1.0 §"Section 5: Result Types"): the 1.0.0 shape
// plus interface `mtu`, `socketPath`, `pciID` and route `mtu`, `advmss`, `priority`,
// `table`, `scope`.
import { decodeDns, decodeIpConfigBase, decodeMac, decodeRouteBase, encodeDns, type Dns } from './common.js';
import {
  compact,
  expectObject,
  type JsonObject,
  optionalArray,
  optionalString,
  optionalUint,
  requiredString,
} from './fields.js';
import { type IpConfig100 } from './result-100.js';

/** The versions whose results have this shape. */
export const RESULT_110_VERSIONS = Object.freeze(['1.1.0'] as const);

/** An interface of a 1.1.0 result. */
export interface Interface110 {
  /** The interface name. */
  readonly name: string;
  /** Its hardware address, when L2 addresses are meaningful. */
  readonly mac?: string;
  /** Its MTU in bytes. */
  readonly mtu?: number;
  /** The netns path (or VM id) for sandbox interfaces; absent for host interfaces. */
  readonly sandbox?: string;
  /** A path to a socket for userspace interfaces (e.g. vhost-user). */
  readonly socketPath?: string;
  /** The PCI address of a device interface (e.g. an SR-IOV VF, `0000:00:1f.6`). */
  readonly pciID?: string;
}

/** A route of a 1.1.0 result. */
export interface Route110 {
  /** Destination in CIDR notation. */
  readonly dst: string;
  /** Next-hop address; when absent the IP config's gateway may be used. */
  readonly gw?: string;
  /** The route's MTU in bytes. */
  readonly mtu?: number;
  /** The TCP advertised maximum segment size in bytes. */
  readonly advmss?: number;
  /** The route's priority (metric); lower is preferred. */
  readonly priority?: number;
  /** The routing table id (254 is `main`). */
  readonly table?: number;
  /** The route scope (0 universe, 253 link, 254 host), as in rtnetlink. */
  readonly scope?: number;
}

/** An `ips` element of a 1.1.0 result (unchanged from 1.0.0). */
export type IpConfig110 = IpConfig100;

/** A 1.1.0 result. */
export interface Result110 {
  /** `"1.1.0"`. */
  readonly cniVersion: (typeof RESULT_110_VERSIONS)[number];
  /** The interfaces the plugin created or touched; `ips[].interface` indexes this list. */
  readonly interfaces?: readonly Interface110[];
  /** The addresses assigned. */
  readonly ips?: readonly IpConfig110[];
  /** The routes created in the container. */
  readonly routes?: readonly Route110[];
  /** DNS settings for the container. */
  readonly dns?: Dns;
}

function decodeInterface(element: unknown, path: string): Interface110 {
  const object = expectObject(element, path);
  return compact({
    name: requiredString(object, 'name', path),
    mac: decodeMac(object, path),
    mtu: optionalUint(object, 'mtu', path),
    sandbox: optionalString(object, 'sandbox', path),
    socketPath: optionalString(object, 'socketPath', path),
    pciID: optionalString(object, 'pciID', path),
  });
}

function decodeRoute(element: unknown, path: string): Route110 {
  const { dst, gw } = decodeRouteBase(element, path);
  const object = expectObject(element, path);
  return compact({
    dst,
    gw,
    mtu: optionalUint(object, 'mtu', path),
    advmss: optionalUint(object, 'advmss', path),
    priority: optionalUint(object, 'priority', path),
    table: optionalUint(object, 'table', path),
    // rtnetlink's rtm_scope is one byte.
    scope: optionalUint(object, 'scope', path, 255),
  });
}

/** Decodes a 1.1.0 result object found at `base`. Throws a CniError with code 6 naming the bad field. */
export function decodeResult110(object: JsonObject, cniVersion: Result110['cniVersion'], base = ''): Result110 {
  const interfaces = optionalArray(object, 'interfaces', base, decodeInterface);
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

/** The JSON object of a 1.1.0 result, keys in spec order. */
export function encodeResult110(result: Result110): JsonObject {
  return compact({
    cniVersion: result.cniVersion,
    interfaces: result.interfaces?.map((i) =>
      compact({ name: i.name, mac: i.mac, mtu: i.mtu, sandbox: i.sandbox, socketPath: i.socketPath, pciID: i.pciID }),
    ),
    ips: result.ips?.map((ip) => compact({ interface: ip.interface, address: ip.address, gateway: ip.gateway })),
    routes: result.routes?.map((r) =>
      compact({ dst: r.dst, gw: r.gw, mtu: r.mtu, advmss: r.advmss, priority: r.priority, table: r.table, scope: r.scope }),
    ),
    dns: result.dns && encodeDns(result.dns),
  });
}
