import { describe, expect, it } from 'vitest';

import { RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, consumeRecords, pageSizeFromAuxv, pendingBytes, recordSpan } from '../../src/ringbuf/records.js';
import { FakeRing } from './fake-ring.js';

function payload(n: number, length = 5): Uint8Array {
  return new Uint8Array(length).fill(n);
}

describe('ring buffer records', () => {
  it('spans the header and the payload rounded up to 8 bytes', () => {
    expect(recordSpan(0)).toBe(8);
    expect(recordSpan(1)).toBe(16);
    expect(recordSpan(8)).toBe(16);
    expect(recordSpan(9)).toBe(24);
  });

  it('reads records in order and publishes the consumer position after each', () => {
    const ring = new FakeRing(64);
    ring.push(payload(1));
    ring.push(payload(2, 8));
    const result = consumeRecords(ring, 10);
    expect(result.records).toEqual([payload(1), payload(2, 8)]);
    expect(result).toMatchObject({ discarded: 0, busy: false, more: false });
    expect(ring.stores).toEqual([16n, 32n]);
    expect(pendingBytes(ring)).toBe(0);
  });

  it('stops at max and says there is more', () => {
    const ring = new FakeRing(64);
    for (let i = 0; i < 3; i += 1) ring.push(payload(i));
    const first = consumeRecords(ring, 2);
    expect(first.records.length).toBe(2);
    expect(first.more).toBe(true);
    expect(consumeRecords(ring, 2).records).toEqual([payload(2)]);
  });

  it('skips discarded records without counting them against max', () => {
    const ring = new FakeRing(128);
    ring.push(payload(1));
    ring.push(payload(2), RINGBUF_DISCARD_BIT);
    ring.push(payload(3));
    const result = consumeRecords(ring, 2);
    expect(result.records).toEqual([payload(1), payload(3)]);
    expect(result.discarded).toBe(1);
    expect(ring.consumer).toBe(48n);
  });

  it('stops at a busy record and goes on once it is committed', () => {
    const ring = new FakeRing(128);
    ring.push(payload(1));
    const busy = ring.push(payload(2), RINGBUF_BUSY_BIT);
    ring.push(payload(3)); // committed after a busy one: not readable yet
    const first = consumeRecords(ring, 10);
    expect(first.records).toEqual([payload(1)]);
    expect(first.busy).toBe(true);
    expect(ring.consumer).toBe(16n);
    ring.setFlags(busy, 5, 0);
    expect(consumeRecords(ring, 10).records).toEqual([payload(2), payload(3)]);
  });

  it('reads records that wrap around the end of the data area as one range', () => {
    const ring = new FakeRing(64);
    const seen: Uint8Array[] = [];
    // 24-byte records in a 64-byte ring: positions 0, 24, 48 (wraps), 72, ...
    for (let i = 0; i < 20; i += 1) {
      ring.push(payload(i, 13));
      if (i % 2 === 1) seen.push(...consumeRecords(ring, 10).records);
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => payload(i, 13)));
    expect(ring.consumer).toBe(480n);
  });

  it('copies records out: later writes into the ring do not change them', () => {
    const ring = new FakeRing(32);
    ring.push(payload(7));
    const [record] = consumeRecords(ring, 1).records;
    ring.push(payload(9));
    ring.push(payload(9));
    expect(record).toEqual(payload(7));
  });

  it('refuses a header whose length runs past the producer position', () => {
    const ring = new FakeRing(64);
    ring.push(payload(1));
    ring.setFlags(0n, 40, 0);
    expect(() => consumeRecords(ring, 10)).toThrowError(/runs past the producer position 16/);
  });

  it('finds AT_PAGESZ in the auxiliary vector', () => {
    const auxv = new Uint8Array(64);
    const view = new DataView(auxv.buffer);
    view.setBigUint64(0, 33n, true); // AT_SYSINFO_EHDR
    view.setBigUint64(8, 0x7fff0000n, true);
    view.setBigUint64(16, 6n, true); // AT_PAGESZ
    view.setBigUint64(24, 16384n, true);
    expect(pageSizeFromAuxv(auxv)).toBe(16384);
    expect(() => pageSizeFromAuxv(new Uint8Array(32))).toThrowError(/AT_PAGESZ/);
  });
});
