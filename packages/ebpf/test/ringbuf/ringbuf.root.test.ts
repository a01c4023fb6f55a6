import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { rootSkipReason } from '@twill/sys/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MapType, ProgramBuilder, ProgramType, R, createMap, createRingBuffer, loadProgram, u32, u64 } from '../../src/index.js';
import { type RingBufferReader, openRingBufferReader } from '../../src/ringbuf/reader.js';
import { ensureBpffs, leftovers, pinPath } from '../bpffs.js';

const reason = rootSkipReason('loads eBPF programs that write to ring buffers');

/** Enough bytes for a socket filter's test run. */
const packet = new Uint8Array(64);

/** Each record: the run number n (u64), then n * 3 (u64). 16 bytes, 24 with the header. */
function decode(record: Uint8Array): [bigint, bigint] {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  return [view.getBigUint64(0, true), view.getBigUint64(8, true)];
}

describe.skipIf(reason)(`ring buffer reader as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const open: { close(): void }[] = [];
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }
  let unmount: () => void = () => undefined;
  beforeAll(() => {
    unmount = ensureBpffs();
  });
  afterEach(() => {
    for (const object of open.splice(0).reverse()) object.close();
    expect(leftovers()).toEqual([]);
  });
  afterAll(() => unmount());

  /**
   * A program that numbers its runs (counts[0]), reserves a 16-byte record and writes n and
   * n * 3 into it, discards it when n is a multiple of `discardEvery` (0: never), submits it
   * otherwise, and counts failed reservations in counts[1].
   */
  function writer(discardEvery = 0) {
    const ring = track(createRingBuffer({ size: 4096, name: 'twt_ring' }));
    const counts = track(createMap({ type: MapType.Array, key: u32, value: u64, maxEntries: 2, name: 'twt_counts' }));
    const b = new ProgramBuilder()
      .st('w', R.R10, -4, 0)
      .mov64(R.R2, R.R10)
      .add64(R.R2, -4)
      .ldMapFd(R.R1, counts)
      .call('map_lookup_elem')
      .jeq(R.R0, 0, 'out')
      .ldx('dw', R.R6, R.R0, 0)
      .add64(R.R6, 1)
      .stx('dw', R.R0, 0, R.R6) // r6 = ++counts[0]
      .ldMapFd(R.R1, ring)
      .mov64(R.R2, 16)
      .mov64(R.R3, 0)
      .call('ringbuf_reserve')
      .jeq(R.R0, 0, 'lost')
      .stx('dw', R.R0, 0, R.R6)
      .mov64(R.R7, R.R6)
      .alu64('mul', R.R7, 3)
      .stx('dw', R.R0, 8, R.R7)
      .mov64(R.R1, R.R0)
      .mov64(R.R2, 0);
    if (discardEvery > 0) {
      b.mov64(R.R8, R.R6).alu64('mod', R.R8, discardEvery).jeq(R.R8, 0, 'discard');
    }
    b.call('ringbuf_submit').ja('out');
    if (discardEvery > 0) b.label('discard').call('ringbuf_discard').ja('out');
    b.label('lost')
      .st('w', R.R10, -8, 1)
      .mov64(R.R2, R.R10)
      .add64(R.R2, -8)
      .ldMapFd(R.R1, counts)
      .call('map_lookup_elem')
      .jeq(R.R0, 0, 'out')
      .mov64(R.R1, 1)
      .atomicAdd('dw', R.R0, 0, R.R1);
    b.label('out').mov64(R.R0, 0).exit();
    const program = track(loadProgram({ type: ProgramType.SocketFilter, instructions: b.build(), license: 'GPL', name: 'twt_ringw' }));
    return { ring, counts, run: (times: number) => program.testRun({ data: packet, repeat: times }) };
  }

  it('reads exactly N records, in order, across several wrap-arounds, a bounded batch at a time', () => {
    const { ring, run } = writer();
    const reader = track(openRingBufferReader(ring, { batchSize: 7 }));
    const seen: bigint[] = [];
    // 4096 bytes hold 170 records of 24 bytes: 1000 records wrap the ring about 6 times.
    for (let written = 0; written < 1000; written += 100) {
      run(100);
      for (;;) {
        const batch = reader.read();
        expect(batch.length).toBeLessThanOrEqual(7);
        if (batch.length === 0) break;
        for (const record of batch) {
          const [n, triple] = decode(record);
          expect(triple).toBe(n * 3n);
          seen.push(n);
        }
      }
    }
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => BigInt(i + 1)));
    expect(reader.pendingBytes).toBe(0);
    expect(reader.lost).toEqual({ reader: 0, producer: undefined, total: 0n });
  });

  it('skips discarded records', () => {
    const { ring, run } = writer(3);
    const reader = track(openRingBufferReader(ring));
    run(30);
    const numbers = reader.read(100).map((record) => decode(record)[0]);
    expect(numbers).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i + 1)).filter((n) => n % 3n !== 0n));
    expect(reader.discarded).toBe(10);
  });

  it('delivers to a callback from the poll loop without blocking, and counts what the producer lost', async () => {
    const { ring, counts, run } = writer();
    // Written before anyone reads: 170 records fit, the other 30 reservations fail.
    run(200);
    const seen: bigint[] = [];
    let arrived: () => void = () => undefined;
    let reader: RingBufferReader | undefined;
    await new Promise<void>((resolve) => {
      reader = track(
        openRingBufferReader(ring, {
          batchSize: 16,
          lostCounter: () => counts.lookup(1) ?? 0n,
          onRecord: (record) => {
            seen.push(decode(record)[0]);
            if (seen.length === 170) resolve();
            if (seen.length === 175) arrived();
          },
        }),
      );
    });
    expect(seen).toEqual(Array.from({ length: 170 }, (_, i) => BigInt(i + 1)));
    expect(reader?.lost).toEqual({ reader: 0, producer: 30n, total: 30n });

    // A bounded batch per wakeup: 170 records in batches of at most 16.
    expect(reader!.wakeups).toBeGreaterThanOrEqual(11);
    // New records wake the idle reader: no timer polls the ring in between.
    const woken = reader!.wakeups;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(reader!.wakeups).toBe(woken);
    const more = new Promise<void>((resolve) => (arrived = resolve));
    run(5);
    await more;
    expect(seen.slice(170)).toEqual([201n, 202n, 203n, 204n, 205n]);
  });

  it('iterates records with for await, and ends when closed', async () => {
    const { ring, run } = writer();
    const reader = track(openRingBufferReader(ring, { batchSize: 4 }));
    run(10);
    const numbers: bigint[] = [];
    for await (const record of reader) {
      numbers.push(decode(record)[0]);
      if (numbers.length === 10) break; // leaving the loop closes the reader
    }
    expect(numbers).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    expect(reader.closed).toBe(true);
  });

  it('refuses a second reader watching the same map fd', () => {
    const { ring } = writer();
    track(openRingBufferReader(ring, { onRecord: () => undefined }));
    expect(() => openRingBufferReader(ring, { onRecord: () => undefined })).toThrowError(expect.objectContaining({ name: 'SysError', code: 'EEXIST' }));
  });

  it('wakes another process when records arrive, and closing its reader lets that process exit', async () => {
    const { ring, run } = writer();
    const path = pinPath();
    ring.pin(path);
    track({ close: () => unpin(path) });
    // The child opens the pinned ring, reads five records as they are signalled, closes
    // its reader and map, and has nothing left keeping it alive.
    const source = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
    const script = `
      import { openPinnedMapHandle, openRingBufferReader } from ${JSON.stringify(source)};
      const map = openPinnedMapHandle(${JSON.stringify(path)});
      let count = 0;
      const reader = openRingBufferReader({ fd: map.fd, size: map.info().maxEntries }, {
        onRecord: (record) => {
          count += 1;
          if (count < 5) return;
          reader.close();
          map.close();
          process.stdout.write('read 5 in ' + reader.wakeups + ' wakeup(s)');
        },
      });
      process.stdout.write('watching\\n');
    `;
    const child = spawn(process.execPath, ['--conditions=@twill/source', '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('watching')) resolve();
      });
      child.on('exit', () => resolve()); // a child that failed to start
    });
    run(5);
    expect(await exited).toBe(0);
    expect(output).toMatch(/^watching\nread 5 in \d+ wakeup\(s\)$/);
  }, 30_000);
});

/** Removes a pin (the test's own, in the private bpffs). */
function unpin(path: string): void {
  rmSync(path, { force: true });
}
