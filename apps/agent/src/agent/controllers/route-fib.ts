// The BGP speaker's FibSink for the agent: best routes go to the kernel's main table via
// their next hop, marked RTPROT_BGP. The RIB calls `apply` synchronously; the writes are
// queued, coalesced per prefix (the last change wins) and written in the background with a
// bounded number of netlink requests in flight. After a restart the routes already in
// the kernel with that protocol are adopted: they stay untouched while the speaker
// relearns them, and what it has not relearned when `sweep()` is called is removed.
import { type FibBatch, type FibSink, prefixFromKey, prefixToText } from '@twill/bgp';

import { type AgentLogger } from '../ports.js';

import { type KernelRoute, type RouteTable, RTPROT_BGP, sameRoute } from './route-model.js';

/** Options of {@link KernelFibSink}. */
export interface KernelFibSinkOptions {
  readonly table: RouteTable;
  /** The `rtm_protocol` of the routes written and adopted (default RTPROT_BGP, 186). */
  readonly protocol?: number;
  /** Netlink requests in flight at once (default 64). */
  readonly concurrency?: number;
  readonly logger?: AgentLogger;
}

/** A route the sink could not write, and why. */
export interface FibProblem {
  readonly dst: string;
  readonly error: string;
}

/**
 * Writes a BGP speaker's best routes into the kernel. Call {@link KernelFibSink.adopt}
 * before the speaker starts, {@link KernelFibSink.sweep} once it has relearned its routes.
 */
export class KernelFibSink implements FibSink {
  private readonly table: RouteTable;
  private readonly protocol: number;
  private readonly concurrency: number;
  private readonly logger: AgentLogger | undefined;
  /** What the kernel holds with our protocol, as far as we know: prefix → route. */
  private readonly kernel = new Map<string, KernelRoute>();
  /** What the RIB last gave, written or not: prefix → route. */
  private readonly intended = new Map<string, KernelRoute>();
  /** Changes not yet written: prefix → route, or null to remove. */
  private pending = new Map<string, KernelRoute | null>();
  /** Routes found in the kernel (or kept over a speaker restart) that the speaker has not given again. */
  private readonly adopted = new Set<string>();
  private readonly failed = new Map<string, string>();
  private draining: Promise<void> | undefined;

  constructor(options: KernelFibSinkOptions) {
    this.table = options.table;
    this.protocol = options.protocol ?? RTPROT_BGP;
    this.concurrency = options.concurrency ?? 64;
    this.logger = options.logger;
  }

  /**
   * Reads the routes the kernel holds with the sink's protocol; they are kept until
   * {@link sweep} unless the speaker gives them again. Call it before the speaker starts.
   * Returns how many.
   */
  async adopt(): Promise<number> {
    const routes = await this.table.list(this.protocol);
    for (const route of routes) {
      this.kernel.set(route.dst, route);
      this.intended.set(route.dst, route);
      this.adopted.add(route.dst);
    }
    return routes.length;
  }

  /**
   * Marks every route written so far as adopted, as after a restart: for a speaker replaced
   * by a new one, whose routes the next {@link sweep} removes unless it gives them again.
   */
  readoptAll(): void {
    for (const dst of this.kernel.keys()) this.adopted.add(dst);
    for (const dst of this.intended.keys()) this.adopted.add(dst);
  }

  /** Queues a batch from the RIB (synchronous, as the port requires). */
  apply(batch: FibBatch): void {
    batch.forEachRemove((key) => {
      const dst = prefixToText(prefixFromKey(key));
      this.adopted.delete(dst);
      this.intended.delete(dst);
      this.pending.set(dst, null);
    });
    batch.forEachAdd((key, nextHops) => {
      const dst = prefixToText(prefixFromKey(key));
      const gateway = nextHops[0];
      this.adopted.delete(dst);
      const next: KernelRoute | null = gateway === undefined ? null : { dst, type: 'unicast', gateway };
      if (next) this.intended.set(dst, next);
      else this.intended.delete(dst);
      this.pending.set(dst, next);
    });
    this.schedule();
  }

  /** Removes the adopted routes the speaker has not given again; resolves once written. Returns how many. */
  async sweep(): Promise<number> {
    const stale = [...this.adopted];
    this.adopted.clear();
    for (const dst of stale) {
      this.intended.delete(dst);
      this.pending.set(dst, null);
    }
    if (stale.length > 0) this.logger?.info({ routes: stale.length }, 'removing BGP routes no peer gives any more');
    this.schedule();
    await this.flushed();
    return stale.length;
  }

  /** Resolves once every change queued so far is written (or has failed, see {@link problems}). */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** How many adopted routes are waiting for the speaker or a {@link sweep}. */
  adoptedCount(): number {
    return this.adopted.size;
  }

  /** Routes the kernel refused at their last write (a next hop no route covers: ENETUNREACH). */
  problems(): FibProblem[] {
    return Array.from(this.failed, ([dst, error]) => ({ dst, error }));
  }

  private schedule(): void {
    if (this.draining || this.pending.size === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      this.schedule();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const work = this.pending;
      this.pending = new Map();
      const ops: (() => Promise<void>)[] = [];
      for (const [dst, route] of work) {
        const have = this.kernel.get(dst);
        if (route === null) {
          if (have) ops.push(() => this.write(dst, have, null));
          else this.failed.delete(dst);
        } else if (!have || !sameRoute(have, route) || this.failed.has(dst)) {
          ops.push(() => this.write(dst, have, route));
        }
      }
      await runLimited(ops, this.concurrency);
    }
  }

  private async write(dst: string, have: KernelRoute | undefined, route: KernelRoute | null): Promise<void> {
    try {
      if (route === null) {
        await this.table.remove(have ?? { dst, type: 'unicast' }, this.protocol);
        this.kernel.delete(dst);
      } else {
        await this.table.replace(route, this.protocol);
        this.kernel.set(dst, route);
      }
      this.failed.delete(dst);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.failed.set(dst, text);
      this.logger?.warn({ dst, gateway: route?.gateway }, `BGP route not written: ${text}`);
    }
  }
}

/** Runs `ops` with at most `limit` in flight. */
async function runLimited(ops: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ops.length) {
      const op = ops[next];
      next += 1;
      if (op) await op();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, ops.length) }, worker));
}
