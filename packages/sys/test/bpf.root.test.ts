import { closeSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { SysError, addressOf, bpf, mmap, munmap } from '../src/index.js';
import { rootSkipReason } from '../src/testing/index.js';

const reason = rootSkipReason('loads eBPF maps and programs');

// bpf(2) commands and types from <linux/bpf.h>.
const BPF_MAP_CREATE = 0;
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_PROG_LOAD = 5;
const BPF_PROG_TEST_RUN = 10;
const BPF_MAP_TYPE_HASH = 1;
const BPF_MAP_TYPE_RINGBUF = 27;
const BPF_PROG_TYPE_SOCKET_FILTER = 1;
const BPF_FUNC_ringbuf_output = 130;
const PAGE = 4096;

function createMap(type: number, keySize: number, valueSize: number, maxEntries: number): number {
  const attr = new DataView(new ArrayBuffer(128));
  attr.setUint32(0, type, true);
  attr.setUint32(4, keySize, true);
  attr.setUint32(8, valueSize, true);
  attr.setUint32(12, maxEntries, true);
  return bpf(BPF_MAP_CREATE, attr);
}

/** The map element commands' attribute: map_fd, key pointer, value pointer, flags. */
function elemAttr(fd: number, key: Uint8Array, value?: Uint8Array): DataView {
  const attr = new DataView(new ArrayBuffer(32));
  attr.setUint32(0, fd, true);
  attr.setBigUint64(8, addressOf(key), true);
  if (value) attr.setBigUint64(16, addressOf(value), true);
  return attr;
}

/** One eBPF instruction: opcode, dst and src registers, offset, immediate. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint8(0, code);
  b.setUint8(1, (src << 4) | dst);
  b.setInt16(2, off, true);
  b.setInt32(4, imm, true);
  return [...new Uint8Array(b.buffer)];
}

function loadProgram(instructions: number[][], log?: Uint8Array): number {
  const insns = new Uint8Array(instructions.flat());
  const license = new TextEncoder().encode('GPL\0');
  const attr = new DataView(new ArrayBuffer(128));
  attr.setUint32(0, BPF_PROG_TYPE_SOCKET_FILTER, true);
  attr.setUint32(4, instructions.length, true);
  attr.setBigUint64(8, addressOf(insns), true);
  attr.setBigUint64(16, addressOf(license), true);
  if (log) {
    attr.setUint32(24, 1, true); // log_level
    attr.setUint32(28, log.byteLength, true);
    attr.setBigUint64(32, addressOf(log), true);
  }
  return bpf(BPF_PROG_LOAD, attr);
}

describe.skipIf(reason)(`bpf(2) and mmap as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const fds: number[] = [];
  afterEach(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
  });

  it('creates a hash map, updates it and reads the value back', () => {
    const fd = createMap(BPF_MAP_TYPE_HASH, 4, 8, 16);
    fds.push(fd);
    const key = new Uint8Array([10, 0, 0, 1]);
    const value = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(bpf(BPF_MAP_UPDATE_ELEM, elemAttr(fd, key, value))).toBe(0);

    const out = new Uint8Array(8);
    bpf(BPF_MAP_LOOKUP_ELEM, elemAttr(fd, key, out));
    expect([...out]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    bpf(BPF_MAP_DELETE_ELEM, elemAttr(fd, key));
    let caught: unknown;
    try {
      bpf(BPF_MAP_LOOKUP_ELEM, elemAttr(fd, key, out));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SysError);
    expect(caught).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'bpf' });
  });

  it('reports a bad map as EINVAL', () => {
    expect(() => createMap(BPF_MAP_TYPE_HASH, 0, 8, 16)).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('fills a log buffer given by address when the verifier refuses a program', () => {
    const log = new Uint8Array(4096);
    // `exit` with r0 never written: the verifier refuses to return an unset register.
    expect(() => loadProgram([insn(0x95, 0, 0, 0, 0)], log)).toThrowError(expect.objectContaining({ code: 'EACCES' }));
    const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0)));
    expect(text).toMatch(/R0 !read_ok/);
  });

  it('maps a ring buffer and reads a record a program wrote into it', () => {
    const ring = createMap(BPF_MAP_TYPE_RINGBUF, 0, 0, PAGE);
    fds.push(ring);
    const program = [
      // r2 = 0x1122334455667788; *(u64 *)(r10 - 8) = r2
      insn(0x18, 2, 0, 0, 0x55667788),
      insn(0, 0, 0, 0, 0x11223344),
      insn(0x7b, 10, 2, -8, 0),
      // r1 = the ring buffer map (BPF_PSEUDO_MAP_FD)
      insn(0x18, 1, 1, 0, ring),
      insn(0, 0, 0, 0, 0),
      // bpf_ringbuf_output(r1, r2 = r10 - 8, r3 = 8, r4 = 0)
      insn(0xbf, 2, 10, 0, 0),
      insn(0x07, 2, 0, 0, -8),
      insn(0xb7, 3, 0, 0, 8),
      insn(0xb7, 4, 0, 0, 0),
      insn(0x85, 0, 0, 0, BPF_FUNC_ringbuf_output),
      // return 0
      insn(0xb7, 0, 0, 0, 0),
      insn(0x95, 0, 0, 0, 0),
    ];
    const prog = loadProgram(program);
    fds.push(prog);

    const packet = new Uint8Array(64);
    const run = new DataView(new ArrayBuffer(80));
    run.setUint32(0, prog, true);
    run.setUint32(8, packet.byteLength, true);
    run.setBigUint64(16, addressOf(packet), true);
    run.setUint32(32, 1, true); // repeat
    bpf(BPF_PROG_TEST_RUN, run);

    // Consumer page (writable), then the producer page and twice the data (read-only).
    const consumer = mmap(ring, { length: PAGE, writable: true });
    const producer = mmap(ring, { length: 3 * PAGE, offset: PAGE });
    try {
      const producerPos = new DataView(producer).getBigUint64(0, true);
      expect(producerPos).toBe(16n); // an 8-byte header and the 8-byte record
      const data = new DataView(producer, PAGE);
      expect(data.getUint32(0, true)).toBe(8); // length, busy and discard bits clear
      expect(data.getBigUint64(8, true)).toBe(0x1122334455667788n);
      new DataView(consumer).setBigUint64(0, producerPos, true);
      expect(new DataView(consumer).getBigUint64(0, true)).toBe(16n);
    } finally {
      munmap(consumer);
      munmap(producer);
    }
    expect(consumer.byteLength).toBe(0);
    munmap(consumer); // a second call does nothing
    // The producer side is the kernel's: mapping it writable is refused.
    expect(() => mmap(ring, { length: PAGE, offset: PAGE, writable: true })).toThrowError(
      expect.objectContaining({ code: 'EPERM', syscall: 'mmap' }),
    );
  });
});
