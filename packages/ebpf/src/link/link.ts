/** BPF links (5.7): a program attached to a hook, held by a file descriptor or a pin. */
import type { LinkFd, ProgramFd } from '../fd.js';
import { BpfObject } from '../internal/bpf-object.js';
import { linkDetach, linkUpdate, objGet } from '../internal/sys/syscall.js';
import { LINK_INFO_SIZE, type LinkInfo, decodeLinkInfo } from './link-info.js';
import { removePin } from './sys/kernel.js';

/**
 * Something attached that {@link Attachment.close} takes away: a {@link Link}, or a tc
 * filter of the clsact fallback ({@link TcFilter}).
 */
export interface Attachment {
  /** Where it is attached, for messages: `tcx ingress ifindex 3`. */
  readonly description: string;
  /** Detaches (unless pinned, for links) and releases it. Twice does nothing. */
  close(): void;
  /** The same as `close`, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * A BPF link: tcx, XDP, cgroup, ... The program stays attached while the link's fd is open
 * or the link is pinned; {@link close} closes the fd, which detaches it unless it is pinned.
 * {@link detach} detaches it even when pinned.
 */
export class Link extends BpfObject<LinkFd, LinkInfo> implements Attachment {
  readonly description: string;

  constructor(fd: LinkFd, description: string) {
    super(fd);
    this.description = description;
  }

  protected get label(): string {
    return `link ${this.description}`;
  }

  protected get infoSize(): number {
    return LINK_INFO_SIZE;
  }

  protected decodeInfo(bytes: Uint8Array): LinkInfo {
    return decodeLinkInfo(bytes);
  }

  /**
   * Detaches the program now, even when the link is pinned (`BPF_LINK_DETACH`, 5.9;
   * tcx, XDP, cgroup and netns links). The fd stays open, pointing at a defunct link.
   * @throws {BpfError} `EOPNOTSUPP` for link types that cannot be detached.
   */
  detach(): void {
    linkDetach(this.fd);
  }

  /**
   * Makes the link run another program, in one step: no packet or event sees neither
   * (`BPF_LINK_UPDATE`). The link keeps its id, its pin and its place among the hook's
   * programs; the old program is freed when nothing else holds it. With `expected`, the
   * update happens only if the link still runs that program (`BPF_F_REPLACE`).
   * The new program must have the link's program type and expected attach type.
   * Needs Linux 5.7 for cgroup links, 5.9 for XDP, 6.6 for tcx.
   * @throws {BpfError} `EPERM` when the link no longer runs `expected`, `EINVAL` for a
   *   program of another type or attach type, `ENOLINK` for a link already detached,
   *   `EOPNOTSUPP` for link types that cannot be updated.
   */
  update(program: { readonly fd: ProgramFd }, options: { expected?: { readonly fd: ProgramFd } } = {}): void {
    linkUpdate({ linkFd: this.fd, newProgFd: program.fd, ...(options.expected === undefined ? {} : { oldProgFd: options.expected.fd }) });
  }
}

/**
 * Opens a link pinned at `path` (5.7): a new fd on the same attachment. Closing it does
 * not detach the program while the pin exists. The kernel does not say what kind of
 * object a pin holds; check {@link Link.info} when the path may hold a map or program.
 * @throws {BpfError} `ENOENT` when nothing is pinned there.
 */
export function openPinnedLink(path: string): Link {
  return new Link(objGet(path) as LinkFd, path);
}

/**
 * Removes a link's pin. The program stays attached while a fd of the link is open, and
 * is detached when the last one closes.
 * @throws {Error} `ENOENT` when nothing is pinned at `path`.
 */
export function unpinLink(path: string): void {
  removePin(path);
}
