// The route controller: a blackhole route for each block this node holds affinity for
// (as Calico's Felix does: the block's unallocated addresses are dropped here rather than
// sent along the default route; the pods' /32 routes win by longest prefix), and with
// `routing: direct` a route to every other node's blocks via that node's address. Its
// routes carry RTPROT_TWILL: at start it reads them back from the kernel, keeps what is
// still wanted, removes what is stale and adds what is missing, so a restart does not
// disturb traffic.
import { type AgentController, type AgentLogger, type EntryEvent, type ResourceDatastore, type ResourceEvent, type ResourceWatch } from '../ports.js';

import {
  AFFINITY_PREFIX,
  type KernelRoute,
  type NodeInfo,
  NODE_KIND,
  type RouteTable,
  type RoutingMode,
  RTPROT_TWILL,
  applyAffinityEvents,
  desiredRoutes,
  parseNode,
  planRoutes,
} from './route-model.js';

/** Options of {@link RouteController}. */
export interface RouteControllerOptions {
  readonly datastore: ResourceDatastore;
  readonly nodeName: string;
  /** `direct`: routes to other nodes' blocks from the datastore; `bgp` and `none`: only this node's blackholes. */
  readonly routing: RoutingMode;
  /** The node's main routing table (`openKernelRouteTable()` from sys/kernel-routes.ts). */
  readonly table: RouteTable;
  /** The `rtm_protocol` of its routes (default {@link RTPROT_TWILL}). */
  readonly protocol?: number;
  /**
   * Milliseconds between full resyncs that re-read the kernel (routes someone deleted by
   * hand come back); default 30 000, 0 for none.
   */
  readonly resyncMs?: number;
  readonly logger?: AgentLogger;
}

/** What the route controller reports (`twill status`). */
export interface RouteControllerStatus {
  /** Routes it holds in the kernel, by destination. */
  readonly routes: readonly KernelRoute[];
  /** Routes the kernel refused at the last attempt, and why. */
  readonly problems: readonly { readonly dst: string; readonly error: string }[];
}

/** Keeps this node's block routes in the kernel. */
export class RouteController implements AgentController {
  readonly name = 'routes';
  private readonly protocol: number;
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly blocks = new Map<string, readonly string[]>();
  /** What the kernel holds with our protocol, as far as we know. */
  private kernel = new Map<string, KernelRoute>();
  private readonly failed = new Map<string, string>();
  private watches: ResourceWatch[] = [];
  private running: Promise<void> | undefined;
  private rerun = false;
  private relist = false;
  private reconciled = false;
  private stopped = true;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: RouteControllerOptions) {
    this.protocol = options.protocol ?? RTPROT_TWILL;
  }

  /**
   * Starts watching nodes and block affinities, and once both watches have delivered the
   * current state (their first batch) adopts the kernel's routes and reconciles. The
   * first batches are the state read: a node or block deleted while the agent starts is
   * never held from an earlier list.
   */
  async start(): Promise<void> {
    this.stopped = false;
    const { datastore } = this.options;
    let loading = true;
    let nodesLoaded!: () => void;
    let blocksLoaded!: () => void;
    const loaded = Promise.all([new Promise<void>((resolve) => (nodesLoaded = resolve)), new Promise<void>((resolve) => (blocksLoaded = resolve))]);
    this.watches.push(
      await datastore.watch([NODE_KIND], (events) => {
        if (!loading) return this.onNodes(events);
        this.applyNodes(events);
        nodesLoaded();
        return undefined;
      }),
    );
    this.watches.push(
      await datastore.watchEntries(AFFINITY_PREFIX, (events) => {
        if (!loading) return this.onAffinity(events);
        applyAffinityEvents(this.blocks, events, (key, error) => this.corrupt(key, error));
        blocksLoaded();
        return undefined;
      }),
    );
    await loaded;
    loading = false;
    this.relist = true;
    await this.reconcile();
    const every = this.options.resyncMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.resync().catch((error: unknown) => this.options.logger?.error({ err: error }, 'block route resync failed'));
      }, every);
      this.timer.unref();
    }
  }

  ready(): boolean {
    return this.reconciled && !this.stopped;
  }

  /** Stops watching; the routes stay in the kernel. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const watch of this.watches.splice(0)) await watch.close();
    // A failing reconcile was reported to whoever awaited it; stopping does not fail for it.
    await this.running?.catch(() => undefined);
  }

  /** Re-reads the kernel's routes and reconciles (what the periodic resync does); resolves when done. */
  async resync(): Promise<void> {
    this.relist = true;
    await this.reconcile();
  }

  status(): RouteControllerStatus {
    return {
      routes: [...this.kernel.values()].sort((a, b) => a.dst.localeCompare(b.dst)),
      problems: Array.from(this.failed, ([dst, error]) => ({ dst, error })),
    };
  }

  private applyNodes(events: readonly ResourceEvent[]): void {
    for (const e of events) {
      if (e.type === 'delete') this.nodes.delete(e.resource.metadata.name);
      else this.nodes.set(e.resource.metadata.name, parseNode(e.resource));
    }
  }

  private onNodes(events: readonly ResourceEvent[]): Promise<void> {
    this.applyNodes(events);
    // Other nodes' addresses matter only to direct routes.
    return this.options.routing === 'direct' ? this.reconcile() : Promise.resolve();
  }

  private onAffinity(events: readonly EntryEvent[]): Promise<void> {
    applyAffinityEvents(this.blocks, events, (key, error) => this.corrupt(key, error));
    return this.reconcile();
  }

  private corrupt(key: string, error: unknown): void {
    this.options.logger?.error({ key, err: error }, 'affinity document does not decode; keeping that node\'s previous blocks');
  }

  /** Runs one reconcile at a time; changes that arrive meanwhile are covered by one more run. */
  private reconcile(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.rerun = false;
          if (this.stopped) return;
          await this.reconcileOnce();
        } while (this.rerun);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async reconcileOnce(): Promise<void> {
    const { table, logger } = this.options;
    if (this.relist) {
      this.relist = false;
      this.kernel = new Map((await table.list(this.protocol)).map((r) => [r.dst, r]));
    }
    const wanted = desiredRoutes({ nodeName: this.options.nodeName, routing: this.options.routing, nodes: this.nodes, blocks: this.blocks });
    const plan = planRoutes(this.kernel, wanted);
    for (const route of plan.remove) {
      await this.attempt(route.dst, async () => {
        await table.remove(route, this.protocol);
        this.kernel.delete(route.dst);
      });
    }
    for (const route of plan.replace) {
      await this.attempt(route.dst, async () => {
        await table.replace(route, this.protocol);
        this.kernel.set(route.dst, route);
      });
    }
    for (const dst of this.failed.keys()) if (!wanted.has(dst)) this.failed.delete(dst);
    if (plan.remove.length + plan.replace.length > 0) logger?.info({ removed: plan.remove.length, written: plan.replace.length, routes: this.kernel.size }, 'block routes reconciled');
    this.reconciled = true;
  }

  private async attempt(dst: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
      this.failed.delete(dst);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.failed.set(dst, text);
      this.options.logger?.warn({ dst }, `block route not written: ${text}`);
    }
  }
}
