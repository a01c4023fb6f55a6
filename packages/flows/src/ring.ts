// A bounded ring of recent flows, with the lost-event notices recorded between them, and
// the GetFlows logic over it (past flows, then follow). Pure: time comes from an injected
// clock, waiting is on a promise that push() settles, never a timer.
//
// Readers hold a cursor (the sequence number of the next flow to read) instead of a queue
// of their own, so push() costs the same however many streams follow, and a slow reader
// costs no memory: when the ring overwrites flows it has not read yet, it skips to the
// oldest flow still there and is told how many it missed (a LostEvent from `ring`).
//
// What is pushed is a Flow, or a LazyFlow: a compact record the ring makes into a Flow
// only when a reader reads it (or a filter looks at it), so an ingest at 100k events/s
// does not pay for records nobody reads.
import { FlowsArgumentError } from './errors.js';
import { compileFlowFilters } from './filters/compile.js';
import type { Flow, FlowTime, GetFlowsRequest, GetFlowsResponse, ServerStatus } from './model.js';

/** The lost-event notices recorded between two flows: per source, the count and the time of the last one. */
type LostGroup = Map<string, { count: number; time: FlowTime }>;

/** Where a reader is: the next flow to read, and what it already got of the notices after the newest flow. */
interface Cursor {
  seq: number;
  delivered: Map<string, number> | undefined;
}

/**
 * A flow built only when read: push one instead of a {@link Flow} when building every
 * record costs more than keeping a compact one (an agent ingesting 100k events/s that
 * few read). The ring calls `flow()` for each response it makes of the item and for each
 * filter that looks at it, so an implementation builds once and keeps the result, and
 * returns the same flow every time; it must not throw.
 */
export interface LazyFlow {
  /** The flow's `time`, without building it (for `since` and `until`). */
  time(): FlowTime;
  /** The flow, built on the first call. */
  flow(): Flow;
}

/** Whether a pushed item is a {@link LazyFlow} (a Flow has no `flow` method). */
export function isLazyFlow(item: Flow | LazyFlow): item is LazyFlow {
  return typeof (item as Partial<LazyFlow>).flow === 'function';
}

/** Options of a {@link FlowRing}. */
export interface FlowRingOptions {
  /** How many flows the ring keeps (a positive integer); the oldest is overwritten. */
  readonly capacity: number;
  /** This node's name: the `nodeName` of responses, and of flows that carry none. */
  readonly nodeName: string;
  /** The wall clock (defaults to Date.now); lost notices and uptime use it. */
  readonly now?: () => FlowTime;
  /** The version ServerStatus reports (default ''). */
  readonly version?: string;
}

/** Compares two times: negative, zero or positive. */
export function compareFlowTime(a: FlowTime, b: FlowTime): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.nanos - b.nanos;
}

/** A protobuf Timestamp of `ms` milliseconds since the epoch (a fraction of a millisecond kept, to the nanosecond). */
export function flowTimeOf(ms: number): FlowTime {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

const systemNow = (): FlowTime => flowTimeOf(Date.now());

/** A bounded ring of recent flows and lost-event notices; the observer server's source. */
export class FlowRing {
  /** How many flows the ring keeps. */
  readonly capacity: number;
  private readonly nodeName: string;
  private readonly now: () => FlowTime;
  private readonly version: string;
  private readonly started: FlowTime;
  private readonly flows: (Flow | LazyFlow | undefined)[];
  private readonly lostBefore: (LostGroup | undefined)[];
  /** Sequence number of the next flow: flows pushed since start. */
  private head = 0;
  /** Notices recorded after the newest flow (they go with the next one). */
  private openLost: LostGroup | undefined;
  private lostTotal = 0;
  /** The followers waiting for the next push, each with its own resolver (removed when its signal aborts). */
  private readonly waiters = new Set<() => void>();

  /** @throws FlowsArgumentError when `capacity` is not a positive integer. */
  constructor(options: FlowRingOptions) {
    const { capacity } = options;
    if (!Number.isSafeInteger(capacity) || capacity <= 0) {
      throw new FlowsArgumentError(`FlowRing capacity must be a positive integer, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.nodeName = options.nodeName;
    this.now = options.now ?? systemNow;
    this.version = options.version ?? '';
    this.started = this.now();
    this.flows = new Array<Flow | LazyFlow | undefined>(capacity);
    this.lostBefore = new Array<LostGroup | undefined>(capacity);
  }

  /** Flows in the ring now. */
  get size(): number {
    return Math.min(this.head, this.capacity);
  }

  /** Flows pushed since start. */
  get seen(): number {
    return this.head;
  }

  /** Events lost since start, all sources (the counts given to {@link lost}). */
  get lostCount(): number {
    return this.lostTotal;
  }

  /** Records a flow (or a {@link LazyFlow}, built when read), overwriting the oldest when full. O(1); wakes the followers. */
  push(flow: Flow | LazyFlow): void {
    const i = this.head % this.capacity;
    this.flows[i] = flow;
    this.lostBefore[i] = this.openLost;
    this.openLost = undefined;
    this.head++;
    this.wake();
  }

  /**
   * Records that `count` events from `source` were lost (`ebpf-ringbuf`, `nflog`,
   * `conntrack`, `observer` for the agent's budget), in order with the flows; notices from one source are added
   * together while no flow comes between. A count of 0 records nothing.
   * @throws FlowsArgumentError when `count` is not a non-negative integer or `source` is empty.
   */
  lost(source: string, count: number): void {
    if (typeof source !== 'string' || source === '') throw new FlowsArgumentError('lost(): source must be a non-empty string');
    if (!Number.isSafeInteger(count) || count < 0) throw new FlowsArgumentError(`lost(): count must be a non-negative integer, got ${String(count)}`);
    if (count === 0) return;
    this.openLost ??= new Map();
    const entry = this.openLost.get(source);
    const time = this.now();
    if (entry === undefined) this.openLost.set(source, { count, time });
    else {
      entry.count += count;
      entry.time = time;
    }
    this.lostTotal += count;
    this.wake();
  }

  /** The counters ServerStatus reports. */
  status(): ServerStatus {
    const now = this.now();
    const uptimeNs = Math.max(0, (now.seconds - this.started.seconds) * 1e9 + (now.nanos - this.started.nanos));
    return {
      numFlows: this.size,
      maxFlows: this.capacity,
      seenFlows: this.head,
      uptimeNs,
      numLostEvents: this.lostTotal,
      nodeName: this.nodeName,
      version: this.version,
    };
  }

  /**
   * GetFlows: the past flows the request selects, in order (the newest `number`, or the
   * oldest with `first`; all when `number` is absent or 0, none when it is and `follow` is
   * set without `since`), with the lost notices between them; then, with `follow`, new
   * flows as they are pushed until `signal` aborts (or a flow at or after `until` comes).
   * A reader that falls more than `capacity` flows behind gets a LostEvent from
   * `ring` with the number it missed, and goes on from the oldest flow still there.
   * @throws FlowFilterError (at once, not on iteration) when a filter value is bad.
   * @throws FlowsArgumentError when `number` is not a non-negative integer.
   */
  getFlows(request: GetFlowsRequest, signal: AbortSignal): AsyncIterable<GetFlowsResponse> {
    const matches = compileFlowFilters(request);
    const number = request.number ?? 0;
    if (!Number.isSafeInteger(number) || number < 0) throw new FlowsArgumentError(`number must be a non-negative integer, got ${String(number)}`);
    // The past is what the ring holds now, when the request is made, not on first read.
    const cursor: Cursor = { seq: this.startSeq(request, number, matches), delivered: undefined };
    return this.stream(request, number, matches, signal, cursor, this.head);
  }

  /** Streams waiting for the next push or lost notice (followers that have read everything). */
  get waiting(): number {
    return this.waiters.size;
  }

  private wake(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const done of waiters) done();
  }

  /** Resolves at the next push or lost notice, or when `signal` aborts; an aborted waiter leaves nothing behind. */
  private nextPush(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** The flow at `seq` (in the ring), built if it is lazy. */
  private flowAt(seq: number): Flow {
    const item = this.flows[seq % this.capacity] as Flow | LazyFlow;
    return isLazyFlow(item) ? item.flow() : item;
  }

  /** The time of the flow at `seq` (in the ring), without building it. */
  private timeAt(seq: number): FlowTime {
    const item = this.flows[seq % this.capacity] as Flow | LazyFlow;
    return isLazyFlow(item) ? item.time() : item.time;
  }

  private oldest(): number {
    return Math.max(0, this.head - this.capacity);
  }

  private inTime(time: FlowTime, request: GetFlowsRequest): boolean {
    return (request.since === undefined || compareFlowTime(time, request.since) >= 0) && (request.until === undefined || compareFlowTime(time, request.until) < 0);
  }

  /** The sequence number past reading starts at. */
  private startSeq(request: GetFlowsRequest, number: number, matches: (flow: Flow) => boolean): number {
    if (number === 0) return request.follow === true && request.since === undefined ? this.head : this.oldest();
    if (request.first === true) return this.oldest();
    let found = 0;
    const timed = request.since !== undefined || request.until !== undefined;
    for (let seq = this.head - 1; seq >= this.oldest(); seq--) {
      if ((!timed || this.inTime(this.timeAt(seq), request)) && matches(this.flowAt(seq)) && ++found === number) return seq;
    }
    return this.oldest();
  }

  private lostResponse(source: string, count: number, time: FlowTime): GetFlowsResponse {
    return { lostEvents: { source, numEventsLost: count }, nodeName: this.nodeName, time };
  }

  /**
   * The responses at the cursor (notices, then a flow), advancing it; [] when it has read
   * everything. A flow whose time `keep` refuses is passed over without being built.
   */
  private read(cursor: Cursor, keep?: (time: FlowTime) => boolean): GetFlowsResponse[] {
    const out: GetFlowsResponse[] = [];
    const oldest = this.oldest();
    if (cursor.seq < oldest) {
      out.push(this.lostResponse('ring', oldest - cursor.seq, this.now()));
      cursor.seq = oldest;
      cursor.delivered = undefined;
    }
    const group = cursor.seq < this.head ? this.lostBefore[cursor.seq % this.capacity] : this.openLost;
    if (group !== undefined) {
      const delivered = cursor.delivered;
      for (const [source, { count, time }] of group) {
        const fresh = count - (delivered?.get(source) ?? 0);
        if (fresh > 0) out.push(this.lostResponse(source, fresh, time));
      }
    }
    if (cursor.seq < this.head) {
      if (keep === undefined || keep(this.timeAt(cursor.seq))) {
        const flow = this.flowAt(cursor.seq);
        out.push({ flow, nodeName: flow.nodeName !== '' ? flow.nodeName : this.nodeName, time: flow.time });
      }
      cursor.seq++;
      cursor.delivered = undefined;
    } else if (group !== undefined) {
      // At the newest flow: remember what was sent of the notices still being added to.
      cursor.delivered = new Map([...group].map(([source, { count }]) => [source, count]));
    }
    return out;
  }

  private async *stream(
    request: GetFlowsRequest,
    number: number,
    matches: (flow: Flow) => boolean,
    signal: AbortSignal,
    cursor: Cursor,
    end: number,
  ): AsyncGenerator<GetFlowsResponse> {
    const limit = request.first === true && number > 0 ? number : Infinity;
    let sent = 0;
    const keep = request.since === undefined && request.until === undefined ? undefined : (time: FlowTime): boolean => this.inTime(time, request);
    // The past: up to the newest flow at the time of the request.
    while (cursor.seq < end && sent < limit && !signal.aborted) {
      for (const r of this.read(cursor, keep)) {
        if ('flow' in r) {
          // read() passed over the flows out of [since, until) already.
          if (!matches(r.flow)) continue;
          sent++;
        } else if (!this.inTime(r.time, request)) continue;
        yield r;
      }
    }
    if (request.follow !== true) {
      // The notices recorded after the newest flow belong to the past too.
      if (cursor.seq === this.head && sent < limit && !signal.aborted) {
        for (const r of this.read(cursor)) if (this.inTime(r.time, request)) yield r;
      }
      return;
    }
    if (sent >= limit) cursor.seq = Math.max(cursor.seq, this.head);
    // The future: new flows as they come, until the signal aborts.
    while (!signal.aborted) {
      const batch = this.read(cursor);
      if (batch.length === 0) {
        await this.nextPush(signal);
        continue;
      }
      for (const r of batch) {
        if (request.until !== undefined && compareFlowTime(r.time, request.until) >= 0) return;
        if ('flow' in r && !matches(r.flow)) continue;
        yield r;
        if (signal.aborted) return;
      }
    }
  }
}
