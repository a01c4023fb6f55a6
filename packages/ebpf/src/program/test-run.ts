/** Running a program on a packet without attaching it (`BPF_PROG_TEST_RUN`, 4.12). */
import type { ProgramFd } from '../fd.js';
import { progTestRun } from '../internal/sys/syscall.js';

/** Options of {@link testRun}. */
export interface TestRunOptions {
  /** The packet, from its Ethernet header (at least 14 bytes for tc and XDP programs). */
  data: Uint8Array;
  /** Runs in a row; `duration` is their mean (default 1). */
  repeat?: number;
  /** Room for the packet after the run (default: the input's length plus 256 bytes). */
  dataOutSize?: number;
  /** The program's context (`struct __sk_buff`, `struct xdp_md`) as bytes (4.20+ for skb). */
  ctx?: Uint8Array;
  /** Room for the context after the run (default: the input context's length). */
  ctxOutSize?: number;
}

/** What one test run gave. */
export interface TestRunResult {
  /** The program's return value (`TC_ACT_*`, `XDP_*`, ...). */
  retval: number;
  /** The packet after the run, as the program left it. */
  data: Uint8Array;
  /** Mean nanoseconds per run. */
  duration: number;
  /** The context after the run, when one was given. */
  ctx?: Uint8Array;
}

/**
 * Runs `program` on a packet in the kernel (no attachment, no traffic): the way to unit
 * test a datapath program. Needs Linux 4.12 and a program type that supports it
 * (socket filter, tc, XDP, cgroup skb, flow dissector, ...).
 * @throws {BpfError} `ENOTSUPP` for types without test runs, `EINVAL` for a too-short packet,
 *   `ENOSPC` when `dataOutSize` is too small for the packet after the run.
 */
export function testRun(program: { readonly fd: ProgramFd }, options: TestRunOptions): TestRunResult {
  const dataOut = new Uint8Array(options.dataOutSize ?? options.data.byteLength + 256);
  const ctxOut = options.ctx ? new Uint8Array(options.ctxOutSize ?? options.ctx.byteLength) : undefined;
  const result = progTestRun({
    progFd: program.fd,
    dataIn: options.data,
    dataOut,
    repeat: options.repeat ?? 1,
    ctxIn: options.ctx,
    ctxOut,
  });
  return {
    retval: result.retval,
    data: dataOut.slice(0, Math.min(result.dataSizeOut, dataOut.byteLength)),
    duration: result.duration,
    ...(ctxOut ? { ctx: ctxOut.slice(0, Math.min(result.ctxSizeOut, ctxOut.byteLength)) } : {}),
  };
}
