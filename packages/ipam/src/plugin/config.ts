// The configuration of the twill-ipam plugin: host-local's keys (parsed by the range
// allocator's parseRangeIpamConfig) plus `ipam.store`, which picks the store adapter.
// Pure: where the store lives is worked out here, opening it is the sys/ wiring's job.
import { expectString, fieldError, isJsonRecord } from '@twill/cni-core';

import { type ParseRangeIpamOptions, parseRangeIpamConfig, type RangeIpamConfig } from '../range/ipam-config.js';

/** The store adapters `ipam.store` may name. */
export const IPAM_PLUGIN_STORES = ['files', 'sqlite'] as const;

/** One of {@link IPAM_PLUGIN_STORES}: `files` is host-local's data directory, `sqlite` one database file in it. */
export type IpamPluginStoreKind = (typeof IPAM_PLUGIN_STORES)[number];

/** host-local's default `dataDir`, and twill-ipam's. */
export const DEFAULT_IPAM_DATA_DIR = '/var/lib/cni/networks';

/** The file name of the SQLite store inside `dataDir`. */
export const IPAM_SQLITE_FILE = 'twill-ipam.db';

/** Where the plugin's reservations live. */
export interface IpamStoreLocation {
  /** The adapter. */
  readonly kind: IpamPluginStoreKind;
  /** The data directory (absolute): host-local's layout for `files`, the database's folder for `sqlite`. */
  readonly dataDir: string;
}

/** A parsed, validated twill-ipam configuration. */
export interface IpamPluginConfig {
  /** The range allocator's configuration (ranges, routes, requested addresses, resolvConf). */
  readonly range: RangeIpamConfig;
  /** Where the reservations live. */
  readonly store: IpamStoreLocation;
}

/** The SQLite database file of a location: `<dataDir>/twill-ipam.db`. */
export function sqliteStorePath(location: IpamStoreLocation): string {
  return `${location.dataDir.replace(/\/+$/u, '')}/${IPAM_SQLITE_FILE}`;
}

/**
 * Parses the configuration the plugin receives on stdin (the whole plugin configuration
 * with its `ipam` section): every host-local key, plus `ipam.store` (`"files"`, the
 * default, or `"sqlite"`).
 * @throws CniError code 7 naming the field (`ipam.store: must be one of "files",
 * "sqlite"`), as {@link parseRangeIpamConfig} does for the range keys; code 4 for a bad
 * `IP=` in CNI_ARGS.
 */
export function parseIpamPluginConfig(config: unknown, options: ParseRangeIpamOptions = {}): IpamPluginConfig {
  const range = parseRangeIpamConfig(config, options);
  // parseRangeIpamConfig has checked that `ipam` is an object.
  const ipam = isJsonRecord(config) && isJsonRecord(config['ipam']) ? config['ipam'] : {};
  const raw = ipam['store'];
  let kind: IpamPluginStoreKind = 'files';
  if (raw !== undefined && raw !== null && raw !== '') {
    const text = expectString(raw, ['ipam', 'store']);
    if (!(IPAM_PLUGIN_STORES as readonly string[]).includes(text)) {
      throw fieldError(['ipam', 'store'], `must be one of ${IPAM_PLUGIN_STORES.map((s) => JSON.stringify(s)).join(', ')} (got ${JSON.stringify(text)})`);
    }
    kind = text as IpamPluginStoreKind;
  }
  return { range, store: { kind, dataDir: range.dataDir ?? DEFAULT_IPAM_DATA_DIR } };
}
