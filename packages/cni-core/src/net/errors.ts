import { getSystemErrorName } from 'node:util';

/**
 * A plumbing call of `@twill/cni-core/net` failed.
 *
 * `code` is the errno name the kernel answered with (`ENODEV`, `EEXIST`, `ENETUNREACH`,
 * `EPERM`, ...), or `EINVAL` for an argument refused before anything was sent.
 * `operation` says what was being done, in `ip`-like words
 * (`addRoute 0.0.0.0/0 via 169.254.1.1 dev eth0`); the message is
 * `${operation}: ${code}` followed by a detail when there is one.
 *
 * Failures to enter a namespace (`setns`) are not wrapped: they stay
 * `SysError`s of `@twill/sys`.
 */
export class NetError extends Error {
  /** Always `'NetError'`. */
  override readonly name = 'NetError';

  constructor(
    /** The errno name, such as `ENODEV`. */
    readonly code: string,
    /** The errno number, such as 19; `undefined` when no errno applies. */
    readonly errno: number | undefined,
    /** What was being done, such as `addAddress 10.0.0.5/32 dev eth0`. */
    readonly operation: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ? `${operation}: ${code}: ${detail}` : `${operation}: ${code}`, options);
  }

  /**
   * The error for a negative errno from a netlink `NLMSG_ERROR` answer
   * (include/uapi/linux/netlink.h, `struct nlmsgerr`), or a positive one.
   */
  static fromErrno(errno: number, operation: string): NetError {
    const positive = Math.abs(errno);
    return new NetError(errnoName(positive), positive, operation);
  }

  /** An argument refused before any call was made (`EINVAL`). */
  static invalid(operation: string, detail: string): NetError {
    return new NetError('EINVAL', 22, operation, detail);
  }

  /** Wraps a Node errno error (such as from `fs.openSync`) with what was being done. */
  static fromNode(error: unknown, operation: string): NetError {
    const e = error as NodeJS.ErrnoException;
    if (typeof e?.code === 'string') {
      const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : undefined;
      return new NetError(e.code, errno, operation, undefined, { cause: error });
    }
    return new NetError('EIO', 5, operation, String(error), { cause: error });
  }
}

/** `ENODEV` for 19, and so on; `E<number>` for a number Node does not know. */
function errnoName(errno: number): string {
  try {
    // libuv names errno values as negative numbers; unknown ones come back as prose.
    const name = getSystemErrorName(-errno);
    return /^E[A-Z0-9]+$/.test(name) ? name : `E${errno}`;
  } catch {
    return `E${errno}`;
  }
}
