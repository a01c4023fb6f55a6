import { readdir, readFile } from 'node:fs/promises';

import { type ConfigDirectory, loadNetworkConfigList, listNetworkConfigs, type NetworkConfigEntry } from '../directory.js';
import { type DecodeConfigOptions, type NetworkConfigList } from '../types.js';

/** The directory libcni-based runtimes (containerd, CRI-O, kubelet) read networks from. */
export const DEFAULT_CNI_CONFIG_DIR = '/etc/cni/net.d';

/**
 * {@link ConfigDirectory} over node:fs. Symbolic links are followed when listing, as
 * Go's `os.ReadDir` + `IsDir` treat a link to a file as a file (and a link to a directory
 * as a file too: reading it then fails with the path in the error, as in libcni).
 */
export const nodeConfigDirectory: ConfigDirectory = {
  async listFiles(dir: string): Promise<readonly string[]> {
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      return entries.filter((e) => !e.isDirectory()).map((e) => e.name);
    } catch (error) {
      // libcni's ConfFiles: a missing directory holds no configurations.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  },
  async readFile(path: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(path));
  },
};

/**
 * Loads the network named `name` from a configuration directory on disk, as libcni's
 * `LoadNetworkConf` does; see {@link loadNetworkConfigList}.
 * @param dir - the directory, `/etc/cni/net.d` by default.
 * @throws CniError as {@link loadNetworkConfigList} does.
 */
export function loadNetworkConfigListFromDir(
  name: string,
  dir: string = DEFAULT_CNI_CONFIG_DIR,
  options: DecodeConfigOptions = {},
): Promise<NetworkConfigList> {
  return loadNetworkConfigList(nodeConfigDirectory, dir, name, options);
}

/**
 * Lists every network configuration file of a directory on disk with its network or
 * its error; see {@link listNetworkConfigs}.
 * @throws CniError code 5 when the directory cannot be read.
 */
export function listNetworkConfigsInDir(
  dir: string = DEFAULT_CNI_CONFIG_DIR,
  options: DecodeConfigOptions = {},
): Promise<readonly NetworkConfigEntry[]> {
  return listNetworkConfigs(nodeConfigDirectory, dir, options);
}
