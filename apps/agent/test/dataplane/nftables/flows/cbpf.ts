// A classic BPF interpreter for the instructions the conntrack filter uses, with the
// netlink ancillary loads as net/core/filter.c defines them (bpf_skb_get_nlattr and
// bpf_skb_get_nlattr_nest: nla_find over the attributes from A, or inside the nested one
// at A; 0 when absent). Tests run the compiled filter on encoded messages with it, and the
// root test checks the same programs against the kernel.

import type { SocketFilterInstruction } from '@twill/sys';

const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** nla_find: the offset of the first attribute of `type` among those in bytes[start, end), or 0. */
function findAttribute(bytes: Uint8Array, start: number, end: number, type: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = start;
  while (off + 4 <= end) {
    const length = view.getUint16(off, little);
    if (length < 4 || off + length > end) return 0;
    if ((view.getUint16(off + 2, little) & 0x3fff) === type) return off;
    off += (length + 3) & ~3;
  }
  return 0;
}

/** Runs `program` on a message: what it returns (0: discarded). Throws on an instruction it does not know. */
export function runFilter(program: readonly SocketFilterInstruction[], bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const memory = new Array<number>(16).fill(0);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc += 1) {
    const { code, jt, jf, k } = program[pc] as SocketFilterInstruction;
    switch (code) {
      case 0x00: a = k; break;
      case 0x01: x = k; break;
      case 0x02: memory[k] = a; break;
      case 0x60: a = memory[k] ?? 0; break;
      case 0x07: x = a; break;
      case 0x54: a = (a & k) >>> 0; break;
      case 0x05: pc += k; break;
      case 0x15: pc += a === k ? jt : jf; break;
      case 0x06: return k;
      case 0x28: if (k + 2 > bytes.length) return 0; a = view.getUint16(k); break;
      case 0x40: if (x + k + 4 > bytes.length) return 0; a = view.getUint32(x + k); break;
      case 0x20:
        if (k === 0xfffff000 + 12) a = a > bytes.length - 4 ? 0 : findAttribute(bytes, a, bytes.length, x);
        else if (k === 0xfffff000 + 16) {
          if (a > bytes.length - 4) a = 0;
          else {
            const length = view.getUint16(a, little);
            a = length > bytes.length - a ? 0 : findAttribute(bytes, a + 4, a + length, x);
          }
        } else {
          if (k + 4 > bytes.length) return 0;
          a = view.getUint32(k);
        }
        break;
      default: throw new Error(`instruction ${pc}: opcode 0x${code.toString(16)} not interpreted`);
    }
  }
  throw new Error('the program ran past its end');
}
