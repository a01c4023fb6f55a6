import { afterEach, describe, expect, it, vi } from 'vitest';

import { RingBufferReader } from '../../src/ringbuf/reader.js';
import { FakeRing, ManualWakeup } from './fake-ring.js';

function payload(n: number): Uint8Array {
  return new Uint8Array([n, n, n]);
}

function setup(options: ConstructorParameters<typeof RingBufferReader>[2] = {}) {
  const ring = new FakeRing(4096);
  const wakeup = new ManualWakeup();
  let released = 0;
  const reader = new RingBufferReader(ring, () => (released += 1), options, wakeup.watch);
  return { ring, wakeup, reader, released: () => released };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('RingBufferReader', () => {
  it('reads a bounded batch per wakeup and sets no timer, idle or busy', () => {
    vi.useFakeTimers();
    const seen: number[] = [];
    const { ring, wakeup, reader } = setup({ batchSize: 4, onRecord: (r) => seen.push(r[0]!) });
    expect(wakeup.watching).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    for (let i = 0; i < 10; i += 1) ring.push(payload(i));
    wakeup.wake();
    expect(seen).toEqual([0, 1, 2, 3]);
    // The ring stays readable, so the loop wakes the reader again on its next turn.
    wakeup.wake();
    wakeup.wake();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(reader.wakeups).toBe(3);
    expect(vi.getTimerCount()).toBe(0); // no timer, no immediate: the kernel wakes the reader
    ring.push(payload(10));
    wakeup.wake();
    expect(seen.at(-1)).toBe(10);
    expect(reader.received).toBe(11);
    reader.close();
    expect(wakeup.watching).toBe(false); // the watch is released, so the process can exit
    expect(reader.watching).toBe(false);
  });

  it('iterates records and ends the iteration on close', async () => {
    const { ring, wakeup, reader, released } = setup();
    expect(wakeup.watching).toBe(false); // nobody to give records to yet
    const iterator = reader[Symbol.asyncIterator]();
    expect(wakeup.watching).toBe(true);
    const first = iterator.next();
    ring.push(payload(1));
    ring.push(payload(2));
    wakeup.wake();
    expect(await first).toEqual({ done: false, value: payload(1) });
    expect(await iterator.next()).toEqual({ done: false, value: payload(2) });
    const pending = iterator.next();
    reader.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(released()).toBe(1);
    expect(wakeup.watching).toBe(false);
    reader.close();
    expect(released()).toBe(1);
  });

  it('stops watching while the iterator queue is full, and watches again when it drains', async () => {
    const { ring, wakeup, reader } = setup({ maxQueued: 3, batchSize: 10 });
    const iterator = reader[Symbol.asyncIterator]();
    for (let i = 0; i < 6; i += 1) ring.push(payload(i));
    const first = iterator.next();
    wakeup.wake(); // one to the waiting next(), three queued, two left in the ring
    expect(await first).toEqual({ done: false, value: payload(0) });
    expect(reader.pendingBytes).toBe(32);
    expect(wakeup.watching).toBe(false); // paused: a readable ring would otherwise wake it every turn
    expect((await iterator.next()).value).toEqual(payload(1)); // resumes
    expect(wakeup.watching).toBe(true);
    wakeup.wake(); // room for one: record 4 read, 5 still in the ring
    expect(reader.pendingBytes).toBe(16);
    const rest = [];
    for (let i = 0; i < 4; i += 1) {
      const next = iterator.next();
      if (wakeup.watching && reader.pendingBytes > 0) wakeup.wake();
      rest.push((await next).value?.[0]);
    }
    expect(rest).toEqual([2, 3, 4, 5]);
    expect(reader.lost).toEqual({ reader: 0, producer: undefined, total: 0n });
  });

  it("drops and counts what does not fit the queue with overflow 'drop'", async () => {
    const { ring, wakeup, reader } = setup({ maxQueued: 2, overflow: 'drop', lostCounter: () => 5 });
    for (let i = 0; i < 6; i += 1) ring.push(payload(i));
    expect(reader.read(0)).toEqual([]); // nothing: a zero-sized read
    const iterator = reader[Symbol.asyncIterator]();
    const first = iterator.next();
    wakeup.wake();
    expect(await first).toEqual({ done: false, value: payload(0) });
    expect(reader.lost).toEqual({ reader: 3, producer: 5n, total: 8n });
    expect(reader.pendingBytes).toBe(0);
    expect(wakeup.watching).toBe(true); // dropping never pauses
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
    a.wakeup.wake();
    expect(errors).toHaveLength(2);
    expect(a.reader.closed).toBe(false);

    const b = setup({ onRecord: () => { throw new Error('boom'); } });
    b.ring.push(payload(1));
    expect(() => b.wakeup.wake()).toThrowError('boom');
    expect(b.reader.closed).toBe(true);
  });

  it('closes when watching the ring fails, and says why', () => {
    const errors: unknown[] = [];
    const { wakeup, reader } = setup({ onRecord: () => undefined, onError: (e) => errors.push(e) });
    const failure = new Error('poll fd 7: EBADF');
    wakeup.wake(failure);
    expect(errors).toEqual([failure]);
    expect(reader.closed).toBe(true);
  });

  it('refuses bad options and iterating a callback reader', () => {
    expect(() => setup({ batchSize: 0 })).toThrowError(/batchSize 0/);
    expect(() => setup({ maxQueued: -1 })).toThrow(RangeError);
    const { reader } = setup({ onRecord: () => undefined });
    expect(() => reader[Symbol.asyncIterator]()).toThrowError(/onRecord/);
    reader.close();
  });
});
