import { callNative } from './errors.js';
import { native } from './native.js';

/**
 * The raw `bpf(2)` system call: `bpf(cmd, attr, attr.byteLength)`.
 *
 * `attr` is the `union bpf_attr` member that `cmd` expects, already encoded; the kernel
 * may write results back into it. Pointers inside it (keys, values, instructions, log
 * buffers) come from {@link addressOf}, and those buffers must stay referenced until
 * the call returns. Runs synchronously on the calling thread.
 *
 * @returns the call's non-negative result: a new file descriptor for create, load, get
 *   and link commands, 0 for the others.
 * @throws {SysError} with the errno (`EPERM` without CAP_BPF, `ENOENT` for a missing key, ...).
 * Needs Linux with `CONFIG_BPF_SYSCALL`.
 */
export function bpf(cmd: number, attr: ArrayBufferView): number {
  return callNative(() => native.bpf(cmd, attr));
}

/**
 * The address in memory of a view's first byte, for the pointer fields of `bpf(2)`
 * attributes. The address stays valid while the view's buffer is alive and not
 * detached; keep a reference to it across the call that uses the address.
 */
export function addressOf(view: ArrayBufferView): bigint {
  return native.addressOf(view);
}
