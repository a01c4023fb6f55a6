// Errors of the eBPF dataplane driver.

/** The stable codes of {@link EbpfDataplaneError}. */
export const EBPF_DATAPLANE_ERROR_CODE = {
  /** The compiled object is missing (run `npm run build:bpf` in apps/agent) or unreadable. */
  NO_OBJECT: 'no-object',
  /** Loading the object failed (pinned maps of another version's layout are replaced, not refused: see `status().upgrade`). */
  LOAD_FAILED: 'load-failed',
  /** Attaching a program to an endpoint's interface failed. */
  ATTACH_FAILED: 'attach-failed',
  /** A map update or delete failed. */
  MAP_UPDATE_FAILED: 'map-update-failed',
} as const;

/** One of {@link EBPF_DATAPLANE_ERROR_CODE}. */
export type EbpfDataplaneErrorCode = (typeof EBPF_DATAPLANE_ERROR_CODE)[keyof typeof EBPF_DATAPLANE_ERROR_CODE];

/** The base class of the driver's errors: a stable `code`, and the underlying `cause`. */
export class EbpfDataplaneError extends Error {
  override readonly name: string = 'EbpfDataplaneError';

  constructor(
    readonly code: EbpfDataplaneErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
