// The whole configuration of a host-local style IPAM plugin (host-local's
// `LoadIPAMConfig`): the range sets from `ipam.ranges`, the legacy single range at the
// top of `ipam`, the `ipRanges` capability; the routes; the data directory; and the
// addresses the runtime asks for (CNI_ARGS `IP=`, `args.cni.ips`, the `ips` capability).
import {
  CNI_ERROR,
  CniError,
  expectArray,
  expectCidr,
  expectIpAddress,
  expectObject,
  expectString,
  fieldError,
  type FieldPath,
  isJsonRecord,
  isVersionAtLeast,
  type JsonRecord,
} from '@twill/cni-core';

import { type Address, parseAddress } from './address.js';
import { checkRangeSetsDisjoint, parseRangeSet } from './range-config.js';
import { type RangeSet } from './range-set.js';

/** A route returned with every allocation (`ipam.routes`). */
export interface IpamRoute {
  /** Destination in CIDR notation. */
  readonly dst: string;
  /** Next hop, when given. */
  readonly gw?: string;
}

/** An address the runtime asked for, and where it came from (for messages). */
export interface RequestedAddress {
  /** The address asked for. */
  readonly address: Address;
  /** `CNI_ARGS IP`, `args.cni.ips[0]` or `runtimeConfig.ips[0]`. */
  readonly source: string;
}

/** A parsed, validated range IPAM configuration. */
export interface RangeIpamConfig {
  /** The network name (the config's `name`): host-local's directory under `dataDir`. */
  readonly network: string;
  /** The request's `cniVersion`. */
  readonly cniVersion: string;
  /** The range sets; one address is allocated from each. */
  readonly rangeSets: readonly RangeSet[];
  /** Routes to return. */
  readonly routes: readonly IpamRoute[];
  /** `ipam.dataDir`, when set (host-local's default is `/var/lib/cni/networks`). */
  readonly dataDir?: string;
  /** `ipam.resolvConf`, when set: a resolv.conf whose DNS settings go in the result. */
  readonly resolvConf?: string;
  /** Addresses the runtime asked for, in host-local's order: CNI_ARGS, args, capability. */
  readonly requested: readonly RequestedAddress[];
}

/** Options of {@link parseRangeIpamConfig}. */
export interface ParseRangeIpamOptions {
  /** CNI_ARGS, parsed (cni-core's `CniArgs.pairs`); `IP` requests an address. */
  readonly cniArgs?: ReadonlyMap<string, string>;
}

function optionalString(record: JsonRecord, key: string, path: FieldPath): string | undefined {
  const value = record[key];
  if (value === undefined || value === null || value === '') return undefined;
  return expectString(value, [...path, key]);
}

function parseRoutes(value: unknown, path: FieldPath): IpamRoute[] {
  if (value === undefined || value === null) return [];
  return expectArray(value, path).map((item, i) => {
    const route = expectObject(item, [...path, i]);
    const dst = expectCidr(route['dst'] ?? '', [...path, i, 'dst']);
    const gw = route['gw'];
    return gw === undefined || gw === null || gw === '' ? { dst } : { dst, gw: expectIpAddress(gw, [...path, i, 'gw']) };
  });
}

function requestedAddress(text: string, path: FieldPath, allowPrefix: boolean): Address {
  // The `ips` capability carries addresses with or without a prefix (libcni's ip.IP);
  // the prefix is the runtime's business, the range decides the mask.
  const slash = text.indexOf('/');
  const addressText = allowPrefix && slash >= 0 ? text.slice(0, slash) : text;
  if (allowPrefix && slash >= 0) expectCidr(text, path);
  const address = parseAddress(addressText);
  if (address === undefined) throw fieldError(path, `invalid IP address ${JSON.stringify(text)}`);
  return address;
}

function parseRequested(config: JsonRecord, options: ParseRangeIpamOptions): RequestedAddress[] {
  const requested: RequestedAddress[] = [];
  const ipArg = options.cniArgs?.get('IP');
  if (ipArg !== undefined && ipArg !== '') {
    // Newer host-local versions take a comma-separated list in `IP=`; one address is the
    // common case and reads the same.
    for (const text of ipArg.split(',')) {
      const address = parseAddress(text.trim());
      if (address === undefined) {
        throw new CniError(CNI_ERROR.INVALID_ENVIRONMENT, `CNI_ARGS: IP: invalid IP address ${JSON.stringify(text)}`);
      }
      requested.push({ address, source: 'CNI_ARGS IP' });
    }
  }
  const args = config['args'];
  if (isJsonRecord(args) && isJsonRecord(args['cni']) && args['cni']['ips'] !== undefined) {
    const path = ['args', 'cni', 'ips'];
    expectArray(args['cni']['ips'], path).forEach((item, i) => {
      const text = expectString(item, [...path, i]);
      requested.push({ address: requestedAddress(text, [...path, i], false), source: `args.cni.ips[${i}]` });
    });
  }
  const runtimeConfig = config['runtimeConfig'];
  if (isJsonRecord(runtimeConfig) && runtimeConfig['ips'] !== undefined && runtimeConfig['ips'] !== null) {
    const path = ['runtimeConfig', 'ips'];
    expectArray(runtimeConfig['ips'], path).forEach((item, i) => {
      const text = expectString(item, [...path, i]);
      requested.push({ address: requestedAddress(text, [...path, i], true), source: `runtimeConfig.ips[${i}]` });
    });
  }
  return requested;
}

const LEGACY_RANGE_KEYS = ['subnet', 'rangeStart', 'rangeEnd', 'gateway'] as const;

/**
 * Parses and validates the configuration a host-local style IPAM plugin receives on
 * stdin (the whole plugin configuration, with its `ipam` section).
 *
 * Range sets are, in order: `runtimeConfig.ipRanges` (the capability), the legacy range
 * written at the top of `ipam`, then `ipam.ranges`, as host-local orders them.
 * @throws CniError code 7 naming the field (`ipam.ranges[0][0].subnet: invalid CIDR
 * "10.1/33"`), or code 4 for a bad `IP=` in CNI_ARGS.
 */
export function parseRangeIpamConfig(config: unknown, options: ParseRangeIpamOptions = {}): RangeIpamConfig {
  const root = expectObject(config, []);
  const name = root['name'];
  if (name === undefined || name === '') throw fieldError(['name'], 'missing');
  const network = expectString(name, ['name']);
  // The name becomes a directory (host-local: <dataDir>/<name>); cni-core's decoder
  // already restricts it, but the allocator may be embedded without that decoder.
  if (network.includes('/') || network === '.' || network === '..') throw fieldError(['name'], `invalid network name ${JSON.stringify(network)}`);
  const cniVersion = typeof root['cniVersion'] === 'string' && root['cniVersion'] !== '' ? root['cniVersion'] : '0.1.0';
  if (root['ipam'] === undefined || root['ipam'] === null) throw fieldError(['ipam'], 'missing');
  const ipam = expectObject(root['ipam'], ['ipam']);

  const sets: RangeSet[] = [];
  const paths: FieldPath[] = [];
  const runtimeConfig = root['runtimeConfig'];
  if (isJsonRecord(runtimeConfig) && runtimeConfig['ipRanges'] !== undefined && runtimeConfig['ipRanges'] !== null) {
    expectArray(runtimeConfig['ipRanges'], ['runtimeConfig', 'ipRanges']).forEach((item, i) => {
      const path = ['runtimeConfig', 'ipRanges', i];
      sets.push(parseRangeSet(item, path));
      paths.push(path);
    });
  }
  if (ipam['subnet'] !== undefined && ipam['subnet'] !== '') {
    const legacy = Object.fromEntries(LEGACY_RANGE_KEYS.map((key) => [key, ipam[key]]));
    // The legacy range's fields are named at the top of `ipam`: `ipam.subnet`.
    const set = parseRangeSetAt(legacy, ['ipam']);
    sets.push(set);
    paths.push(['ipam']);
  }
  if (ipam['ranges'] !== undefined && ipam['ranges'] !== null) {
    expectArray(ipam['ranges'], ['ipam', 'ranges']).forEach((item, i) => {
      const path = ['ipam', 'ranges', i];
      sets.push(parseRangeSet(item, path));
      paths.push(path);
    });
  }
  if (sets.length === 0) throw fieldError(['ipam', 'ranges'], 'no IP ranges specified');
  checkRangeSetsDisjoint(sets, paths);
  const v4 = sets.filter((set) => set[0]?.subnet.network.family === 4).length;
  if ((v4 > 1 || sets.length - v4 > 1) && !isVersionAtLeast(cniVersion, '0.3.0')) {
    throw fieldError(['ipam', 'ranges'], `CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  const dataDir = optionalString(ipam, 'dataDir', ['ipam']);
  if (dataDir !== undefined && !dataDir.startsWith('/')) throw fieldError(['ipam', 'dataDir'], `must be an absolute path (got ${JSON.stringify(dataDir)})`);
  const resolvConf = optionalString(ipam, 'resolvConf', ['ipam']);
  return {
    network,
    cniVersion,
    rangeSets: sets,
    routes: parseRoutes(ipam['routes'], ['ipam', 'routes']),
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(resolvConf !== undefined ? { resolvConf } : {}),
    requested: parseRequested(root, options),
  };
}

// The legacy single range: its fields live directly in `ipam`, so errors must name
// `ipam.subnet`, not `ipam[0].subnet`. parseRangeSet names elements by index, so the
// one range is parsed through a path that drops the index.
function parseRangeSetAt(range: JsonRecord, path: FieldPath): RangeSet {
  try {
    return parseRangeSet([range], path);
  } catch (error) {
    if (error instanceof CniError) {
      const prefix = `${path.join('.')}[0]`;
      const msg = error.msg.startsWith(prefix) ? `${path.join('.')}${error.msg.slice(prefix.length)}` : error.msg;
      throw new CniError(error.code, msg, error.details, { cause: error });
    }
    throw error;
  }
}
