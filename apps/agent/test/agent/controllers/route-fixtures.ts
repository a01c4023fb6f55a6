// Shared by the node, route and BGP controller tests: a datastore over one MemoryStore,
// Node resources, IPAM affinity documents as the pool allocator writes them, and a
// routing table kept in memory that records every write (the real one is in the root tests).
import { type Store, encodeAffinity, MemoryStore, poolKeys } from '@twill/ipam';

import { type KernelRoute, type RouteTable } from '../../../src/agent/controllers/route-model.js';
import { type ClosableResourceDatastore, resourceDatastoreOver } from '../../../src/agent/datastore/index.js';
import { type AgentResource } from '../../../src/agent/ports.js';

/** A datastore over `store` (a new MemoryStore by default) polling every 10 ms. */
export function memoryDatastore(store: Store = new MemoryStore()): ClosableResourceDatastore {
  return resourceDatastoreOver(store, { pollMs: 10 });
}

/**
 * `real`, except that the first thing its `watch` does is delete one resource: a delete
 * racing a controller's start, landing just before the controller starts watching.
 */
export function deletingAsWatchStarts(real: ClosableResourceDatastore, kind: string, name: string): ClosableResourceDatastore {
  return {
    store: real.store,
    get: real.get.bind(real),
    list: real.list.bind(real),
    apply: real.apply.bind(real),
    delete: real.delete.bind(real),
    watchEntries: real.watchEntries.bind(real),
    close: real.close.bind(real),
    watch: async (...args: Parameters<ClosableResourceDatastore['watch']>) => {
      await real.delete(kind, name);
      return real.watch(...args);
    },
  };
}

/** A Calico Node resource. */
export function node(name: string, bgp: { ipv4Address?: string; ipv6Address?: string; asNumber?: number }, labels?: Record<string, string>): AgentResource {
  return { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name, ...(labels ? { labels } : {}) }, spec: { bgp } };
}

/** Writes `twill-pools/affinity/<node>` as the pool allocator does. */
export async function setAffinity(store: Store, nodeName: string, blocks: readonly string[]): Promise<void> {
  const key = poolKeys().affinity(nodeName);
  const outcome = await store.commit(blocks.length === 0 ? [{ type: 'delete', key }] : [{ type: 'put', key, value: encodeAffinity({ node: nodeName, blocks }) }]);
  if (!outcome.ok) throw new Error(`affinity write for ${nodeName} conflicted`);
}

/** A routing table in memory: routes by protocol and destination, and a log of writes. */
export class MemoryRouteTable implements RouteTable {
  readonly routes = new Map<string, KernelRoute & { protocol: number }>();
  readonly writes: string[] = [];
  /** Destinations whose writes fail (as a gateway no route covers does). */
  readonly unreachable = new Set<string>();

  constructor(initial: readonly (KernelRoute & { protocol: number })[] = []) {
    for (const r of initial) this.routes.set(r.dst, r);
  }

  list(protocol: number): Promise<KernelRoute[]> {
    return Promise.resolve(
      [...this.routes.values()].filter((r) => r.protocol === protocol).map(({ dst, type, gateway }) => ({ dst, type, ...(gateway === undefined ? {} : { gateway }) })),
    );
  }

  replace(route: KernelRoute, protocol: number): Promise<void> {
    this.writes.push(`replace ${route.dst} ${route.type}${route.gateway === undefined ? '' : ` via ${route.gateway}`} proto ${protocol}`);
    if (this.unreachable.has(route.dst)) return Promise.reject(new Error(`replaceRoute ${route.dst} via ${route.gateway}: ENETUNREACH`));
    this.routes.set(route.dst, { ...route, protocol });
    return Promise.resolve();
  }

  remove(route: KernelRoute, protocol: number): Promise<void> {
    this.writes.push(`remove ${route.dst} proto ${protocol}`);
    const have = this.routes.get(route.dst);
    if (have?.protocol === protocol) this.routes.delete(route.dst);
    return Promise.resolve();
  }

  /** `dst type [via gw] proto N` lines, sorted. */
  show(): string[] {
    return [...this.routes.values()].map((r) => `${r.dst} ${r.type}${r.gateway === undefined ? '' : ` via ${r.gateway}`} proto ${r.protocol}`).sort();
  }
}

/** Polls `check` every 20 ms until it holds, or fails after `ms` naming `what` and the last value seen. */
export async function until<T>(what: string, read: () => T | Promise<T>, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
