// watchFd on the descriptor it was made for: a BPF ring buffer map, readable when it
// holds records (kernel/bpf/ringbuf.c `ringbuf_map_poll_user`), not before, and not
// after the consumer has caught up.
import { closeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { type FdWatcher, addressOf, bpf, mmap, munmap, watchFd } from '../src/index.js';
import { rootSkipReason } from '../src/testing/index.js';

const reason = rootSkipReason('creates BPF ring buffers');

const BPF_MAP_CREATE = 0;
const BPF_PROG_LOAD = 5;
const BPF_PROG_TEST_RUN = 10;
const BPF_MAP_TYPE_RINGBUF = 27;
const BPF_PROG_TYPE_SOCKET_FILTER = 1;
const BPF_FUNC_ringbuf_output = 130;
const PAGE = 4096;

function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint8(0, code);
  b.setUint8(1, (src << 4) | dst);
  b.setInt16(2, off, true);
  b.setInt32(4, imm, true);
  return [...new Uint8Array(b.buffer)];
}

function createRing(): number {
  const attr = new DataView(new ArrayBuffer(128));
  attr.setUint32(0, BPF_MAP_TYPE_RINGBUF, true);
  attr.setUint32(12, PAGE, true);
  return bpf(BPF_MAP_CREATE, attr);
}

/** A socket filter that writes one 8-byte record into `ring` per run. */
function loadWriter(ring: number): number {
  const insns = new Uint8Array(
    [
      insn(0x7a, 10, 0, -8, 7), // *(u64 *)(r10 - 8) = 7
      insn(0x18, 1, 1, 0, ring), // r1 = the ring (BPF_PSEUDO_MAP_FD)
      insn(0, 0, 0, 0, 0),
      insn(0xbf, 2, 10, 0, 0), // r2 = r10 - 8
      insn(0x07, 2, 0, 0, -8),
      insn(0xb7, 3, 0, 0, 8), // r3 = 8
      insn(0xb7, 4, 0, 0, 0), // r4 = 0: wake up as the kernel sees fit
      insn(0x85, 0, 0, 0, BPF_FUNC_ringbuf_output),
      insn(0xb7, 0, 0, 0, 0),
      insn(0x95, 0, 0, 0, 0),
    ].flat(),
  );
  const license = new TextEncoder().encode('GPL\0');
  const attr = new DataView(new ArrayBuffer(128));
  attr.setUint32(0, BPF_PROG_TYPE_SOCKET_FILTER, true);
  attr.setUint32(4, insns.byteLength / 8, true);
  attr.setBigUint64(8, addressOf(insns), true);
  attr.setBigUint64(16, addressOf(license), true);
  return bpf(BPF_PROG_LOAD, attr);
}

function runOnce(prog: number): void {
  const packet = new Uint8Array(64);
  const run = new DataView(new ArrayBuffer(80));
  run.setUint32(0, prog, true);
  run.setUint32(8, packet.byteLength, true);
  run.setBigUint64(16, addressOf(packet), true);
  run.setUint32(32, 1, true);
  bpf(BPF_PROG_TEST_RUN, run);
}

describe.skipIf(reason)(`watchFd on a BPF ring buffer as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const fds: number[] = [];
  const watchers: FdWatcher[] = [];
  afterEach(() => {
    for (const watcher of watchers.splice(0)) watcher.close();
    for (const fd of fds.splice(0)) closeSync(fd);
  });

  it('wakes when a program writes a record, and goes quiet once the consumer has caught up', async () => {
    const ring = createRing();
    fds.push(ring);
    const prog = loadWriter(ring);
    fds.push(prog);
    const consumer = mmap(ring, { length: PAGE, writable: true });
    const producer = mmap(ring, { length: PAGE, offset: PAGE });
    try {
      let wakeups = 0;
      let woken: () => void = () => undefined;
      watchers.push(
        watchFd(ring, { readable: true }, (error, ready) => {
          expect(error).toBeUndefined();
          expect(ready.readable).toBe(true);
          wakeups += 1;
          // Consume everything: the consumer position catches up with the producer's.
          new DataView(consumer).setBigUint64(0, new DataView(producer).getBigUint64(0, true), true);
          woken();
        }),
      );
      await sleep(20);
      expect(wakeups).toBe(0); // an empty ring is not readable

      await new Promise<void>((resolve) => {
        woken = resolve;
        runOnce(prog);
      });
      expect(wakeups).toBe(1);
      expect(new DataView(producer).getBigUint64(0, true)).toBe(16n);
      await sleep(20);
      expect(wakeups).toBe(1); // consumed: not readable any more
    } finally {
      munmap(producer);
      munmap(consumer);
    }
  });
});
