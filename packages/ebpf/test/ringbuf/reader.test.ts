import { describe, expect, it } from 'vitest';

import { RingBufferReader } from '../../src/ringbuf/reader.js';
import { FakeRing, ManualScheduler } from './fake-ring.js';

function payload(n: number): Uint8Array {
  return new Uint8Array([n, n, n]);
}

function setup(options: ConstructorParameters<typeof RingBufferReader>[2] = {}) {
  const ring = new FakeRing(4096);
  const scheduler = new ManualScheduler();
  let released = 0;
  const reader = new RingBufferReader(ring, () => (released += 1), { scheduler, ...options });
  return { ring, scheduler, reader, released: () => released };
}

describe('RingBufferReader', () => {
  it('delivers a bounded batch per tick, goes again at once while records keep coming, and backs off when idle', () => {
    const seen: number[] = [];
    const { ring, scheduler, reader } = setup({ batchSize: 4, minDelay: 1, maxDelay: 8, onRecord: (r) => seen.push(r[0]!) });
    for (let i = 0; i < 10; i += 1) ring.push(payload(i));
    expect(scheduler.scheduled).toBe('immediate');
    scheduler.tick();
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(scheduler.scheduled).toBe('immediate');
    scheduler.tick();
    scheduler.tick();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(scheduler.scheduled).toBe(1); // fewer than a batch: a timer, at the shortest delay
    scheduler.tick();
    expect(scheduler.scheduled).toBe(2);
    scheduler.tick();
    expect(scheduler.scheduled).toBe(4);
    scheduler.tick();
    scheduler.tick();
    expect(scheduler.scheduled).toBe(8); // capped at maxDelay
    scheduler.tick();
    expect(scheduler.scheduled).toBe(8);
    ring.push(payload(10));
    scheduler.tick();
    expect(seen.at(-1)).toBe(10);
    expect(scheduler.scheduled).toBe(1); // back to the shortest delay
    expect(reader.received).toBe(11);
    reader.close();
    expect(scheduler.scheduled).toBeUndefined();
  });

  it('iterates records and ends the iteration on close', async () => {
    const { ring, scheduler, reader, released } = setup();
    const iterator = reader[Symbol.asyncIterator]();
    const first = iterator.next();
    ring.push(payload(1));
    ring.push(payload(2));
    scheduler.tick();
    expect(await first).toEqual({ done: false, value: payload(1) });
    expect(await iterator.next()).toEqual({ done: false, value: payload(2) });
    const pending = iterator.next();
    reader.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(released()).toBe(1);
    reader.close();
    expect(released()).toBe(1);
  });

  it('pauses reading the ring while the iterator queue is full', async () => {
    const { ring, scheduler, reader } = setup({ maxQueued: 3, batchSize: 10 });
    const iterator = reader[Symbol.asyncIterator]();
    for (let i = 0; i < 6; i += 1) ring.push(payload(i));
    const first = iterator.next();
    scheduler.tick(); // one to the waiting next(), three queued, two left in the ring
    expect(await first).toEqual({ done: false, value: payload(0) });
    expect(reader.pendingBytes).toBe(32);
    expect(scheduler.scheduled).toBeUndefined(); // paused
    expect((await iterator.next()).value).toEqual(payload(1)); // resumes
    expect(scheduler.scheduled).toBe('immediate');
    scheduler.tick(); // room for one: records 1..4 read, 5 still in the ring
    expect(reader.pendingBytes).toBe(16);
    const rest = [];
    for (let i = 0; i < 4; i += 1) {
      const next = iterator.next();
      if (scheduler.scheduled !== undefined) scheduler.tick();
      rest.push((await next).value?.[0]);
    }
    expect(rest).toEqual([2, 3, 4, 5]);
    expect(reader.lost).toEqual({ reader: 0, producer: undefined, total: 0n });
  });

  it("drops and counts what does not fit the queue with overflow 'drop'", async () => {
    const { ring, scheduler, reader } = setup({ maxQueued: 2, overflow: 'drop', lostCounter: () => 5 });
    reader[Symbol.asyncIterator]();
    for (let i = 0; i < 6; i += 1) ring.push(payload(i));
    reader.read(0); // nothing: a zero-sized read
    const iterator = reader[Symbol.asyncIterator]();
    const first = iterator.next();
    scheduler.tick();
    expect(await first).toEqual({ done: false, value: payload(0) });
    expect(reader.lost).toEqual({ reader: 3, producer: 5n, total: 8n });
    expect(reader.pendingBytes).toBe(0);
  });

  it('reads synchronously with read(), queued records first', () => {
    const { ring, reader } = setup({ batchSize: 2 });
    for (let i = 0; i < 5; i += 1) ring.push(payload(i));
    expect(reader.read().map((r) => r[0])).toEqual([0, 1]);
    expect(reader.read(10).map((r) => r[0])).toEqual([2, 3, 4]);
    reader.close();
    expect(reader.read()).toEqual([]);
  });

  it('passes callback errors to onError, or closes and throws', () => {
    const errors: unknown[] = [];
    const a = setup({ onRecord: () => { throw new Error('boom'); }, onError: (e) => errors.push(e) });
    a.ring.push(payload(1));
    a.ring.push(payload(2));
    a.scheduler.tick();
    expect(errors).toHaveLength(2);
    expect(a.reader.closed).toBe(false);

    const b = setup({ onRecord: () => { throw new Error('boom'); } });
    b.ring.push(payload(1));
    expect(() => b.scheduler.tick()).toThrowError('boom');
    expect(b.reader.closed).toBe(true);
  });

  it('refuses bad options and iterating a callback reader', () => {
    expect(() => setup({ batchSize: 0 })).toThrowError(/batchSize 0/);
    expect(() => setup({ minDelay: -1 })).toThrow(RangeError);
    const { reader } = setup({ onRecord: () => undefined });
    expect(() => reader[Symbol.asyncIterator]()).toThrowError(/onRecord/);
    reader.close();
  });
});
