import { endianness } from 'node:os';

import { checkFd } from './arguments.js';
import { callNative, SysError } from './errors.js';
import { native } from './native.js';

/**
 * One classic BPF instruction (`struct sock_filter`, include/uapi/linux/filter.h): an
 * opcode, the instructions a conditional jump skips when true (`jt`) and when false
 * (`jf`), and a 32-bit operand.
 */
export interface SocketFilterInstruction {
  /** Opcode: class, size, mode and source bits (`BPF_LD | BPF_W | BPF_ABS` ...), 0..65535. */
  readonly code: number;
  /** Instructions skipped when a conditional jump is true, 0..255. */
  readonly jt: number;
  /** Instructions skipped when a conditional jump is false, 0..255. */
  readonly jf: number;
  /** The operand, an unsigned 32-bit integer. */
  readonly k: number;
}

/** `BPF_MAXINSNS`: the longest classic program the kernel takes. */
export const SOCKET_FILTER_MAX_INSTRUCTIONS = 4096;

const RECORD = 8;
/** The jump class and its unconditional jump (`BPF_JMP`, `BPF_JA`), whose operand is the distance. */
const BPF_JMP = 0x05;
const BPF_JA = 0x00;

function encodeProgram(call: string, program: readonly SocketFilterInstruction[]): Uint8Array {
  if (!Array.isArray(program) || program.length === 0 || program.length > SOCKET_FILTER_MAX_INSTRUCTIONS) {
    throw SysError.invalid(call, `program must hold 1..${SOCKET_FILTER_MAX_INSTRUCTIONS} instructions, got ${Array.isArray(program) ? program.length : typeof program}`);
  }
  const bytes = new Uint8Array(program.length * RECORD);
  const view = new DataView(bytes.buffer);
  // struct sock_filter is in host byte order.
  const little = endianness() === 'LE';
  program.forEach((insn, i) => {
    const bad = (field: string, value: unknown, max: number): SysError =>
      SysError.invalid(call, `instruction ${i}: ${field} ${String(value)} is not an integer within 0..${max}`);
    if (typeof insn !== 'object' || insn === null) throw SysError.invalid(call, `instruction ${i} is not an instruction`);
    const { code, jt, jf, k } = insn;
    if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw bad('code', code, 0xffff);
    if (!Number.isInteger(jt) || jt < 0 || jt > 0xff) throw bad('jt', jt, 0xff);
    if (!Number.isInteger(jf) || jf < 0 || jf > 0xff) throw bad('jf', jf, 0xff);
    if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) throw bad('k', k, 0xffffffff);
    // A jump past the end would be refused by the kernel with a bare EINVAL: say which.
    if ((code & 0x07) === BPF_JMP) {
      const reach = (code & 0xf0) === BPF_JA ? k : Math.max(jt, jf);
      if (i + 1 + reach >= program.length) throw SysError.invalid(call, `instruction ${i}: jumps past the end of the program (${program.length} instructions)`);
    }
    view.setUint16(i * RECORD, code, little);
    view.setUint8(i * RECORD + 2, jt);
    view.setUint8(i * RECORD + 3, jf);
    view.setUint32(i * RECORD + 4, k, little);
  });
  return bytes;
}

/**
 * Attaches a classic BPF socket filter to `fd` (`SO_ATTACH_FILTER`, socket(7); Linux 2.2),
 * replacing the one it had. The kernel runs it on every message before queuing it: a
 * return of 0 discards the message (not counted in the socket's drops, see
 * {@link socketMemInfo}), any other value keeps that many bytes of it. For netlink, the
 * ancillary loads `SKF_AD_NLATTR` and `SKF_AD_NLATTR_NEST` (Linux 2.6.29 and 3.0) find
 * attributes. The caller's program is checked here for shape (count, field ranges, jumps
 * inside it); the kernel checks the rest.
 *
 * @throws {SysError} `EINVAL` for a bad fd or a malformed program (before any call, naming
 *   the instruction), or from the kernel for one it refuses (a bad opcode, no return at the
 *   end); `ENOMEM` past net.core.optmem_max; `ENOTSOCK`, `EBADF`.
 */
export function attachSocketFilter(fd: number, program: readonly SocketFilterInstruction[]): void {
  checkFd('attachSocketFilter', fd);
  const bytes = encodeProgram('attachSocketFilter', program);
  callNative(() => native.attachSocketFilter(fd, bytes));
}

/**
 * Removes the socket filter of `fd` (`SO_DETACH_FILTER`): every message is queued again.
 * @throws {SysError} `EINVAL` for a bad fd (before any call); `ENOENT` when it has none; `ENOTSOCK`, `EBADF`.
 */
export function detachSocketFilter(fd: number): void {
  checkFd('detachSocketFilter', fd);
  callNative(() => native.detachSocketFilter(fd));
}
