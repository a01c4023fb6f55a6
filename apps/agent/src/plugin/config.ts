// The `type: "twill"` configuration: parse and validate only (pure). Every problem is a
// CniError code 7 naming the field, as cni-core's config checks do.
import { expectNonEmptyString, expectObject, expectString, fieldError, type JsonRecord } from '@twill/cni-core';
import { type PoolPluginConfig, parsePoolPluginConfig } from '@twill/ipam';

import type { DataplaneDriverName } from '../dataplane/port.js';

/**
 * The dataplanes `dataplane` may name: the port's DATAPLANE_DRIVERS, restated so that the
 * plugin's start-up does not load the policy engine the port's module imports.
 */
export const TWILL_DATAPLANES = ['nftables', 'ebpf'] as const satisfies readonly DataplaneDriverName[];

/** The log levels `logLevel` may name (pino's). */
export const TWILL_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link TWILL_LOG_LEVELS}. */
export type TwillLogLevel = (typeof TWILL_LOG_LEVELS)[number];

/**
 * Where the pools and endpoint records live: `sqlite` (the embedded store in `dataDir`,
 * which the standalone plugin opens itself) or `kubernetes` (the API server, reached only
 * by twill-agent: the standalone plugin refuses such a configuration, see AgentNotRunningError).
 */
export const TWILL_DATASTORES = ['sqlite', 'kubernetes'] as const;

/** One of {@link TWILL_DATASTORES}. */
export type TwillDatastoreType = (typeof TWILL_DATASTORES)[number];

/** Defaults of the optional keys. */
export const TWILL_DEFAULTS = {
  mtu: 1500,
  dataplane: 'nftables',
  agentSocket: '/run/twill/agent.sock',
  logLevel: 'info',
  dataDir: '/var/lib/twill',
  datastore: 'sqlite',
} as const satisfies { datastore: TwillDatastoreType; mtu: number; dataplane: DataplaneDriverName; agentSocket: string; logLevel: TwillLogLevel; dataDir: string };

/** The SQLite file in `dataDir` holding the pools and the endpoints. */
export const TWILL_DATABASE_FILE = 'twill.db';

/** Where the pod's addresses come from. */
export type TwillIpamConfig =
  /** Twill's pools, allocated in-process on the embedded store (`ipam.type` `twill-ipam` with `pools`). */
  | { readonly kind: 'pools'; readonly pools: PoolPluginConfig }
  /** Any other IPAM plugin (twill-ipam's range mode too), exec'd through cni-core's delegate helpers. */
  | { readonly kind: 'delegate'; readonly type: string };

/** A validated `type: "twill"` configuration. */
export interface TwillConfig {
  /** The network's name (the IPAM handle is `<name>.<containerID>`). */
  readonly network: string;
  /** MTU of both veth ends, in bytes (68 to 65535; default 1500). */
  readonly mtu: number;
  readonly ipam: TwillIpamConfig;
  /** The policy dataplane the agent programs (validated here, used by the agent). */
  readonly dataplane: DataplaneDriverName;
  /** The agent's socket (absolute path). */
  readonly agentSocket: string;
  readonly logLevel: TwillLogLevel;
  /** A file to append the plugin's logs to (absolute path); none by default. */
  readonly logFile?: string;
  /** The embedded datastore's folder (absolute; default `/var/lib/twill`): `<dataDir>/twill.db`. */
  readonly dataDir: string;
  /** Where the pools and endpoints live (default `sqlite`); `kubernetes` needs the agent. */
  readonly datastore: TwillDatastoreType;
}

/** Options of {@link parseTwillConfig}. */
export interface ParseTwillConfigOptions {
  /** The node name when `ipam.nodeName` is not set (the process gives its host name). */
  readonly defaultNodeName: string;
}

function absolutePath(value: unknown, key: string): string {
  const text = expectNonEmptyString(value, [key]);
  if (!text.startsWith('/')) throw fieldError([key], `must be an absolute path (got ${JSON.stringify(text)})`);
  return text;
}

function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T {
  const text = expectString(value, [key]);
  if (!(allowed as readonly string[]).includes(text)) {
    throw fieldError([key], `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(text)})`);
  }
  return text as T;
}

function parseMtu(value: unknown): number {
  if (value === undefined || value === null) return TWILL_DEFAULTS.mtu;
  // veth accepts 68 (the IPv4 minimum, RFC 791) to 65535 (drivers/net/veth.c, VETH_MAX_MTU).
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 68 || value > 65535) {
    throw fieldError(['mtu'], `must be an integer from 68 to 65535 (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** The `ipam.type` served in-process when `ipam.pools` is set: twill-ipam's pool mode. */
export const IN_PROCESS_IPAM_TYPE = 'twill-ipam';

function parseIpam(root: JsonRecord, options: ParseTwillConfigOptions): TwillIpamConfig {
  if (root['ipam'] === undefined || root['ipam'] === null) {
    throw fieldError(['ipam'], `missing: give {"type": "${IN_PROCESS_IPAM_TYPE}", "pools": [...]} (twill pools) or another IPAM plugin's section`);
  }
  const ipam = expectObject(root['ipam'], ['ipam']);
  const type = expectNonEmptyString(ipam['type'], ['ipam', 'type']);
  if (type.includes('/') || type === '.' || type === '..') throw fieldError(['ipam', 'type'], `must be a plugin name, not a path (got ${JSON.stringify(type)})`);
  // twill-ipam's pool mode runs in this process on the plugin's own datastore; its range
  // mode and every other IPAM plugin are exec'd as delegates.
  if (type !== IN_PROCESS_IPAM_TYPE || ipam['pools'] === undefined) return { kind: 'delegate', type };
  for (const key of ['dataDir', 'store'] as const) {
    if (ipam[key] !== undefined) throw fieldError(['ipam', key], `not used with pools in-process: they live in the plugin's datastore (set dataDir at the top level)`);
  }
  return { kind: 'pools', pools: parsePoolPluginConfig(root, options) };
}

/**
 * Parses and validates the plugin's configuration (the whole stdin document, as
 * `config.raw` gives it).
 * @throws CniError code 7 naming the field: `mtu: must be an integer from 68 to 65535`,
 * `dataplane: must be one of "nftables", "ebpf"`, `ipam.pools[0].cidr: ...`.
 */
export function parseTwillConfig(raw: unknown, options: ParseTwillConfigOptions): TwillConfig {
  const root = expectObject(raw, []);
  const network = expectNonEmptyString(root['name'], ['name']);
  const logFile = root['logFile'] === undefined ? undefined : absolutePath(root['logFile'], 'logFile');
  return {
    network,
    mtu: parseMtu(root['mtu']),
    ipam: parseIpam(root, options),
    dataplane: root['dataplane'] === undefined ? TWILL_DEFAULTS.dataplane : oneOf(root['dataplane'], 'dataplane', TWILL_DATAPLANES),
    agentSocket: root['agentSocket'] === undefined ? TWILL_DEFAULTS.agentSocket : absolutePath(root['agentSocket'], 'agentSocket'),
    logLevel: root['logLevel'] === undefined ? TWILL_DEFAULTS.logLevel : oneOf(root['logLevel'], 'logLevel', TWILL_LOG_LEVELS),
    ...(logFile === undefined ? {} : { logFile }),
    dataDir: root['dataDir'] === undefined ? TWILL_DEFAULTS.dataDir : absolutePath(root['dataDir'], 'dataDir'),
    datastore: root['datastore'] === undefined ? TWILL_DEFAULTS.datastore : oneOf(root['datastore'], 'datastore', TWILL_DATASTORES),
  };
}

/** The embedded datastore's file: `<dataDir>/twill.db`. */
export function databasePath(config: Pick<TwillConfig, 'dataDir'>): string {
  return `${config.dataDir.replace(/\/+$/u, '')}/${TWILL_DATABASE_FILE}`;
}
