import { type JsonRecord } from './field-checks.js';
import { type JsonObjectNode } from './json-node.js';

/** The well-known `dns` dictionary of a plugin configuration (CNI SPEC §1, "dns"). */
export interface DnsConfig {
  /** Priority-ordered nameserver addresses, IPv4 or IPv6. */
  readonly nameservers?: readonly string[];
  /** The local domain used for short hostname lookups. */
  readonly domain?: string;
  /** Priority-ordered search domains. */
  readonly search?: readonly string[];
  /** Options passed to the resolver. */
  readonly options?: readonly string[];
}

/**
 * One plugin configuration object of a network configuration (CNI SPEC §1, "Plugin
 * configuration objects"), validated, with the object itself kept verbatim in `raw`.
 */
export interface ListPluginConfig {
  /** The plugin executable's file name (`type`). */
  readonly type: string;
  /** The declared capabilities (`capabilities`), `{}` when absent. */
  readonly capabilities: Readonly<Record<string, boolean>>;
  /** The IPAM plugin's file name (`ipam.type`), when there is an `ipam` section with a type. */
  readonly ipamType?: string;
  /** The `dns` dictionary, when present. */
  readonly dns?: DnsConfig;
  /** The `args` dictionary, when present (reserved for the runtime; passed through). */
  readonly args?: JsonRecord;
  /** The object as written, every key kept, numbers exactly as written. */
  readonly raw: JsonObjectNode;
  /** The object as a plain value (what `JSON.parse` would give), for reading plugin fields. */
  readonly value: JsonRecord;
}

/** Which file format a network configuration came from. */
export const NETWORK_CONFIG_FORMAT = {
  /** A network configuration list (`.conflist`): the spec's format. */
  LIST: 'list',
  /** A single plugin configuration (`.conf`/`.json`), promoted to a list of one. */
  SINGLE: 'single',
} as const;

/** One of {@link NETWORK_CONFIG_FORMAT}. */
export type NetworkConfigFormat = (typeof NETWORK_CONFIG_FORMAT)[keyof typeof NETWORK_CONFIG_FORMAT];

/**
 * A network configuration (CNI SPEC §1, "Configuration format"): what the runtime runs.
 * A single `.conf` is held as a list of one plugin, as libcni does.
 */
export interface NetworkConfigList {
  /** The network name. */
  readonly name: string;
  /**
   * The version this network is run with: the highest supported of `cniVersion` and
   * `cniVersions` (CNI SPEC §"Version considerations"). Injected into every plugin's stdin.
   */
  readonly cniVersion: string;
  /** The versions the document declares (`cniVersion` first, then `cniVersions`), as written. */
  readonly declaredVersions: readonly string[];
  /** When true the runtime must not call CHECK for this network. */
  readonly disableCheck: boolean;
  /** When true the runtime must not call GC for this network. */
  readonly disableGC: boolean;
  /** When true, plugin configurations from outside the document (its directory) are ignored. */
  readonly loadOnlyInlinedPlugins: boolean;
  /** The plugins in execution order (ADD order): inline ones, then any loaded from the network's directory. */
  readonly plugins: readonly ListPluginConfig[];
  /** The file format the network came from. */
  readonly format: NetworkConfigFormat;
  /**
   * The configuration document as libcni keeps it (`NetworkConfigList.Bytes`), which is
   * what goes in the result cache: a list's own bytes, or for a promoted single config the
   * list of one that libcni synthesises (`{"cniVersion","name","plugins":[...]}`).
   */
  readonly bytes: Uint8Array;
  /** The document's top-level object, verbatim (for a promoted single config, the synthesised list). */
  readonly raw: JsonObjectNode;
}

/** Options for decoding network configurations. */
export interface DecodeConfigOptions {
  /**
   * The CNI versions this runtime supports, exact strings. Defaults to
   * {@link SUPPORTED_VERSIONS} (0.1.0 to 1.1.0).
   */
  readonly supportedVersions?: readonly string[];
  /**
   * Refuse the keys the spec reserves for the runtime (`runtimeConfig`, `args` and any
   * `cni.dev/` key) in plugin configurations, with code 2 (unsupported field). Off by
   * default: the spec says they *should not* be used, and libcni passes them through.
   */
  readonly rejectReservedKeys?: boolean;
}
