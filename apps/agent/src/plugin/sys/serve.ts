// `twill` served warm by the agent: the native forwarder installed as `twill` hands
// each call to cni-core's servePlugins in the agent's process, which keeps the
// datastores open between calls.
import { type PluginHandlers, type PluginServer, type PluginServerLogger, servePlugins } from '@twill/cni-core';
import { type NetnsRef } from '@twill/cni-core/net';
import { type Store } from '@twill/ipam';

import { databasePath, TWILL_DEFAULTS, type TwillConfig, type TwillDatastoreType } from '../config.js';
import { endpointRegistryWithPolicy } from '../endpoints.js';
import { createTwillPluginHandlers } from '../handlers.js';
import { type Datastore, type EndpointPolicyHooks, type PodDirectory } from '../ports.js';
import { datastoreOver, nodeTwillPluginPorts, openTwillStore } from './main.js';

/** Options of {@link serveTwill}. */
export interface ServeTwillOptions {
  /** The socket (default `/run/twill/agent.sock`, the forwarder's default). */
  readonly socketPath?: string;
  /** The node's namespace, where host ends and routes go (default: this process's). */
  readonly hostNetns?: NetnsRef;
  /** Where connection failures are reported. */
  readonly logger?: PluginServerLogger;
  /**
   * The agent's policy controller: ADD returns once `enforce` resolves (policy in place),
   * and every endpoint unregistered is `forget`-ed. Without it, endpoints are only recorded.
   */
  readonly endpoints?: EndpointPolicyHooks;
  /** Wraps the plugin's handlers before they are served (the agent times each CNI request for /metrics). */
  readonly wrapHandlers?: (handlers: PluginHandlers) => PluginHandlers;
  /**
   * The agent's own datastore, used by every call instead of opening the configuration's
   * `<dataDir>/twill.db` (the Kubernetes datastore's Store); the caller closes it. A
   * configuration naming another datastore type is refused (DatastoreMismatchError).
   */
  readonly datastore?: ServedDatastore;
  /** The Pods ADD looks up and annotates (the agent on the Kubernetes datastore). */
  readonly pods?: PodDirectory;
}

/** A datastore the agent already holds open, for {@link ServeTwillOptions.datastore}. */
export interface ServedDatastore {
  readonly type: TwillDatastoreType;
  readonly store: Store;
  /** Where it lives, for messages (the API server's URL). */
  readonly location: string;
}

// One open store per database file, and one turn at a time on it: the pool allocator's
// compare-and-swap would only make concurrent calls of one process retry each other. A
// turn holds a call's store work only (the handlers do the links and the policy outside
// it), so the calls' kernel work runs at the same time.
class WarmDatastores {
  readonly #stores = new Map<string, Promise<Store>>();
  readonly #tails = new Map<string, Promise<void>>();
  readonly #hooks: EndpointPolicyHooks | undefined;
  readonly #served: ServedDatastore | undefined;

  constructor(hooks: EndpointPolicyHooks | undefined, served: ServedDatastore | undefined) {
    this.#hooks = hooks;
    this.#served = served;
    // The agent's store is open already, and stays the agent's to close.
    if (served !== undefined) this.#stores.set(served.location, Promise.resolve(served.store));
  }

  async open(config: TwillConfig): Promise<{ datastore: Datastore; release(): Promise<void> }> {
    const path = this.#served?.location ?? databasePath(config);
    const previous = this.#tails.get(path) ?? Promise.resolve();
    let done!: () => void;
    const tail = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.#tails.set(path, tail);
    await previous;
    try {
      let store = this.#stores.get(path);
      if (store === undefined) {
        store = openTwillStore(config);
        this.#stores.set(path, store);
        // A failed open is tried again by the next call.
        store.catch(() => this.#stores.delete(path));
      }
      const open = await store;
      const datastore = datastoreOver(open, path);
      return {
        datastore: this.#hooks === undefined ? datastore : { ...datastore, endpoints: endpointRegistryWithPolicy(datastore.endpoints, this.#hooks) },
        release: () => {
          done();
          if (this.#tails.get(path) === tail) this.#tails.delete(path);
          return Promise.resolve();
        },
      };
    } catch (error) {
      done();
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#served !== undefined) this.#stores.delete(this.#served.location);
    const stores = [...this.#stores.values()];
    this.#stores.clear();
    await Promise.allSettled(stores.map(async (store) => (await store).close()));
  }
}

/**
 * Serves the `twill` plugin on a unix socket (mode 0600) for the native forwarder
 * installed as `<binDir>/twill` (see installTwill): the same handlers and answers as the
 * standalone plugin, with the datastores kept open. `close()` answers the calls in
 * progress, removes the socket and closes the stores.
 * @throws PluginServerError when another process serves the socket.
 */
export async function serveTwill(options: ServeTwillOptions = {}): Promise<PluginServer> {
  const warm = new WarmDatastores(options.endpoints, options.datastore);
  const ports = {
    ...nodeTwillPluginPorts({
      ...(options.hostNetns === undefined ? {} : { hostNetns: options.hostNetns }),
      openDatastore: (config) => warm.open(config),
    }),
    datastore: options.datastore?.type ?? 'sqlite',
    ...(options.pods === undefined ? {} : { pods: options.pods }),
  };
  return servePlugins({
    socketPath: options.socketPath ?? TWILL_DEFAULTS.agentSocket,
    plugins: { twill: options.wrapHandlers === undefined ? createTwillPluginHandlers(ports) : options.wrapHandlers(createTwillPluginHandlers(ports)) },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    onClose: () => warm.close(),
  });
}
