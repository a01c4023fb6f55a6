// Conversion of results between spec versions: a frozen table with one converter per
// pair of result families, so every pair of the seven versions is covered.
//
// Every converter goes through the 1.1.0 shape, which can hold everything the older ones
// can: going up is lossless, going down lists each field it cannot carry. A loss is an
// error (code 1) unless the caller allows it, in which case the fields are dropped the
// way libcni's converters drop them (pkg/types/100/types.go convertTo02/convertTo04)
// and reported to the caller.
import { CNI_ERROR, CniError } from '../errors.js';
import { type Route } from './common.js';
import { compact, indexPath } from './fields.js';
import { parseCidr } from './ip.js';
import { type CniResult, type ResultFor } from './result.js';
import { type IpConfig020, type Result020 } from './result-020.js';
import { type Result040 } from './result-040.js';
import { type Result100 } from './result-100.js';
import { type Result110 } from './result-110.js';
import { type CniVersion, type ResultFamily, resultFamily, toSupportedVersion } from './versions.js';

/** Options of {@link convertResult}. */
export interface ConvertResultOptions {
  /**
   * Drop what the target version cannot express instead of failing, as libcni does
   * (e.g. every interface and all but the first address of each family for 0.2.0).
   */
  readonly allowLoss?: boolean;
  /** Called with the paths of the dropped fields when `allowLoss` let some go. */
  readonly onLoss?: (lost: readonly string[]) => void;
}

type Body110 = Omit<Result110, 'cniVersion'>;
type Body100 = Omit<Result100, 'cniVersion'>;
interface Converted<T> {
  readonly result: T;
  readonly lost: readonly string[];
}

// ---- up to the 1.1.0 shape (lossless) ----

function from020(result: Result020): Body110 {
  const ips = [result.ip4, result.ip6]
    .filter((config): config is IpConfig020 => config !== undefined)
    .map((config) => compact({ address: config.ip, gateway: config.gateway }));
  const routes = [...(result.ip4?.routes ?? []), ...(result.ip6?.routes ?? [])];
  const hasRoutes = result.ip4?.routes !== undefined || result.ip6?.routes !== undefined;
  return compact({
    ips: ips.length > 0 ? ips : undefined,
    routes: hasRoutes ? routes : undefined,
    dns: result.dns,
  });
}

// `version` follows from the address, so dropping it loses nothing (decoding checked that
// the two agree).
function from040(result: Result040): Body110 {
  return compact({
    interfaces: result.interfaces,
    ips: result.ips?.map(({ version: _version, ...ip }) => ip),
    routes: result.routes,
    dns: result.dns,
  });
}

function from100(result: Result100 | Result110): Body110 {
  const { cniVersion: _cniVersion, ...body } = result;
  return body;
}

// ---- down from the 1.1.0 shape ----

const INTERFACE_110_KEYS = ['mtu', 'socketPath', 'pciID'] as const;
const ROUTE_110_KEYS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

// SPEC 1.1.0 added these attributes; 1.0.0 and older have nowhere to put them.
function to100(body: Body110): Converted<Body100> {
  const lost: string[] = [];
  const interfaces = body.interfaces?.map((iface, i) => {
    for (const key of INTERFACE_110_KEYS) if (iface[key] !== undefined) lost.push(`${indexPath('interfaces', i)}.${key}`);
    return compact({ name: iface.name, mac: iface.mac, sandbox: iface.sandbox });
  });
  const routes = body.routes?.map((route, i): Route => {
    for (const key of ROUTE_110_KEYS) if (route[key] !== undefined) lost.push(`${indexPath('routes', i)}.${key}`);
    return compact({ dst: route.dst, gw: route.gw });
  });
  return { result: compact({ interfaces, ips: body.ips, routes, dns: body.dns }), lost };
}

function familyOf(cidr: string): '4' | '6' {
  // Decoded results hold valid CIDRs; a hand-built one that is not is treated as IPv6
  // only so that it lands somewhere deterministic.
  return parseCidr(cidr)?.family ?? '6';
}

function to040(body: Body100, cniVersion: Result040['cniVersion']): Converted<Result040> {
  return {
    result: compact({
      cniVersion,
      interfaces: body.interfaces,
      ips: body.ips?.map((ip) => ({ version: familyOf(ip.address), ...ip })),
      routes: body.routes,
      dns: body.dns,
    }),
    lost: [],
  };
}

// SPEC 0.2.0 §"Result": one `ip4` and one `ip6`, routes under their family, no interfaces.
function to020(body: Body100, cniVersion: Result020['cniVersion']): Converted<Result020> {
  const lost: string[] = [];
  body.interfaces?.forEach((_iface, i) => lost.push(indexPath('interfaces', i)));
  const configs: { '4'?: { ip: string; gateway?: string }; '6'?: { ip: string; gateway?: string } } = {};
  body.ips?.forEach((ip, i) => {
    const family = familyOf(ip.address);
    if (configs[family] !== undefined) {
      lost.push(indexPath('ips', i));
      return;
    }
    if (ip.interface !== undefined) lost.push(`${indexPath('ips', i)}.interface`);
    configs[family] = compact({ ip: ip.address, gateway: ip.gateway });
  });
  const routes: { '4': Route[]; '6': Route[] } = { '4': [], '6': [] };
  body.routes?.forEach((route, i) => {
    const family = familyOf(route.dst);
    if (configs[family] === undefined) lost.push(indexPath('routes', i));
    else routes[family].push(route);
  });
  const withRoutes = (family: '4' | '6'): IpConfig020 | undefined => {
    const config = configs[family];
    if (config === undefined) return undefined;
    return compact({ ...config, routes: routes[family].length > 0 ? routes[family] : undefined });
  };
  return { result: compact({ cniVersion, ip4: withRoutes('4'), ip6: withRoutes('6'), dns: body.dns }), lost };
}

// ---- the table ----

type Converter = (result: CniResult, to: CniVersion) => Converted<CniResult>;

function toBody(result: CniResult): Body110 {
  switch (result.cniVersion) {
    case '0.1.0':
    case '0.2.0':
      return from020(result);
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return from040(result);
    case '1.0.0':
    case '1.1.0':
      return from100(result);
  }
}

const toFamily: Readonly<Record<ResultFamily, (body: Body110, to: CniVersion) => Converted<CniResult>>> = {
  '110': (body) => ({ result: { cniVersion: '1.1.0', ...body }, lost: [] }),
  '100': (body) => {
    const down = to100(body);
    return { result: { cniVersion: '1.0.0', ...down.result }, lost: down.lost };
  },
  '040': (body, to) => {
    const down = to100(body);
    const last = to040(down.result, to as Result040['cniVersion']);
    return { result: last.result, lost: [...down.lost, ...last.lost] };
  },
  '020': (body, to) => {
    const down = to100(body);
    const last = to020(down.result, to as Result020['cniVersion']);
    return { result: last.result, lost: [...down.lost, ...last.lost] };
  },
};

// Within a family only `cniVersion` changes (0.3.0, 0.3.1 and 0.4.0 results are the same
// document; so are 0.1.0 and 0.2.0).
const retag: Converter = (result, to) => ({ result: { ...result, cniVersion: to } as CniResult, lost: [] });
const via =
  (family: ResultFamily): Converter =>
  (result, to) =>
    toFamily[family](toBody(result), to);

const FAMILIES = ['020', '040', '100', '110'] as const;

/**
 * The converters, by source family then target family: 16 entries covering all 49
 * ordered pairs of supported versions. Frozen: conversions are data, not hooks.
 */
export const RESULT_CONVERTERS: Readonly<Record<ResultFamily, Readonly<Record<ResultFamily, Converter>>>> =
  Object.freeze(
    Object.fromEntries(
      FAMILIES.map((from) => [
        from,
        Object.freeze(Object.fromEntries(FAMILIES.map((to) => [to, from === to ? retag : via(to)]))),
      ]),
    ) as Record<ResultFamily, Readonly<Record<ResultFamily, Converter>>>,
  );

const MAX_LISTED = 10;

/**
 * Converts a result to another spec version.
 *
 * Throws a CniError with code 1 when `toVersion` is not supported, or when the target
 * cannot express part of the result; the message names each lost field
 * (`interfaces[0].mtu`, `ips[2]`, `routes[1]`). With `allowLoss`, those fields are
 * dropped instead and passed to `onLoss`.
 */
export function convertResult<V extends CniVersion>(
  result: CniResult,
  toVersion: V,
  options: ConvertResultOptions = {},
): ResultFor<V> {
  const to = toSupportedVersion(toVersion);
  const from = result.cniVersion;
  const converted = RESULT_CONVERTERS[resultFamily(from)][resultFamily(to)](result, to);
  if (converted.lost.length > 0) {
    if (options.allowLoss !== true) {
      const listed = converted.lost.slice(0, MAX_LISTED).join(', ');
      const more = converted.lost.length > MAX_LISTED ? ` and ${converted.lost.length - MAX_LISTED} more` : '';
      throw new CniError(
        CNI_ERROR.INCOMPATIBLE_VERSION,
        `cannot convert result from ${from} to ${to} without losing ${listed}${more}`,
        `version ${to} cannot express these fields; allow the loss to drop them as libcni does`,
      );
    }
    options.onLoss?.(converted.lost);
  }
  return converted.result as ResultFor<V>;
}
