// The twill-ipam configuration in pool mode: an `ipam` section with `pools` is served by
// the Calico-style pool allocator instead of host-local's ranges. Pure: the node's
// default name comes from the caller.
import { expectArray, expectCidr, expectIpAddress, expectObject, expectString, fieldError, isJsonRecord, type JsonRecord } from '@twill/cni-core';

import { parsePoolIpamConfig, type PoolIpamConfig } from '../pool/index.js';
import { type IpamRoute } from '../range/ipam-config.js';
import { DEFAULT_IPAM_DATA_DIR, type IpamStoreLocation } from './config.js';

/** A parsed, validated pool-mode configuration. */
export interface PoolPluginConfig {
  /** The pool allocator's configuration (pools, strictAffinity, maxBlocksPerHost, reserved, cooldown). */
  readonly pools: PoolIpamConfig;
  /** The node whose blocks serve this host: `ipam.nodeName`, by default the host name. */
  readonly nodeName: string;
  /** `ipam.routes`, copied into every ADD result. */
  readonly routes: readonly IpamRoute[];
  /** The SQLite store: `<dataDir>/twill-ipam.db`. */
  readonly store: IpamStoreLocation;
}

/** Options of {@link parsePoolPluginConfig}. */
export interface ParsePoolPluginOptions {
  /** The node name when `ipam.nodeName` is not set (the process gives its host name). */
  readonly defaultNodeName: string;
}

/** Whether a plugin configuration asks for the pool allocator (its `ipam` has `pools`). */
export function usesPools(config: unknown): boolean {
  return isJsonRecord(config) && isJsonRecord(config['ipam']) && config['ipam']['pools'] !== undefined;
}

function parseRoutes(ipam: JsonRecord): IpamRoute[] {
  const value = ipam['routes'];
  if (value === undefined || value === null) return [];
  const path = ['ipam', 'routes'];
  return expectArray(value, path).map((item, i) => {
    const route = expectObject(item, [...path, i]);
    const dst = expectCidr(route['dst'] ?? '', [...path, i, 'dst']);
    const gw = route['gw'];
    return gw === undefined || gw === null || gw === '' ? { dst } : { dst, gw: expectIpAddress(gw, [...path, i, 'gw']) };
  });
}

/**
 * Parses a pool-mode configuration (the whole plugin configuration): the pool
 * allocator's keys in `ipam` (`pools`, `strictAffinity`, `maxBlocksPerHost`, `reserved`,
 * `releaseCooldownSeconds`), plus `nodeName`, `routes`, `dataDir` (default
 * `/var/lib/cni/networks`) and `store` (only `"sqlite"`, the default).
 * @throws CniError code 7 naming the field: any pool error of parsePoolIpamConfig,
 * `ranges` or `subnet` beside `pools`, a `store` other than `sqlite`, a bad `nodeName`,
 * route or `dataDir`.
 */
export function parsePoolPluginConfig(config: unknown, options: ParsePoolPluginOptions): PoolPluginConfig {
  const root = expectObject(config, []);
  if (root['name'] === undefined || root['name'] === '') throw fieldError(['name'], 'missing');
  const network = expectString(root['name'], ['name']);
  const ipam = expectObject(root['ipam'], ['ipam']);
  for (const key of ['ranges', 'subnet'] as const) {
    if (ipam[key] !== undefined) throw fieldError(['ipam', key], 'cannot be combined with ipam.pools (pool mode hands out addresses from pools only)');
  }
  const pools = parsePoolIpamConfig(ipam, { network, path: ['ipam'] });
  const store = ipam['store'];
  if (store !== undefined && store !== null && store !== '' && expectString(store, ['ipam', 'store']) !== 'sqlite') {
    throw fieldError(['ipam', 'store'], `the pool allocator keeps its blocks in "sqlite" (got ${JSON.stringify(store)})`);
  }
  let nodeName = options.defaultNodeName;
  if (ipam['nodeName'] !== undefined && ipam['nodeName'] !== null) nodeName = expectString(ipam['nodeName'], ['ipam', 'nodeName']);
  if (nodeName === '' || nodeName.includes('/') || nodeName === '.' || nodeName === '..') {
    throw fieldError(['ipam', 'nodeName'], `invalid node name ${JSON.stringify(nodeName)} (not empty, no "/", not "." or "..")`);
  }
  let dataDir = DEFAULT_IPAM_DATA_DIR;
  if (ipam['dataDir'] !== undefined && ipam['dataDir'] !== null && ipam['dataDir'] !== '') {
    dataDir = expectString(ipam['dataDir'], ['ipam', 'dataDir']);
    if (!dataDir.startsWith('/')) throw fieldError(['ipam', 'dataDir'], `must be an absolute path (got ${JSON.stringify(dataDir)})`);
  }
  return { pools, nodeName, routes: parseRoutes(ipam), store: { kind: 'sqlite', dataDir } };
}
