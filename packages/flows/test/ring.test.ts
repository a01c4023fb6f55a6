import { describe, expect, it } from 'vitest';

import { type Flow, FlowFilterError, FlowRing, FlowsArgumentError, type FlowTime, flowTimeOf, type GetFlowsRequest, type GetFlowsResponse, isLazyFlow, type LazyFlow } from '../src/index.js';
import { makeFlow } from './fixtures.js';

/** A clock that moves only when told. */
function fakeClock(start = 1000): { now: () => FlowTime; advance: (seconds: number) => void } {
  let seconds = start;
  return { now: () => ({ seconds, nanos: 0 }), advance: (s) => void (seconds += s) };
}

/** Flow n: uuid `f<n>`, at second n, port 1000+n, DROPPED when n is odd. */
const flowN = (n: number): Flow =>
  makeFlow({ uuid: `f${n}`, verdict: n % 2 === 1 ? 'DROPPED' : 'FORWARDED', l4: { UDP: { sourcePort: 1, destinationPort: 1000 + n } } }, { seconds: n, nanos: 0 });

/** What a stream says, shortly: `f3` for a flow, `lost:nflog:2` for lost events. */
const short = (r: GetFlowsResponse): string => ('flow' in r ? r.flow.uuid : `lost:${r.lostEvents.source}:${r.lostEvents.numEventsLost}`);

async function all(ring: FlowRing, request: GetFlowsRequest): Promise<string[]> {
  const out: string[] = [];
  for await (const r of ring.getFlows(request, new AbortController().signal)) out.push(short(r));
  return out;
}

function ringWith(capacity: number, flows: number[]): FlowRing {
  const ring = new FlowRing({ capacity, nodeName: 'node-a', now: fakeClock().now });
  for (const n of flows) ring.push(flowN(n));
  return ring;
}

describe('FlowRing', () => {
  it('keeps the newest `capacity` flows and counts every flow seen', async () => {
    const ring = ringWith(3, [1, 2, 3, 4, 5]);
    expect([ring.size, ring.capacity, ring.seen]).toEqual([3, 3, 5]);
    expect(await all(ring, {})).toEqual(['f3', 'f4', 'f5']);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new FlowRing({ capacity: 0, nodeName: 'n' })).toThrow(FlowsArgumentError);
    expect(() => new FlowRing({ capacity: 1.5, nodeName: 'n' })).toThrow('FlowRing capacity must be a positive integer, got 1.5');
  });

  it.each<[string, GetFlowsRequest, string[]]>([
    ['all', {}, ['f1', 'f2', 'f3', 'f4', 'f5', 'f6']],
    ['the last 2', { number: 2 }, ['f5', 'f6']],
    ['the first 2', { number: 2, first: true }, ['f1', 'f2']],
    ['more than there are', { number: 50 }, ['f1', 'f2', 'f3', 'f4', 'f5', 'f6']],
    ['the last 2 dropped', { number: 2, whitelist: [{ verdict: ['DROPPED'] }] }, ['f3', 'f5']],
    ['the first 2 not dropped', { number: 2, first: true, blacklist: [{ verdict: ['DROPPED'] }] }, ['f2', 'f4']],
    ['since second 3', { since: { seconds: 3, nanos: 0 } }, ['f3', 'f4', 'f5', 'f6']],
    ['until second 3 (exclusive)', { until: { seconds: 3, nanos: 0 } }, ['f1', 'f2']],
    ['since 2 until 5, last 2', { since: { seconds: 2, nanos: 0 }, until: { seconds: 5, nanos: 0 }, number: 2 }, ['f3', 'f4']],
    ['a port', { whitelist: [{ destinationPort: ['1004'] }] }, ['f4']],
  ])('past flows: %s', async (_what, request, expected) => {
    expect(await all(ringWith(10, [1, 2, 3, 4, 5, 6]), request)).toEqual(expected);
  });

  it('throws a bad filter at once, naming it', () => {
    const ring = ringWith(4, [1]);
    expect(() => ring.getFlows({ whitelist: [{ sourcePort: ['http'] }] }, new AbortController().signal)).toThrow(FlowFilterError);
    expect(() => ring.getFlows({ whitelist: [{ sourcePort: ['http'] }] }, new AbortController().signal)).toThrow('whitelist[0].sourcePort[0]: "http" is not a port');
  });

  it('records lost events in order with the flows, adding up one source while no flow comes between', async () => {
    const ring = ringWith(10, [1]);
    ring.lost('nflog', 2);
    ring.lost('conntrack', 1);
    ring.lost('nflog', 3);
    ring.push(flowN(2));
    ring.lost('nflog', 4);
    ring.lost('ebpf-ringbuf', 0);
    expect(await all(ring, {})).toEqual(['f1', 'lost:nflog:5', 'lost:conntrack:1', 'f2', 'lost:nflog:4']);
    expect(ring.status().numLostEvents).toBe(10);
  });

  it('refuses a negative lost count and an empty source', () => {
    const ring = ringWith(2, []);
    expect(() => ring.lost('nflog', -1)).toThrow('lost(): count must be a non-negative integer, got -1');
    expect(() => ring.lost('', 1)).toThrow(FlowsArgumentError);
  });

  it('tells the time of a lost notice from its clock, and the node name', async () => {
    const clock = fakeClock(500);
    const ring = new FlowRing({ capacity: 4, nodeName: 'node-z', now: clock.now });
    clock.advance(7);
    ring.lost('nflog', 1);
    const [r] = await collect(ring.getFlows({}, new AbortController().signal), 1);
    expect(r).toEqual({ lostEvents: { source: 'nflog', numEventsLost: 1 }, nodeName: 'node-z', time: { seconds: 507, nanos: 0 } });
  });

  it('reports its counters and uptime from the injected clock', () => {
    const clock = fakeClock(100);
    const ring = new FlowRing({ capacity: 2, nodeName: 'node-a', now: clock.now, version: '0.1.0' });
    for (const n of [1, 2, 3]) ring.push(flowN(n));
    ring.lost('nflog', 4);
    clock.advance(3);
    expect(ring.status()).toEqual({ numFlows: 2, maxFlows: 2, seenFlows: 3, uptimeNs: 3e9, numLostEvents: 4, nodeName: 'node-a', version: '0.1.0' });
  });

  it('gives a flow without a node name the ring’s', async () => {
    const ring = ringWith(2, []);
    ring.push(makeFlow({ nodeName: '' }));
    const [r] = await collect(ring.getFlows({}, new AbortController().signal), 1);
    expect(r?.nodeName).toBe('node-a');
  });
});

/** Reads `count` responses from a stream. */
async function collect(stream: AsyncIterable<GetFlowsResponse>, count: number): Promise<GetFlowsResponse[]> {
  const out: GetFlowsResponse[] = [];
  if (count === 0) return out;
  for await (const r of stream) {
    out.push(r);
    if (out.length === count) break;
  }
  return out;
}

describe('FlowRing follow', () => {
  it('sends the last N, then new flows as they are pushed, until the signal aborts', async () => {
    const ring = ringWith(10, [1, 2, 3]);
    const abort = new AbortController();
    const it = ring.getFlows({ number: 1, follow: true }, abort.signal)[Symbol.asyncIterator]();
    expect(short((await it.next()).value as GetFlowsResponse)).toBe('f3');
    const next = it.next();
    ring.push(flowN(4));
    expect(short((await next).value as GetFlowsResponse)).toBe('f4');
    const pending = it.next();
    abort.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('with follow and no number sends no past flows', async () => {
    const ring = ringWith(10, [1, 2]);
    const abort = new AbortController();
    const stream = ring.getFlows({ follow: true }, abort.signal);
    const got = collect(stream, 2);
    ring.push(flowN(3));
    ring.push(flowN(4));
    expect((await got).map(short)).toEqual(['f3', 'f4']);
  });

  it('filters followed flows', async () => {
    const ring = ringWith(10, []);
    const got = collect(ring.getFlows({ follow: true, whitelist: [{ verdict: ['DROPPED'] }] }, new AbortController().signal), 2);
    for (const n of [2, 3, 4, 5]) ring.push(flowN(n));
    expect((await got).map(short)).toEqual(['f3', 'f5']);
  });

  it('sends lost notices as they come, and only what was added since', async () => {
    const ring = ringWith(10, [1]);
    const it = ring.getFlows({ number: 1, follow: true }, new AbortController().signal)[Symbol.asyncIterator]();
    const next = async (): Promise<string> => short((await it.next()).value as GetFlowsResponse);
    expect(await next()).toBe('f1');
    ring.lost('nflog', 2);
    expect(await next()).toBe('lost:nflog:2');
    ring.lost('nflog', 3);
    expect(await next()).toBe('lost:nflog:3');
    ring.lost('nflog', 1);
    ring.push(flowN(2));
    expect([await next(), await next()]).toEqual(['lost:nflog:1', 'f2']);
    // The history still holds the notices added together.
    expect(await all(ring, {})).toEqual(['f1', 'lost:nflog:6', 'f2']);
  });

  it('tells a reader that fell more than the capacity behind how many flows it missed, and goes on', async () => {
    const ring = ringWith(3, [1, 2, 3]);
    const it = ring.getFlows({ number: 3, follow: true }, new AbortController().signal)[Symbol.asyncIterator]();
    expect(short((await it.next()).value as GetFlowsResponse)).toBe('f1');
    // The reader is slow: seven flows come while it holds f1; f2..f7 are overwritten (the ring holds f8..f10).
    for (const n of [4, 5, 6, 7, 8, 9, 10]) ring.push(flowN(n));
    const rest: string[] = [];
    for (let i = 0; i < 4; i++) rest.push(short((await it.next()).value as GetFlowsResponse));
    expect(rest).toEqual(['lost:ring:6', 'f8', 'f9', 'f10']);
    expect(ring.size).toBe(3);
  });

  it('ends a follow at the first flow at or after `until`', async () => {
    const ring = ringWith(10, [1]);
    const stream = ring.getFlows({ follow: true, until: { seconds: 3, nanos: 0 } }, new AbortController().signal);
    const got = (async () => {
      const out: string[] = [];
      for await (const r of stream) out.push(short(r));
      return out;
    })();
    for (const n of [2, 3, 4]) ring.push(flowN(n));
    expect(await got).toEqual(['f2']);
  });

  it('keeps agent (observer) lost notices to since and until like flows', async () => {
    const clock = fakeClock(10);
    const ring = new FlowRing({ capacity: 8, nodeName: 'node-a', now: clock.now });
    ring.lost('observer', 2); // at second 10
    ring.push(flowN(20));
    clock.advance(20);
    ring.lost('observer', 3); // at second 30
    ring.push(flowN(40));
    expect(await all(ring, { since: { seconds: 15, nanos: 0 } })).toEqual(['f20', 'lost:observer:3', 'f40']);
    expect(await all(ring, { until: { seconds: 25, nanos: 0 } })).toEqual(['lost:observer:2', 'f20']);
    // Followed: a notice at or after `until` ends the stream.
    const stream = ring.getFlows({ follow: true, until: { seconds: 35, nanos: 0 } }, new AbortController().signal);
    const got = (async () => {
      const out: string[] = [];
      for await (const r of stream) out.push(short(r));
      return out;
    })();
    clock.advance(10);
    ring.lost('observer', 1); // at second 40
    ring.push(flowN(30));
    expect(await got).toEqual([]);
  });

  it('takes the past as the ring holds it when getFlows is called', async () => {
    const ring = ringWith(10, [1, 2]);
    const past = ring.getFlows({}, new AbortController().signal);
    const followed = ring.getFlows({ follow: true }, new AbortController().signal);
    ring.push(flowN(3));
    expect((await collect(past, 5)).map(short)).toEqual(['f1', 'f2']);
    expect((await collect(followed, 1)).map(short)).toEqual(['f3']);
  });

  it('ends at once for a signal aborted before it starts', async () => {
    const abort = new AbortController();
    abort.abort();
    expect(await collect(ringWith(4, [1, 2]).getFlows({ follow: true, number: 2 }, abort.signal), 5)).toEqual([]);
  });

  it('a cancelled follower leaves no waiter behind on a quiet ring', async () => {
    const ring = ringWith(4, []);
    for (let i = 0; i < 100; i++) {
      const abort = new AbortController();
      const pending = ring.getFlows({ follow: true }, abort.signal)[Symbol.asyncIterator]().next();
      await Promise.resolve();
      expect(ring.waiting).toBe(1);
      abort.abort();
      expect(await pending).toEqual({ done: true, value: undefined });
    }
    expect(ring.waiting).toBe(0);
  });

  it('builds a lazy flow only when a reader or a filter needs it, and serves, filters and times it like a flow', async () => {
    const built: number[] = [];
    const lazy = (n: number): LazyFlow => {
      let flow: Flow | undefined;
      return {
        time: () => ({ seconds: n, nanos: 0 }),
        flow: () => {
          if (flow === undefined) built.push(n);
          return (flow ??= flowN(n));
        },
      };
    };
    const ring = ringWith(4, []);
    for (const n of [1, 2, 3]) ring.push(lazy(n));
    ring.push(flowN(4));
    ring.push(lazy(5)); // overwrites 1, never read
    expect(built).toEqual([]);
    // since: times are read without building the flows before it.
    expect(await all(ring, { since: { seconds: 4, nanos: 0 } })).toEqual(['f4', 'f5']);
    expect(built).toEqual([5]);
    expect(await all(ring, { number: 1, whitelist: [{ verdict: ['DROPPED'] }] })).toEqual(['f5']);
    expect(await all(ring, {})).toEqual(['f2', 'f3', 'f4', 'f5']);
    expect(built).toEqual([5, 2, 3]);
    expect([isLazyFlow(lazy(1)), isLazyFlow(flowN(1))]).toEqual([true, false]);
  });

  it('wakes several followers with one push', async () => {
    const ring = ringWith(4, []);
    const a = collect(ring.getFlows({ follow: true }, new AbortController().signal), 1);
    const b = collect(ring.getFlows({ follow: true }, new AbortController().signal), 1);
    ring.push(flowN(1));
    expect([(await a).map(short), (await b).map(short)]).toEqual([['f1'], ['f1']]);
  });
});

describe('flowTimeOf', () => {
  it('makes a protobuf Timestamp of milliseconds since the epoch, a fraction of a millisecond kept', () => {
    expect(flowTimeOf(1_764_324_000_125)).toEqual({ seconds: 1_764_324_000, nanos: 125_000_000 });
    expect(flowTimeOf(1_500.25)).toEqual({ seconds: 1, nanos: 500_250_000 });
    expect(flowTimeOf(0)).toEqual({ seconds: 0, nanos: 0 });
  });
});
