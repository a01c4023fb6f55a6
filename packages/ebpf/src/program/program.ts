/** Loaded programs: load from instructions with the verifier log on failure. */
import { type Instruction, type MapReference, encodeInstructions } from '../asm/instruction.js';
import { AsmError, BpfError, UnsupportedFeatureError } from '../errors.js';
import { haveProgramType } from '../features/program-types.js';
import type { ProgramFd } from '../fd.js';
import { type ProgramInfo, PROG_INFO_SIZE, decodeProgInfo } from '../internal/sys/info.js';
import type { ProgLoadAttr } from '../internal/sys/attr-prog.js';
import { BpfObject } from '../internal/bpf-object.js';
import { lastProgLoadLogTrueSize, logText, progLoad } from '../internal/sys/syscall.js';
import { type ProgramType, programTypeMinimumKernel, programTypeName } from './program-type.js';
import { type TestRunOptions, type TestRunResult, testRun } from './test-run.js';

/** The kernel's view of a program; see {@link Program.info}. */
export type { ProgramInfo };

/** BTF line and function info for a program, as the ELF loader extracts it (5.0). */
export interface ProgramBtf {
  /** The BTF object's fd. */
  fd: number;
  /** `bpf_func_info` records, encoded. */
  funcInfo?: Uint8Array;
  /** Bytes per `funcInfo` record. */
  funcInfoRecordSize?: number;
  /** `bpf_line_info` records, encoded. */
  lineInfo?: Uint8Array;
  /** Bytes per `lineInfo` record. */
  lineInfoRecordSize?: number;
}

/** Options of {@link loadProgram}. */
export interface LoadProgramOptions {
  /** The program type, one of {@link ProgramType}. */
  type: ProgramType;
  /** From {@link ProgramBuilder.build}, or already encoded bytes. */
  instructions: readonly Instruction[] | Uint8Array;
  /** `GPL` (or compatible) to use GPL-only helpers such as `trace_printk`. */
  license: string;
  /** At most 15 characters of `[A-Za-z0-9_.]` (4.15). */
  name?: string;
  /** Where the program will attach (4.17): required for tcx (`TcxIngress`/`TcxEgress`) and cgroup sock_addr. */
  expectedAttachType?: number;
  /** Maps that instructions reference by name. */
  maps?: Readonly<
    Record<
      string,
      {
        /** The map's fd. */
        readonly fd: number;
      }
    >
  >;
  /**
   * Verifier log level to keep even on success (1: decisions, 2: every state). By default
   * the program loads without a log, and a failed load is retried once with level 1 to
   * get the log for the error.
   */
  logLevel?: 0 | 1 | 2;
  /** Initial log buffer size in bytes (default 64 KiB; grows up to 64 MiB when the log is cut off). */
  logSize?: number;
  /** `BPF_F_*` program flags. */
  flags?: number;
  /** BTF function and line info, as the ELF loader gives it (5.0). */
  btf?: ProgramBtf;
}

const MAX_LOG = 64 << 20;

/** A loaded program. */
export class Program extends BpfObject<ProgramFd, ProgramInfo> {
  /** The program type it was loaded as. */
  readonly type: ProgramType;
  /** The name it was loaded with, `''` if none. */
  readonly name: string;
  /** The verifier's log, when `logLevel` asked for one. */
  readonly verifierLog: string | undefined;

  constructor(fd: ProgramFd, type: ProgramType, name: string, verifierLog?: string) {
    super(fd);
    this.type = type;
    this.name = name;
    this.verifierLog = verifierLog;
  }

  protected get label(): string {
    return `program ${this.name || '(unnamed)'}`;
  }

  protected get infoSize(): number {
    return PROG_INFO_SIZE;
  }

  protected decodeInfo(bytes: Uint8Array): ProgramInfo {
    return decodeProgInfo(bytes);
  }

  /** Runs the program once or more on a packet (`BPF_PROG_TEST_RUN`, 4.12); see {@link testRun}. */
  testRun(options: TestRunOptions): TestRunResult {
    return testRun(this, options);
  }
}

function resolver(maps: LoadProgramOptions['maps']): (ref: MapReference) => number {
  return (ref) => {
    if (typeof ref !== 'string') return ref.fd;
    const map = maps?.[ref];
    if (!map) throw new AsmError(`map ${JSON.stringify(ref)} is referenced but not given in maps`);
    return map.fd;
  };
}

/**
 * Loads a program. When the verifier refuses it, the {@link BpfError} carries the
 * verifier log (its last lines name the failing instruction).
 *
 * Needs the program type's kernel ({@link programTypeMinimumKernel}) and CAP_BPF.
 * @throws {BpfError} `EACCES` or `EINVAL` from the verifier, with `log`; `EPERM` without privileges.
 * @throws {UnsupportedFeatureError} when the kernel lacks the program type.
 * @throws {AsmError} for bad instructions or unknown map names.
 */
export function loadProgram(options: LoadProgramOptions): Program {
  const insns = options.instructions instanceof Uint8Array ? options.instructions : encodeInstructions(options.instructions, resolver(options.maps));
  const attr: ProgLoadAttr = {
    progType: options.type,
    insns,
    license: options.license,
    name: options.name,
    flags: options.flags,
    expectedAttachType: options.expectedAttachType,
    btfFd: options.btf?.fd,
    funcInfo: options.btf?.funcInfo,
    funcInfoRecordSize: options.btf?.funcInfoRecordSize,
    lineInfo: options.btf?.lineInfo,
    lineInfoRecordSize: options.btf?.lineInfoRecordSize,
  };
  const name = options.name ?? '';
  const level = options.logLevel ?? 0;
  let logSize = options.logSize ?? 64 << 10;
  if (level === 0) {
    try {
      return new Program(progLoad(attr), options.type, name);
    } catch (error) {
      // No log would explain a missing privilege; anything else is worth a second try with one.
      if (!(error instanceof BpfError) || error.errno === 'EPERM') throw error;
    }
  }
  // Load (again) with a log, growing the buffer while the verifier says it was too small.
  for (;;) {
    const logBuffer = new Uint8Array(logSize);
    try {
      const fd = progLoad({ ...attr, logLevel: level || 1, logBuffer });
      return new Program(fd, options.type, name, level ? logText(logBuffer) : undefined);
    } catch (error) {
      if (error instanceof BpfError && error.errno === 'ENOSPC' && logSize < MAX_LOG) {
        logSize = Math.min(MAX_LOG, Math.max(logSize * 4, lastProgLoadLogTrueSize()));
        continue;
      }
      throw unsupportedOr(options.type, error);
    }
  }
}

function unsupportedOr(type: number, error: unknown): unknown {
  if (error instanceof BpfError && error.errno === 'EINVAL' && !haveProgramType(type)) {
    const minimum = (programTypeMinimumKernel as Record<number, string>)[type] ?? 'a newer version';
    return new UnsupportedFeatureError(`${programTypeName(type)} programs`, minimum, { cause: error });
  }
  return error;
}
