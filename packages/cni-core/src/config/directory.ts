import { CNI_ERROR, CniError } from '../errors.js';
import { withSource } from './field-error.js';
import {
  completeNetworkConfigList,
  decodeNetworkConfig,
  decodeNetworkConfigListParts,
  type NetworkConfigListParts,
} from './network-config.js';
import { decodeListPluginConfig } from './plugin-config.js';
import {
  NETWORK_CONFIG_FORMAT,
  type DecodeConfigOptions,
  type NetworkConfigFormat,
  type NetworkConfigList,
  type ListPluginConfig,
} from './types.js';

/**
 * The file access that loading networks from a directory needs: a port, so the choice
 * and parsing below are testable without files. `sys/node-config-directory.ts` provides
 * the implementation over node:fs.
 */
export interface ConfigDirectory {
  /**
   * The names (not paths) of the entries directly in `dir` that are not directories, in
   * any order; an empty list when `dir` does not exist (as libcni's `ConfFiles`).
   * @throws when `dir` exists but cannot be read.
   */
  listFiles(dir: string): Promise<readonly string[]>;
  /**
   * A file's contents.
   * @throws when it cannot be read.
   */
  readFile(path: string): Promise<Uint8Array>;
}

/** File extensions of network configurations, as libcni reads them. */
export const CONFIG_FILE_EXTENSIONS = {
  /** Network configuration lists, tried first. */
  LIST: ['.conflist'],
  /** Single configurations (deprecated by the spec, still read by libcni), tried second. */
  SINGLE: ['.conf', '.json'],
  /** Plugin configurations in a network's own directory `<dir>/<network>/`. */
  PLUGIN: ['.conf'],
} as const;

/** A configuration file in the order it is tried. */
export interface ConfigFile {
  /** The file's path: the directory joined with its name. */
  readonly path: string;
  /** How it is read: as a list, or as a single configuration promoted to a list. */
  readonly format: NetworkConfigFormat;
}

/** One file of a directory listing: the network it holds, or why it could not be read. */
export type NetworkConfigEntry =
  | (ConfigFile & {
      /** The network the file holds. */
      readonly list: NetworkConfigList;
      /** Absent: the file was read. */
      readonly error?: undefined;
    })
  | (ConfigFile & {
      /** Absent: the file could not be read. */
      readonly list?: undefined;
      /** Why the file could not be read or decoded. */
      readonly error: CniError;
    });

/**
 * The order libcni tries configuration files in (`LoadNetworkConf`): every `.conflist`,
 * then every `.conf` and `.json` together, each group in lexical (byte) order of name.
 * Other names are ignored.
 * @param dir - the directory, joined to each name with "/".
 * @param names - the file names in the directory, in any order.
 */
export function orderConfigFiles(dir: string, names: readonly string[]): readonly ConfigFile[] {
  const pick = (exts: readonly string[], format: NetworkConfigFormat): ConfigFile[] =>
    names
      .filter((n) => exts.some((ext) => extensionOf(n) === ext))
      .sort(compareBytes)
      .map((n) => ({ path: joinPath(dir, n), format }));
  return [
    ...pick(CONFIG_FILE_EXTENSIONS.LIST, NETWORK_CONFIG_FORMAT.LIST),
    ...pick(CONFIG_FILE_EXTENSIONS.SINGLE, NETWORK_CONFIG_FORMAT.SINGLE),
  ];
}

/**
 * Loads the network named `name` from a configuration directory as libcni's
 * `LoadNetworkConf` does: the first file in {@link orderConfigFiles} order whose network
 * has that name. A list that does not set `loadOnlyInlinedPlugins` also gets the plugin
 * configurations in `<dir>/<name>/*.conf`, in lexical order, after its own (CNI SPEC §1).
 *
 * As in libcni, a file that cannot be read or parsed stops the search (a runtime must
 * not silently pick a later file over a broken earlier one).
 *
 * @throws CniError with the offending file's path first in `msg`
 *   (`/etc/cni/net.d/10-a.conflist: plugins[1].type: missing`), keeping the parse error's
 *   code; code 5 when a file or the directory cannot be read; code 7
 *   `<dir>: no network configuration named "x"` or `<dir>: no network configurations found`.
 */
export async function loadNetworkConfigList(
  fs: ConfigDirectory,
  dir: string,
  name: string,
  options: DecodeConfigOptions = {},
): Promise<NetworkConfigList> {
  const files = await listConfigFiles(fs, dir);
  if (files.length === 0) {
    throw new CniError(CNI_ERROR.INVALID_NETWORK_CONFIG, `${dir}: no network configurations found`);
  }
  for (const file of files) {
    if (file.format === NETWORK_CONFIG_FORMAT.LIST) {
      const parts = await readFile(fs, file, (bytes) => decodeNetworkConfigListParts(bytes, options));
      if (parts.name === name) return completeFromDirectory(fs, dir, file, parts, options);
    } else {
      const list = await readFile(fs, file, (bytes) => decodeNetworkConfig(bytes, options));
      if (list.name === name) return list;
    }
  }
  throw new CniError(
    CNI_ERROR.INVALID_NETWORK_CONFIG,
    `${dir}: no network configuration named ${JSON.stringify(name)} (${files.length} files read)`,
  );
}

/**
 * Reads every configuration file of a directory, in {@link orderConfigFiles} order, for
 * listing (e.g. `twill status`). Unlike {@link loadNetworkConfigList}, a broken file does
 * not stop the listing: its entry carries the error instead.
 * @throws CniError code 5 when the directory cannot be read.
 */
export async function listNetworkConfigs(
  fs: ConfigDirectory,
  dir: string,
  options: DecodeConfigOptions = {},
): Promise<readonly NetworkConfigEntry[]> {
  const entries: NetworkConfigEntry[] = [];
  for (const file of await listConfigFiles(fs, dir)) {
    try {
      const list = file.format === NETWORK_CONFIG_FORMAT.LIST
        ? await completeFromDirectory(fs, dir, file, await readFile(fs, file, (b) => decodeNetworkConfigListParts(b, options)), options)
        : await readFile(fs, file, (b) => decodeNetworkConfig(b, options));
      entries.push({ ...file, list });
    } catch (error) {
      entries.push({ ...file, error: error instanceof CniError ? error : withSource(file.path, error) });
    }
  }
  return entries;
}

async function listConfigFiles(fs: ConfigDirectory, dir: string): Promise<readonly ConfigFile[]> {
  let names: readonly string[];
  try {
    names = await fs.listFiles(dir);
  } catch (error) {
    throw withSource(dir, error);
  }
  return orderConfigFiles(dir, names);
}

/** Reads and decodes one file; any failure is reported with the file's path. */
async function readFile<T>(fs: ConfigDirectory, file: ConfigFile, decode: (bytes: Uint8Array) => T): Promise<T> {
  try {
    return decode(await fs.readFile(file.path));
  } catch (error) {
    throw withSource(file.path, error);
  }
}

/** Adds `<dir>/<network>/*.conf` to a list, unless it loads only inlined plugins. */
async function completeFromDirectory(
  fs: ConfigDirectory,
  dir: string,
  file: ConfigFile,
  parts: NetworkConfigListParts,
  options: DecodeConfigOptions,
): Promise<NetworkConfigList> {
  const extra: ListPluginConfig[] = [];
  if (!parts.loadOnlyInlinedPlugins) {
    const pluginDir = joinPath(dir, parts.name);
    let names: readonly string[];
    try {
      names = await fs.listFiles(pluginDir);
    } catch (error) {
      throw withSource(pluginDir, error);
    }
    const pluginFiles = names.filter((n) => CONFIG_FILE_EXTENSIONS.PLUGIN.some((ext) => extensionOf(n) === ext)).sort(compareBytes);
    for (const n of pluginFiles) {
      const pluginFile = { path: joinPath(pluginDir, n), format: NETWORK_CONFIG_FORMAT.SINGLE };
      extra.push(await readFile(fs, pluginFile, (bytes) => decodeListPluginConfig(bytes, options)));
    }
  }
  try {
    return completeNetworkConfigList(parts, extra);
  } catch (error) {
    throw withSource(file.path, error);
  }
}

/** The extension as Go's `filepath.Ext` gives it: from the last "." on, or "". */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

const encoder = new TextEncoder();

/** Go's `sort.Strings` order: by UTF-8 bytes (UTF-16 order differs above U+FFFF). */
function compareBytes(a: string, b: string): number {
  const ba = encoder.encode(a);
  const bb = encoder.encode(b);
  const n = Math.min(ba.length, bb.length);
  for (let i = 0; i < n; i++) {
    const d = (ba[i] ?? 0) - (bb[i] ?? 0);
    if (d !== 0) return d;
  }
  return ba.length - bb.length;
}
