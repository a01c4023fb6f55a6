// The agent's datastore on its SQLite file: the same database as the plugin's pools and
// endpoint records (`<dataDir>/twill.db`), shared by every process on the node.
import { SqliteStore } from '@twill/ipam';

import { type AgentLogger } from '../../ports.js';
import { type ClosableResourceDatastore, resourceDatastoreOver } from '../resource-store.js';

/** Options of {@link openResourceDatastore}. */
export interface OpenResourceDatastoreOptions {
  /** The SQLite database file (created when missing), such as `/var/lib/twill/twill.db`. */
  readonly path: string;
  /** Milliseconds between a watch's polls (default 50). */
  readonly pollMs?: number;
  readonly logger?: AgentLogger;
}

/**
 * Opens the resource datastore on a SQLite file (WAL mode, through @twill/ipam's
 * SqliteStore, so pools and endpoints share it). Other processes' writes are seen by
 * watches within `pollMs`. `close()` stops the watches and closes the database.
 * @throws StoreFailureError (from @twill/ipam) when the file cannot be opened; StoreContendedError (code 11) when
 *   another process holds its write lock past the busy timeout while it is being set up.
 */
export async function openResourceDatastore(options: OpenResourceDatastoreOptions): Promise<ClosableResourceDatastore> {
  const store = SqliteStore.open({ path: options.path });
  const datastore = resourceDatastoreOver(store, {
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return {
    store,
    get: (kind, name, namespace) => datastore.get(kind, name, namespace),
    list: (kind, namespace) => datastore.list(kind, namespace),
    apply: (resource) => datastore.apply(resource),
    delete: (kind, name, namespace) => datastore.delete(kind, name, namespace),
    watch: (kinds, handler) => datastore.watch(kinds, handler),
    watchEntries: (prefix, handler) => datastore.watchEntries(prefix, handler),
    close: async () => {
      await datastore.close();
      await store.close();
    },
  };
}
