import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  AttachType,
  CollectionError,
  ElfError,
  MapType,
  ProgramType,
  decodeCollectionSpec,
  rewriteConstants,
  type CollectionSpec,
} from '../../src/index.js';

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../fixtures/${name}.o`, import.meta.url)));
}

/** `ld_imm64` (BPF_LD | BPF_DW | BPF_IMM) and `call` (BPF_JMP | BPF_CALL). */
const LD_IMM64 = 0x18;
const CALL = 0x85;

function calls(spec: CollectionSpec, program: string): { at: number; target: number }[] {
  // Instruction indexes count ld_imm64 as one entry; call offsets count slots.
  const out: { at: number; target: number }[] = [];
  let slot = 0;
  for (const insn of spec.programs[program]!.instructions) {
    if (insn.opcode === CALL && insn.src === 1) out.push({ at: slot, target: slot + 1 + Number(insn.imm) });
    slot += insn.opcode === LD_IMM64 ? 2 : 1;
  }
  return out;
}

describe('decodeCollectionSpec on the clang-built fixtures', () => {
  it('counter.o: programs by symbol, two in one section; a pinned BTF hash map and a sized array', () => {
    const spec = decodeCollectionSpec(fixture('counter'));
    expect(spec.license).toBe('GPL');
    expect(Object.keys(spec.programs)).toEqual(['count_egress', 'count_ingress', 'drop_all']);
    expect(spec.programs.count_ingress).toMatchObject({ section: 'tcx/ingress', type: ProgramType.SchedCls, attachType: AttachType.TcxIngress, maps: ['bytes', 'counts'] });
    expect(spec.programs.count_egress).toMatchObject({ section: 'tc', type: ProgramType.SchedCls, maps: ['bytes', 'counts'] });
    expect(spec.programs.count_egress!.attachType).toBeUndefined();
    expect(spec.programs.drop_all).toMatchObject({ section: 'tc', maps: [], instructions: [
      { opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 2 }, // r0 = TC_ACT_SHOT
      { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }, // exit
    ] });
    expect(spec.maps.counts).toMatchObject({ section: '.maps', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 64, flags: 0, pinning: 'by-name' });
    expect(spec.maps.counts!.btf).toBeDefined();
    expect(spec.maps.bytes).toMatchObject({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 2, pinning: 'none' });
    expect(spec.maps.bytes!.btf).toBeUndefined(); // key_size/value_size, no types
    // Map references: ld_imm64 with BPF_PSEUDO_MAP_FD and the map by name.
    const refs = spec.programs.count_ingress!.instructions.filter((i) => i.map !== undefined);
    expect(refs.map((i) => [i.src, i.map])).toEqual([[1, 'counts'], [1, 'counts'], [1, 'bytes']]);
    expect(spec.programs.count_ingress!.funcInfo).toEqual([{ insnOffset: 0, typeId: expect.any(Number) }]);
  });

  it('xdp.o: an XDP program with BPF_XDP as its expected attach type', () => {
    const spec = decodeCollectionSpec(fixture('xdp'));
    expect(spec.license).toBe('Dual BSD/GPL');
    expect(spec.programs.xdp_discard).toMatchObject({ type: ProgramType.Xdp, attachType: AttachType.Xdp, flags: 0, maps: ['xdp_stats'] });
    expect(spec.maps.xdp_stats).toMatchObject({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 2 });
  });

  it('globals.o: .rodata, .data and .bss as one-element arrays, referenced by BPF_PSEUDO_MAP_VALUE', () => {
    const spec = decodeCollectionSpec(fixture('globals'));
    expect(spec.maps['.rodata']).toMatchObject({
      type: MapType.Array,
      keySize: 4,
      valueSize: 16,
      maxEntries: 1,
      flags: 1 << 7, // BPF_F_RDONLY_PROG
      contents: new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), // verdict XDP_PASS, increment 1
      variables: { verdict: { offset: 0, size: 4 }, increment: { offset: 8, size: 8 } },
      freeze: true, // BPF_MAP_FREEZE once written, so the verifier knows the constants
    });
    expect(spec.maps['.data']?.freeze).toBeUndefined();
    expect(spec.maps['.data']).toMatchObject({ valueSize: 4, contents: new Uint8Array([0xef, 0xbe, 0xad, 0xde]), variables: { last_len: { offset: 0, size: 4 } } });
    expect(spec.maps['.bss']).toMatchObject({ valueSize: 8, contents: new Uint8Array(8), variables: { packets: { offset: 0, size: 8 } } });
    const refs = spec.programs.xdp_globals!.instructions.filter((i) => i.map !== undefined).map((i) => [i.src, i.map, i.imm]);
    expect(refs).toEqual([[2, '.rodata', 8n], [2, '.bss', 0n], [2, '.data', 0n], [2, '.rodata', 0n]]);
    // The BTF goes to the kernel with DATASEC sizes filled in (clang leaves them 0).
    expect(spec.btf).toBeInstanceOf(Uint8Array);
  });

  it('calls.o: .text subprograms appended once each and calls pointing at them; a legacy map', () => {
    const spec = decodeCollectionSpec(fixture('calls'));
    expect(spec.maps.legacy_counts).toMatchObject({ section: 'maps', type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0, pinning: 'none' });
    const program = spec.programs.count_calls!;
    expect(program).toMatchObject({ type: ProgramType.CgroupSkb, attachType: AttachType.CgroupInetEgress, maps: ['legacy_counts'] });
    // count_calls (8 slots), then bump (13), then weigh (6): one func_info record each.
    expect(program.funcInfo!.map((f) => f.insnOffset)).toEqual([0, 8, 21]);
    expect(calls(spec, 'count_calls')).toEqual([
      { at: 3, target: 8 }, // bump(0, 1)
      { at: 5, target: 21 }, // weigh(len)
      { at: 25, target: 8 }, // weigh calls bump
    ]);
    // socket_calls only reaches bump.
    expect(spec.programs.socket_calls!.funcInfo!.map((f) => f.insnOffset)).toEqual([0, 9]);
    expect(calls(spec, 'socket_calls')).toEqual([{ at: 3, target: 9 }]);
    expect(spec.programs.socket_calls).toMatchObject({ type: ProgramType.SocketFilter });
    const lines = program.lineInfo!.map((l) => l.insnOffset);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('gives the same spec every time', () => {
    for (const name of ['counter', 'xdp', 'globals', 'calls']) {
      expect(decodeCollectionSpec(fixture(name))).toEqual(decodeCollectionSpec(fixture(name)));
    }
  });
});

describe('rewriteConstants', () => {
  const spec = decodeCollectionSpec(fixture('globals'));

  it('writes integers little-endian at the variable and leaves the input spec alone', () => {
    const rewritten = rewriteConstants(spec, { verdict: 1, increment: 0x0102030405060708n, packets: 5 });
    expect(rewritten.maps['.rodata']!.contents).toEqual(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]));
    expect(rewritten.maps['.bss']!.contents).toEqual(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]));
    expect(spec.maps['.rodata']!.contents![0]).toBe(2);
    expect(rewriteConstants(spec, { verdict: -1 }).maps['.rodata']!.contents!.subarray(0, 4)).toEqual(new Uint8Array([255, 255, 255, 255]));
  });

  it('refuses unknown names and values that do not fit', () => {
    expect(() => rewriteConstants(spec, { nope: 1 })).toThrow(CollectionError);
    expect(() => rewriteConstants(spec, { verdict: 2 ** 32 })).toThrow(/does not fit 4 bytes/);
    expect(() => rewriteConstants(spec, { verdict: 1.5 })).toThrow(CollectionError);
    expect(() => rewriteConstants(spec, { verdict: new Uint8Array(3) })).toThrow(/is 4 bytes, the value given is 3/);
  });
});

/** A copy of `bytes` with `edit` applied. */
function edited(bytes: Uint8Array, edit: (copy: Uint8Array, view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(copy, new DataView(copy.buffer));
  return copy;
}

/** Replaces every occurrence of a NUL-terminated string with another of the same length. */
function renameAll(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const a = new TextEncoder().encode(`${from}\0`);
  const b = new TextEncoder().encode(`${to}\0`);
  return edited(bytes, (copy) => {
    for (let i = 0; i + a.length <= copy.length; i += 1) {
      if (a.every((x, j) => copy[i + j] === x)) copy.set(b, i);
    }
  });
}

describe('decodeCollectionSpec on bad input', () => {
  const good = fixture('calls');

  it.each([
    ['empty input', new Uint8Array(0), /too short for an ELF header/],
    ['a truncated header', good.subarray(0, 40), /too short for an ELF header/],
    ['a file cut in half', good.subarray(0, good.length >> 1), /run past the end of the file/],
    ['bad magic', edited(good, (c) => (c[1] = 0x46)), /bad magic/],
    ['a 32-bit ELF', edited(good, (c) => (c[4] = 1)), /ELF class 1 is not ELFCLASS64/],
    ['a big-endian ELF', edited(good, (c) => (c[5] = 2)), /not little-endian/],
    ['an x86-64 object', edited(good, (c, v) => v.setUint16(18, 62, true)), /not EM_BPF/],
    ['section headers past the end', edited(good, (c, v) => v.setBigUint64(40, BigInt(good.length), true)), /section headers .* run past the end/],
    // Section 2 (.text): its offset field at shoff + 2 * 64 + 24.
    ['a section offset past the end', edited(good, (c, v) => v.setBigUint64(Number(v.getBigUint64(40, true)) + 2 * 64 + 24, 1n << 40n, true)), /section 2: contents .* run past the end/],
  ])('%s is an ElfError', (_, bytes, message) => {
    expect(() => decodeCollectionSpec(bytes)).toThrow(ElfError);
    expect(() => decodeCollectionSpec(bytes)).toThrow(message);
  });

  it('an unknown program section name', () => {
    const bytes = renameAll(good, 'cgroup_skb/egress', 'cgroup_skb/egresz');
    expect(() => decodeCollectionSpec(bytes)).toThrow(/cgroup_skb\/egresz: unknown program section name/);
  });

  it('a missing license', () => {
    expect(() => decodeCollectionSpec(renameAll(good, 'license', 'licensz'))).toThrow(/no license section/);
  });

  it('a map whose key_size contradicts its key type', () => {
    const error = (() => {
      try {
        decodeCollectionSpec(fixture('bad-key-size'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ElfError);
    expect(error).toMatchObject({ code: 'ERR_BPF_ELF', section: '.maps', message: '.maps: map mismatched: key_size 8 does not match the key type\'s size 4' });
  });

  it('random corruption gives a spec or an ElfError, never another error or a hang', () => {
    for (const name of ['counter', 'calls', 'globals']) {
      const original = fixture(name);
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          fc.option(fc.nat({ max: original.length }), { nil: undefined }),
          (writes, cut) => {
            const bytes = original.slice(0, cut ?? original.length);
            for (const [at, value] of writes) if (at < bytes.length) bytes[at] = value;
            try {
              decodeCollectionSpec(bytes);
            } catch (error) {
              expect(error).toBeInstanceOf(ElfError);
            }
          },
        ),
        { numRuns: 400, seed: 6 },
      );
    }
  });
});
