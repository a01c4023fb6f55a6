import { describe, expect, it } from 'vitest';

import { AsmError, Helper, ProgramBuilder, R, decodeInstructions, encodeInstructions, helperId } from '../../src/index.js';

function hex(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 8) out.push([...bytes.subarray(i, i + 8)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
  return out;
}

describe('ProgramBuilder', () => {
  it('encodes a small program byte for byte', () => {
    const insns = new ProgramBuilder()
      .mov64(R.R0, 0) // r0 = 0
      .mov64(R.R2, R.R10) // r2 = r10
      .add64(R.R2, -4) // r2 += -4
      .stx('w', R.R10, -4, R.R1) // *(u32 *)(r10 - 4) = r1
      .ldx('dw', R.R3, R.R1, 8) // r3 = *(u64 *)(r1 + 8)
      .call('ktime_get_ns')
      .exit()
      .build();
    expect(hex(encodeInstructions(insns))).toEqual([
      'b7 00 00 00 00 00 00 00', // BPF_ALU64|BPF_MOV|BPF_K
      'bf a2 00 00 00 00 00 00', // BPF_ALU64|BPF_MOV|BPF_X, src r10 (high nibble), dst r2
      '07 02 00 00 fc ff ff ff', // BPF_ALU64|BPF_ADD|BPF_K, imm -4
      '63 1a fc ff 00 00 00 00', // BPF_STX|BPF_MEM|BPF_W, off -4
      '79 13 08 00 00 00 00 00', // BPF_LDX|BPF_MEM|BPF_DW, off 8
      '85 00 00 00 05 00 00 00', // BPF_JMP|BPF_CALL, imm = BPF_FUNC_ktime_get_ns (5)
      '95 00 00 00 00 00 00 00', // BPF_JMP|BPF_EXIT
    ]);
  });

  it('encodes ld_imm64 constants and map fd references in two slots', () => {
    const map = { fd: 7 };
    const insns = new ProgramBuilder().ldImm64(R.R1, 0x1122334455667788n).ldMapFd(R.R2, map).ldMapValue(R.R3, map, 16).build();
    expect(hex(encodeInstructions(insns))).toEqual([
      '18 01 00 00 88 77 66 55', // BPF_LD|BPF_DW|BPF_IMM, low half
      '00 00 00 00 44 33 22 11', // high half
      '18 12 00 00 07 00 00 00', // src = BPF_PSEUDO_MAP_FD (1), imm = fd 7
      '00 00 00 00 00 00 00 00',
      '18 23 00 00 07 00 00 00', // src = BPF_PSEUDO_MAP_VALUE (2), imm = fd 7
      '00 00 00 00 10 00 00 00', // offset 16 into the value
    ]);
  });

  it('resolves forward and backward labels, counting ld_imm64 as two slots', () => {
    const insns = new ProgramBuilder()
      .label('top') // slot 0
      .jeq(R.R1, 0, 'out') // slot 0 -> out at slot 5: offset 4
      .ldImm64(R.R2, 1) // slots 1-2
      .jump32('jlt', R.R1, R.R2, 'top') // slot 3 -> 0: offset -4
      .ja('out') // slot 4 -> 5: offset 0
      .label('out')
      .exit()
      .build();
    expect(insns.map((i) => i.offset)).toEqual([4, 0, -4, 0, 0]);
    expect(insns[2]?.opcode).toBe(0x06 | 0xa0 | 0x08); // BPF_JMP32|BPF_JLT|BPF_X
  });

  it('resolves BPF-to-BPF calls into the immediate', () => {
    const insns = new ProgramBuilder().callLabel('fn').exit().label('fn').mov64(R.R0, 1).exit().build();
    expect(insns[0]).toMatchObject({ opcode: 0x85, src: 1, imm: 1 });
  });

  it('encodes byte swaps and atomic adds', () => {
    const insns = new ProgramBuilder().swap(R.R1, 'be', 16).atomicAdd('dw', R.R0, 0, R.R1).build();
    expect(hex(encodeInstructions(insns))).toEqual([
      'dc 01 00 00 10 00 00 00', // BPF_ALU|BPF_END|BPF_TO_BE, imm 16
      'db 10 00 00 00 00 00 00', // BPF_STX|BPF_ATOMIC|BPF_DW, imm BPF_ADD
    ]);
  });

  it('fails on unknown or duplicate labels', () => {
    expect(() => new ProgramBuilder().jeq(R.R0, 0, 'nowhere').exit().build()).toThrow(new AsmError('unknown label "nowhere" (instruction 0)'));
    expect(() => new ProgramBuilder().label('a').label('a')).toThrow('label "a" is defined twice');
  });

  it('fails on unknown helpers, and knows them with or without bpf_', () => {
    expect(() => new ProgramBuilder().call('map_lookup_elemm')).toThrow(AsmError);
    expect(() => new ProgramBuilder().call('map_lookup_elemm')).toThrow('unknown helper "map_lookup_elemm": not in the helper table');
    expect(helperId('bpf_ringbuf_output')).toBe(130);
    expect(Helper.redirect).toBe(23);
    expect(Helper.skb_load_bytes).toBe(26);
    expect(Helper.get_current_pid_tgid).toBe(14);
  });

  it('refuses out-of-range fields and unresolved map names at encoding', () => {
    expect(() => encodeInstructions(new ProgramBuilder().mov64(R.R0, 2 ** 32).build())).toThrow('instruction 0: immediate 4294967296 does not fit 32 bits');
    expect(() => encodeInstructions(new ProgramBuilder().ldx('w', R.R0, R.R1, 40000).build())).toThrow(/offset 40000/);
    expect(() => encodeInstructions(new ProgramBuilder().ldMapFd(R.R1, 'counts').build())).toThrow(/referenced by name/);
    expect(encodeInstructions(new ProgramBuilder().ldMapFd(R.R1, 'counts').build(), () => 3)[4]).toBe(3);
  });
});

describe('decodeInstructions', () => {
  it('round-trips builder output, joining ld_imm64 halves', () => {
    const insns = new ProgramBuilder().ldImm64(R.R1, -1n).mov32(R.R0, R.R1).jne(R.R0, 5, 'x').label('x').exit().build();
    const decoded = decodeInstructions(encodeInstructions(insns));
    expect(decoded).toEqual([
      { opcode: 0x18, dst: 1, src: 0, offset: 0, imm: 0xffffffffffffffffn },
      { opcode: 0xbc, dst: 0, src: 1, offset: 0, imm: 0 },
      { opcode: 0x55, dst: 0, src: 0, offset: 0, imm: 5 },
      { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 },
    ]);
  });

  it('refuses truncated input', () => {
    expect(() => decodeInstructions(new Uint8Array(12))).toThrow('12 bytes is not a whole number of instructions');
    expect(() => decodeInstructions(new Uint8Array([0x18, 0, 0, 0, 0, 0, 0, 0]))).toThrow('ld_imm64 at slot 0 is missing its second half');
  });
});
