// The twill-ipam plugin's handlers: ADD, DEL, CHECK, GC and STATUS over the range
// allocator, host-local's behaviour with a choice of store. Pure: the store is opened,
// resolv.conf read and time kept through ports (sys/main.ts gives the real ones), so
// tests run every command in-process against a memory store.
import {
  type AddRequest,
  type AttachmentRequest,
  type CheckRequest,
  CNI_ERROR,
  CniError,
  type Dns,
  type GcRequest,
  type PluginHandlers,
  type RequestBase,
  type Result110,
} from '@twill/cni-core';

import { parseAddress, sameAddress } from '../range/address.js';
import { RangeAllocator } from '../range/allocator.js';
import { findRange } from '../range/range-set.js';
import { type Store } from '../store/store.js';
import { type IpamPluginConfig, parseIpamPluginConfig } from './config.js';
import { POOL_COMMANDS } from './pool-handlers.js';
import { usesPools } from './pool-config.js';
import { checkFailed, prevResultAddresses } from './check-helpers.js';
import { type IpamPluginPorts, STATUS_PROBE_NAME } from './ports.js';
import { parseResolvConf } from './resolv-conf.js';

function configOf(request: RequestBase): IpamPluginConfig {
  return parseIpamPluginConfig(request.config.raw, { cniArgs: request.args.pairs });
}

async function withAllocator<T>(ports: IpamPluginPorts, config: IpamPluginConfig, fn: (allocator: RangeAllocator) => Promise<T>): Promise<T> {
  const store = await ports.openStore(config.store);
  try {
    return await fn(new RangeAllocator({ config: config.range, store, ...(ports.retry !== undefined ? { retry: ports.retry } : {}) }));
  } finally {
    await store.close();
  }
}

async function readDns(ports: IpamPluginPorts, path: string): Promise<Dns> {
  let text: string;
  try {
    text = await ports.readResolvConf(path);
  } catch (error) {
    throw new CniError(CNI_ERROR.IO_FAILURE, `cannot read resolvConf ${path}`, error instanceof Error ? error.message : String(error), { cause: error });
  }
  return parseResolvConf(text);
}

async function add(ports: IpamPluginPorts, request: AddRequest): Promise<Result110> {
  const config = configOf(request);
  // Read before allocating, so that a missing resolv.conf fails without holding an address.
  const dns = config.range.resolvConf === undefined ? undefined : await readDns(ports, config.range.resolvConf);
  const allocated = await withAllocator(ports, config, (allocator) =>
    allocator.allocate({ containerId: request.containerId, ifName: request.ifName }),
  );
  // Built as 1.1.0; runPlugin converts it to the request's version (SPEC.md §"Success").
  return {
    cniVersion: '1.1.0',
    ips: allocated.map((a) => ({ address: a.address, gateway: a.gateway })),
    ...(config.range.routes.length > 0 ? { routes: config.range.routes.map((r) => ({ ...r })) } : {}),
    ...(dns !== undefined ? { dns } : {}),
  };
}

async function del(ports: IpamPluginPorts, request: AttachmentRequest): Promise<void> {
  const config = configOf(request);
  // Idempotent: releasing an attachment that holds nothing succeeds (allocator.release).
  await withAllocator(ports, config, (allocator) => allocator.release({ containerId: request.containerId, ifName: request.ifName }));
}

async function check(ports: IpamPluginPorts, request: CheckRequest): Promise<void> {
  const config = configOf(request);
  const held = await withAllocator(ports, config, (allocator) => allocator.held());
  const containerId = request.containerId.trim();
  const mine = held.filter((h) => h.containerId === containerId && (h.ifName === undefined || h.ifName === request.ifName));
  if (mine.length === 0) {
    throw checkFailed(`twill-ipam: failed to find address added by container ${request.containerId}`);
  }
  // Every prevResult address inside this network's ranges must still be held by the
  // attachment; addresses from elsewhere in a chain are not this plugin's to judge.
  for (const text of prevResultAddresses(request)) {
    const address = parseAddress(text);
    if (address === undefined || !config.range.rangeSets.some((set) => findRange(set, address) >= 0)) continue;
    const held = mine.some((h) => {
      const other = parseAddress(h.address);
      return other !== undefined && sameAddress(other, address);
    });
    if (!held) {
      throw checkFailed(`twill-ipam: ${text} of prevResult is not held by container ${request.containerId} interface ${request.ifName}`);
    }
  }
}

async function gc(ports: IpamPluginPorts, request: GcRequest): Promise<void> {
  const config = configOf(request);
  await withAllocator(ports, config, (allocator) => allocator.gc(request.validAttachments));
}

async function status(ports: IpamPluginPorts, request: RequestBase): Promise<void> {
  const config = configOf(request);
  // Ready means the store opens and takes a write: put and delete a probe entry.
  const key = `${config.range.network}/${STATUS_PROBE_NAME}`;
  let store: Store | undefined;
  try {
    store = await ports.openStore(config.store);
    for (const op of [{ type: 'put', key, value: 'ok' }, { type: 'delete', key }] as const) {
      const outcome = await store.commit([op]);
      if (!outcome.ok) throw new Error('the store stayed locked');
    }
  } catch (error) {
    // A CniError's message already ends with its details (the underlying failure).
    const reason = error instanceof Error ? error.message : String(error);
    throw new CniError(
      CNI_ERROR.PLUGIN_NOT_AVAILABLE,
      `twill-ipam: the ${config.store.kind} store at ${config.store.dataDir} cannot be written`,
      reason,
      { cause: error },
    );
  } finally {
    await store?.close().catch(() => undefined);
  }
}

/**
 * The handlers of the twill-ipam CNI IPAM plugin, for cni-core's `runPlugin`: host-local's
 * ADD, DEL, CHECK and GC semantics (same config keys, same on-disk format with the
 * `files` store), and STATUS. A config whose `ipam` has `pools` is served by the pool
 * allocator instead (pool-handlers.ts, parsePoolPluginConfig); the rest of this list is
 * range mode.
 *
 * - ADD: one address per range set; the result (built as 1.1.0, converted by runPlugin
 *   to the request's version) lists `ips` with their gateway, `ipam.routes`, and `dns`
 *   read from `ipam.resolvConf`. Errors: code 7 for bad config, 110 range exhausted,
 *   111 requested address unavailable, 112 second ADD of one attachment, 11 store
 *   contended, 5 store or resolv.conf unreadable.
 * - DEL: releases the attachment's addresses; succeeds when it holds none.
 * - CHECK: fails (code 999, as host-local's does) when the attachment holds no address,
 *   or no longer holds an address of prevResult that lies in this network's ranges.
 * - GC: releases every address not held by one of `cni.dev/valid-attachments`.
 * - STATUS: code 50 when the store cannot be opened or written.
 */
export function createIpamPluginHandlers(ports: IpamPluginPorts): PluginHandlers {
  const pools = (request: RequestBase): boolean => usesPools(request.config.raw);
  return {
    add: (request) => (pools(request) ? POOL_COMMANDS.add(ports, request) : add(ports, request)),
    del: (request) => (pools(request) ? POOL_COMMANDS.del(ports, request) : del(ports, request)),
    check: (request) => (pools(request) ? POOL_COMMANDS.check(ports, request) : check(ports, request)),
    gc: (request) => (pools(request) ? POOL_COMMANDS.gc(ports, request) : gc(ports, request)),
    status: (request) => (pools(request) ? POOL_COMMANDS.status(ports, request) : status(ports, request)),
  };
}
