/**
 * A Linux call made through `@twill/sys` failed.
 *
 * `code` is the errno name (`EPERM`, `ENOENT`, `EINVAL`, ...), `errno` its number and
 * `syscall` the call that failed, with the path or object it was given where that helps.
 */
export class SysError extends Error {
  /** Always `'SysError'`, for logs and `instanceof`-free checks. */
  override readonly name = 'SysError';

  constructor(
    /** The errno name, such as `ENOENT`. */
    readonly code: string,
    /** The errno number, such as 2. */
    readonly errno: number,
    /** The call that failed, such as `setns` or `open /run/netns/pod1`. */
    readonly syscall: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Turns an error thrown by the native addon into a {@link SysError}; other errors pass through. */
  static fromNative(error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    const e = error as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
    if (typeof e.code !== 'string' || typeof e.errno !== 'number' || typeof e.syscall !== 'string') {
      return error;
    }
    return new SysError(e.code, e.errno, e.syscall, e.message);
  }

  /** A SysError for an argument refused before any call was made. */
  static invalid(syscall: string, message: string): SysError {
    return new SysError('EINVAL', 22, syscall, `${syscall}: ${message}`);
  }
}

/** Runs a native call, turning its errno errors into {@link SysError}. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw SysError.fromNative(error);
  }
}
