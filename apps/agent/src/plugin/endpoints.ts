// The standalone endpoint registry: one JSON document per attachment in the embedded
// store, `twill-endpoints/<network>/<containerID>`. Pure over the Store port.
import { type Store } from '@twill/ipam';

import { type EndpointPolicyHooks, type EndpointRecord, type EndpointRegistry } from './ports.js';

/** The first key segment of endpoint documents. */
export const ENDPOINT_ROOT = 'twill-endpoints';

function key(network: string, containerId: string): string {
  return `${ENDPOINT_ROOT}/${network}/${containerId}`;
}

/** Endpoints recorded in an @twill/ipam {@link Store}. */
export class StoreEndpointRegistry implements EndpointRegistry {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** @throws Error when the store refuses the write after a few tries. */
  async register(record: EndpointRecord): Promise<void> {
    await this.#commit([{ type: 'put', key: key(record.network, record.containerId), value: JSON.stringify(record) }]);
  }

  async get(network: string, containerId: string): Promise<EndpointRecord | undefined> {
    const entry = await this.#store.get(key(network, containerId));
    return entry === undefined ? undefined : (JSON.parse(entry.value) as EndpointRecord);
  }

  async unregister(network: string, containerId: string): Promise<void> {
    if ((await this.#store.get(key(network, containerId))) === undefined) return;
    await this.#commit([{ type: 'delete', key: key(network, containerId) }]);
  }

  async list(network: string): Promise<readonly EndpointRecord[]> {
    const entries = await this.#store.list(`${ENDPOINT_ROOT}/${network}/`);
    return entries.map((entry) => JSON.parse(entry.value) as EndpointRecord);
  }

  // Unconditional writes only fail when the store is contended past its busy timeout.
  async #commit(ops: Parameters<Store['commit']>[0]): Promise<void> {
    const outcome = await this.#store.commit(ops);
    if (!outcome.ok) throw new Error(`endpoint registry: the store refused ${ops.map((o) => o.key).join(', ')}`);
  }
}

/**
 * A registry with the agent's policy hooks: records go to `registry`, ADD's `enforce`
 * goes to `hooks.enforce`, CHECK's `checkPolicy` to `hooks.check`, and every unregister
 * (DEL, GC, a failed ADD's undo) is followed by `hooks.forget`.
 */
export function endpointRegistryWithPolicy(registry: EndpointRegistry, hooks: EndpointPolicyHooks): EndpointRegistry {
  return {
    register: (record) => registry.register(record),
    get: (network, containerId) => registry.get(network, containerId),
    list: (network) => registry.list(network),
    unregister: async (network, containerId) => {
      await registry.unregister(network, containerId);
      await hooks.forget(network, containerId);
    },
    enforce: (record) => hooks.enforce(record),
    ...(hooks.check === undefined ? {} : { checkPolicy: (record: EndpointRecord) => hooks.check?.(record) ?? Promise.resolve([]) }),
  };
}
