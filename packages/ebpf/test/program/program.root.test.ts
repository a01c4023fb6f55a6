import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import {
  AttachType,
  BpfError,
  MapType,
  ProgramBuilder,
  ProgramType,
  R,
  createMap,
  haveLinkCreate,
  haveMapType,
  haveProgramType,
  haveTcx,
  loadProgram,
  probeFeatures,
  testRun,
  u32,
  u64,
} from '../../src/index.js';

const reason = rootSkipReason('loads eBPF maps and programs');

/** An Ethernet frame carrying nothing in particular: enough for skb test runs. */
const packet = new Uint8Array(64).map((_, i) => i);

describe.skipIf(reason)(`programs as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const open: { close(): void }[] = [];
  function track<T extends { close(): void }>(object: T): T {
    open.push(object);
    return object;
  }
  afterEach(() => {
    for (const object of open.splice(0).reverse()) object.close();
  });

  it('counts packets in a map with a program from the builder, run with testRun', () => {
    const counts = track(createMap({ type: MapType.Array, key: u32, value: u64, maxEntries: 1, name: 'twt_counts' }));
    const instructions = new ProgramBuilder()
      .st('w', R.R10, -4, 0) // u32 key = 0 on the stack
      .mov64(R.R2, R.R10)
      .add64(R.R2, -4) // r2 = &key
      .ldMapFd(R.R1, counts) // r1 = &counts
      .call('map_lookup_elem') // r0 = &counts[0] or NULL
      .jeq(R.R0, 0, 'out')
      .mov64(R.R1, 1)
      .atomicAdd('dw', R.R0, 0, R.R1) // counts[0] += 1
      .label('out')
      .mov64(R.R0, 0)
      .exit()
      .build();
    const program = track(loadProgram({ type: ProgramType.SocketFilter, instructions, license: 'GPL', name: 'twt_count' }));

    const first = program.testRun({ data: packet, repeat: 5 });
    expect(first.retval).toBe(0);
    expect(first.duration).toBeGreaterThanOrEqual(0);
    expect(counts.lookup(0)).toBe(5n);
    testRun(program, { data: packet });
    expect(counts.lookup(0)).toBe(6n);

    const info = program.info();
    expect(info).toMatchObject({ type: ProgramType.SocketFilter, name: 'twt_count', mapCount: 1 });
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
  });

  it('runs a tc program on a packet and gives back its verdict and the packet', () => {
    // return TC_ACT_SHOT (2)
    const program = track(
      loadProgram({
        type: ProgramType.SchedCls,
        instructions: new ProgramBuilder().mov64(R.R0, 2).exit().build(),
        license: 'GPL',
        expectedAttachType: AttachType.TcxIngress,
      }),
    );
    const result = program.testRun({ data: packet, repeat: 10 });
    expect(result.retval).toBe(2);
    expect(result.data).toEqual(packet);
  });

  it('resolves maps referenced by name from the maps option', () => {
    const map = track(createMap({ type: MapType.Hash, key: u32, value: u32, maxEntries: 1 }));
    const instructions = new ProgramBuilder().ldMapFd(R.R1, 'events').mov64(R.R0, 0).exit().build();
    const program = track(loadProgram({ type: ProgramType.SocketFilter, instructions, license: 'GPL', maps: { events: map } }));
    expect(program.info().mapCount).toBe(1);
    expect(() => loadProgram({ type: ProgramType.SocketFilter, instructions, license: 'GPL' })).toThrow(/"events" is referenced but not given/);
  });

  it('fails with a BpfError whose verifier log names the failing instruction', () => {
    // r0 = *(u64 *)(r10 + 8): above the frame pointer, outside the stack.
    const instructions = new ProgramBuilder().mov64(R.R1, 1).ldx('dw', R.R0, R.R10, 8).exit().build();
    let caught: unknown;
    try {
      loadProgram({ type: ProgramType.SocketFilter, instructions, license: 'GPL', name: 'twt_bad' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BpfError);
    const error = caught as BpfError;
    expect(error).toMatchObject({ code: 'ERR_BPF', errno: 'EACCES', operation: 'BPF_PROG_LOAD twt_bad' });
    expect(error.log).toMatch(/1: \(79\) r0 = \*\(u64 \*\)\(r10 \+8\)/);
    expect(error.log).toMatch(/invalid read from stack/);
    expect(error.message).toContain('verifier log');
  });

  it('keeps the verifier log of a program that loads when asked to', () => {
    const program = track(
      loadProgram({ type: ProgramType.SocketFilter, instructions: new ProgramBuilder().mov64(R.R0, 0).exit().build(), license: 'GPL', logLevel: 2 }),
    );
    expect(program.verifierLog).toMatch(/processed 2 insns/);
  });

  it('grows the log buffer when the verifier log does not fit', () => {
    const builder = new ProgramBuilder();
    for (let i = 0; i < 200; i++) builder.mov64(R.R1, i);
    const instructions = builder.ldx('dw', R.R0, R.R10, 8).exit().build();
    expect(() => loadProgram({ type: ProgramType.SocketFilter, instructions, license: 'GPL', logSize: 256 })).toThrowError(
      expect.objectContaining({ errno: 'EACCES', log: expect.stringMatching(/invalid read from stack/) }),
    );
  });

  it('probes this kernel: map types, program types, link create and tcx', () => {
    expect(haveMapType(MapType.RingBuffer)).toBe(true);
    expect(haveMapType(MapType.LpmTrie)).toBe(true);
    expect(haveProgramType(ProgramType.SchedCls)).toBe(true);
    expect(haveProgramType(999)).toBe(false);
    expect(haveMapType(999)).toBe(false);
    expect(haveLinkCreate()).toBe(true);
    const report = probeFeatures();
    expect(report.mapTypes.Hash).toBe(true);
    expect(report.programTypes.Xdp).toBe(true);
    // tcx came with Linux 6.6.
    const [major = 0, minor = 0] = (process.report.getReport() as { header: { osRelease: string } }).header.osRelease.split('.').map(Number);
    expect(haveTcx()).toBe(major > 6 || (major === 6 && minor >= 6));
  });
});
