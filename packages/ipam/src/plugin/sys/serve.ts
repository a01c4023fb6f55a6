// twill-ipam as a warm plugin server: the native forwarder installed as `twill-ipam`
// hands each call to this process, which keeps its SQLite stores open and one pool
// allocator per store and configuration between calls.
import { isJsonRecord, type PluginHandlers, type PluginServer, type PluginServerLogger, type RequestBase, servePlugins } from '@twill/cni-core';

import { PoolAllocator } from '../../pool/index.js';
import { type Store } from '../../store/store.js';
import { DEFAULT_IPAM_DATA_DIR, sqliteStorePath, type IpamStoreLocation } from '../config.js';
import { createIpamPluginHandlers } from '../handlers.js';
import { type PoolAllocatorLease, type PoolAllocatorSource } from '../pool-handlers.js';
import { type PoolPluginConfig, usesPools } from '../pool-config.js';
import { type IpamPluginPorts } from '../ports.js';
import { nodeIpamPluginPorts, openIpamStore } from './main.js';

/** The socket the forwarder uses when `TWILL_AGENT_SOCKET` is not set. */
export const DEFAULT_AGENT_SOCKET = '/run/twill/agent.sock';

/** Options of {@link serveIpam}. */
export interface ServeIpamOptions {
  /** The socket path (default {@link DEFAULT_AGENT_SOCKET}). */
  readonly socketPath?: string;
  /** Where connection failures are reported. */
  readonly logger?: PluginServerLogger;
}

// A store kept open for the server's life: the handlers' close() leaves it open.
function kept(store: Store): Store {
  return {
    get: (key) => store.get(key),
    list: (prefix) => store.list(prefix),
    commit: (ops) => store.commit(ops),
    close: () => Promise.resolve(),
  };
}

/** Open SQLite stores by file, and warm pool allocators by store and configuration. */
class WarmStores implements PoolAllocatorSource {
  readonly #stores = new Map<string, Promise<Store>>();
  readonly #allocators = new Map<string, PoolAllocatorLease>();

  // The files store (host-local's layout, locked per call) is opened per call as the
  // standalone plugin does; SQLite stores stay open.
  openStore(location: IpamStoreLocation): Promise<Store> {
    if (location.kind !== 'sqlite') return openIpamStore(location);
    return this.#sqlite(location).then(kept);
  }

  #sqlite(location: IpamStoreLocation): Promise<Store> {
    const path = sqliteStorePath(location);
    let store = this.#stores.get(path);
    if (store === undefined) {
      store = openIpamStore(location);
      this.#stores.set(path, store);
      // A failed open is retried by the next call rather than remembered.
      store.catch(() => this.#stores.delete(path));
    }
    return store;
  }

  async get(config: PoolPluginConfig): Promise<PoolAllocatorLease> {
    // The allocator depends on the pools and the network; the node is per request.
    const key = JSON.stringify([sqliteStorePath(config.store), config.pools], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    let lease = this.#allocators.get(key);
    if (lease === undefined) {
      const store = kept(await this.#sqlite(config.store));
      lease = this.#allocators.get(key) ?? { allocator: new PoolAllocator({ config: config.pools, store }), store };
      this.#allocators.set(key, lease);
    }
    return lease;
  }

  async close(): Promise<void> {
    const stores = [...this.#stores.values()];
    this.#stores.clear();
    this.#allocators.clear();
    await Promise.allSettled(stores.map(async (store) => (await store).close()));
  }
}

/** Runs tasks one after another per key; different keys run concurrently. */
class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const next = (this.#tails.get(key) ?? Promise.resolve()).then(task, task);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}

// What one call's allocation works on: the pools' database (every network sharing it
// shares the pools' documents), or one network's ranges in a data directory.
function storeKey(request: RequestBase): string {
  const raw = request.config.raw;
  const ipam = isJsonRecord(raw['ipam']) ? raw['ipam'] : {};
  const dataDir = typeof ipam['dataDir'] === 'string' && ipam['dataDir'] !== '' ? ipam['dataDir'] : DEFAULT_IPAM_DATA_DIR;
  return usesPools(raw) ? `pools ${dataDir}` : `ranges ${dataDir} ${String(ipam['store'] ?? 'files')} ${request.config.name}`;
}

// Calls on one store run in turn, as host-local's lock makes them: within one process,
// concurrent compare-and-swap attempts on the same documents only conflict (32 callers
// on one network's range made the files store give up with code 11), while the work is
// one thread's anyway. Other processes sharing the store still meet compare-and-swap.
function oneAtATimePerStore(handlers: PluginHandlers): PluginHandlers {
  const queue = new KeyedQueue();
  const inTurn =
    <R extends RequestBase, T>(handler: (request: R) => T | Promise<T>) =>
    (request: R): Promise<T> =>
      queue.run(storeKey(request), async () => handler(request));
  const { gc, status } = handlers;
  return {
    ...handlers,
    add: inTurn((request) => handlers.add(request)),
    del: inTurn((request) => handlers.del(request)),
    check: inTurn((request) => handlers.check(request)),
    ...(gc === undefined ? {} : { gc: inTurn((request) => gc(request)) }),
    ...(status === undefined ? {} : { status: inTurn((request) => status(request)) }),
  };
}

/**
 * Serves twill-ipam on a unix socket (cni-core's servePlugins, mode 0600) for the native
 * forwarder installed as `twill-ipam` (see installForwardedIpam): every command, both
 * modes, with the same answers as the standalone plugin; SQLite stores stay open and
 * pool allocators stay warm between calls; calls on one store run in turn (calls on
 * different stores or networks run concurrently). `close()` answers the calls in progress,
 * removes the socket and closes the stores.
 * @throws PluginServerError when another process serves the socket or a file that is no
 * socket sits there.
 */
export async function serveIpam(options: ServeIpamOptions = {}): Promise<PluginServer> {
  const warm = new WarmStores();
  const ports: IpamPluginPorts = {
    ...nodeIpamPluginPorts(),
    openStore: (location) => warm.openStore(location),
    poolAllocators: warm,
  };
  return servePlugins({
    socketPath: options.socketPath ?? DEFAULT_AGENT_SOCKET,
    plugins: { 'twill-ipam': oneAtATimePerStore(createIpamPluginHandlers(ports)) },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    onClose: () => warm.close(),
  });
}
