// twill-ipam in pool mode: ADD, DEL, CHECK, GC and STATUS over the Calico-style pool
// allocator. Addresses are recorded under the handle `<network>.<containerID>` with the
// pod's namespace and name from CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME) and the node.
import {
  type AddRequest,
  type AttachmentRequest,
  CNI_ERROR,
  CniError,
  type CheckRequest,
  type GcRequest,
  type RequestBase,
  type Result110,
} from '@twill/cni-core';

import { handleId, PoolAllocator } from '../pool/index.js';
import { type Store } from '../store/store.js';
import { checkFailed, prevResultAddresses } from './check-helpers.js';
import { type IpamPluginPorts, STATUS_PROBE_NAME } from './ports.js';
import { parsePoolPluginConfig, type PoolPluginConfig } from './pool-config.js';

/** A pool allocator and the store under it. */
export interface PoolAllocatorLease {
  /** The allocator, over `store`. */
  readonly allocator: PoolAllocator;
  /** The store it was opened on, to close when done. */
  readonly store: Store;
}

/**
 * Where pool allocators come from when a process answers many calls (serve mode): one
 * warm allocator per store and configuration, kept open between calls.
 */
export interface PoolAllocatorSource {
  /** The allocator for `config` (opened on first use, then the same one). */
  get(config: PoolPluginConfig): Promise<PoolAllocatorLease>;
}

function configOf(ports: IpamPluginPorts, request: RequestBase): PoolPluginConfig {
  const defaultNodeName = ports.hostname?.() ?? '';
  return parsePoolPluginConfig(request.config.raw, { defaultNodeName });
}

async function withPool<T>(ports: IpamPluginPorts, config: PoolPluginConfig, fn: (lease: PoolAllocatorLease) => Promise<T>): Promise<T> {
  if (ports.poolAllocators !== undefined) return fn(await ports.poolAllocators.get(config));
  const store = await ports.openStore(config.store);
  try {
    const allocator = new PoolAllocator({ config: config.pools, store, ...(ports.retry !== undefined ? { retry: ports.retry } : {}) });
    return await fn({ allocator, store });
  } finally {
    await store.close();
  }
}

function podArg(request: RequestBase, key: string): string | undefined {
  const value = request.args.pairs.get(key);
  return value === undefined || value === '' ? undefined : value;
}

async function add(ports: IpamPluginPorts, request: AddRequest): Promise<Result110> {
  const config = configOf(ports, request);
  const namespace = podArg(request, 'K8S_POD_NAMESPACE');
  const pod = podArg(request, 'K8S_POD_NAME');
  const allocation = await withPool(ports, config, ({ allocator }) =>
    allocator.allocate({
      containerId: request.containerId,
      ifName: request.ifName,
      node: config.nodeName,
      ...(namespace === undefined ? {} : { namespace }),
      ...(pod === undefined ? {} : { pod }),
    }),
  );
  // Full-length prefixes, as Calico hands them out; runPlugin converts to the request's version.
  return {
    cniVersion: '1.1.0',
    ips: allocation.addresses.map((a) => ({ address: a.address })),
    ...(config.routes.length > 0 ? { routes: config.routes.map((r) => ({ ...r })) } : {}),
  };
}

async function del(ports: IpamPluginPorts, request: AttachmentRequest): Promise<void> {
  const config = configOf(ports, request);
  // By handle; idempotent (an unknown handle releases nothing).
  await withPool(ports, config, ({ allocator }) => allocator.release({ containerId: request.containerId }));
}

async function check(ports: IpamPluginPorts, request: CheckRequest): Promise<void> {
  const config = configOf(ports, request);
  const handle = handleId(config.pools.network, request.containerId);
  await withPool(ports, config, async ({ allocator }) => {
    let mine = 0;
    // Every prevResult address inside the pools must still be held by this handle;
    // addresses from elsewhere in a chain are not this plugin's to judge.
    for (const ip of prevResultAddresses(request)) {
      const status = await allocator.whyHeld(ip);
      if (status.state === 'outside-pools') continue;
      if (status.state !== 'allocated' || status.handle !== handle) {
        const now = status.state === 'allocated' ? `held by ${status.handle}` : status.state;
        throw checkFailed(`twill-ipam: ${ip} of prevResult is not held by ${handle} (it is ${now})`);
      }
      mine += 1;
    }
    if (mine === 0) throw checkFailed(`twill-ipam: failed to find an address of prevResult held by ${handle}`);
  });
}

async function gc(ports: IpamPluginPorts, request: GcRequest): Promise<void> {
  const config = configOf(ports, request);
  await withPool(ports, config, ({ allocator }) => allocator.gc(request.validAttachments));
}

async function status(ports: IpamPluginPorts, request: RequestBase): Promise<void> {
  const config = configOf(ports, request);
  const key = `${config.pools.network}/${STATUS_PROBE_NAME}`;
  try {
    await withPool(ports, config, async ({ store }) => {
      for (const op of [{ type: 'put', key, value: 'ok' }, { type: 'delete', key }] as const) {
        const outcome = await store.commit([op]);
        if (!outcome.ok) throw new Error('the store stayed locked');
      }
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CniError(CNI_ERROR.PLUGIN_NOT_AVAILABLE, `twill-ipam: the pool store at ${config.store.dataDir} cannot be written`, reason, { cause: error });
  }
}

/**
 * The pool-mode commands (see createIpamPluginHandlers):
 * - ADD: one address per family of the enabled pools, from this node's blocks (claiming
 *   or borrowing as the pools allow), as `/32` or `/128`, with `ipam.routes`. Errors:
 *   code 7 for bad config, 112 when the handle already holds addresses, the pool
 *   allocator's exhaustion errors, 11 when the store stays contended.
 * - DEL: releases the handle `<network>.<containerID>`; succeeds when it holds nothing.
 * - CHECK: code 999 when an address of prevResult inside the pools is not held by the
 *   handle, or none is.
 * - GC: releases this network's handles whose attachment is not in `cni.dev/valid-attachments`.
 * - STATUS: code 50 when the store cannot be written.
 */
export const POOL_COMMANDS = { add, del, check, gc, status } as const;
