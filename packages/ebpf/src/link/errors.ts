// Errors of attaching programs over netlink (the tc fallback, interface look-ups).
import { EbpfError, EbpfErrorCode } from '../errors.js';

/**
 * An rtnetlink request failed: the kernel answered with an errno (`ENODEV` for a missing
 * interface, `EEXIST` for a filter that exists, `EPERM` without CAP_NET_ADMIN), or its
 * answer could not be decoded (`EBADMSG`).
 */
export class NetlinkError extends EbpfError {
  /** Always `'NetlinkError'`. */
  override readonly name = 'NetlinkError';
  readonly code = EbpfErrorCode.Netlink;

  constructor(
    /** The errno name, such as `ENODEV`. */
    readonly errno: string,
    /** What was asked, such as `RTM_NEWTFILTER eth0 ingress`. */
    readonly operation: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${errno}${detail ? ` (${detail})` : ''}`, options);
  }
}
