// The twill-ipam process: the real store adapters and file reads behind the handlers'
// ports, and cni-core's runPluginMain around them.
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import { runPluginMain } from '@twill/cni-core';

import { StoreFailureError } from '../../errors.js';
import { type Store } from '../../store/store.js';
import { FileStore } from '../../store/sys/file-store.js';
import { type IpamStoreLocation, sqliteStorePath } from '../config.js';
import { createIpamPluginHandlers } from '../handlers.js';
import { type IpamPluginPorts } from '../ports.js';

/**
 * Opens the store of a location: host-local's data directory (`files`, locked with
 * host-local's own `lock` file when util-linux's flock(1) is installed), or the SQLite
 * database `<dataDir>/twill-ipam.db` (the folder is created when missing).
 * @throws StoreFailureError (CNI code 5) when it cannot be opened.
 */
export async function openIpamStore(location: IpamStoreLocation): Promise<Store> {
  if (location.kind === 'files') return FileStore.open({ root: location.dataDir });
  try {
    await mkdir(location.dataDir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new StoreFailureError(`cannot create the data directory ${location.dataDir}`, { cause: error });
  }
  // Loaded only when asked for: the native module costs start-up time the files store
  // does not need to pay.
  const { SqliteStore } = await import('../../store/sys/sqlite-store.js');
  return SqliteStore.open({ path: sqliteStorePath(location) });
}

/** The ports of the real process: {@link openIpamStore}, `readFile` and the host name. */
export function nodeIpamPluginPorts(): IpamPluginPorts {
  return { openStore: openIpamStore, readResolvConf: (path) => readFile(path, 'utf8'), hostname };
}

/**
 * Runs the twill-ipam plugin in this process (environment, stdin, stdout, exit code):
 * what the `twill-ipam` executable does. Never throws.
 */
export async function runTwillIpam(): Promise<void> {
  await runPluginMain(createIpamPluginHandlers(nodeIpamPluginPorts()));
}
