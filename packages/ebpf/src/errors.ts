/**
 * Every error `@twill/ebpf` throws: a base class with a stable `code`, and one class per
 * kind of failure (STYLE.md rule 6).
 */

/** The stable codes of {@link EbpfError}. */
export const EbpfErrorCode = {
  /** A `bpf(2)` command failed; see {@link BpfError}. */
  Bpf: 'ERR_BPF',
  /** The running kernel lacks a feature; see {@link UnsupportedFeatureError}. */
  Unsupported: 'ERR_BPF_UNSUPPORTED',
  /** An instruction list could not be built; see {@link AsmError}. */
  Asm: 'ERR_BPF_ASM',
  /** A key or value does not fit its layout; see {@link LayoutError}. */
  Layout: 'ERR_BPF_LAYOUT',
  /** An ELF object could not be read as a BPF collection; see {@link ElfError}. */
  Elf: 'ERR_BPF_ELF',
  /** A collection could not be loaded (pinned map mismatch, bad constant); see {@link CollectionError}. */
  Collection: 'ERR_BPF_COLLECTION',
  /** A netlink request (tc qdisc/filter, link lookup) failed. */
  Netlink: 'ERR_BPF_NETLINK',
} as const;

/** One of the {@link EbpfErrorCode} values. */
export type EbpfErrorCode = (typeof EbpfErrorCode)[keyof typeof EbpfErrorCode];

/** The base class of every error `@twill/ebpf` throws. */
export abstract class EbpfError extends Error {
  /** What kind of failure this is; stable across versions. */
  abstract readonly code: EbpfErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A `bpf(2)` command failed with an errno.
 *
 * `errno` is the errno name the kernel returned (`ENOENT` for a missing key, `EACCES` when
 * the verifier refuses a program, `EPERM` without CAP_BPF, `E2BIG` for a full map,
 * `ENOTSUPP` for an operation a map type lacks). For program and BTF loads, `log` holds
 * the verifier's log, whose last lines name the failing instruction.
 */
export class BpfError extends EbpfError {
  /** Always `'BpfError'`. */
  override readonly name = 'BpfError';
  readonly code = EbpfErrorCode.Bpf;

  constructor(
    /** The errno name, such as `ENOENT`. */
    readonly errno: string,
    /** The operation, such as `BPF_MAP_UPDATE_ELEM` or `BPF_PROG_LOAD count_packets`. */
    readonly operation: string,
    /** The verifier (or BTF) log for loads, when one was asked for. */
    readonly log?: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${errno}${log ? `\nverifier log (tail):\n${tailLines(log, 20)}` : ''}`, options);
  }

  /** Whether the kernel said the key (or object) does not exist (`ENOENT`). */
  get isNotFound(): boolean {
    return this.errno === 'ENOENT';
  }
}

/**
 * The running kernel lacks a feature (a map or program type, a command, an attach point).
 * `minimumKernel` says which Linux version added it, such as `5.8`.
 */
export class UnsupportedFeatureError extends EbpfError {
  /** Always `'UnsupportedFeatureError'`. */
  override readonly name = 'UnsupportedFeatureError';
  readonly code = EbpfErrorCode.Unsupported;

  constructor(
    /** The feature, such as `ring buffer maps`. */
    readonly feature: string,
    /** The first Linux version with it, such as `5.8`. */
    readonly minimumKernel: string,
    options?: { cause?: unknown },
  ) {
    super(`${feature} needs Linux ${minimumKernel} or later`, options);
  }
}

/** An instruction list could not be built: an unknown label or helper, a bad operand. */
export class AsmError extends EbpfError {
  /** Always `'AsmError'`. */
  override readonly name = 'AsmError';
  readonly code = EbpfErrorCode.Asm;
}

/** A key or value does not match its declared layout (wrong size, out of range). */
export class LayoutError extends EbpfError {
  /** Always `'LayoutError'`. */
  override readonly name = 'LayoutError';
  readonly code = EbpfErrorCode.Layout;
}

/**
 * An ELF object is not a BPF object this package can read: truncated or corrupt, the
 * wrong class or byte order, an unknown program section, no license, a map definition
 * that contradicts itself. `section` names the section at fault when there is one.
 */
export class ElfError extends EbpfError {
  /** Always `'ElfError'`. */
  override readonly name = 'ElfError';
  readonly code = EbpfErrorCode.Elf;

  constructor(
    message: string,
    /** The section at fault, such as `.maps` or `xdp`. */
    readonly section?: string,
    options?: { cause?: unknown },
  ) {
    super(section === undefined ? message : `${section}: ${message}`, options);
  }
}

/**
 * A collection spec could not be loaded as asked: a map pinned by an earlier load no
 * longer matches the spec (type, key or value size, max entries, flags), a constant to
 * rewrite does not exist or does not fit, a pin path is missing.
 */
export class CollectionError extends EbpfError {
  /** Always `'CollectionError'`. */
  override readonly name = 'CollectionError';
  readonly code = EbpfErrorCode.Collection;
}

function tailLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}
