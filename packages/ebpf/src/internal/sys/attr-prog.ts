/** Attributes of `BPF_PROG_LOAD`, `BPF_PROG_TEST_RUN` and `BPF_BTF_LOAD`. */
import { type AddressOf, AttrWriter, type EncodedAttr, cString, checkObjectName } from './attr.js';

/** Fields of `BPF_PROG_LOAD`. */
export interface ProgLoadAttr {
  progType: number;
  /** Encoded instructions, 8 bytes each. */
  insns: Uint8Array;
  license: string;
  /** 0 for no log, 1 for the verifier's decisions, 2 for every state (plus 4: stats). */
  logLevel?: number;
  /** Where the verifier writes its log; required when `logLevel` is not 0. */
  logBuffer?: Uint8Array;
  /** `BPF_F_*` program flags. */
  flags?: number;
  /** At most 15 characters of `[A-Za-z0-9_.]` (4.15). */
  name?: string;
  /** `enum bpf_attach_type` the program is meant for (4.17; required for tcx and cgroup sock_addr). */
  expectedAttachType?: number;
  /** BTF with the program's function and line info (5.0): for the ELF loader. */
  btfFd?: number;
  funcInfo?: Uint8Array;
  funcInfoRecordSize?: number;
  lineInfo?: Uint8Array;
  lineInfoRecordSize?: number;
  /** Kernel BTF type id to attach to (tracing programs, 5.5). */
  attachBtfId?: number;
  /** The map fds that `fd_array`-relative references index (5.14). */
  fdArray?: Uint32Array;
}

/**
 * `BPF_PROG_LOAD` (3.18):
 * ```
 * 0 prog_type  4 insn_cnt  8 insns  16 license (ptrs)  24 log_level  28 log_size
 * 32 log_buf (ptr)  40 kern_version  44 prog_flags  48 prog_name[16]  64 prog_ifindex
 * 68 expected_attach_type  72 prog_btf_fd  76 func_info_rec_size  80 func_info (ptr)
 * 88 func_info_cnt  92 line_info_rec_size  96 line_info (ptr)  104 line_info_cnt
 * 108 attach_btf_id  112 attach_prog_fd  116 core_relo_cnt  120 fd_array (ptr)
 * 128 core_relos (ptr)  136 core_relo_rec_size  140 log_true_size   = 144 bytes
 * ```
 * Since 6.4 the kernel writes the log size it needed into `log_true_size` ({@link logTrueSize}).
 */
export function encodeProgLoad(a: ProgLoadAttr, addressOf: AddressOf): EncodedAttr {
  if (a.insns.byteLength % 8 !== 0) throw new RangeError(`instructions are ${a.insns.byteLength} bytes, not a multiple of 8`);
  const w = new AttrWriter(144, addressOf)
    .u32(0, a.progType)
    .u32(4, a.insns.byteLength / 8)
    .pointer(8, a.insns)
    .pointer(16, cString(a.license));
  if (a.logLevel && a.logBuffer) {
    w.u32(24, a.logLevel).u32(28, a.logBuffer.byteLength).pointer(32, a.logBuffer);
  }
  w.u32(44, a.flags ?? 0);
  if (a.name) w.chars(48, 16, checkObjectName(a.name));
  w.u32(68, a.expectedAttachType ?? 0).u32(72, a.btfFd ?? 0);
  if (a.funcInfo && a.funcInfoRecordSize) {
    w.u32(76, a.funcInfoRecordSize)
      .pointer(80, a.funcInfo)
      .u32(88, a.funcInfo.byteLength / a.funcInfoRecordSize);
  }
  if (a.lineInfo && a.lineInfoRecordSize) {
    w.u32(92, a.lineInfoRecordSize)
      .pointer(96, a.lineInfo)
      .u32(104, a.lineInfo.byteLength / a.lineInfoRecordSize);
  }
  w.u32(108, a.attachBtfId ?? 0).pointer(120, a.fdArray);
  return w.done();
}

/** The log size the verifier needed, written back by 6.4+ (0 on older kernels). */
export function logTrueSize(attr: DataView): number {
  return attr.byteLength >= 144 ? attr.getUint32(140, true) : 0;
}

/** Fields of `BPF_PROG_TEST_RUN`. */
export interface ProgTestRunAttr {
  progFd: number;
  dataIn?: Uint8Array;
  /** Where the kernel copies the packet after the run; its length is `data_size_out`. */
  dataOut?: Uint8Array;
  /** Times to run (the duration is the mean per run); 0 means 1. */
  repeat?: number;
  ctxIn?: Uint8Array;
  ctxOut?: Uint8Array;
  /** `BPF_F_TEST_*` flags (5.10). */
  flags?: number;
}

/**
 * `BPF_PROG_TEST_RUN` (4.12):
 * ```
 * 0 prog_fd  4 retval  8 data_size_in  12 data_size_out  16 data_in  24 data_out (ptrs)
 * 32 repeat  36 duration  40 ctx_size_in  44 ctx_size_out  48 ctx_in  56 ctx_out (ptrs)
 * 64 flags  68 cpu  72 batch_size  (76 padding)   = 80 bytes
 * ```
 * The kernel writes back `retval`, `data_size_out`, `duration` (ns) and `ctx_size_out`.
 */
export function encodeProgTestRun(a: ProgTestRunAttr, addressOf: AddressOf): EncodedAttr {
  return new AttrWriter(80, addressOf)
    .u32(0, a.progFd)
    .u32(8, a.dataIn?.byteLength ?? 0)
    .u32(12, a.dataOut?.byteLength ?? 0)
    .pointer(16, a.dataIn)
    .pointer(24, a.dataOut)
    .u32(32, a.repeat ?? 0)
    .u32(40, a.ctxIn?.byteLength ?? 0)
    .u32(44, a.ctxOut?.byteLength ?? 0)
    .pointer(48, a.ctxIn)
    .pointer(56, a.ctxOut)
    .u32(64, a.flags ?? 0)
    .done();
}

/** What `BPF_PROG_TEST_RUN` wrote back. */
export interface ProgTestRunResult {
  retval: number;
  dataSizeOut: number;
  /** Mean nanoseconds per run. */
  duration: number;
  ctxSizeOut: number;
}

/** Reads the fields `BPF_PROG_TEST_RUN` writes back. */
export function decodeProgTestRun(attr: DataView): ProgTestRunResult {
  return {
    retval: attr.getUint32(4, true),
    dataSizeOut: attr.getUint32(12, true),
    duration: attr.getUint32(36, true),
    ctxSizeOut: attr.getUint32(44, true),
  };
}

/** Fields of `BPF_BTF_LOAD`. */
export interface BtfLoadAttr {
  btf: Uint8Array;
  logLevel?: number;
  logBuffer?: Uint8Array;
}

/**
 * `BPF_BTF_LOAD` (4.18):
 * ```
 * 0 btf  8 btf_log_buf (ptrs)  16 btf_size  20 btf_log_size  24 btf_log_level
 * 28 btf_log_true_size (6.4)   = 32 bytes
 * ```
 */
export function encodeBtfLoad(a: BtfLoadAttr, addressOf: AddressOf): EncodedAttr {
  const w = new AttrWriter(32, addressOf).pointer(0, a.btf).u32(16, a.btf.byteLength);
  if (a.logLevel && a.logBuffer) w.pointer(8, a.logBuffer).u32(20, a.logBuffer.byteLength).u32(24, a.logLevel);
  return w.done();
}
